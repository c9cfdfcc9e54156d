#!/usr/bin/env bash
# The main job: installs what is missing, builds, and trains the example MLP with
# tandem's autograd, printing the loss as it falls.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/install_deps.sh"
build=${TANDEM_BUILD_DIR:-$root/build}
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" ${MESON_ARGS:-}
ninja -C "$build" examples/train_mlp
"$build/examples/train_mlp" "$@"
