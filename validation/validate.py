"""Cross-engine validation: every published number on every engine.

    python validation/validate.py [--backend NAME ...] [--require-all] [--no-revman]

1. Cheng & Song 2025: target, published value and each engine's value with PASS/FAIL
   at the printed rounding (targets and their citation: validation/targets.toml).
2. The RevMan fixtures in validation/revman/ (see its README): every number RevMan
   stored (metafor for metabridge's own fixtures), recomputed with RevMan's settings
   on every engine that has the method, PASS within the format's tolerance.  The only
   FAILs accepted are the documented engine conventions listed for metabridge's own
   fixtures in validation/revman/expected_differences.toml, and each listed one must
   still occur.

Exit status 1 on any other FAIL, a stale expectation or an analysis no engine could
re-run, or, with --require-all (set automatically when the CI environment variable is
set), if an engine is missing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from pathlib import Path

from metabridge import read_revman
from metabridge.conventions import convention
from metabridge.reproduce import reproduce
from metabridge.revman.reproduce import reproduce_review

REVMAN = Path(__file__).resolve().parent / "revman"
#: Every shipped RevMan fixture: the public Fleiss 1993 files (RevMan's numbers) and
#: metabridge's own (metafor's numbers), each in the three formats.
REVMAN_FIXTURES = (
    "Fleiss1993.rm5", "Fleiss1993_CR.csv", "Fleiss1993.zip",
    "metabridge_examples.rm5", "metabridge_examples_CR.csv", "metabridge_examples.zip",
)


def expected_differences(fixture: str) -> list[dict]:
    """The documented differences accepted for ``fixture`` (only metabridge's own)."""
    if not fixture.startswith("metabridge_examples"):
        return []
    with open(REVMAN / "expected_differences.toml", "rb") as handle:
        entries = tomllib.load(handle)["difference"]
    for entry in entries:
        if not convention(entry["convention"]).check:  # an unknown key raises KeyError
            raise ValueError(f"convention {entry['convention']} names no check")
    return entries


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
        entries = expected_differences(name)
        unexpected, stale = review.against(
            (e["analysis"], engine) for e in entries for engine in e["engines"])
        for entry in entries:
            print(f"EXPECTED DIFFERENCE {entry['analysis']} on {', '.join(entry['engines'])} "
                  f"({entry['convention']}): {entry['reason']}")
        for analysis, engine in stale:
            print(f"STALE expected difference: {analysis} on {engine} no longer FAILs")
        failed |= (bool(unexpected) or bool(stale) or bool(review.not_reproduced)
                   or not review.backends or (args.require_all and bool(review.missing)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
