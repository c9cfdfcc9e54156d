#!/usr/bin/env bash
# Makes the Python environment for the benchmarks' Debian PyTorch side: Debian's
# python3-torch (1.13) in a venv over the system site-packages, with the newest
# transformers that still supports that torch (4.44) from PyPI.
# Usage: benchmarks/setup_debian_torch.sh [VENV_DIR]   (default /tmp/tandem-debian-venv)
# Prints the venv's python on the last line.
set -euo pipefail
venv="${1:-/tmp/tandem-debian-venv}"
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
    apt-get install -y python3-torch >&2
fi
[ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/python" -c "import transformers" 2>/dev/null || "$venv/bin/python" -m pip install --quiet "transformers==4.44.2"
"$venv/bin/python" -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" >&2
echo "$venv/bin/python"
