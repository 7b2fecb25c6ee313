#!/usr/bin/env python3
"""Counts test cases in meson's testlog.json files: a Check suite counts each
of its test cases (from its "Checks: N, Failures: F, Errors: E" line), any
other test counts once. Each argument is a log, or STAGE=LOG for one stage
of scripts/test (plain, asan, tsan, valgrind). Prints the failing ones, one
line per stage when there are several, then "N passed, N failed" over all.
Exits 1 when anything failed."""
import json
import re
import sys

CHECK_SUMMARY = re.compile(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)")
CHECK_FAILURE = re.compile(r"^.*:[FE]:.*$", re.M)


def count(path):
    """(passed, failed, skipped, failure lines) of one testlog.json."""
    passed = failed = skipped = 0
    failures = []
    with open(path, encoding="utf-8") as log:
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
    return passed, failed, skipped, failures


def summary_line(passed, failed, skipped):
    return f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")


total = [0, 0, 0]
stages = []
for arg in sys.argv[1:]:
    stage, _, path = arg.rpartition("=")
    passed, failed, skipped, failures = count(path)
    for f in failures:
        print("FAILED", f"[{stage}] {f}" if stage else f)
    stages.append((stage, passed, failed, skipped))
    total = [total[0] + passed, total[1] + failed, total[2] + skipped]

if len(stages) > 1:
    for stage, passed, failed, skipped in stages:
        print(f"  stage {stage or '?'}: {summary_line(passed, failed, skipped)}")
print(summary_line(*total))
sys.exit(1 if total[1] else 0)
