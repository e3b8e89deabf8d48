"""Does bad input stop at the boundary with a clear MetabridgeError?

Every public entry point that takes user data (the StudySet constructors and
selections, and the analysis verbs) is fed each kind of bad input once.  The
answer must be a :class:`metabridge.MetabridgeError` subclass whose message
names the study label and the field where there is one -- never a traceback
from inside numpy, pandas or R, and never a silently wrong number.

``CASES`` is the single table; ``docs/errors.md`` lists the same cases with the
messages the code gave when the file was generated.  Regenerate it after changing
a case or a message with ``python tests/test_bad_input.py``.  ``ACCEPTED`` holds
boundary inputs that must pass.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest
from conftest import need

import metabridge as mb
from metabridge import cli, plots
from metabridge.errors import DataFileError, NotEstimableError, OutputError
from metabridge.outputs import MANIFEST
from metabridge.simulate import uniform_variances

DOC = Path(__file__).resolve().parents[1] / "docs" / "errors.md"
RUN = "tests/test_bad_input.py"  # writes DOC
NAN, INF = math.nan, math.inf

# Three valid studies; every case changes one thing.
RATIOS = {"ratio": [2.0, 1.5, 0.8], "lower": [1.0, 1.0, 0.5], "upper": [4.0, 2.25, 1.28],
          "labels": ["A", "B", "C"]}
RATIO_P = {"ratio": [2.0, 1.5, 0.8], "p": [0.01, 0.2, 0.3], "labels": ["A", "B", "C"]}
EFFECTS = {"yi": [0.1, 0.2, 0.3], "sei": [0.1, 0.2, 0.3], "labels": ["A", "B", "C"]}
COUNTS = {"events_exp": [12, 3, 5], "total_exp": [40, 30, 25], "events_ctrl": [20, 4, 9],
          "total_ctrl": [41, 28, 27], "labels": ["A", "B", "C"]}
MEANS = {"mean_exp": [55.0, 27.0, 64.0], "sd_exp": [47.0, 7.0, 17.0], "n_exp": [155, 31, 75],
         "mean_ctrl": [75.0, 29.0, 119.0], "sd_ctrl": [64.0, 4.0, 29.0], "n_ctrl": [156, 32, 71],
         "labels": ["A", "B", "C"]}
FRAME = {"study": ["A", "B", "C"], "hr": [2.0, 1.5, 0.8], "lo": [1.0, 1.0, 0.5],
         "hi": [4.0, 2.25, 1.28], "arm": ["x", "x", "y"]}
CI_COLUMNS = {"label": "study", "ratio": "hr", "lower": "lo", "upper": "hi"}


def ratios(**change: Any) -> mb.StudySet:
    return mb.StudySet.from_ratios(**{**RATIOS, **change})


def ratio_p(**change: Any) -> mb.StudySet:
    return mb.StudySet.from_ratio_p(**{**RATIO_P, **change})


def effects(**change: Any) -> mb.StudySet:
    return mb.StudySet.from_effects(**{**EFFECTS, **change})


def counts(**change: Any) -> mb.StudySet:
    return mb.StudySet.from_counts(**{**COUNTS, **change})


def means(**change: Any) -> mb.StudySet:
    return mb.StudySet.from_means(**{**MEANS, **change})


def from_frame(columns: dict[str, Any] | None = None, **names: Any) -> mb.StudySet:
    """``from_frame`` on FRAME with some columns replaced or added, naming ``names``."""
    frame = pd.DataFrame({**FRAME, **(columns or {})})
    return mb.StudySet.from_frame(frame, **(names or CI_COLUMNS))


def studies(k: int = 3) -> mb.StudySet:
    """The first k of A, B, C (HR with CI) with a covariate ``arm`` = x, x, y."""
    return ratios(arm=["x", "x", "y"]).subset(["A", "B", "C"][:k])


def begg_k2() -> Any:
    need("metafor")
    return mb.begg(studies(2), backend="metafor")


def on_pimeta(studies: mb.StudySet, **options: Any) -> Any:
    need("pimeta")
    return mb.pool(studies, backend="pimeta", **options)


# Cochrane review files: the public Fleiss 1993 fixtures with one thing changed, written
# where the path (and so the message in docs/errors.md) is the same on every run.
REVMAN = Path(__file__).resolve().parents[1] / "validation" / "revman"
BAD_FILES = Path(tempfile.gettempdir()) / "metabridge-bad-input"


def bad_file(name: str, content: str | bytes) -> Path:
    BAD_FILES.mkdir(exist_ok=True)
    path = BAD_FILES / name
    path.write_bytes(content.encode("latin-1") if isinstance(content, str) else content)
    return path


# Data no engine can answer for: identical effects, identical SEs.
IDENTICAL = {"yi": [0.2, 0.2, 0.2], "sei": [0.1, 0.2, 0.3], "labels": ["A", "B", "C"]}
EQUAL_SES = {"yi": [0.1, 0.5, 0.2], "sei": [0.2, 0.2, 0.2], "labels": ["A", "B", "C"]}


def identical(**change: Any) -> mb.StudySet:
    return mb.StudySet.from_effects(**{**IDENTICAL, **change})


def equal_ses(**change: Any) -> mb.StudySet:
    return mb.StudySet.from_effects(**{**EQUAL_SES, **change})


def on(engine: str, call: Callable[[], Any]) -> Any:
    """``call()`` where ``engine`` must be installed (skip locally, fail in CI)."""
    need(engine)
    return call()


def simulate(**change: Any) -> Any:
    """A tiny simulation on statsmodels with one argument changed."""
    return mb.simulate(**{"k": 3, "reps": 4, "progress": False, "cross_check": 0,
                          "backends": ["statsmodels"], **change})


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def in_scratch(call: Callable[[], Any], files: dict[str, str] | None = None) -> Any:
    """``call()`` in a scratch folder holding ``files``; paths in messages are relative."""
    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):
        for name, text in (files or {}).items():
            Path(name).parent.mkdir(parents=True, exist_ok=True)
            Path(name).write_text(text, encoding="utf-8")
        return call()


def reproduce_args(*argv: str, files: dict[str, str] | None = None) -> Any:
    """``metabridge reproduce ARGV``'s argument checks (which run before any work)."""
    return in_scratch(lambda: cli.check_reproduce_args(
        cli.build_parser().parse_args(["reproduce", *argv])), files)


def fleiss_rm5(old: str, new: str) -> Any:
    text = (REVMAN / "Fleiss1993.rm5").read_text(encoding="latin-1")
    assert old in text, old
    return mb.read_revman(bad_file("changed.rm5", text.replace(old, new, 1)))


def fleiss_csv(old: str, new: str) -> Any:
    text = (REVMAN / "Fleiss1993_CR.csv").read_text(encoding="utf-8")
    assert old in text, old
    return mb.read_revman(bad_file("changed.csv", text.replace(old, new, 1).encode()))


def fleiss_zip(table: str, old: str | None = None, new: str = "") -> Any:
    """The Fleiss data package flattened, ``table`` edited (or left out if ``old`` is None)."""
    members = {}
    with zipfile.ZipFile(REVMAN / "Fleiss1993.zip") as outer:
        data = next(n for n in outer.namelist() if n.endswith("-data.zip"))
        with zipfile.ZipFile(io.BytesIO(outer.read(data))) as inner:
            members = {n: inner.read(n) for n in inner.namelist() if n.endswith(".csv")}
    name = next(n for n in members if n.endswith(table))
    if old is None:
        del members[name]
    else:
        text = members[name].decode("utf-8-sig")
        assert old in text, old
        members[name] = text.replace(old, new, 1).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    return mb.read_revman(bad_file("changed.zip", buffer.getvalue()))


def fleiss_zip_dta() -> Any:
    with zipfile.ZipFile(REVMAN / "Fleiss1993.zip") as outer:
        names = {n: outer.read(n) for n in outer.namelist() if not n.endswith("/")}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, content in names.items():
            archive.writestr(member, content)
        archive.writestr("CD000000-analysis-data/CD000000-parameters.csv", "a,b\n")
    return mb.read_revman(bad_file("dta.zip", buffer.getvalue()))


# A valid one-scenario simulation grid; every simulation case changes one thing.
SIM_GRID = {"grid": {"k": [3], "tau2": [0.0], "reps": 5},
            "analysis": {"backends": ["statsmodels"], "seed": 1}}


def sim_grid(table: str = "grid", **change: Any) -> dict[str, Any]:
    """SIM_GRID with keys of ``table`` changed (a value of None removes the key)."""
    grid = {name: dict(keys) for name, keys in SIM_GRID.items()}
    grid[table] |= change
    grid[table] = {k: v for k, v in grid[table].items() if v is not None}
    return grid


def simulation(grid: Any = None, store: Path | None = None, **options: Any) -> Any:
    """simulation_study on a store that does not exist yet; ``client=object()`` fails on
    any use, so a case that got past the checks could not run a thing."""
    if store is None:
        store = BAD_FILES / "no-such-store"
        assert not store.exists()
    options.setdefault("client", None if {"scheduler", "workers"} & set(options) else object())
    return mb.simulation_study(SIM_GRID if grid is None else grid, store=store,
                               progress=False, **options)


def store_of_seed_1() -> Path:
    """A store made from SIM_GRID (seed 1), no scenario run."""
    import shutil

    from metabridge.simstudy import load_grid
    from metabridge.simstudy.store import Store

    path = BAD_FILES / "sim-store-seed-1"
    shutil.rmtree(path, ignore_errors=True)
    Store(path, load_grid(SIM_GRID)).create()
    return path
def mixed_groups_on_metafor(tau2: str) -> Any:
    need("metafor")
    return mb.subgroups(studies().with_columns(arm=[1, "1", 2]), "arm", backend="metafor",
                        tau2=tau2)


def metafor_beyond_memory() -> Any:
    """20,000 studies with REML on metafor, as if 8 GiB were available (never run)."""
    from unittest import mock

    from metabridge.backends import metafor

    need("metafor")
    many = mb.StudySet.from_effects(np.linspace(-1, 1, 20_000), vi=np.full(20_000, 0.1))
    with mock.patch.object(metafor, "available_bytes", return_value=8 * 2**30):
        return mb.pool(many, "REML", "metafor")


class Case(NamedTuple):
    id: str
    input: str  # what the case feeds in, for docs/errors.md
    call: Callable[[], Any]
    error: type[Exception]
    match: str  # regex the message must match (study label and field where there is one)


Study = mb.InvalidStudyError
Out = OutputError
Inestimable = NotEstimableError
Arg = mb.InvalidArgumentError
Few = mb.InsufficientStudiesError
Review = mb.ReviewFileError

