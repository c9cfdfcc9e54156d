#!/usr/bin/env bash
# The main job: installs what is missing (Debian's dataset-fashion-mnist among it), builds
# the tandem program, and trains a small CLIP from scratch on Fashion-MNIST image-caption
# pairs: metrics.json, the model, the training log and report.html land in demo-out/
# (or $TANDEM_DEMO_OUT). Extra arguments go to `tandem demo fashion-mnist`, e.g. --steps 200.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/install_deps.sh"
build=${TANDEM_BUILD_DIR:-$root/build}
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" ${MESON_ARGS:-}
ninja -C "$build" tools/tandem
out=${TANDEM_DEMO_OUT:-$root/demo-out}
"$build/tools/tandem" demo fashion-mnist --out "$out" "$@"
echo "report: $out/report.html"
