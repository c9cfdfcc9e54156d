#!/usr/bin/env python3
"""Sums doctest's per-executable counts from Meson's test log into one line.

Prints "N passed, M failed". A doctest executable that died before printing its
summary, or any other Meson test that failed, counts as one failed case; a test that
skips itself (exit status 77, as one without its reference data) does not.
Exits 1 when anything failed.
"""
import json
import re
import sys

SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")

passed = failed = 0
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        test = json.loads(line)
        found = SUMMARY.findall(test.get("stdout", "") or "")
        if found:
            passed += int(found[-1][1])
            failed += int(found[-1][2])
            if test["result"] != "OK" and int(found[-1][2]) == 0:
                failed += 1
        elif test["result"] not in ("OK", "SKIP"):
            failed += 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
