#!/usr/bin/env python3
"""Prints every header under INCLUDE_DIR as it is included (tandem/nn/linear.hpp), one a line, sorted."""
import pathlib
import sys

root = pathlib.Path(sys.argv[1])
for header in sorted(root.rglob("*.hpp")):
    print(header.relative_to(root).as_posix())
