#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Counts test cases in meson's testlog.json: every TAP line of a TAP
test (ok / not ok / # SKIP), one case for a test that is not TAP, and
a failure for a test that crashed or timed out after its last TAP line.
Prints "N passed, N failed, N skipped" last; exits 1 if anything failed."""
import json
import re
import sys

passed = failed = skipped = 0
for line in open(sys.argv[1], encoding="utf-8"):
    test = json.loads(line)
    result = test.get("result", "")
    out = test.get("stdout") or ""
    cases = re.findall(r"^(not ok|ok)\b(.*)$", out, re.M)
    is_tap = re.search(r"^1\.\.\d+", out, re.M) is not None
    if is_tap and cases:
        for verdict, rest in cases:
            if re.search(r"#\s*SKIP", rest, re.I):
                skipped += 1
            elif verdict == "ok":
                passed += 1
            else:
                failed += 1
        # A crash or timeout after the last case is a failure too.
        if result not in ("OK", "SKIP", "EXPECTEDFAIL") and not any(v == "not ok" for v, _ in cases):
            failed += 1
            print(f"{test['name']}: {result} after its last test case", file=sys.stderr)
    elif result == "SKIP":
        skipped += 1
    elif result in ("OK", "EXPECTEDFAIL"):
        passed += 1
    else:
        failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
