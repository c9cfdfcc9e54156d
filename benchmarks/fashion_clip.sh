#!/usr/bin/env bash
# The Fashion-MNIST demo beside its PyTorch peer (benchmarks/peer/fashion_clip.py), in one
# run: the demo with its defaults, then the peer on the demo's data subset, tokenizer and
# model configuration under each Python given, and a Markdown table of both.
# Usage: benchmarks/fashion_clip.sh TANDEM_BINARY [PYTHON...]
#   (default PYTHONs: the venvs of benchmarks/setup_venv.sh and benchmarks/setup_debian_torch.sh)
# Extra demo options (e.g. --steps 200) go in FASHION_CLIP_ARGS; the peer gets the same.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tandem="$1"
shift
pythons=("$@")
[ ${#pythons[@]} -gt 0 ] || pythons=(/tmp/tandem-bench-venv/bin/python /tmp/tandem-debian-venv/bin/python)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
read -r -a extra <<< "${FASHION_CLIP_ARGS:-}"
export OMP_WAIT_POLICY=PASSIVE

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u +%F)"
"$tandem" demo fashion-mnist --out "$work/demo" "${extra[@]}" > "$work/demo.log" 2>&1
results=("tandem|$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$work/demo/metrics.json")")
for py in "${pythons[@]}"; do
    out="$("$py" "$here/peer/fashion_clip.py" "$work/demo" "${extra[@]}" 2> "$work/peer.log" | tail -1)" || {
        echo "$py: failed"; tail -5 "$work/peer.log"; exit 1; }
    results+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["versions"])' "$out")|$out")
done
python3 - "${results[@]}" <<'EOF'
import json, sys
rows = [(r.split("|", 1)[0], json.loads(r.split("|", 1)[1])) for r in sys.argv[1:]]
tandem = rows[0][1]
print("| run | zero-shot acc | i2t R@1 | t2i R@1 | t2i R@5 | train s | median step ms | images/s | time / tandem |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for name, m in rows:
    print(f"| {name} | {m['zero_shot_accuracy']:.4f} | {m['i2t_recall@1']:.4f} | {m['t2i_recall@1']:.2f} | "
          f"{m['t2i_recall@5']:.2f} | {m['train_seconds']:.1f} | {m['step_ms_median']:.1f} | "
          f"{m['images_per_second']:.0f} | {m['train_seconds'] / tandem['train_seconds']:.2f} |")
EOF
