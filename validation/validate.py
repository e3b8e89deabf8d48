"""Cross-engine validation: every published number on every engine.

    python validation/validate.py [--backend NAME ...] [--require-all] [--no-revman]

1. Cheng & Song 2025: target, published value and each engine's value with PASS/FAIL
   at the printed rounding (targets and their citation: validation/targets.toml).
2. The RevMan fixtures in validation/revman/ (see its README): every number RevMan
   stored (metafor for metabridge's own fixtures), recomputed with RevMan's settings
   on every engine that has the method, PASS within the format's tolerance.

Exit status 1 on any FAIL or analysis no engine could re-run, or, with --require-all
(set automatically when the CI environment variable is set), if an engine is missing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from metabridge import read_revman
from metabridge.reproduce import reproduce
from metabridge.revman.reproduce import reproduce_review

REVMAN = Path(__file__).resolve().parent / "revman"
#: Every shipped RevMan fixture: the public Fleiss 1993 files (RevMan's numbers) and
#: metabridge's own (metafor's numbers), each in the three formats.
REVMAN_FIXTURES = (
    "Fleiss1993.rm5", "Fleiss1993_CR.csv", "Fleiss1993.zip",
    "metabridge_examples.rm5", "metabridge_examples_CR.csv", "metabridge_examples.zip",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", default=None)
    parser.add_argument("--require-all", action="store_true", default=bool(os.environ.get("CI")))
    parser.add_argument("--no-revman", action="store_true", help="skip the RevMan fixtures")
    args = parser.parse_args()
    run = reproduce(args.backend)
    print(run.table())
    print()
    print(run.summary())
    failed = not run.passed or (args.require_all and bool(run.missing))
    for name in () if args.no_revman else REVMAN_FIXTURES:
        review = reproduce_review(read_revman(REVMAN / name), args.backend)
        print(f"\n=== {name}\n")
        print(review.table())
        print()
        print(review.summary())
        failed |= not review.passed or (args.require_all and bool(review.missing))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
