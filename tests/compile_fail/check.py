#!/usr/bin/env python3
"""Compiles one compile-failure case the way the build compiles it and checks that the
compiler rejects it with exactly one error, the sentence its `// expect:` line names.

A plain should_fail test would pass on any error, a typo or a missing include as much as
the static_assert it means to pin; this passes only on the expected sentence, alone.

usage: check.py BUILD_DIR/compile_commands.json CASE.cpp
"""
import json
import os
import shlex
import subprocess
import sys


def expected_sentence(source):
    """The sentence after `// expect: `, continued on the comment lines that follow it
    (a long sentence is wrapped at a space)."""
    with open(source, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("// expect: "):
            words = [line[len("// expect: "):].strip()]
            for more in lines[i + 1:]:
                if not more.startswith("// "):
                    break
                words.append(more[len("// "):].strip())
            return " ".join(words)
    sys.exit(f"{source}: no '// expect: <sentence>' line")


def compile_command(database, source):
    with open(database, encoding="utf-8") as f:
        entries = json.load(f)
    for entry in entries:
        path = os.path.join(entry["directory"], entry["file"])
        if os.path.realpath(path) == os.path.realpath(source):
            args = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
            return entry["directory"], args
    sys.exit(f"{database}: no compile command for {source}")


def main():
    database, source = sys.argv[1], sys.argv[2]
    expected = expected_sentence(source)
    directory, args = compile_command(database, source)
    # Semantic analysis is enough for a static_assert to fire; no object file is written.
    # Without colours the error lines can be counted.
    result = subprocess.run(args + ["-fsyntax-only", "-fdiagnostics-color=never"], cwd=directory,
                            capture_output=True, text=True)
    output = result.stdout + result.stderr
    if expected == "compiles":
        if result.returncode != 0:
            sys.exit(f"{source}: expected to compile, but the compiler said:\n{output}")
        return
    if result.returncode == 0:
        sys.exit(f"{source}: compiled, but should have failed with: {expected}")
    if expected not in output:
        sys.exit(f"{source}: failed without the sentence '{expected}'; the compiler said:\n{output}")
    errors = [line for line in output.splitlines() if ": error: " in line]
    if len(errors) != 1:
        sys.exit(f"{source}: expected one error, found {len(errors)}:\n" + "\n".join(errors))
    print(f"{source}: rejected with the one error '{expected}'")


if __name__ == "__main__":
    main()
