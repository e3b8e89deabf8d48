"""Cross-engine validation: every published number of Cheng & Song 2025 on every engine.

    python validation/validate.py [--backend NAME ...] [--require-all]

Prints target, published value and each engine's value with PASS/FAIL at the
printed rounding (targets and their citation: validation/targets.toml).  Exit
status 1 on any FAIL, or, with --require-all (set automatically when the CI
environment variable is set), if an engine is missing.
"""

from __future__ import annotations

import argparse
import os
import sys

from metabridge.reproduce import reproduce


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", default=None)
    parser.add_argument("--require-all", action="store_true", default=bool(os.environ.get("CI")))
    args = parser.parse_args()
    run = reproduce(args.backend)
    print(run.table())
    print()
    print(run.summary())
    failed = not run.passed or (args.require_all and bool(run.missing))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
