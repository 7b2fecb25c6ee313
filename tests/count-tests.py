#!/usr/bin/env python3
"""Counts test cases in meson's testlog.json: a Check suite counts each of
its test cases (from its "Checks: N, Failures: F, Errors: E" line), any
other test counts once. Prints the failing ones, then "N passed, N failed".
Exits 1 when anything failed."""
import json
import re
import sys

CHECK_SUMMARY = re.compile(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)")
CHECK_FAILURE = re.compile(r"^.*:[FE]:.*$", re.M)

passed = failed = skipped = 0
failures = []
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        test = json.loads(line)
        out = test.get("stdout") or ""
        summary = CHECK_SUMMARY.search(out)
        result = test["result"]
        if result == "SKIP":
            skipped += 1
        elif summary:
            checks, fails, errors = map(int, summary.groups())
            bad = fails + errors
            if result != "OK" and bad == 0:
                bad = 1  # it died after its summary, or leaked (valgrind)
            passed += checks - min(bad, checks)
            failed += bad
            failures += [f"{test['name']}: {m}" for m in CHECK_FAILURE.findall(out)]
            if result != "OK" and fails + errors == 0:
                failures.append(f"{test['name']}: {result}")
        elif result == "OK":
            passed += 1
        else:
            failed += 1
            failures.append(f"{test['name']}: {result}")

for f in failures:
    print("FAILED", f)
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
