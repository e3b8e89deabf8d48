"""Command line: ``metabridge reproduce | backends | conventions | compare | pool | report |
simulate``.

Exit status: 0 when every check passes, 1 when a published number FAILs (or, with
``--require-all``, an engine is missing), 2 on a usage or input/output error.
Every argument is checked before any work is done; no command overwrites a file
metabridge did not write (``--force`` overrides; see ``metabridge.outputs``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .errors import InvalidArgumentError, MetabridgeError
from .outputs import OutputFolder
from .studies import RATIO_MEASURES

if TYPE_CHECKING:
    from .result import PoolResult
    from .studies import StudySet


EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
EXIT_CODES = """\
exit status:
  0  every published number PASSes on every engine run
  1  a number FAILs (or, with --require-all, a requested engine is not available)
  2  usage or input/output error (bad argument, unwritable --out, a file metabridge
     did not write in the way); nothing is computed or written
"""


def check_reproduce_args(args: argparse.Namespace) -> tuple[set[str], OutputFolder | None]:
    """Check every argument of ``reproduce`` before any work: (formats, output folder).

    Raises a MetabridgeError (exit status 2) for an unknown engine or format, and for
    an output folder that cannot be written or holds files metabridge did not write.
    """
    from .backends import get_backend
    from .reporting import check_formats, prepare_folder
    from .reproduction_report import TABLES
    from .revman.report import TABLES as REVIEW_TABLES

    for name in args.backend or ():
        get_backend(name)
    formats = check_formats(args.format)
    if args.out is None:
        return formats, None
    tables = TABLES if args.source is None else REVIEW_TABLES
    return formats, prepare_folder(args.out, formats, tables, force=args.force)


def _reproduce(args: argparse.Namespace) -> int:
    from .reproduce import reproduce
    from .reproduction_report import write_report

    formats, folder = check_reproduce_args(args)
    if args.source is not None:
        return _reproduce_review(args, formats, folder)
    run = reproduce(args.backend)
    print(f"Reproducing {run.source['citation']}")
    print("Per-study HRs are RECONSTRUCTED to fit the published summaries (the paper does not")
    print("publish them): see validation/reconstruct_ferritin.py and the README.\n")
    return _show_and_report(run, args, write_report, formats, folder)


def _reproduce_review(
    args: argparse.Namespace, formats: set[str], folder: OutputFolder | None
) -> int:
    """``metabridge reproduce SOURCE``: a Cochrane review file's analyses on every engine."""
    from .revman import read_revman
    from .revman.report import write_review_report
    from .revman.reproduce import reproduce_review

    review = read_revman(args.source)
    run = reproduce_review(review, args.backend)
    print(f"Reproducing {review.title} ({review.format}: {args.source})")
    print("Every number RevMan stored, recomputed with RevMan's settings on every engine that "
          "has the method;\nvalues at full precision, PASS within the tolerance of the format "
          "(see the report).\n")
    return _show_and_report(run, args, write_review_report, formats, folder)


def _show_and_report(
    run: Any, args: argparse.Namespace, write: Callable[[Any, OutputFolder, set[str]], list[Path]],
    formats: set[str], folder: OutputFolder | None,
) -> int:
    """Print a reproduction's table and summary, write its report; the exit status."""
    print(run.table())
    print()
    print(run.summary())
    if folder is not None:
        written = write(run, folder, formats)
        print(f"\nReport written to {folder.path}: " + ", ".join(p.name for p in written))
    missing = bool(run.missing) and args.require_all
    return EXIT_PASS if run.passed and not missing else EXIT_FAIL


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


#: Column flags shared by every command that reads a data file: role -> help.
DATA_COLUMNS = {
    "yi": "column of effects on the analysis scale (log scale for ratios)",
    "sei": "column of standard errors of yi",
    "vi": "column of sampling variances of yi",
    "ratio": "column of ratios (HR, OR, RR, IRR) as reported",
    "lower": "column of the lower CI bounds of the ratio",
    "upper": "column of the upper CI bounds of the ratio",
    "p": "column of two-sided P values of the ratio",
    "events_exp": "column of events in the experimental arm (2x2 counts)",
    "total_exp": "column of participants in the experimental arm (2x2 counts)",
    "events_ctrl": "column of events in the control arm (2x2 counts)",
    "total_ctrl": "column of participants in the control arm (2x2 counts)",
    "mean_exp": "column of means in the experimental arm",
    "sd_exp": "column of SDs in the experimental arm",
    "n_exp": "column of group sizes in the experimental arm",
    "mean_ctrl": "column of means in the control arm",
    "sd_ctrl": "column of SDs in the control arm",
    "n_ctrl": "column of group sizes in the control arm",
}


