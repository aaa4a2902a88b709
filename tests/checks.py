"""checks.py: the Python tests' counted checks: check() records a result and prints the
failures; summary() prints the counts and gives the exit status."""
import sys

counts = {"passed": 0, "failed": 0}


def check(ok, what):
    if ok:
        counts["passed"] += 1
    else:
        counts["failed"] += 1
        print(f"FAIL {sys.argv[0].rsplit('/', 1)[-1]}: {what}", flush=True)


def summary(name):
    print(f"{name}: {counts['passed']} checks passed, {counts['failed']} failed")
    return 1 if counts["failed"] else 0