CASES = [
    # ---------------------------------------------------------- StudySet.from_ratios
    Case("ratios-nan-ratio", "`from_ratios(na='raise')`: ratio of B is NaN",
         lambda: ratios(ratio=[2.0, NAN, 0.8], na="raise"), Study,
         r"^study 'B', field 'ratio': value is missing"),
    Case("ratios-none-lower", "`from_ratios(na='raise')`: lower of B is None",
         lambda: ratios(lower=[1.0, None, 0.5], na="raise"), Study,
         r"^study 'B', field 'lower': value is missing"),
    Case("ratios-inf-upper", "`from_ratios`: upper of B is +inf",
         lambda: ratios(upper=[4.0, INF, 1.28]), Study, r"^study 'B', field 'upper': value is inf"),
    Case("ratios-neginf-lower", "`from_ratios`: lower of A is -inf",
         lambda: ratios(lower=[-INF, 1.0, 0.5]), Study,
         r"^study 'A', field 'lower': value is -inf"),
    Case("ratios-text-ratio", "`from_ratios`: ratio of B is `'abc'`",
         lambda: ratios(ratio=[2.0, "abc", 0.8]), Study,
         r"^study 'B', field 'ratio': 'abc' is not a number"),
    Case("ratios-zero-ratio", "`from_ratios`: ratio of B is 0",
         lambda: ratios(ratio=[2.0, 0.0, 0.8]), Study, r"^study 'B', field 'ratio': .*> 0"),
    Case("ratios-negative-lower", "`from_ratios`: lower of B is -0.5",
         lambda: ratios(lower=[1.0, -0.5, 0.5]), Study, r"^study 'B', field 'lower': .*> 0"),
    Case("ratios-zero-upper", "`from_ratios`: upper of C is 0",
         lambda: ratios(upper=[4.0, 2.25, 0.0]), Study, r"^study 'C', field 'upper': .*> 0"),
    Case("ratios-lower-above-upper", "`from_ratios`: B has lower 3.0, upper 2.25",
         lambda: ratios(lower=[1.0, 3.0, 0.5]), Study,
         r"^study 'B', field 'lower': lower CI bound 3.0 is above the upper bound 2.25"),
    Case("ratios-zero-width-ci", "`from_ratios`: B has lower = upper = 1.5",
         lambda: ratios(lower=[1.0, 1.5, 0.5], upper=[4.0, 1.5, 1.28]), Study,
         r"^study 'B', field 'upper': the CI has zero width"),
    Case("ratios-estimate-below-ci", "`from_ratios`: ratio of A (0.9) below its CI 1.0-4.0",
         lambda: ratios(ratio=[0.9, 1.5, 0.8]), Study,
         r"^study 'A', field 'ratio': estimate 0.9 lies outside its CI"),
    Case("ratios-estimate-above-ci", "`from_ratios`: ratio of C (1.3) above its CI 0.5-1.28",
         lambda: ratios(ratio=[2.0, 1.5, 1.3]), Study,
         r"^study 'C', field 'ratio': estimate 1.3 lies outside its CI"),
    Case("ratios-ci-too-narrow-for-log",
         "`from_ratios`: one study A with ratio = lower = 1e-300, upper the next float",
         lambda: mb.StudySet.from_ratios([1e-300], [1e-300], [np.nextafter(1e-300, 1)],
                                         labels=["A"]),
         Study, r"^study 'A', field 'vi': the variance derived from the input is 0.0"),
    Case("ratios-level-0", "`from_ratios(level=0)`",
         lambda: ratios(level=0), Arg, r"level must be in \(0, 1\), got 0"),
    Case("ratios-level-1", "`from_ratios(level=1)`",
         lambda: ratios(level=1), Arg, r"level must be in \(0, 1\), got 1"),
    Case("ratios-level-95", "`from_ratios(level=95)`",
         lambda: ratios(level=95), Arg, r"got 95 \(did you mean 0.95\?\)"),
    Case("ratios-level-negative", "`from_ratios(level=-0.1)`",
         lambda: ratios(level=-0.1), Arg, r"level must be in \(0, 1\), got -0.1"),
    Case("ratios-level-text", "`from_ratios(level='abc')`",
         lambda: ratios(level="abc"), Arg, r"level must be a number in \(0, 1\), got 'abc'"),
    Case("ratios-mistyped-argument", "`from_ratios(input_level=0.9)` (the CLI's name for level)",
         lambda: ratios(input_level=0.9), Arg,
         r"^input_level=0.9 is not an argument; did you mean level=\?"),
    Case("effects-scalar-keyword", "`from_effects(sel_rule='revman')` (a typo)",
         lambda: mb.StudySet.from_effects(**EFFECTS, sel_rule="revman"), Arg,
         r"^sel_rule='revman' is not an argument; did you mean se_rule=\?"),
    Case("ratios-se-rule-unknown", "`from_ratios(se_rule='cochrane')`",
         lambda: ratios(se_rule="cochrane"), Arg,
         r"se_rule must be 'exact' or 'revman', got 'cochrane'"),
    Case("ratios-revman-level-0.8", "`from_ratios(se_rule='revman', level=0.8)`",
         lambda: ratios(se_rule="revman", level=0.8), Arg,
         r"se_rule='revman' has constants only for levels 0.9, 0.95, 0.99; got level=0.8"),
    Case("ratios-measure-unknown", "`from_ratios(measure='XYZ')`",
         lambda: ratios(measure="XYZ"), Arg, r"unknown measure 'XYZ'; known: HR"),
    Case("ratios-measure-not-ratio", "`from_ratios(measure='MD')`",
         lambda: ratios(measure="MD"), Arg, r"measure 'MD' is not a ratio"),
    Case("ratios-length-mismatch", "`from_ratios`: 3 ratios, 2 lower bounds",
         lambda: ratios(lower=[1.0, 1.0]), Study,
         r"^field 'lower': expected one value per study \(3\), got an array of shape \(2,\)"),
    Case("ratios-labels-mismatch", "`from_ratios`: 3 studies, 2 labels",
         lambda: ratios(labels=["A", "B"]), Study, r"^field 'labels': 2 labels for 3 studies"),
    Case("ratios-missing-label", "`from_ratios`: labels A, None, C",
         lambda: ratios(labels=["A", None, "C"]), Study,
         r"^field 'labels': study 2 of 3 has no label"),
    Case("ratios-empty", "`from_ratios([], [], [])`",
         lambda: mb.StudySet.from_ratios([], [], []), Study, r"^field 'studies': no studies"),
    Case("ratios-2d", "`from_ratios`: ratio given as a 1 x 3 array",
         lambda: ratios(ratio=[[2.0, 1.5, 0.8]]), Study,
         r"^field 'ratio': expected one value per study \(3\), got an array of shape \(1, 3\)"),
    Case("ratios-covariate-length", "`from_ratios(..., followup=[12, 10])` for 3 studies",
         lambda: ratios(followup=[12, 10]), Study, r"^field 'followup': 2 values for 3 studies"),
    Case("ratios-keyword-named-yi", "`from_ratios(..., yi=[1, 2, 3])` (a covariate keyword)",
         lambda: ratios(yi=[1, 2, 3]), Study, r"^field 'yi': reserved column name"),
    Case("ratios-covariate-given-twice",
         "`from_ratios(..., covariates={'x': [...]}, x=[...])`",
         lambda: ratios(covariates={"x": [1, 2, 3]}, x=[1, 2, 3]), Study,
         r"^field 'x': column given twice"),
    Case("ratios-na-unknown", "`from_ratios(na='skip')`",
         lambda: ratios(na="skip"), Arg, r"na must be 'drop' or 'raise', got 'skip'"),
    Case("ratios-na-drop-every-study", "`from_ratios`: lower of A, B, C all NaN",
         lambda: ratios(lower=[NAN, NAN, NAN]), Study,
         r"^field 'lower': every study has a missing value; nothing is left \(na='drop'\)"),
    # --------------------------------------------------------- StudySet.from_ratio_p
    Case("p-zero", "`from_ratio_p`: P of B is 0",
         lambda: ratio_p(p=[0.01, 0.0, 0.3]), Study,
         r"^study 'B', field 'p': P must be strictly between 0 and 1"),
    Case("p-one", "`from_ratio_p`: P of B is 1",
         lambda: ratio_p(p=[0.01, 1.0, 0.3]), Study,
         r"^study 'B', field 'p': P must be strictly between 0 and 1"),
    Case("p-above-one", "`from_ratio_p`: P of C is 1.5",
         lambda: ratio_p(p=[0.01, 0.2, 1.5]), Study,
         r"^study 'C', field 'p': P must be strictly between 0 and 1 .*got 1.5"),
    Case("p-text", "`from_ratio_p`: P of B is `'<0.001'`",
         lambda: ratio_p(p=[0.01, "<0.001", 0.3]), Study,
         r"^study 'B', field 'p': '<0.001' is not a number"),
    Case("p-nan", "`from_ratio_p(na='raise')`: P of A is NaN",
         lambda: ratio_p(p=[NAN, 0.2, 0.3], na="raise"), Study,
         r"^study 'A', field 'p': value is missing"),
    Case("p-ratio-one", "`from_ratio_p`: ratio of B is exactly 1",
         lambda: ratio_p(ratio=[2.0, 1.0, 0.8]), Study,
         r"^study 'B', field 'ratio': a ratio of exactly 1 gives SE = 0"),
    Case("p-ratio-negative", "`from_ratio_p`: ratio of C is -0.8",
         lambda: ratio_p(ratio=[2.0, 1.5, -0.8]), Study, r"^study 'C', field 'ratio': .*> 0"),
    Case("p-measure-not-ratio", "`from_ratio_p(measure='SMD')`",
         lambda: ratio_p(measure="SMD"), Arg, r"measure 'SMD' is not a ratio"),
    # ---------------------------------------------------------- StudySet.from_effects
    Case("effects-nan-yi", "`from_effects(na='raise')`: yi of C is NaN",
         lambda: effects(yi=[0.1, 0.2, NAN], na="raise"), Study,
         r"^study 'C', field 'yi': value is missing"),
    Case("effects-text-yi", "`from_effects`: yi of A is `'abc'`",
         lambda: effects(yi=["abc", 0.2, 0.3]), Study,
         r"^study 'A', field 'yi': 'abc' is not a number"),
    Case("effects-zero-sei", "`from_effects`: sei of B is 0",
         lambda: effects(sei=[0.1, 0.0, 0.3]), Study, r"^study 'B', field 'sei': SE must be > 0"),
    Case("effects-negative-sei", "`from_effects`: sei of B is -0.2",
         lambda: effects(sei=[0.1, -0.2, 0.3]), Study,
         r"^study 'B', field 'sei': SE must be > 0, got -0.2"),
    Case("effects-inf-sei", "`from_effects`: sei of A is +inf",
         lambda: effects(sei=[INF, 0.2, 0.3]), Study, r"^study 'A', field 'sei': value is inf"),
    Case("effects-sei-overflows", "`from_effects`: sei of A is 1e200 (its square overflows)",
         lambda: effects(sei=[1e200, 0.2, 0.3]), Study,
         r"^study 'A', field 'sei': SE 1e\+200 squared is inf in double precision"),
    Case("effects-zero-vi", "`from_effects`: vi of B is 0 (no sei)",
         lambda: effects(sei=None, vi=[0.01, 0.0, 0.09]), Study,
         r"^study 'B', field 'vi': variance must be > 0"),
    Case("effects-negative-vi", "`from_effects`: vi of C is -0.09 (no sei)",
         lambda: effects(sei=None, vi=[0.01, 0.04, -0.09]), Study,
         r"^study 'C', field 'vi': variance must be > 0, got -0.09"),
    Case("effects-sei-and-vi", "`from_effects` with both sei and vi",
         lambda: effects(vi=[0.01, 0.04, 0.09]), Study,
         r"^field 'sei/vi': give exactly one of sei"),
    Case("effects-neither-sei-nor-vi", "`from_effects` with neither sei nor vi",
         lambda: effects(sei=None), Study, r"^field 'sei/vi': give exactly one of sei"),
    Case("effects-length-mismatch", "`from_effects`: 3 effects, 2 SEs",
         lambda: effects(sei=[0.1, 0.2]), Study,
         r"^field 'sei': expected one value per study \(3\), got an array of shape \(2,\)"),
    Case("effects-measure-unknown", "`from_effects(measure='log HR')`",
         lambda: effects(measure="log HR"), Arg, r"unknown measure 'log HR'"),
    Case("effects-empty", "`from_effects([], sei=[])`",
         lambda: mb.StudySet.from_effects([], sei=[]), Study, r"^field 'studies': no studies"),
    Case("effects-2d", "`from_effects`: yi a 2 x 2 array, sei 2 values, no labels",
         lambda: mb.StudySet.from_effects([[0.1, 0.2], [0.3, 0.4]], sei=[0.1, 0.2]), Study,
         r"^field 'yi': expected one value per study \(2\), got an array of shape \(2, 2\)"),
    Case("effects-covariate-named-label", "`from_effects(..., label=['a', 'b', 'c'])`",
         lambda: effects(label=["a", "b", "c"]), Study, r"^field 'label': reserved column name"),
    # ---------------------------------------------------------- StudySet.from_counts
    Case("counts-negative-events", "`from_counts`: events_exp of B is -1",
         lambda: counts(events_exp=[12, -1, 5]), Study,
         r"^study 'B', field 'events_exp': a count must be >= 0, got -1"),
    Case("counts-non-integer-total", "`from_counts`: total_ctrl of C is 27.5",
         lambda: counts(total_ctrl=[41, 28, 27.5]), Study,
         r"^study 'C', field 'total_ctrl': a count must be a whole number, got 27.5"),
    Case("counts-events-exceed-total", "`from_counts`: events_ctrl of A (50) above total_ctrl 41",
         lambda: counts(events_ctrl=[50, 4, 9]), Study,
         r"^study 'A', field 'events_ctrl': 50 events exceed the arm's total of 41"),
    Case("counts-total-zero", "`from_counts`: total_exp of B is 0 (and its events 0)",
         lambda: counts(events_exp=[12, 0, 5], total_exp=[40, 0, 25]), Study,
         r"^study 'B', field 'total_exp': the arm has no participants \(total 0\)"),
    Case("counts-missing-events", "`from_counts(na='raise')`: events_ctrl of C is NaN",
         lambda: counts(events_ctrl=[20, 4, NAN], na="raise"), Study,
         r"^study 'C', field 'events_ctrl': value is missing"),
    Case("counts-text-total", "`from_counts`: total_exp of A is `'forty'`",
         lambda: counts(total_exp=["forty", 30, 25]), Study,
         r"^study 'A', field 'total_exp': 'forty' is not a number"),
    Case("counts-length-mismatch", "`from_counts`: 3 events_exp, 2 total_exp",
         lambda: counts(total_exp=[40, 30]), Study,
         r"^field 'total_exp': expected one value per study \(3\)"),
    Case("counts-measure-md", "`from_counts(measure='MD')`",
         lambda: counts(measure="MD"), Arg,
         r"measure 'MD' cannot be computed from 2x2 counts; use one of OR, RR, RD"),
    Case("counts-measure-hr", "`from_counts(measure='HR')`",
         lambda: counts(measure="HR"), Arg, r"measure 'HR' cannot be computed from 2x2 counts"),
    Case("counts-replace-with-columns", "`with_columns(total_exp=[...])` on counts",
         lambda: counts().with_columns(total_exp=[50, 50, 50]), Study,
         r"^field 'total_exp': a reported input"),
    # ----------------------------------------------------------- StudySet.from_means
    Case("means-sd-zero", "`from_means`: sd_exp of B is 0",
         lambda: means(sd_exp=[47.0, 0.0, 17.0]), Study,
         r"^study 'B', field 'sd_exp': an SD must be > 0, got 0.0"),
    Case("means-sd-negative", "`from_means`: sd_ctrl of C is -29",
         lambda: means(sd_ctrl=[64.0, 4.0, -29.0]), Study,
         r"^study 'C', field 'sd_ctrl': an SD must be > 0, got -29.0"),
    Case("means-n-one", "`from_means`: n_ctrl of A is 1",
         lambda: means(n_ctrl=[1, 32, 71]), Study,
         r"^study 'A', field 'n_ctrl': a group needs at least 2 participants for an SD, got 1"),
    Case("means-n-non-integer", "`from_means`: n_exp of B is 30.5",
         lambda: means(n_exp=[155, 30.5, 75]), Study,
         r"^study 'B', field 'n_exp': a count must be a whole number, got 30.5"),
    Case("means-missing-mean", "`from_means(na='raise')`: mean_exp of C is None",
         lambda: means(mean_exp=[55.0, 27.0, None], na="raise"), Study,
         r"^study 'C', field 'mean_exp': value is missing"),
    Case("means-measure-or", "`from_means(measure='OR')`",
         lambda: means(measure="OR"), Arg,
         r"measure 'OR' cannot be computed from means and SDs; use one of MD, SMD"),
    # ---------------------------------------------------- from_frame and read_csv
    Case("frame-missing-column", "`from_frame(frame, ratio='HR', ...)`; the column is `hr`",
         lambda: from_frame(label="study", ratio="HR", lower="lo", upper="hi"), Arg,
         r"columns not in the frame: \['HR'\]"),
    Case("frame-no-effect-columns", "`from_frame(frame, label='study')`",
         lambda: from_frame(label="study"), Arg, r"name the effect columns.*\(got none\)"),
    Case("frame-mixed-effect-columns", "`from_frame` naming ratio, lower, upper and p",
         lambda: from_frame({"pval": [0.01, 0.2, 0.3]}, **CI_COLUMNS, p="pval"), Arg,
         r"name the effect columns.*got ratio='hr', lower='lo', upper='hi', p='pval'"),
    Case("frame-three-of-four-counts", "`from_frame` naming events_exp, total_exp, events_ctrl",
         lambda: from_frame({"e1": [1, 2, 3], "n1": [9, 9, 9], "e2": [2, 2, 2]}, label="study",
                            events_exp="e1", total_exp="n1", events_ctrl="e2"), Arg,
         r"name the effect columns.*events_exp= total_exp= events_ctrl= total_ctrl=.*"
         r"\(got events_exp='e1', total_exp='n1', events_ctrl='e2'\)"),
    Case("frame-not-a-frame", "`from_frame` given a dict",
         lambda: mb.StudySet.from_frame(FRAME, **CI_COLUMNS), Arg,
         r"frame must be a pandas DataFrame, got dict"),
    Case("frame-text-in-number-column", "`from_frame`: column `hr` of B is `'NR'`",
         lambda: from_frame({"hr": ["2.0", "NR", "0.8"]}), Study,
         r"^study 'B', field 'ratio' \(column 'hr'\): 'NR' is not a number"),
    Case("frame-ci-bounds-swapped", "`from_frame`: column `lo` of B (3.0) above `hi` (2.25)",
         lambda: from_frame({"lo": [1.0, 3.0, 0.5]}), Study,
         r"^study 'B', field 'lower' \(column 'lo'\): lower CI bound 3.0 is above"),
    Case("frame-missing-label", "`from_frame`: column `study` of the second row is empty",
         lambda: from_frame({"study": ["A", None, "C"]}), Study,
         r"^field 'label' \(column 'study'\): study 2 of 3 has no label"),
    Case("frame-missing-label-part", "`from_frame(label=['study', 'year'])`: year of B is empty",
         lambda: from_frame({"year": [2001, None, 2003]}, **CI_COLUMNS | {"label": ["study",
                                                                               "year"]}),
         Study, r"^field 'label' \(column 'study, year'\): study 2 of 3 has no label"),
    Case("frame-missing-label-column", "`from_frame(label=['study', 'yr'])`; no column `yr`",
         lambda: from_frame(**CI_COLUMNS | {"label": ["study", "yr"]}), Arg,
         r"columns not in the frame: \['yr'\]"),
    Case("frame-nan-raise", "`from_frame(na='raise')`: column `lo` of C is empty",
         lambda: from_frame({"lo": [1.0, 1.0, None]}, **CI_COLUMNS, na="raise"), Study,
         r"^study 'C', field 'lower' \(column 'lo'\): value is missing"),
    Case("csv-missing-file", "`read_csv('no-such-file.csv', ...)`",
         lambda: mb.StudySet.read_csv("no-such-file.csv", **CI_COLUMNS), DataFileError,
         r"cannot read 'no-such-file.csv' as a CSV table: .*No such file"),
    Case("csv-empty-file", "`read_csv(os.devnull, ...)` (an empty file)",
         lambda: mb.StudySet.read_csv(os.devnull, **CI_COLUMNS), DataFileError,
         r"cannot read .* as a CSV table: No columns to parse"),
    # ------------------------------------------- subset, drop, groupby, with_columns
    Case("subset-unknown-label", "`subset(['A', 'Z'])`",
         lambda: studies().subset(["A", "Z"]), Arg, r"no study labelled \['Z'\]"),
    Case("subset-mask-wrong-length", "`subset([True, False])` on 3 studies",
         lambda: studies().subset([True, False]), Arg,
         r"a boolean mask needs 3 entries, got shape \(2,\)"),
    Case("subset-empty-selection", "`subset([])`",
         lambda: studies().subset([]), Study, r"^field 'studies': no studies"),
    Case("subset-label-twice", "`subset(['A', 'A'])`",
         lambda: studies().subset(["A", "A"]), Study,
         r"^study 'A', field 'selection': selected more than once"),
    Case("subset-not-a-selection", "`subset(3)`",
         lambda: studies().subset(3), Arg, r"select studies by labels or a boolean mask"),
    Case("drop-unknown-label", "`drop('Z')`",
         lambda: studies().drop("Z"), Arg, r"no study labelled \['Z'\]"),
    Case("drop-every-study", "`drop('A', 'B', 'C')`",
         lambda: studies().drop("A", "B", "C"), Study, r"^field 'studies': no studies"),
    Case("groupby-missing-column", "`groupby('country')`",
         lambda: studies().groupby("country"), Arg, r"no column 'country'; columns are"),
    Case("groupby-missing-value", "`groupby('arm')` where arm of B is None",
         lambda: studies().with_columns(arm=["x", None, "y"]).groupby("arm"), Study,
         r"^study 'B', field 'arm': missing value"),
    Case("groupby-1-and-str-1", "`groupby('arm')` where arm is 1, '1', 2",
         lambda: studies().with_columns(arm=[1, "1", 2]).groupby("arm"), Study,
         r"^study 'B', field 'arm': '1' \(str\) and 1 \(int, study 'A'\) print alike but "
         r"are different subgroups; give the column one type"),
    Case("groupby-1-and-1.0", "`groupby('arm')` where arm is 1, 1.0, 'y' (one column)",
         lambda: studies().with_columns(arm=[1, 1.0, "y"]).groupby("arm"), Study,
         r"^study 'B', field 'arm': 1.0 \(float\) and 1 \(int, study 'A'\) are equal, so "
         r"one subgroup printed two ways"),
    Case("with-columns-wrong-length", "`with_columns(arm=['x', 'y'])` on 3 studies",
         lambda: studies().with_columns(arm=["x", "y"]), Study,
         r"^field 'arm': 2 values for 3 studies"),
    Case("with-columns-named-yi", "`with_columns(yi=[1, 2, 3])`",
         lambda: studies().with_columns(yi=[1, 2, 3]), Study, r"^field 'yi': reserved column"),
    Case("with-columns-replaces-reported", "`with_columns(lower=[...])` on ratios with CIs",
         lambda: studies().with_columns(lower=[0.5, 0.5, 0.5]), Study,
         r"^field 'lower': a reported input"),
    # ------------------------------------------------------ pool and compare
    Case("pool-unknown-method", "`pool(studies, method='DerSimonian')`",
         lambda: mb.pool(studies(), "DerSimonian"), mb.UnknownMethodError,
         r"unknown method 'DerSimonian'; metabridge knows: FE, DL"),
    Case("pool-unknown-backend", "`pool(studies, backend='stata')`",
         lambda: mb.pool(studies(), "DL", "stata"), mb.UnknownBackendError,
         r"unknown backend 'stata'; registered: statsmodels"),
    Case("pool-level-95", "`pool(studies, level=95)`",
         lambda: mb.pool(studies(), level=95), Arg, r"got 95 \(did you mean 0.95\?\)"),
    Case("pool-level-1", "`pool(studies, level=1.0)`",
         lambda: mb.pool(studies(), level=1.0), Arg, r"level must be in \(0, 1\), got 1.0"),
    Case("pool-random-effects-k1", "`pool(one_study, 'DL')`",
         lambda: mb.pool(studies(1), "DL"), Few,
         r"'DL' needs at least 2 studies, got k = 1 \(A\); use method='FE'"),
    Case("mh-on-means", "`pool(means_studies, 'MH')`",
         lambda: mb.pool(means(), "MH"), Arg,
         r"method 'MH' \(Mantel-Haenszel on 2x2 tables\) pools 2x2 counts; these studies are "
         r"means and SDs \(MD\)"),
    Case("mh-on-effects", "`pool(effect_sizes, 'MH')`",
         lambda: mb.pool(effects(), "MH"), Arg, r"pools 2x2 counts; these studies are effect"),
    Case("peto-with-rr", "`pool(counts(measure='RR'), 'PETO')`",
         lambda: mb.pool(counts(measure="RR"), "PETO", "metafor"), Arg,
         r"method 'PETO' gives OR only; these counts are set up as RR: build them with "
         r"measure='OR'"),
    Case("mh-with-smd", "`pool(means(measure='SMD'), 'MH')`",
         lambda: mb.pool(means(measure="SMD"), "MH"), Arg, r"these studies are means.*\(SMD\)"),
    Case("mh-with-hartung-knapp", "`pool(counts, 'MH', 'metafor', test='knha')`",
         lambda: mb.pool(counts(), "MH", "metafor", test="knha"), Arg,
         r"test='knha' \(Hartung-Knapp\) is for inverse-variance methods; MH takes test='z'"),
    Case("mh-or-no-events-exp", "`pool(counts, 'MH')` with no events in any experimental arm",
         lambda: mb.pool(counts(events_exp=[0, 0, 0]), "MH", "metafor"), Few,
         r"'MH' \(OR\) is not defined for these 3 tables: the OR is 0: no table has events "
         r"in the experimental arm"),
    Case("mh-rr-no-events-ctrl", "`pool(counts(measure='RR'), 'MH')`, no control events",
         lambda: mb.pool(counts(events_ctrl=[0, 0, 0], measure="RR"), "MH", "metafor"), Few,
         r"the RR is infinite: no table has events in the control arm"),
    Case("peto-no-events", "`pool(counts, 'PETO')` with no events in any arm",
         lambda: mb.pool(counts(events_exp=[0, 0, 0], events_ctrl=[0, 0, 0]), "PETO",
                         "metafor"), Few,
         r"'PETO' \(OR\) is not defined .*: no table has both events and non-events"),
    Case("mh-rd-all-or-nothing", "`pool(counts(measure='RD'), 'MH')`: all exp, no ctrl events",
         lambda: mb.pool(counts(events_exp=[40, 30, 25], events_ctrl=[0, 0, 0], measure="RD"),
                         "MH", "metafor"), Few,
         r"every arm has no events or only events, so the risk difference has no variance"),
    Case("mh-rr-on-statsmodels", "`pool(counts(measure='RR'), 'MH', 'statsmodels')`",
         lambda: mb.pool(counts(measure="RR"), "MH", "statsmodels"), mb.UnsupportedMethodError,
         r"'statsmodels' does not offer 'MH \(RR\)'; engines that do: pythonmeta, metafor"),
    Case("harmonised-needs-the-studies",
         "`result.harmonised()` of PythonMeta's MH on tables with a zero cell, no studies",
         lambda: mb.pool(counts(events_exp=[0, 3, 5]), "MH", "pythonmeta").harmonised(), Arg,
         r"convention 'pythonmeta.mh_zero_cells' concerns the data: pass the studies, "
         r"result.harmonised\(studies\)"),
    Case("harmonised-own-effect-sizes", "`result.harmonised(studies)` of PythonMeta's SMD",
         lambda: mb.pool(means(measure="SMD"), "FE", "pythonmeta").harmonised(
             means(measure="SMD")), Arg,
         r"pythonmeta computed its own effect sizes .*pool studies.effects_only\(\)"),
    Case("subgroups-common-tau2-with-mh", "`subgroups(counts, by='arm', method='MH', "
         "tau2='common')`",
         lambda: mb.subgroups(counts(arm=["x", "x", "y"]), "arm", "MH", "metafor",
                              tau2="common"), Arg,
         r"a common tau\^2 is a mixed-effects model of effect sizes; MH pools 2x2 tables"),
    Case("heterogeneity-ci-dl-mh", "`heterogeneity_ci(counts, 'DL-MH', 'metafor')`",
         lambda: mb.heterogeneity_ci(counts(), "DL-MH", "metafor"), Arg,
         r"heterogeneity CIs \(Q-profile\) need an inverse-variance random-effects method, "
         r"not DL-MH"),
    Case("simulate-mh", "`simulate(k=5, tau2=0.1, reps=10, methods=('MH',))`",
         lambda: mb.simulate(k=5, tau2=0.1, reps=10, methods=("MH",), seed=1), Arg,
         r"simulate draws effect sizes \(yi, vi\); MH pools 2x2 tables"),
    Case("pool-not-a-studyset", "`pool([1.2, 0.8])`",
         lambda: mb.pool([1.2, 0.8]), Arg, r"studies must be a StudySet.*got list"),
    Case("compare-unknown-method", "`compare(studies, methods=('FE', 'XX'))`",
         lambda: mb.compare(studies(), ("FE", "XX")), mb.UnknownMethodError,
         r"unknown method 'XX'"),
    Case("compare-unknown-backend", "`compare(studies, backends=('statsmodels', 'stata'))`",
         lambda: mb.compare(studies(), backends=("statsmodels", "stata")),
         mb.UnknownBackendError, r"unknown backend 'stata'"),
    Case("compare-level-95", "`compare(studies, backends=['statsmodels'], level=95)`",
         lambda: mb.compare(studies(), backends=["statsmodels"], level=95), Arg,
         r"did you mean 0.95\?"),
    Case("pool-pimeta-too-many-studies", "`pool(studies_2001, backend='pimeta')`",
         lambda: on_pimeta(effects(yi=np.zeros(2001), sei=np.ones(2001), labels=None)),
         mb.UnsupportedMethodError,
         r"'pimeta' does not offer 'REML on k = 2001 studies \(it takes at most 2000\)'; "
         r"engines that do: metafor, pymare"),
    Case("pool-pimeta-knha-tied-estimates",
         "`pool(studies, backend='pimeta', test='knha')`, every estimate 0.1 (pimeta: "
         "a singular matrix in numpy); refused before any engine runs",
         lambda: on_pimeta(effects(yi=[0.1, 0.1, 0.1]), test="knha"), NotEstimableError,
         r"^test='knha': every study has the same estimate \(0.1, to within rounding\)"),
    # ------------------------------------------------------------- analyses
    Case("loo-random-effects-k2", "`leave_one_out(two_studies, 'DL')`",
         lambda: mb.leave_one_out(studies(2), "DL"), Few,
         r"leave-one-out with DL needs k >= 3"),
    Case("exclude-unknown-label", "`exclude(studies, 'Z')`",
         lambda: mb.exclude(studies(), "Z"), Arg, r"no study labelled \['Z'\]"),
    Case("exclude-leaves-one-study", "`exclude(studies, ['A', 'B'], 'DL')`",
         lambda: mb.exclude(studies(), ["A", "B"], "DL"), Few,
         r"'DL' needs at least 2 studies, got k = 1 \(C\)"),
    Case("subgroups-unknown-column", "`subgroups(studies, by='country')`",
         lambda: mb.subgroups(studies(), "country"), Arg, r"no column 'country'"),
    Case("subgroups-single-valued-column", "`subgroups(studies, by='arm')`, arm all 'x'",
         lambda: mb.subgroups(studies().with_columns(arm="x"), "arm"), Few,
         r"column 'arm' has one value \('x'\); subgroups need at least two"),
    Case("subgroups-missing-value", "`subgroups(studies, by='arm')`, arm of B is None",
         lambda: mb.subgroups(studies().with_columns(arm=["x", None, "y"]), "arm"), Study,
         r"^study 'B', field 'arm': missing value"),
    Case("subgroups-1-and-str-1", "`subgroups(studies, by='arm')`, arm is 1, '1', 2",
         lambda: mb.subgroups(studies().with_columns(arm=[1, "1", 2]), "arm"), Study,
         r"^study 'B', field 'arm': '1' \(str\) and 1 \(int, study 'A'\) print alike"),
    Case("subgroups-1-and-str-1-metafor",
         "`subgroups(studies, by='arm', backend='metafor')`, arm is 1, '1', 2",
         lambda: mixed_groups_on_metafor("separate"), Study,
         r"^study 'B', field 'arm': '1' \(str\) and 1 \(int, study 'A'\) print alike"),
    Case("subgroups-1-and-str-1-metafor-common",
         "`subgroups(..., backend='metafor', tau2='common')`, arm is 1, '1', 2",
         lambda: mixed_groups_on_metafor("common"), Study,
         r"^study 'B', field 'arm': '1' \(str\) and 1 \(int, study 'A'\) print alike"),
    Case("subgroups-true-and-1", "`subgroups(studies, by='arm', tau2='common')`, arm is "
         "True, 1, 2",
         lambda: mb.subgroups(studies().with_columns(arm=[True, 1, 2]), "arm", tau2="common"),
         Study, r"^study 'B', field 'arm': 1 \(int\) and True \(bool, study 'A'\) are equal"),
    Case("metafor-k-beyond-memory",
         "`pool(20,000 studies, 'REML', 'metafor')` with 8 GiB of memory available",
         metafor_beyond_memory, mb.ResourceLimitError,
         r"^metafor cannot run REML on k = 20000 studies here: its rma\(\) builds k x k "
         r"matrices and would need about 51.3 GB, more than 50% of the 8.6 GB of memory "
         r"available now; engines that can: .*pymare"),
    Case("subgroups-tau2-unknown", "`subgroups(studies, by='arm', tau2='pooled')`",
         lambda: mb.subgroups(studies(), "arm", tau2="pooled"), Arg,
         r"tau2 must be 'separate' or 'common', got 'pooled'"),
    Case("egger-k2", "`egger(two_studies)`",
         lambda: mb.egger(studies(2)), Few, r"Egger's test needs k >= 3 studies, got 2"),
    Case("egger-unknown-variant", "`egger(studies, variant='rank')`",
         lambda: mb.egger(studies(), variant="rank"), Arg,
         r"variant must be 'classic' or 'metafor-rma', got 'rank'"),
    Case("egger-unknown-backend", "`egger(studies, backend='stata')`",
         lambda: mb.egger(studies(), backend="stata"), mb.UnknownBackendError,
         r"unknown backend 'stata'"),
    Case("begg-k2", "`begg(two_studies, backend='metafor')`",
         begg_k2, Few, r"Begg's test needs k >= 3 studies, got 2"),
    Case("begg-unsupported-backend", "`begg(studies, backend='statsmodels')`",
         lambda: mb.begg(studies(), backend="statsmodels"), mb.UnsupportedMethodError,
         r"'statsmodels' does not offer 'Begg rank test'; engines that do: metafor"),
    Case("compare-methods-as-string", "`compare(studies, methods='XX')`",
         lambda: mb.compare(studies(), "XX", ["statsmodels"]), mb.UnknownMethodError,
         r"unknown method 'XX'"),
    Case("compare-backends-as-string", "`compare(studies, backends='stata')`",
         lambda: mb.compare(studies(), backends="stata"), mb.UnknownBackendError,
         r"unknown backend 'stata'"),
    Case("compare-no-methods", "`compare(studies, methods=())`",
         lambda: mb.compare(studies(), (), ["statsmodels"]), Arg, r"method"),
    Case("loo-fixed-effect-k1", "`leave_one_out(one_study, 'FE')`",
         lambda: mb.leave_one_out(studies(1), "FE"), Few, r"leave-one-out"),
    Case("egger-not-a-studyset", "`egger([1.2, 0.8, 0.5])`",
         lambda: mb.egger([1.2, 0.8, 0.5]), Arg, r"studies must be a StudySet"),
    Case("exclude-not-a-studyset", "`exclude([1.2, 0.8, 0.5], 'A')`",
         lambda: mb.exclude([1.2, 0.8, 0.5], "A"), Arg, r"studies must be a StudySet"),
    # --------------------------------------------------------- sensitivity verbs
    Case("cumulative-unknown-order-column", "`cumulative(studies, order='year')`",
         lambda: mb.cumulative(studies(), "DL", "statsmodels", order="year"), Arg,
         r"no column 'year' to order by; columns are"),
    Case("cumulative-order-misses-a-study", "`cumulative(studies, order=['A', 'B'])`",
         lambda: mb.cumulative(studies(), "DL", "statsmodels", order=["A", "B"]), Arg,
         r"order must list every study once; got 2 labels for 3 studies"),
    Case("cumulative-order-unknown-label", "`cumulative(studies, order=['A', 'B', 'Z'])`",
         lambda: mb.cumulative(studies(), "DL", "statsmodels", order=["A", "B", "Z"]), Arg,
         r"order must list every study once; .*unknown \['Z'\]"),
    Case("influence-random-effects-k2", "`influence(two_studies, 'DL')`",
         lambda: mb.influence(studies(2), "DL", "statsmodels"), Few,
         r"influence diagnostics with DL need k >= 3"),
    Case("trimfill-unknown-estimator", "`trim_and_fill(studies, estimator='Q0')`",
         lambda: mb.trim_and_fill(studies(), "DL", "statsmodels", estimator="Q0"), Arg,
         r"estimator must be 'L0' or 'R0', got 'Q0'"),
    Case("trimfill-unknown-side", "`trim_and_fill(studies, side='up')`",
         lambda: mb.trim_and_fill(studies(), "DL", "statsmodels", side="up"), Arg,
         r"side must be 'left', 'right' or None, got 'up'"),
    Case("trimfill-side-not-choosable", "`trim_and_fill(studies, 'DL', 'statsmodels')`",
         lambda: mb.trim_and_fill(studies(), "DL", "statsmodels"), mb.UnsupportedMethodError,
         r"trim and fill choosing the side for DL.*pass side='left' or 'right'"),
    Case("trimfill-k2", "`trim_and_fill(two_studies, 'FE')`",
         lambda: mb.trim_and_fill(studies(2), "FE", "statsmodels"), Few,
         r"trim and fill needs k >= 3 studies, got 2"),
    Case("egger-unknown-predictor", "`egger(studies, predictor='n')`",
         lambda: mb.egger(studies(), predictor="n"), Arg,
         r"predictor must be one of sei, vi, ni, ninv, sqrtninv, got 'n'"),
    Case("egger-sample-size-no-column", "`egger(studies, predictor='ninv')` without column n",
         lambda: mb.egger(studies(), predictor="ninv"), Arg,
         r"predictor needs the sample sizes: no column 'n' \(pass n='<column>'\)"),
    Case("egger-sample-size-zero", "`egger(studies, predictor='ninv', n='size')`, size of B 0",
         lambda: mb.egger(studies().with_columns(size=[10, 0, 12]), predictor="ninv",
                          n="size"), Study, r"^study 'B', field 'size': a sample size must be > 0"),
    Case("egger-sample-size-missing", "`egger(studies, predictor='ni', n='size')`, size of C NaN",
         lambda: mb.egger(studies().with_columns(size=[10, 11, NAN]), predictor="ni",
                          n="size"), Study, r"^study 'C', field 'size': sample size is missing"),
    # ------------------------------------------------ Cochrane review files (read_revman)
    Case("revman-no-such-file", "`read_revman('no-such-review.rm5')`",
         lambda: mb.read_revman("no-such-review.rm5"), Review,
         r"^file 'no-such-review.rm5': no such file"),
    Case("revman-not-a-revman-file", "`read_revman` of a text file that is none of the formats",
         lambda: mb.read_revman(bad_file("notes.rm5", "Dear editor,\n")), Review,
         r"^file '.*notes.rm5': not a RevMan file: neither RevMan 5 XML"),
    Case("revman-xml-not-a-review", "`read_revman` of XML whose root is not COCHRANE_REVIEW",
         lambda: mb.read_revman(bad_file("page.rm5", "<?xml version='1.0'?><html/>")), Review,
         r"^file '.*page.rm5': not a RevMan 5 review: the root element is <html>"),
    Case("revman-broken-xml", "`.rm5` cut off in the middle",
         lambda: mb.read_revman(bad_file("cut.rm5", (REVMAN / "Fleiss1993.rm5").read_bytes()[
             :12000])), Review, r"^file '.*cut.rm5': not a RevMan 5 file: not well-formed XML"),
    Case("revman-unknown-schema-version", "`.rm5` with `REVMAN_VERSION=\"4\"`",
         lambda: fleiss_rm5('REVMAN_VERSION="5"', 'REVMAN_VERSION="4"'), Review,
         r"field 'REVMAN_VERSION': unknown schema version '4' 5.0.23; metabridge reads RevMan 5"),
    Case("revman-version-missing", "`.rm5` without `REVMAN_VERSION`",
         lambda: fleiss_rm5('REVMAN_VERSION="5"', ""), Review,
         r"field 'REVMAN_VERSION': attribute missing"),
    Case("revman-missing-attribute", "`.rm5`: MRC-1's `DICH_DATA` has no `EVENTS_1`",
         lambda: fleiss_rm5('EVENTS_1="49" ', ""), Review,
         r"analysis 1.1 'Aspirin.*', field 'EVENTS_1': attribute missing from <DICH_DATA>"),
    Case("revman-missing-ci-level", "`.rm5`: analysis 1.1 has no `CI_TOTAL`",
         lambda: fleiss_rm5('CI_TOTAL="95" ', ""), Review,
         r"analysis 1.1 'Aspirin.*', field 'CI_TOTAL': attribute missing from <DICH_OUTCOME>"),
    Case("revman-text-in-number", "`.rm5`: MRC-1's `TOTAL_2` is `'six hundred'`",
         lambda: fleiss_rm5('TOTAL_2="624"', 'TOTAL_2="six hundred"'), Review,
         r"analysis 1.1 .*, field 'TOTAL_2': study 'MRC-1': 'six hundred' is not a number"),
    Case("revman-unknown-measure", "`.rm5`: analysis 1.1 has `EFFECT_MEASURE=\"XR\"`",
         lambda: fleiss_rm5('EFFECT_MEASURE="OR"', 'EFFECT_MEASURE="XR"'), Review,
         r"analysis 1.1 .*, field 'EFFECT_MEASURE': unknown effect measure 'XR' for dichotomous"),
    Case("revman-unknown-study", "`.rm5`: a `DICH_DATA` names a study the review lacks",
         lambda: fleiss_rm5('STUDY_ID="STD-CDP" TOTAL_1', 'STUDY_ID="STD-XYZ" TOTAL_1'), Review,
         r"analysis 1.1 .*, field 'STUDY_ID': study 'STD-XYZ' is not among the review's studies"),
    Case("revman-csv-missing-column", "CSV export without the `Data Type` column",
         lambda: fleiss_csv("Name,Data Type,", "Name,"), Review,
         r"field 'Data Type': column missing; not a RevMan 5 'Data and analyses' CSV export"),
    Case("revman-csv-text-in-number", "CSV export: MRC-1's `Total 2` is `'n/a'`",
         lambda: fleiss_csv(",67,0,0,624,", ",67,0,0,n/a,"), Review,
         r"analysis 1.1 .*, field 'Total 2': study 'MRC-1': 'n/a' is not a number"),
    Case("revman-csv-empty-input", "CSV export: MRC-1's `Events 1` is empty",
         lambda: fleiss_csv("MRC-1,,,,,49,", "MRC-1,,,,,,"), Review,
         r"analysis 1.1 .*, field 'Events 1': study 'MRC-1': value is empty"),
    Case("revman-csv-unknown-model", "CSV export: analysis 1.1's `Analysis Model` is `Bayes`",
         lambda: fleiss_csv("MH,OR,Fixed", "MH,OR,Bayes"), Review,
         r"analysis 1.1 .*, field 'Analysis Model': 'Bayes' is neither Fixed nor Random"),
    Case("revman-zip-missing-table", "RevMan Web zip without `*-data-rows.csv`",
         lambda: fleiss_zip("-data-rows.csv"), Review,
         r"field 'data-rows.csv': not a RevMan Web data package: the table \*-data-rows.csv "
         r"is missing"),
    Case("revman-zip-missing-column", "RevMan Web zip: settings table without `Effect measure`",
         lambda: fleiss_zip("-overall-estimates-and-settings.csv", "Statistical method,Effect "
                            "measure,", "Statistical method,Effect,"), Review,
         r"field 'Effect measure': column missing from \*-overall-estimates-and-settings.csv"),
    Case("revman-zip-bad-level", "RevMan Web zip: analysis 1.1's `Study CI` is `95 percent`",
         lambda: fleiss_zip("-overall-estimates-and-settings.csv", "false,95%,", "false,95 "
                            "percent,"), Review,
         r"analysis 1.1 .*, field 'Study CI': '95 percent' is not a confidence level"),
    Case("revman-negative-count", "`.rm5`: MRC-1's `EVENTS_1` is -49 (`Analysis.studies()`)",
         lambda: fleiss_rm5('EVENTS_1="49"', 'EVENTS_1="-49"')["1.1"].studies(), Review,
         r"analysis 1.1 'Aspirin.*', field 'EVENTS_1': study 'MRC-1': .*-49"),
    Case("revman-events-above-total", "`.rm5`: MRC-1's `EVENTS_2` 700 of `TOTAL_2` 624",
         lambda: fleiss_rm5('EVENTS_2="67"', 'EVENTS_2="700"')["1.1"].studies(), Review,
         r"analysis 1.1 'Aspirin.*', field 'EVENTS_2': study 'MRC-1': .*700"),
    Case("revman-zip-dta", "RevMan Web zip of a diagnostic test accuracy review",
         fleiss_zip_dta, Review, r"a diagnostic test accuracy review; metabridge reads reviews "
         "of interventions"),
    # ------------------------------------------- simulation studies (simulation_study)
    Case("sim-unknown-key", "grid: `kk = [3]` in [grid]",
         lambda: simulation(sim_grid(kk=[3])), Arg,
         r"unknown key 'kk' in \[grid\] \(did you mean 'k'\?\); known: family, k"),
    Case("sim-key-in-wrong-table", "grid: `seed = 1` in [grid]",
         lambda: simulation(sim_grid(seed=1)), Arg,
         r"unknown key 'seed' in \[grid\] \(it belongs in \[analysis\]\)"),
    Case("sim-unknown-table", "grid: a table [run]",
         lambda: simulation({**SIM_GRID, "run": {"workers": 2}}), Arg,
         r"unknown table \[run\] in the grid; a grid has \[grid\] and \[analysis\]"),
    Case("sim-empty-list", "grid: `k = []`",
         lambda: simulation(sim_grid(k=[])), Arg, r"k is an empty list; give at least one"),
    Case("sim-reps-zero", "grid: `reps = 0`",
         lambda: simulation(sim_grid(reps=0)), Arg,
         r"reps must be a whole number >= 1, got 0"),
    Case("sim-reps-negative", "grid: `reps = -5`",
         lambda: simulation(sim_grid(reps=-5)), Arg,
         r"reps must be a whole number >= 1, got -5"),
    Case("sim-reps-list", "grid: `reps = [100, 200]`",
         lambda: simulation(sim_grid(reps=[100, 200])), Arg,
         r"reps must be a whole number >= 1, got \[100, 200\]"),
    Case("sim-k-one", "grid: `k = [1, 5]`",
         lambda: simulation(sim_grid(k=[1, 5])), Arg, r"k must be a whole number >= 2, got 1"),
    Case("sim-k-twice", "grid: `k = [5, 5]`",
         lambda: simulation(sim_grid(k=[5, 5])), Arg, r"k lists 5 twice"),
    Case("sim-tau2-negative", "grid: `tau2 = [-0.1]`",
         lambda: simulation(sim_grid(tau2=[-0.1])), Arg,
         r"tau2 must be >= 0, got -0.1"),
    Case("sim-no-reps", "grid without `reps`",
         lambda: simulation(sim_grid(reps=None)), Arg, r"\[grid\] needs 'reps'"),
    Case("sim-no-seed", "grid without `seed`",
         lambda: simulation(sim_grid("analysis", seed=None)), Arg,
         r"\[analysis\] needs 'seed'"),
    Case("sim-unknown-family", "grid: `family = ['poisson']`",
         lambda: simulation(sim_grid(family=["poisson"])), Arg,
         r"unknown family 'poisson'; known: normal, binary"),
    Case("sim-variance-unknown-model", "grid: `variance = ['gamma(1, 2)']`",
         lambda: simulation(sim_grid(variance=["gamma(1, 2)"])), Arg,
         r"variance = 'gamma\(1, 2\)' is not a model metabridge knows: uniform\(low, high\)"),
    Case("sim-variance-bounds-swapped", "grid: `variance = ['uniform(0.2, 0.1)']`",
         lambda: simulation(sim_grid(variance=["uniform(0.2, 0.1)"])), Arg,
         r"variance = 'uniform\(0.2, 0.1\)': the parameters must be variances > 0 with "
         r"low < high"),
    Case("sim-arm-n-fraction", "grid: binary, `arm_n = ['uniform(10.5, 40)']`",
         lambda: simulation(sim_grid(family=["binary"], arm_n=["uniform(10.5, 40)"])), Arg,
         r"arm_n = 'uniform\(10.5, 40\)': the parameters must be whole numbers"),
    Case("sim-binary-key-without-binary", "grid: `baseline_risk = [0.1]`, family normal",
         lambda: simulation(sim_grid(baseline_risk=[0.1])), Arg,
         r"baseline_risk applies to the binary family only, and family = \['normal'\]"),
    Case("sim-baseline-risk-one", "grid: binary, `baseline_risk = [1.0]`",
         lambda: simulation(sim_grid(family=["binary"], baseline_risk=[1.0])), Arg,
         r"baseline_risk must be in \(0, 1\), got 1.0"),
    Case("sim-continuity-zero", "grid: `continuity = 0`",
         lambda: simulation(sim_grid("analysis", continuity=0)), Arg,
         r"continuity must be > 0"),
    Case("sim-unknown-backend", "grid: `backends = ['stata']`",
         lambda: simulation(sim_grid("analysis", backends=["stata"])), mb.UnknownBackendError,
         r"unknown backend 'stata'; registered: statsmodels"),
    Case("sim-unknown-method", "grid: `methods = ['DerSimonian']`",
         lambda: simulation(sim_grid("analysis", methods=["DerSimonian"])),
         mb.UnknownMethodError, r"unknown method 'DerSimonian'; metabridge knows: FE, DL"),
    Case("sim-unknown-test", "grid: `tests = ['t']`",
         lambda: simulation(sim_grid("analysis", tests=["t"])), mb.UnknownMethodError,
         r"unknown test 't'; metabridge knows: z, knha, adhoc"),
    Case("sim-no-engine-offers-a-job", "grid: statsmodels with `methods = ['REML']`",
         lambda: simulation(sim_grid("analysis", methods=["REML"])), Arg,
         r"no engine offers any requested \(method, test\).*statsmodels/REML/z: backend "
         r"'statsmodels' does not offer 'REML'"),
    Case("sim-table-method-normal-family", "grid: `methods = ['MH', 'DL']`, family normal only",
         lambda: simulation(sim_grid("analysis", methods=["MH", "DL"])), Arg,
         r"methods MH pool 2x2 tables, and family = \['normal'\] draws effect sizes \(yi, "
         r"vi\) only; add 'binary' to family"),
    Case("sim-table-method-knha-only", "grid: binary, `methods = ['PETO']`, `tests = ['knha']`",
         lambda: simulation(sim_grid(family=["binary"]) | {"analysis": {
             "backends": ["metafor"], "seed": 1, "methods": ["PETO"], "tests": ["knha"]}}),
         Arg, r"no engine offers any requested \(method, test\).*metafor/PETO/knha: "
         r"test='knha' \(Hartung-Knapp\) is for inverse-variance methods; PETO takes test='z'"),
    Case("sim-level-95", "grid: `level = 95`",
         lambda: simulation(sim_grid("analysis", level=95)), Arg, r"did you mean 0.95\?"),
    Case("sim-grid-file-missing", "`simulation_study('no-such-grid.toml', ...)`",
         lambda: simulation("no-such-grid.toml"), DataFileError,
         r"cannot read grid file 'no-such-grid.toml': No such file"),
    Case("sim-grid-file-not-toml", "`simulation_study` given a Python file as the grid",
         lambda: simulation(bad_file("grid.py", "import metabridge\n")), DataFileError,
         r"grid file '.*grid.py' is not valid TOML"),
    Case("sim-store-is-a-file", "`simulation_study(grid, store=<a file>)`",
         lambda: simulation(store=bad_file("results.csv", "a,b\n")), mb.StoreError,
         r"store '.*results.csv' is a file; give a folder"),
    Case("sim-store-foreign-folder", "`simulation_study(grid, store=<a folder of other files>)`",
         lambda: simulation(store=bad_file("results.csv", "a,b\n").parent), mb.StoreError,
         r"is a folder with other files and no study.json; give a new or empty folder"),
    Case("sim-store-other-seed", "a store made with `seed = 1`, run with `seed = 2`",
         lambda: simulation(sim_grid("analysis", seed=2), store=store_of_seed_1()),
         mb.StoreError, r"was made from another grid: seed = 1 in the store, 2 in this grid"),
    Case("sim-workers-zero", "`simulation_study(..., workers=0)`",
         lambda: simulation(workers=0), Arg, r"workers must be a whole number >= 1, got 0"),
    Case("sim-client-and-scheduler", "`simulation_study(..., client=c, scheduler='tcp://...')`",
         lambda: simulation(client=object(), scheduler="tcp://127.0.0.1:9"), Arg,
         r"give one of client, workers, scheduler; got \['client', 'scheduler'\]"),
    Case("sim-scheduler-unreachable",
         "`simulation_study(..., scheduler='tcp://127.0.0.1:9', timeout=2)` (nothing listens)",
         lambda: simulation(scheduler="tcp://127.0.0.1:9", timeout=2), mb.ClusterError,
         r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:9' within 2 s"),
    # ------------------------------------ the representable range (docs: "Representable range")
    Case("effects-vi-1e-300", "`from_effects`: vi of A is 1e-300 (weight 1e300)",
         lambda: effects(sei=None, vi=[1e-300, 0.04, 0.09]), Study,
         r"^study 'A', field 'vi': variance 1e-300 .* outside what double precision can pool "
         r"for k = 3: k \* max\(1, 1/v\) \* max\(1, \|effect\|\) = 3e\+300 must stay below 2\^500"),
    Case("effects-sei-1e-160", "`from_effects`: sei of A is 1e-160 (variance 1e-320, subnormal)",
         lambda: effects(sei=[1e-160, 0.2, 0.3]), Study,
         r"^study 'A', field 'sei': SE 1e-160 \(variance 1e-320\) .* outside what double "
         r"precision can pool"),
    Case("effects-sei-underflows", "`from_effects`: sei of A is 1e-170 (its square is 0)",
         lambda: effects(sei=[1e-170, 0.2, 0.3]), Study,
         r"^study 'A', field 'sei': SE 1e-170 squared is 0.0 in double precision"),
    Case("effects-vi-1e160", "`from_effects`: vi of B is 1e160 (its weight squared underflows)",
         lambda: effects(sei=None, vi=[0.01, 1e160, 0.09]), Study,
         r"^study 'B', field 'vi': variance 1e\+160 .* is above 2\^500 ~ 3.3e150"),
    Case("effects-yi-1e200", "`from_effects`: yi of C is 1e200 (its square overflows)",
         lambda: effects(yi=[0.1, 0.2, 1e200]), Study,
         r"^study 'C', field 'yi': effect 1e\+200 is above 2\^500 ~ 3.3e150 in size"),
    Case("effects-se-below-resolution",
         "`from_effects`: a clock-frequency ratio 1.2075070393433378 with sei 1e-17",
         lambda: effects(yi=[1.2075070393433378, 1.2075070393433375, 1.2],
                         sei=[1e-17, 1e-17, 1e-3]), Study,
         r"^study 'A', field 'sei': SE 1e-17 .* is below 256 spacings of double precision at "
         r"its effect 1.2075070393433378 .*subtract a reference value"),
    Case("ratios-ci-below-resolution", "`from_ratios`: B's CI is 1.5 -/+ 2 spacings of double",
         lambda: ratios(lower=[1.0, 1.5 - 4.4e-16, 0.5], upper=[4.0, 1.5 + 4.4e-16, 1.28]),
         Study, r"^study 'B', field 'vi': the variance derived from the input, .* is below 256 "
         r"spacings of double precision"),
    # ----------------------------------- more argument types (a fuzzer's view of the API)
    Case("effects-bool-yi", "`from_effects`: yi of B is True",
         lambda: effects(yi=[0.1, True, 0.3]), Study,
         r"^study 'B', field 'yi': True is not a number"),
    Case("ratios-labels-set", "`from_ratios(labels={'A', 'B', 'C'})` (a set has no order)",
         lambda: ratios(labels={"A", "B", "C"}), Study,
         r"^field 'labels': labels must be in study order \(a list, not a set\)"),
    Case("ratios-covariates-not-mapping", "`from_ratios(..., covariates=5)`",
         lambda: ratios(covariates=5), Study,
         r"^field 'covariates': covariates must be a mapping \{name: values\} or a DataFrame"),
    Case("frame-column-list", "`from_frame(frame, ratio=['hr'], ...)`",
         lambda: from_frame(label="study", ratio=["hr"], lower="lo", upper="hi"), Arg,
         r"ratio must name one column, got \['hr'\]"),
    Case("csv-path-bytes", "`read_csv(b'data.csv', ...)`",
         lambda: mb.StudySet.read_csv(b"data.csv", **CI_COLUMNS), DataFileError,
         r"cannot read .*data.csv.* as a CSV table"),
    Case("groupby-not-a-name", "`groupby(['arm'])`",
         lambda: studies().groupby(["arm"]), Arg, r"no column \['arm'\]; columns are"),
    Case("drop-integer-label-unknown", "`drop(1)` on studies A, B, C",
         lambda: studies().drop(1), Arg, r"no study labelled \['1'\]; labels are \['A'"),
    Case("exclude-nothing", "`exclude(studies, [])`",
         lambda: mb.exclude(studies(), []), Arg, r"exclude needs at least one study label"),
    Case("pool-backend-list", "`pool(studies, 'DL', ['metafor'])`",
         lambda: mb.pool(studies(), "DL", ["metafor"]), mb.UnknownBackendError,
         r"backend must be one engine's name such as 'metafor', got \['metafor'\] \(to run "
         r"several engines use compare"),
    Case("loo-backend-list", "`leave_one_out(studies, 'DL', ['metafor'])`",
         lambda: mb.leave_one_out(studies(), "DL", ["metafor"]), mb.UnknownBackendError,
         r"backend must be one engine's name"),
    Case("subgroups-by-list", "`subgroups(studies, by=['arm'])`",
         lambda: mb.subgroups(studies(), ["arm"]), Arg, r"no column \['arm'\]"),
    Case("compare-harmonise-text", "`compare(studies, harmonise='no')`",
         lambda: mb.compare(studies(), backends=["statsmodels"], harmonise="no"), Arg,
         r"harmonise must be True or False, got 'no'"),
    Case("compare-methods-number", "`compare(studies, methods=5)`",
         lambda: mb.compare(studies(), 5, ["statsmodels"]), Arg,
         r"methods must be a name or a list of names, got 5"),
    Case("compare-tests-none", "`compare(studies, tests=None)`",
         lambda: mb.compare(studies(), backends=["statsmodels"], tests=None), Arg,
         r"tests must be a name or a list of names, got None"),
    Case("differences-negative-tolerance", "`compare(...).differences(tolerance=-1)`",
         lambda: mb.compare(studies(), backends=["statsmodels"]).differences(-1), Arg,
         r"tolerance must be a finite number >= 0, got -1"),
    Case("pivot-unknown-quantity", "`compare(...).pivot('hr')`",
         lambda: mb.compare(studies(), backends=["statsmodels"]).pivot("hr"), Arg,
         r"quantity must be one of estimate, .*got 'hr'"),
    # ---------------------------------------- data that cannot identify the statistic
    Case("knha-identical-effects", "`pool(studies, 'DL', 'statsmodels', test='knha')`, "
         "every yi 0.2",
         lambda: mb.pool(identical(), "DL", "statsmodels", test="knha"), Inestimable,
         r"test='knha': every study has the same estimate \(0.2, to within rounding\), so the "
         r"Hartung-Knapp SE.* is 0 .*use test='adhoc'"),
    Case("knha-identical-effects-pymare", "`pool(..., 'pymare', test='knha')`, every yi 0.2",
         lambda: on("pymare", lambda: mb.pool(identical(), "DL", "pymare", test="knha")),
         Inestimable, r"test='knha': every study has the same estimate"),
    Case("knha-identical-effects-metafor", "`pool(..., 'metafor', test='knha')`, every yi 0.2 "
         "(metafor: SE 0, z = inf, P = 0)",
         lambda: on("metafor", lambda: mb.pool(identical(), "DL", "metafor", test="knha")),
         Inestimable, r"test='knha': every study has the same estimate"),
    Case("knha-one-study", "`pool(one_study, 'FE', 'metafor', test='knha')` (t on 0 df)",
         lambda: mb.pool(studies(1), "FE", "metafor", test="knha"), Few,
         r"test='knha' \(t on k - 1 df\) needs at least 2 studies, got k = 1"),
    Case("egger-identical-effects", "`egger(studies, 'pymare')`, every yi 0.2",
         lambda: on("pymare", lambda: mb.egger(identical(), "pymare")), Inestimable,
         r"Egger's test: every study has the same estimate \(0.2\), so the weighted regression "
         r"of y on sei passes through every study"),
    Case("egger-exact-fit", "`egger(studies)`, yi = 0.5 sei + 0.1 exactly (no residual)",
         lambda: mb.egger(effects(yi=[0.15, 0.2, 0.25])), Inestimable,
         r"Egger's test: the weighted regression of y on sei passes through every study "
         r"\(residual variance 0"),
    Case("egger-equal-ses", "`egger(studies, 'statsmodels')`, every sei 0.2",
         lambda: mb.egger(equal_ses()), Inestimable,
         r"Egger's test: every study has the same SE \(0.2, to within 1.5e-08 of its size\), "
         r"so the predictor \(sei\) is collinear with the intercept"),
    Case("egger-equal-ses-metafor", "`egger(studies, 'metafor', 'metafor-rma')`, every sei 0.2",
         lambda: on("metafor", lambda: mb.egger(equal_ses(), "metafor", "metafor-rma")),
         Inestimable, r"Egger's test: every study has the same SE"),
    Case("begg-equal-ses", "`begg(studies, 'metafor')`, every sei 0.2 (metafor: tau = NaN)",
         lambda: on("metafor", lambda: mb.begg(equal_ses())), Inestimable,
         r"Begg's test: every study has the same SE \(0.2\), so the variances are all tied"),
    Case("begg-identical-effects", "`begg(studies, 'metafor')`, every yi 0.2 (metafor: "
         "tau = 1 from rounding noise)",
         lambda: on("metafor", lambda: mb.begg(identical())), Inestimable,
         r"Begg's test: every study has the same estimate \(0.2\), so the standardised effects "
         r"are all 0"),
    # ---------------------------------------------------------------- simulate
    Case("simulate-methods-letters", "`simulate(methods=['D', 'L'])` (what 'DL' used to become)",
         lambda: simulate(methods=["D", "L"]), mb.UnknownMethodError, r"unknown method 'D'"),
    Case("simulate-tau2-nan", "`simulate(tau2=nan)`",
         lambda: simulate(tau2=NAN), Arg, r"tau2 must be a finite number >= 0, got nan"),
    Case("simulate-tau2-negative", "`simulate(tau2=-0.1)`",
         lambda: simulate(tau2=-0.1), Arg, r"tau2 must be a finite number >= 0, got -0.1"),
    Case("simulate-true-effect-inf", "`simulate(true_effect=inf)`",
         lambda: simulate(true_effect=INF), Arg, r"true_effect must be a finite number, got inf"),
    Case("simulate-cross-check-negative", "`simulate(cross_check=-1)`",
         lambda: simulate(cross_check=-1), Arg, r"cross_check must be a whole number >= 0, got -1"),
    Case("simulate-seed-text", "`simulate(seed='abc')`",
         lambda: simulate(seed="abc"), Arg,
         r"seed must be None, a whole number >= 0 or a list of them, got 'abc'"),
    Case("simulate-seed-negative", "`simulate(seed=-1)`",
         lambda: simulate(seed=-1), Arg, r"seed must be None, a whole number >= 0"),
    Case("simulate-k-fraction", "`simulate(k=2.5)` (was truncated to 2)",
         lambda: simulate(k=2.5), Arg, r"k must be a whole number >= 2, got 2.5"),
    Case("simulate-reps-bool", "`simulate(reps=True)`",
         lambda: simulate(reps=True), Arg, r"reps must be a whole number >= 1, got True"),
    Case("simulate-no-methods", "`simulate(methods=[])`",
         lambda: simulate(methods=[]), Arg, r"give at least one method"),
    Case("simulate-progress-text", "`simulate(progress='no')`",
         lambda: simulate(progress="no"), Arg, r"progress must be True or False, got 'no'"),
    Case("simulate-within-variances-zero", "`simulate(within_variances=0)` (was the default)",
         lambda: simulate(within_variances=0), Arg,
         r"within_variances must give 4 x 3 finite positive variances"),
    Case("simulate-subnormal-variance", "`simulate(within_variances=[1e-310, 0.1, 0.1], "
         "backends=['pymare', 'pythonmeta'])` (lost the whole batch)",
         lambda: on("pymare", lambda: on("pythonmeta", lambda: simulate(
             within_variances=[1e-310, 0.1, 0.1], backends=["pymare", "pythonmeta"]))), Arg,
         r"within_variances, tau2 and true_effect: the smallest variance, .*: variance 1e-310 .* "
         r"outside what double precision can pool for k = 3"),
    Case("simulate-variance-below-resolution", "`simulate(true_effect=1, tau2=0, "
         "within_variances=1e-40)` (every draw is 1.0)",
         lambda: simulate(true_effect=1.0, tau2=0.0, within_variances=1e-40), Arg,
         r"the smallest variance, .*: variance 1e-40 .* is below 256 spacings of double precision"),
    Case("uniform-variances-text", "`uniform_variances('a')`",
         lambda: uniform_variances("a"), Arg, r"low must be a finite number, got 'a'"),
    # ------------------------------------------------------------------ figures
    Case("forest-favours-one-string", "`forest(studies, result, favours='ab')`",
         lambda: plots.forest(studies(), mb.pool(studies()), favours="ab"), Arg,
         r"favours needs two labels \(left, right\), got 'ab'"),
    Case("forest-overall-none", "`forest(studies, None)`",
         lambda: plots.forest(studies(), None), Arg,
         r"the pooled result must be a PoolResult \(from mb.pool\), got NoneType"),
    Case("forest-subgroups-common", "`forest(studies, result, subgroups(..., tau2='common'))`",
         lambda: plots.forest(studies(), mb.pool(studies(), "DL", "statsmodels"), mb.subgroups(
             studies(), "arm", "DL", "statsmodels", tau2="common")), Arg,
         r"subgroups must be mb.subgroups\(studies, 'arm', tau2='separate'\) of these studies"),
    Case("funnel-other-studies", "`funnel(studies, result_of_two_of_them)`",
         lambda: plots.funnel(studies(), mb.pool(studies(2), "FE")), Arg,
         r"the pooled result must be the pooled result of these studies"),
    Case("prisma-not-a-mapping", "`prisma(None)`",
         lambda: plots.prisma(None), Arg, r"PRISMA counts must be a mapping, got NoneType"),
    Case("prisma-count-missing", "`prisma({})`",
         lambda: plots.prisma({}), Arg,
         r"PRISMA counts need \['identified', 'duplicates', 'screened', 'excluded_screening'\]"),
    # ------------------------------ metabridge reproduce: arguments and the output folder
    Case("reproduce-out-empty", "`metabridge reproduce --out ''` (would write into the "
         "current folder)",
         lambda: reproduce_args("--out", "", files={"report.md": "my notes"}), Out,
         r"the output folder name is empty; name a folder"),
    Case("reproduce-out-is-a-file", "`metabridge reproduce --out notes.txt`, an existing file",
         lambda: reproduce_args("--out", "notes.txt", files={"notes.txt": "mine"}), Out,
         r"output folder 'notes.txt' is a file; name a new or existing folder"),
    Case("reproduce-out-read-only", "`metabridge reproduce --out /proc/report` (read-only)",
         lambda: reproduce_args("--out", "/proc/report"), Out,
         r"cannot write to output folder '/proc/report': '/proc' is not writable"),
    Case("reproduce-out-holds-users-report", "`metabridge reproduce --out .` where the user "
         "keeps a `report.md`",
         lambda: reproduce_args("--out", ".", files={"report.md": "my notes"}), Out,
         r"output folder '.' already holds report.md \(not written by metabridge\); metabridge "
         r"never overwrites such files: .*pass --force"),
    Case("reproduce-out-report-edited", "`metabridge reproduce --out r` where `r/report.md` "
         "changed since metabridge wrote it",
         lambda: reproduce_args("--out", "r", files={
             "r/report.md": "edited", "r/" + MANIFEST: json.dumps(
                 {"files": {"report.md": digest("as written")}})}), Out,
         r"output folder 'r' already holds report.md \(changed since metabridge wrote it\)"),
    Case("reproduce-out-figures-is-a-file", "`metabridge reproduce --out r` where `r/figures` "
         "is a file",
         lambda: reproduce_args("--out", "r", files={"r/figures": "x"}), Out,
         r"'r/figures' is a file; metabridge needs a folder there"),
    Case("reproduce-format-pdf", "`metabridge reproduce --format pdf`",
         lambda: reproduce_args("--format", "pdf"), Arg,
         r"report formats must be among md, html, csv \(comma separated\), got pdf"),
    Case("reproduce-format-empty", "`metabridge reproduce --format ,`",
         lambda: reproduce_args("--format", ","), Arg,
         r"report formats must be among md, html, csv .*got none"),
    Case("report-out-holds-users-report", "`mb.report(studies, '.')` where the user keeps a "
         "`report.md`",
         lambda: in_scratch(lambda: mb.report(studies(), "."), {"report.md": "my notes"}), Out,
         r"output folder '.' already holds report.md \(not written by metabridge\)"),
    Case("report-out-empty", "`metabridge report data.csv ... --out ''`",
         lambda: mb.report(studies(), ""), Out, r"the output folder name is empty"),
    Case("reproduce-unknown-backend", "`metabridge reproduce --backend stata`",
         lambda: reproduce_args("--backend", "stata"), mb.UnknownBackendError,
         r"unknown backend 'stata'"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_raises_a_named_error(case: Case) -> None:
    assert issubclass(case.error, mb.MetabridgeError)
    with pytest.raises(case.error, match=case.match) as info:
        case.call()
    # The cause of the message is metabridge's own check, not a library deep below.
    assert type(info.value).__module__.startswith("metabridge")


# Boundary inputs that must be accepted (and give finite numbers).
LIMIT = 2.0**500  # the representable range (metabridge.studies.checks)
PHYSICAL = {"yi": [6.62607015 + 1e-8 * d for d in (0.3, -0.5, 1.2, 0.1, 2.0)],
            "sei": [1e-8, 2e-8, 1.5e-8, 1e-8, 1e-8]}
INTEGER_LABELLED = {"yi": [0.1, 0.5, 0.2], "sei": [0.1, 0.2, 0.3], "labels": [1, 2, 3]}
MATHTEXT = "$\\alpha^$"  # unbalanced mathtext: matplotlib cannot parse it as maths

ACCEPTED = {
    "revman-level-0.9": lambda: ratios(se_rule="revman", level=0.9),
    "revman-level-0.95": lambda: ratios(se_rule="revman", level=0.95),
    "revman-level-0.99": lambda: ratios(se_rule="revman", level=0.99),
    "estimate-on-ci-bound": lambda: ratios(ratio=[1.0, 1.5, 0.8]),
    "single-label-string": lambda: mb.StudySet.from_effects([0.1], sei=[0.1], labels="A"),
    "scalar-covariate": lambda: ratios(country="US"),
    "fixed-effect-k1": lambda: mb.pool(studies(1), "FE"),
    # metafor reads a level <= 0.5 as alpha and cannot take one below 1 % (issue 9).
    "metafor-level-0.005": lambda: need("metafor") or mb.pool(studies(), "DL", "metafor",
                                                              level=0.005),
    # a 2x2 table without events in both arms is data, not an error (see docs/errors.md)
    "counts-double-zero-table": lambda: counts(events_exp=[12, 0, 5], events_ctrl=[20, 0, 9]),
    "counts-only-events-table": lambda: counts(events_exp=[12, 30, 5], events_ctrl=[20, 28, 9]),
    "mh-double-zero-metafor": lambda: mb.pool(
        counts(events_exp=[12, 0, 5], events_ctrl=[20, 0, 9]), "MH", "metafor"),
    "mh-double-zero-pythonmeta": lambda: mb.pool(
        counts(events_exp=[12, 0, 5], events_ctrl=[20, 0, 9]), "MH", "pythonmeta"),
    # the representable range: legitimate ill-conditioned data, and its exact edges
    "physical-constant-data": lambda: mb.pool(mb.StudySet.from_effects(**PHYSICAL), "DL"),
    "physical-constant-egger": lambda: mb.egger(mb.StudySet.from_effects(**PHYSICAL)),
    "effects-offset-1e4": lambda: mb.pool(effects(yi=[1e4 + 0.1, 1e4 + 0.2, 1e4 + 0.3]), "DL"),
    "variances-over-8-orders": lambda: mb.pool(effects(sei=None, vi=[1e-4, 1.0, 1e4]), "DL"),
    "variance-at-2^500": lambda: effects(yi=[0.1, 0.2, 0.0], sei=None, vi=[1.0, 2.0, LIMIT]),
    "weight-at-the-limit": lambda: effects(yi=[0.1, 0.2, 0.0], sei=None,
                                           vi=[1.0, 2.0, 3.0 / LIMIT]),
    "se-at-256-spacings": lambda: effects(yi=[1.0, 2.0, 3.0],
                                          sei=[256 * np.spacing(1.0), 0.2, 0.3]),
    # fixed: a lone name is one name; labels compare as text
    "simulate-methods-one-string": lambda: simulate(methods="DL", tests="knha"),
    "simulate-backends-one-string": lambda: simulate(backends="statsmodels"),
    "exclude-integer-label": lambda: mb.exclude(mb.StudySet.from_effects(**INTEGER_LABELLED), 1),
    "drop-integer-label": lambda: mb.StudySet.from_effects(**INTEGER_LABELLED).drop(1),
    "adhoc-identical-effects": lambda: on("metafor", lambda: mb.pool(
        identical(), "DL", "metafor", test="adhoc")),
    "forest-label-mathtext": lambda: plots.forest(
        studies().with_columns(arm="x"), mb.pool(studies()), title=MATHTEXT),
    "forest-study-label-mathtext": lambda: plots.forest(
        ratios(labels=[MATHTEXT, "$x$ and $y$", "C"]),
        mb.pool(ratios(labels=[MATHTEXT, "$x$ and $y$", "C"]))),
}


def accepted_numbers(made: Any) -> np.ndarray:
    """The numbers an accepted input produced (a figure must draw, every text literally)."""
    if isinstance(made, mb.StudySet):
        return np.concatenate([made.yi, made.vi])
    if isinstance(made, mb.Simulation):
        return made.replicates[["estimate", "se"]].to_numpy()
    if isinstance(made, mb.PoolResult):
        return np.array([made.estimate, made.se, made.ci_low, made.ci_high])
    if hasattr(made, "savefig"):
        made.savefig(io.BytesIO(), format="png")
        assert not [t for t in made.findobj(lambda o: hasattr(o, "get_parse_math"))
                    if t.get_parse_math()], "every text is drawn literally"
        return np.array([1.0])
    return np.array([made.bias, made.p])  # an EggerTest


@pytest.mark.parametrize("make", ACCEPTED.values(), ids=list(ACCEPTED))
def test_boundary_input_is_accepted(make: Callable[[], Any]) -> None:
    assert np.isfinite(accepted_numbers(make())).all()


def test_a_lone_name_is_one_name_and_labels_compare_as_text() -> None:
    run = simulate(methods="DL", tests="knha")
    assert set(run.replicates["method"]) == {"DL"}
    assert set(run.replicates["test"]) == {"knha"}
    ints = mb.StudySet.from_effects(**INTEGER_LABELLED)
    assert ints.drop(1).labels == ("2", "3")
    assert mb.exclude(ints, [1, "3"], "FE").labels == ("2",)


def test_labels_with_dollars_are_drawn_as_written() -> None:
    figure = ACCEPTED["forest-study-label-mathtext"]()
    figure.savefig(io.BytesIO(), format="svg")
    drawn = {t.get_text() for t in figure.findobj(lambda o: hasattr(o, "get_parse_math"))}
    assert {MATHTEXT, "$x$ and $y$"} <= drawn


def test_the_range_rule_is_tight_at_its_edges() -> None:
    """One step past each edge of the representable range is refused."""
    with pytest.raises(Study, match="above 2\\^500"):
        effects(yi=[0.1, 0.2, 0.0], sei=None, vi=[1.0, 2.0, np.nextafter(LIMIT, np.inf)])
    with pytest.raises(Study, match="outside what double precision can pool for k = 3"):
        # (a step of two spacings: 3 / nextafter(3 / LIMIT, 0) still rounds to LIMIT)
        effects(yi=[0.1, 0.2, 0.0], sei=None, vi=[1.0, 2.0, 3.0 / LIMIT * (1 - 4e-16)])
    with pytest.raises(Study, match="below 256 spacings"):
        effects(yi=[1.0, 2.0, 3.0], sei=[np.nextafter(256 * np.spacing(1.0), 0), 0.2, 0.3])


@pytest.mark.parametrize("test", ["knha", "adhoc"])
def test_hartung_knapp_on_identical_effects(engine: str, test: str) -> None:
    """knha is refused on every engine offering it (its SE is 0: metafor gave z = inf,
    statsmodels and PyMARE a ZeroDivisionError); the ad hoc correction's SE never falls
    below the Wald SE, so it is defined and the engines agree."""
    if test not in mb.backends.get_backend(engine).tests:
        pytest.skip(f"{engine} has no test={test!r}")
    if test == "knha":
        with pytest.raises(NotEstimableError, match="same estimate"):
            mb.pool(identical(), "DL", engine, test=test)
        # identical to within rounding (one spacing apart) is refused too
        with pytest.raises(NotEstimableError, match="same estimate"):
            mb.pool(identical(yi=[0.2, np.nextafter(0.2, 1), 0.2]), "DL", engine, test=test)
        return
    result = mb.pool(identical(), "DL", engine, test=test)
    wald = mb.pool(identical(), "DL", engine, test="z")
    # The ad hoc SE is max(HK SE, Wald SE) = the Wald SE here: same arithmetic, 1e-12.
    assert result.se == pytest.approx(wald.se, rel=1e-12)
    assert np.isfinite(result.p)


def test_egger_refused_on_every_engine(engine: str) -> None:
    """Equal SEs (1/SE collinear with the intercept) and identical effects (an exact fit)
    are refused before any engine runs, whatever the engine would have returned."""
    backend = mb.backends.get_backend(engine)
    variants = [v for v in ("classic", "metafor-rma") if f"egger_{v}" in backend.features]
    if not variants:
        pytest.skip(f"{engine} has no Egger test")
    for variant in variants:
        with pytest.raises(NotEstimableError, match="same SE"):
            mb.egger(equal_ses(), engine, variant)
    if "classic" in variants:
        with pytest.raises(NotEstimableError, match="same estimate"):
            mb.egger(identical(), engine, "classic")


def test_egger_is_scale_invariant_on_every_engine(engine: str) -> None:
    """SEs ~1e-15 (variances 1e-30, inside the representable range): statsmodels' and
    PythonMeta's OLS dropped 1/SE as collinear (bias 0, P 0.07); metabridge scales by a
    power of two first (exact), so every engine gives the unit-scale answer."""
    if "egger_classic" not in mb.backends.get_backend(engine).features:
        pytest.skip(f"{engine} has no classic Egger test")
    yi, sei = np.array([0.1, 0.5, 0.2, 0.3, 0.8]), np.array([0.1, 0.2, 0.3, 0.15, 0.25])
    unit = mb.egger(mb.StudySet.from_effects(yi, sei=sei), engine)
    tiny = mb.egger(mb.StudySet.from_effects(yi * 2.0**-50, sei=sei * 2.0**-50), engine)
    # Scaling by 2^-50 is exact and undone exactly: the same arithmetic, so 1e-12.
    assert tiny.bias == pytest.approx(unit.bias, rel=1e-12)
    assert tiny.p == pytest.approx(unit.p, rel=1e-12)
    assert re.search(r"scaled by 2\^5[0-9] first", tiny.how)


def test_egger_on_equal_sample_sizes_is_refused() -> None:
    need("metafor")
    data = effects(yi=[0.1, 0.5, 0.2], n=[40, 40, 40])
    with pytest.raises(NotEstimableError, match="same sample size"):
        mb.egger(data, "metafor", predictor="ninv")


def test_compare_lists_what_cannot_be_estimated() -> None:
    """compare() keeps the z results and records the refused knha ones in ``skipped``."""
    cmp = mb.compare(identical(), ("FE", "DL"), ["statsmodels"], tests=("z", "knha"))
    assert set(cmp.table["test"]) == {"z"}
    assert {(b, m) for b, m, _ in cmp.skipped} == {("statsmodels", "FE/knha"),
                                                   ("statsmodels", "DL/knha")}


def test_an_engine_se_of_zero_is_an_engine_error() -> None:
    """assemble() refuses an engine's SE of 0 (it would give z = inf) naming the engine."""
    from metabridge.backends.base import assemble
    from metabridge.methods import METHODS

    with pytest.raises(mb.EngineError, match=r"^metafor failed: returned SE = 0\.0"):
        assemble(studies(), METHODS["FE"], 0.95, backend="metafor", engine_version="x",
                 estimate=0.1, se=0.0, ci=(0.1, 0.1), tau2=0.0, q=0.0, weights=[1, 1, 1])


def test_the_table_is_long_enough_and_ids_are_unique() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids)


def test_docs_list_exactly_the_cases_of_the_table() -> None:
    assert list(doc_rows()) == [case.id for case in CASES]


def test_docs_show_the_class_and_a_message_each_case_accepts() -> None:
    # Exact messages can change elsewhere (e.g. the list of registered engines), so the
    # check is that the documented message passes the same regex as the code's.
    documented = doc_rows()
    for case in CASES:
        error, message = documented[case.id]
        assert error == case.error.__name__, f"{case.id}: rerun `python {RUN}`"
        assert re.search(case.match, message), f"{case.id}: rerun `python {RUN}`"


# ----------------------------------------------------------- docs/errors.md
ROW = re.compile(r"^\| `(?P<id>[^`]+)` \| .* \| `(?P<error>\w+)` \| `(?P<message>.*)` \|$")


def produced(case: Case) -> tuple[str, str]:
    """(exception class name, message) the code gives for ``case``."""
    try:
        case.call()
    except mb.MetabridgeError as exc:
        return type(exc).__name__, str(exc)
    raise AssertionError(f"{case.id}: no MetabridgeError raised")


def doc_rows() -> dict[str, tuple[str, str]]:
    """Case id -> (exception class, message) from the table in docs/errors.md."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows[match["id"]] = (match["error"], match["message"].replace(r"\|", "|"))
    return rows


PREAMBLE = """\
# Errors on bad input

Generated by `python tests/test_bad_input.py` from the table of cases in
`tests/test_bad_input.py` (the messages are what the code gave when it was run);
a test checks that this file lists exactly the cases of that table.

Every error a user can provoke is a `MetabridgeError`.  Bad input stops at the
boundary (the `StudySet` constructors and selections, and the analysis verbs'
argument checks), before any numpy, pandas or engine code runs on it, so there is
no traceback from deep inside a library and no silently wrong number.

```
MetabridgeError
├── InvalidStudyError        (also ValueError) study data: names study and field
├── InvalidArgumentError     (also ValueError) an argument outside its domain
│   ├── DataFileError        a data file that cannot be read as a table
│   │   └── ReviewFileError  a Cochrane review file: names file, analysis and field
│   └── OutputError          an output folder that cannot be written safely
├── InsufficientStudiesError (also ValueError) too few studies for the analysis
├── NotEstimableError        (also ValueError) the data cannot identify the statistic
├── UnknownMethodError       (also ValueError) not one of the canonical methods
├── UnknownBackendError      (also ValueError) not a registered engine
├── UnsupportedMethodError   the engine lacks the method; names engines that have it
│   └── ResourceLimitError   the data set exceeds what the engine can hold here
├── BackendUnavailableError  the engine cannot run here; says why
├── EngineError              the engine itself failed; carries its message
├── StoreError               a simulation store that cannot hold the study
└── ClusterError             the Dask scheduler cannot be reached (or Dask is missing)
```

**Tables without events (or with only events) in both arms are data, not errors.**
`from_counts` keeps them, with metafor's `escalc()` default: 1/2 added to each cell,
so their yi and vi are finite.  What each engine then does: metafor's `rma.mh()` and
`rma.peto()` keep them in the pooled estimate (where they weigh nothing for OR, RR and
Peto, and pull the MH risk difference towards 0) and leave them out of Q, with R's
warning 'Some yi/vi values are NA'; `escalc()` + `rma()` pool their corrected effects.
PythonMeta stops on them ('too many zeros'), so metabridge leaves them out before
calling it and lists them in `extra["excluded"]` (convention `pythonmeta.double_zero`).
pimeta's `escalc()` leaves out tables without events (`pimeta.escalc_drop00`) and its
`rma_mh()` keeps tables with only events in Q (`pimeta.only_events_tables`).
statsmodels' `StratifiedTable` sums them (they add 0) and metabridge leaves them out of
the Q it computes, as metafor does.  No table is dropped without a word: every such
difference is a named convention, and `compare(harmonise=True)` removes it.

**Messages name the study and the field.**  An `InvalidStudyError` reads
`study '<label>', field '<field>': <problem>` (its `.study`, `.field` and
`.problem` attributes hold the parts); when no single study is at fault (a length
mismatch, a reserved column name) it reads `field '<field>': <problem>`.  The
field is the argument's name (`ratio`, `lower`, `sei`, `labels`, ...) -- for
`from_frame`, `read_csv` and the command line the keyword (flag) the column was
named with, then the column (`ratio='hr'` gives `field 'ratio' (column 'hr')`) --
or a covariate's name.

Three things real data sets contain are not errors; metabridge does what metafor
does and says so with a `DataWarning` naming the studies and columns:
a study with a missing effect input is dropped (`na="drop"`, the default, as
metafor's `na.action = "na.omit"`; `na="raise"` makes it an error); repeated
labels are made unique as metafor does ('A', 'A' -> 'A.1', 'A.2'); and a column
that was not named for the effects but is called like one metabridge derives
(`yi`, `vi`, `sei`, `label`) or reads (`ratio`, `lower`, ...) is kept as a
covariate called `<name>_column`.

**The representable range.**  Pooling forms weights w = 1/v, the sums of w,
w y, w y² and w² (DerSimonian-Laird's c, the likelihood's information) and the
squares of such sums.  In double precision these stay finite and normal when every
factor lies within 2^-512 .. 2^512 of 1 (the square roots of the largest double
and of the smallest normal one).  Keeping 2^12 of that for the sums over k studies
and the centring, a `StudySet` accepts a study when

- v ≤ 2^500 (≈ 3.3e150), so that w² ≥ 2^-1000 stays a normal number;
- k · max(1, 1/v) · max(1, |y|) ≤ 2^500, so that every sum and square stays below
  2^1000 (for v = 1e-300 this is 3e300: refused; an SE of 1e-160 squares to the
  subnormal 1e-320: refused);
- √v ≥ 256 spacings of double at y (`numpy.spacing(|y|)`): the effect is stored
  to within 1/512 of its SE and its CI spans about a thousand representable
  numbers.  An effect known to better than ~5.7e-14 of its size (an optical-clock
  frequency ratio, say) must be pooled as a difference from a reference value.

Physical-constant data (estimates ≈ 6.626, SEs ≈ 1e-8), effects offset by 1e4 and
variances spread over many orders of magnitude are well inside and are accepted
(the `ACCEPTED` table of the same test file pins these and the rule's exact
edges).  `simulate()` applies the same rule to its within-study variances.

**Data that cannot identify a statistic** raise `NotEstimableError` on every
engine, before any engine runs: Hartung-Knapp (`test='knha'`) when every study has
the same estimate (its SE, √(Σw(y-μ)²/((k-1)Σw)), is 0; `test='adhoc'` is
defined there), Egger's test when every SE is the same (1/SE is collinear with the
intercept) or the regression fits every study exactly, Begg's test when every SE
or every estimate is the same.  An engine that nevertheless returns an SE of 0
raises `EngineError`.

**Output folders.**  `metabridge reproduce --out DIR` checks every argument before
any work and writes only files it can account for: it records each file it writes,
with its SHA-256, in `DIR/.metabridge-manifest.json`, and replaces a file only if
the manifest lists it and it is unchanged since (`--force` overrides).  Exit
status: 0 all PASS, 1 a FAIL, 2 a usage or input/output error.

The cases start from three valid studies A, B, C: ratios 2.0, 1.5, 0.8 with CIs
1.0-4.0, 1.0-2.25, 0.5-1.28 (`from_ratios`), the same ratios with P = 0.01, 0.2,
0.3 (`from_ratio_p`), yi = 0.1, 0.2, 0.3 with sei = 0.1, 0.2, 0.3
(`from_effects`), events/total 12/40 vs 20/41, 3/30 vs 4/28, 5/25 vs 9/27
(`from_counts`), or mean (SD, n) 55 (47, 155) vs 75 (64, 156), 27 (7, 31) vs
29 (4, 32), 64 (17, 75) vs 119 (29, 71) (`from_means`); `from_frame` gets the
ratios as columns `study`, `hr`, `lo`, `hi`, `arm`; the analysis verbs get them
with `arm` = x, x, y.  The simulation cases start from the grid `[grid] k = [3],
tau2 = [0.0], reps = 5`, `[analysis] backends = ["statsmodels"], seed = 1`.  Each
case changes one thing.

| case | input | exception | message |
|---|---|---|---|
"""


def write_doc() -> None:
    lines = [PREAMBLE.rstrip("\n")]
    for case in CASES:
        error, message = produced(case)
        cell = message.replace("|", r"\|")
        lines.append(f"| `{case.id}` | {case.input} | `{error}` | `{cell}` |")
    DOC.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_doc()
    print(f"wrote {DOC}", file=sys.stderr)