def _add_data_arguments(parser: argparse.ArgumentParser,
                        data_help: str = "CSV file, one row per study") -> None:
    """DATA and the column flags: which column plays which role."""
    parser.add_argument("data", metavar="DATA", help=data_help)
    group = parser.add_argument_group("columns of DATA (columns not named become covariates)")
    group.add_argument("--label", nargs="+", metavar="COLUMN",
                       help="column(s) of study labels; several are joined with a space "
                       "(--label author year gives 'Garfinkel 1981'); repeated labels are made "
                       "unique as metafor does ('Lam.1', 'Lam.2'), with a warning")
    for role, words in DATA_COLUMNS.items():
        group.add_argument(f"--{role.replace('_', '-')}", dest=role, metavar="COLUMN",
                           help=words)
    group.add_argument("--measure", default=None,
                       help="effect measure: HR, OR, RR, IRR (ratios, pooled on the log "
                       "scale), MD, SMD, RD, GEN (default: HR for ratio columns, OR for counts, "
                       "MD for means, else GEN)")
    group.add_argument("--se-rule", default="exact", choices=("exact", "revman"),
                       help="SE from a CI: exact normal quantile, or RevMan's 3.92 "
                       "(default: %(default)s)")
    group.add_argument("--input-level", type=float, default=0.95,
                       help="confidence level of the CIs in DATA (default: %(default)s)")
    group.add_argument("--na", default="drop", choices=("drop", "raise"),
                       help="a study with a missing value: drop it with a warning, as metafor "
                       "does (default), or stop with an error")


def _read_studies(args: argparse.Namespace) -> StudySet:
    """The StudySet described by DATA and the column flags."""
    from .studies import StudySet

    columns = {role: getattr(args, role) for role in ("label", *DATA_COLUMNS)
               if getattr(args, role)}
    return StudySet.read_csv(args.data, **columns, measure=args.measure,
                             level=args.input_level, se_rule=args.se_rule, na=args.na)


def _add_pooling_arguments(parser: argparse.ArgumentParser, *, one_backend: bool) -> None:
    """--method, --test, --level and --backend with the library's defaults."""
    from .facade import DEFAULT_BACKEND, DEFAULT_METHOD
    from .methods import TESTS

    group = parser.add_argument_group("pooling")
    group.add_argument("--method", default=DEFAULT_METHOD,
                       help="tau^2 estimator (metafor's names) or FE; for 2x2 counts also MH "
                       "(Mantel-Haenszel), DL-MH (RevMan's M-H random effects) or PETO "
                       "(default: %(default)s)")
    group.add_argument("--test", default="z", choices=tuple(TESTS),
                       help="inference: z, knha (Hartung-Knapp), adhoc (default: %(default)s)")
    group.add_argument("--level", type=float, default=0.95,
                       help="confidence level of the pooled CI (default: %(default)s)")
    if one_backend:
        group.add_argument("--backend", default=DEFAULT_BACKEND,
                           help="engine that pools (default: %(default)s; see "
                           "'metabridge backends')")


def _compare(args: argparse.Namespace) -> int:
    from .facade import compare

    comparison = compare(_read_studies(args), methods=args.methods, backends=args.backend)
    print(comparison)
    for backend, method, error in comparison.failed:
        print(f"metabridge: {backend}/{method} failed: {error}", file=sys.stderr)
    return 1 if comparison.failed else 0


def _pool(args: argparse.Namespace) -> int:
    from .facade import pool

    result = pool(_read_studies(args), args.method, args.backend, args.level, args.test)
    print(pool_output(result, args.format), end="")
    return 0


def _report(args: argparse.Namespace) -> int:
    from .plots.forest_plot import FAVOURS
    from .reporting import report
    from .revman import is_review_file

    if is_review_file(args.data):
        return _report_review(args)
    labels = dict(_key_value(item, "--group-label") for item in args.group_label or ())
    written = report(
        _read_studies(args), args.out, method=args.method, backend=args.backend, by=args.by,
        test=args.test, level=args.level, labels=labels,
        favours=tuple(args.favours) if args.favours else FAVOURS, title=args.title,
        formats=args.format.split(","), source=str(args.data), force=args.force)
    print(f"Report written to {args.out}: " + ", ".join(p.name for p in written))
    return 0


