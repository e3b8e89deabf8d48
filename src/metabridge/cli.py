"""Command line: ``metabridge reproduce | backends | conventions | compare``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .errors import MetabridgeError


def _reproduce(args: argparse.Namespace) -> int:
    from .report import write_report
    from .reproduce import reproduce

    run = reproduce(args.backend)
    print(f"Reproducing {run.source['citation']}")
    print("Per-study HRs are RECONSTRUCTED to fit the published summaries (the paper does not")
    print("publish them): see validation/reconstruct_ferritin.py and the README.\n")
    print(run.table())
    print()
    print(run.summary())
    if args.out is not None:
        formats = {f.strip() for f in args.format.split(",") if f.strip()}
        written = write_report(run, Path(args.out), formats)
        print(f"\nReport written to {args.out}: " + ", ".join(p.name for p in written))
    missing = bool(run.missing) and args.require_all
    return 0 if run.passed and not missing else 1


def _backends(_: argparse.Namespace) -> int:
    from .backends import backend_status, capabilities

    with pd.option_context("display.max_colwidth", 120, "display.width", 200):
        print(backend_status().to_string(index=False))
        print()
        print(capabilities().to_string())
    return 0


def _conventions(args: argparse.Namespace) -> int:
    from .conventions import CONVENTIONS, conventions_markdown

    if args.markdown:
        print(conventions_markdown(), end="")
        return 0
    for c in CONVENTIONS:
        print(f"[{c.key}] ({', '.join(c.quantities)})\n  engine:     {c.engine}\n"
              f"  metabridge: {c.metabridge}\n")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from .facade import compare
    from .studies import StudySet

    columns = {key: getattr(args, key) for key in ("label", "yi", "sei", "vi", "ratio", "lower",
                                                   "upper", "p", "measure")}
    studies = StudySet.read_csv(args.csv, **{k: v for k, v in columns.items() if v},
                                se_rule=args.se_rule)
    print(compare(studies, methods=args.methods, backends=args.backend))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metabridge",
        description="One meta-analysis, every engine (statsmodels, PythonMeta, R metafor).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    rep = sub.add_parser("reproduce", help="reproduce Cheng & Song 2025 on every engine")
    rep.add_argument("--backend", action="append", default=None,
                     help="engine to run (repeatable; default: every registered engine)")
    rep.add_argument("--out", default="metabridge-report",
                     help="report folder (default: %(default)s)")
    rep.add_argument("--no-report", dest="out", action="store_const", const=None,
                     help="print the table only")
    rep.add_argument("--format", default="md,html,csv",
                     help="report formats, comma separated: md, html, csv (default: %(default)s)")
    rep.add_argument("--require-all", action="store_true",
                     help="exit 1 if any requested engine is not available (CI)")
    rep.set_defaults(run=_reproduce)

    sub.add_parser("backends", help="which engines run here, and what each offers").set_defaults(
        run=_backends)
    conv = sub.add_parser("conventions", help="documented differences between engines")
    conv.add_argument("--markdown", action="store_true", help="as docs/conventions.md")
    conv.set_defaults(run=_conventions)

    cmp_ = sub.add_parser("compare", help="pool a CSV with every engine and method")
    cmp_.add_argument("csv")
    for column in ("label", "yi", "sei", "vi", "ratio", "lower", "upper", "p"):
        cmp_.add_argument(f"--{column}", help=f"column holding {column}")
    cmp_.add_argument("--measure", default=None)
    cmp_.add_argument("--se-rule", default="exact", choices=("exact", "revman"))
    cmp_.add_argument("--methods", nargs="+", default=["FE", "DL"])
    cmp_.add_argument("--backend", action="append", default=None)
    cmp_.set_defaults(run=_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except MetabridgeError as exc:
        print(f"metabridge: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
