#!/usr/bin/env bash
# Makes the Python environment the PyTorch side of the benchmarks runs in: a venv with
# torch and torchvision from PyPI, and for benchmarks/train_step transformers,
# sentence-transformers, datasets and accelerate (which transformers' Trainer needs).
# Usage: benchmarks/setup_venv.sh [VENV_DIR]   (default: $TANDEM_BENCH_VENV or ~/.cache/tandem/bench-venv)
# Prints the venv's python on the last line.
set -euo pipefail
venv="${1:-${TANDEM_BENCH_VENV:-$HOME/.cache/tandem/bench-venv}}"
if [ ! -x "$venv/bin/python" ]; then
    /usr/bin/python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import torch, torchvision" 2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet torch torchvision
fi
if ! "$venv/bin/python" -c "import transformers, sentence_transformers, datasets, accelerate" 2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet transformers sentence-transformers datasets accelerate
fi
"$venv/bin/python" -c "import torch, torchvision, PIL; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'pillow', PIL.__version__)
import transformers, sentence_transformers, datasets
print('transformers', transformers.__version__, 'sentence-transformers', sentence_transformers.__version__, 'datasets', datasets.__version__)" >&2
echo "$venv/bin/python"