def _report_review(args: argparse.Namespace) -> int:
    """``metabridge report REVIEW``: each analysis as RevMan pooled it."""
    from .reporting import report_review
    from .revman import read_revman

    given = [f"--{role.replace('_', '-')}" for role in (*DATA_COLUMNS, "by", "group_label")
             if getattr(args, role, None)]
    if given:
        raise InvalidArgumentError(
            f"{', '.join(given)} do(es) not apply to a RevMan file: its analyses carry their "
            "own data, subgroups and settings (choose analyses with --analysis)")
    written = report_review(read_revman(args.data), args.out, backend=args.backend,
                            analyses=args.analysis, formats=args.format.split(","),
                            force=args.force)
    print(f"Report written to {args.out}: " + ", ".join(p.name for p in written))
    return 0


def _key_value(item: str, flag: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise InvalidArgumentError(f"{flag} takes COLUMN=TEXT, got {item!r}")
    return key.strip(), value.strip()


def pool_output(result: PoolResult, form: str) -> str:
    """A pooled result as text (metafor-style block), one CSV row, or JSON."""
    if form == "text":
        return result.summary() + "\n"
    numbers = {key: value for key, value in result.to_dict().items()
               if isinstance(value, str | int | float | bool)}
    if result.measure in RATIO_MEASURES:
        ratio = result.exp()
        numbers |= {"ratio": ratio.estimate, "ratio_ci_low": ratio.ci_low,
                    "ratio_ci_high": ratio.ci_high}
    if form == "csv":
        return pd.DataFrame([numbers]).to_csv(index=False)
    full = result.to_dict() | numbers
    return json.dumps(_json_safe(full), indent=2) + "\n"


def _json_safe(value: Any) -> Any:
    """NaN and infinities as null (JSON has neither); containers recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value if isinstance(value, str | int | bool) or value is None else str(value)


def _example(text: str) -> str:
    return f"example:\n  {text}"


def _simulate(args: argparse.Namespace) -> int:
    from .simstudy import simulation_study

    study = simulation_study(args.grid, store=args.store, workers=args.workers,
                             scheduler=args.scheduler, progress=args.progress,
                             retry_failed=args.retry_failed, replicates=args.replicates,
                             timeout=args.timeout)
    print(study)
    return 1 if study.failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metabridge",
        description="One meta-analysis, every engine (statsmodels, PythonMeta, R metafor).",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    rep = sub.add_parser(
        "reproduce", help="reproduce Cheng & Song 2025, or a Cochrane review file, on every "
        "engine",
        epilog=_example("metabridge reproduce --out report --backend metafor --backend "
                        "statsmodels\n  metabridge reproduce CD012345StatsDataOnly.rm5 "
                        "--out report") + "\n\n" + EXIT_CODES,
        description="Reproduce every published number on every engine and write a report "
        "folder. metabridge never overwrites a file it did not write: it records what it "
        "wrote in DIR/.metabridge-manifest.json and replaces only those files, unchanged "
        "since (or anything, with --force).",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    rep.add_argument("source", nargs="?", default=None,
                     help="a Cochrane review file: RevMan 5 .rm5, RevMan 5 CSV export or "
                     "RevMan Web zip (default: the Cheng & Song 2025 paper)")
    rep.add_argument("--backend", action="append", default=None,
                     help="engine to run (repeatable; default: every registered engine)")
    rep.add_argument("--out", default="metabridge-report", metavar="DIR",
                     help="report folder, created if needed (default: %(default)s)")
    rep.add_argument("--force", action="store_true",
                     help="overwrite files in --out that metabridge did not write")
    rep.add_argument("--no-report", dest="out", action="store_const", const=None,
                     help="print the table only")
    rep.add_argument("--format", default="md,html,csv",
                     help="report formats, comma separated: md, html, csv (default: %(default)s)")
    rep.add_argument("--require-all", action="store_true",
                     help="exit 1 if any requested engine is not available (CI)")
    rep.set_defaults(run=_reproduce)

    sub.add_parser(
        "backends", help="which engines run here, and what each offers",
        epilog=_example("metabridge backends"),
        formatter_class=argparse.RawDescriptionHelpFormatter).set_defaults(run=_backends)
    conv = sub.add_parser(
        "conventions", help="documented differences between engines",
        epilog=_example("metabridge conventions --markdown > docs/conventions.md"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    conv.add_argument("--markdown", action="store_true", help="as docs/conventions.md")
    conv.set_defaults(run=_conventions)

    cmp_ = sub.add_parser(
        "compare", help="pool a CSV with every engine and method",
        description="Pool a CSV with every engine and method. Exit 0 when every fit ran, 1 "
        "when an engine failed on some fit (its rows are listed as FAILED, all others are "
        "shown), 2 on a usage or input error.",
        epilog=_example("metabridge compare trials.csv --label study --ratio hr --lower lo "
                        "--upper hi --methods FE DL REML"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_data_arguments(cmp_)
    cmp_.add_argument("--methods", nargs="+", default=["FE", "DL"])
    cmp_.add_argument("--backend", action="append", default=None)
    cmp_.set_defaults(run=_compare)

    pool_ = sub.add_parser(
        "pool", help="pool a CSV on one engine (metafor-style block, CSV or JSON)",
        epilog=_example(
            "metabridge pool dat.csv --label author --yi yi --vi vi --measure RR \\\n"
            "      --method REML --test knha --backend metafor\n"
            "  metabridge pool trials.csv --ratio hr --lower lo --upper hi --format json"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_data_arguments(pool_)
    _add_pooling_arguments(pool_, one_backend=True)
    pool_.add_argument("--format", default="text", choices=("text", "csv", "json"),
                       help="output: text (metafor-style), csv (one row), json "
                       "(default: %(default)s)")
    pool_.set_defaults(run=_pool)

    report_ = sub.add_parser(
        "report", help="the full report of a CSV or a RevMan file: HTML, Markdown, CSV, "
        "figures (PNG + SVG)",
        epilog=_example(
            "metabridge report hackshaw.csv --label author year --yi yi --vi vi --measure OR \\\n"
            "      --method REML --backend metafor --by design \\\n"
            "      --group-label \"design=Study design\" --out hackshaw-report\n"
            "  metabridge report review.rm5 --analysis 1.1 --analysis 1.2 --out review-report"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_data_arguments(report_, "CSV file (one row per study), or a RevMan file: .rm5, "
                        "RevMan 5 CSV export or RevMan Web zip (recognised by content)")
    _add_pooling_arguments(report_, one_backend=True)
    shown = report_.add_argument_group("report")
    shown.add_argument("--out", default="metabridge-report", metavar="DIR",
                       help="report folder, created if needed; files metabridge did not "
                       "write are never replaced (default: %(default)s)")
    shown.add_argument("--force", action="store_true",
                       help="overwrite files in --out that metabridge did not write")
    shown.add_argument("--by", nargs="+", default=[], metavar="COLUMN",
                       help="columns to form subgroups (one forest plot and test each)")
    shown.add_argument("--group-label", action="append", metavar="COLUMN=TEXT",
                       help="readable heading for a subgroup column (repeatable)")
    shown.add_argument("--favours", nargs=2, metavar=("LEFT", "RIGHT"),
                       help="labels under the forest plots' axis (default: RevMan's "
                       "'Favours [experimental]' 'Favours [control]')")
    shown.add_argument("--title", default=None, help="title of the report")
    shown.add_argument("--analysis", action="append", metavar="ID",
                       help="for a RevMan file (.rm5, RevMan 5 CSV export, RevMan Web zip): "
                       "the analysis to report, e.g. 1.2 (repeatable; default: every one); "
                       "each is pooled with RevMan's own method, model and level")
    shown.add_argument("--format", default="md,html,csv",
                       help="formats, comma separated: md, html, csv (default: %(default)s)")
    report_.set_defaults(run=_report)

    sim = sub.add_parser(
        "simulate", help="run a grid of simulation scenarios on Dask (docs/simulation.md)",
        epilog=_example("metabridge simulate grid.toml --store study --workers 2\n"
                        "  metabridge simulate grid.toml --store study --scheduler "
                        "tcp://scheduler-host:8786"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sim.add_argument("grid", help="grid file (TOML): [grid] and [analysis] tables")
    sim.add_argument("--store", required=True,
                     help="folder for the results; a rerun resumes where it stopped")
    where = sim.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="local worker processes (default: one per core)")
    where.add_argument("--scheduler", default=None,
                       help="address of a running Dask scheduler, e.g. tcp://host:8786")
    sim.add_argument("--timeout", type=float, default=10.0,
                     help="seconds to wait for the scheduler (default: %(default)s)")
    sim.add_argument("--retry-failed", action="store_true",
                     help="run the scenarios recorded as failed again")
    sim.add_argument("--no-replicates", dest="replicates", action="store_false",
                     help="keep only the summaries (no per-replicate Parquet files)")
    sim.add_argument("--no-progress", dest="progress", action="store_false",
                     help="no progress bar")
    sim.set_defaults(run=_simulate)
    return parser


def _show_warning(message: Warning | str, category: type[Warning], *_: object) -> None:
    """A warning on the command line: one line, no source location."""
    print(f"metabridge: warning ({category.__name__}): {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 PASS, 1 FAIL, 2 usage/I-O error)."""
    args = build_parser().parse_args(argv)  # --help exits 0, a usage error 2 (argparse)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return int(args.run(args))
        except MetabridgeError as exc:
            print(f"metabridge: error: {exc}", file=sys.stderr)
            return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
