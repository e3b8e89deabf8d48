"""Shared fixtures.

Engine availability: a test that needs an engine is skipped when the engine is
missing on a developer machine, but FAILS when ``CI`` is set (CI installs every
engine, so a missing one there is a defect, not a reason to skip).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import metabridge as mb
from metabridge.backends import get_backend

REFERENCE = Path(__file__).parent / "reference"
ENGINES = ("statsmodels", "pythonmeta", "metafor", "pymare", "pimeta")


def need(engine: str) -> None:
    """Skip (locally) or fail (in CI) when ``engine`` cannot run here."""
    status = get_backend(engine).status()
    if status.available:
        return
    message = f"engine {engine} unavailable: {status.reason}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Each registered engine in turn (skipped/failed if unavailable, see ``need``)."""
    need(request.param)
    return request.param


@pytest.fixture(scope="module", params=ENGINES)
def installed_engine(request: pytest.FixtureRequest) -> str:
    """``engine`` for a module: hypothesis tests may not use function-scoped fixtures."""
    need(request.param)
    return request.param


@pytest.fixture
def metafor() -> str:
    need("metafor")
    return "metafor"


@pytest.fixture(scope="session")
def bcg() -> mb.StudySet:
    return mb.datasets.bcg()


@pytest.fixture(scope="session")
def published() -> dict:
    with open(REFERENCE / "bcg_published.toml", "rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="session")
def metafor_reference() -> pd.DataFrame:
    """metafor's values (validation/metafor_reference.R), indexed by dataset/method/statistic."""
    frame = pd.read_csv(REFERENCE / "metafor_reference.csv", comment="#")
    return frame.set_index(["dataset", "method", "statistic"])["value"]


@pytest.fixture(scope="session")
def reproduction_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder ``metabridge reproduce --out`` writes (made once per test session)."""
    from metabridge import cli

    need("statsmodels")
    out = tmp_path_factory.mktemp("reproduction")
    assert cli.main(["reproduce", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def raw_reference() -> pd.Series:
    """metafor on raw data (validation/metafor_raw_reference.R), indexed by dataset, measure,
    analysis, statistic and study ("" for pooled statistics, "1", "2", ... per study)."""
    frame = pd.read_csv(REFERENCE / "metafor_raw_reference.csv", comment="#",
                        dtype={"study": "string"})
    frame["study"] = frame["study"].fillna("")
    index = ["dataset", "measure", "analysis", "statistic", "study"]
    return frame.set_index(index)["value"].sort_index()


def per_study(reference: pd.Series, dataset: str, measure: str, analysis: str,
              statistic: str) -> np.ndarray:
    """One pinned per-study statistic, in study order."""
    values = reference.loc[(dataset, measure, analysis, statistic)]
    return values.sort_index(key=lambda s: s.astype(int)).to_numpy(float)


def zero_cells(measure: str = "OR") -> mb.StudySet:
    """The synthetic tables of reference/zero_cells.csv (zero cells, double zeros)."""
    from metabridge.studies import COUNT_COLUMNS

    frame = pd.read_csv(REFERENCE / "zero_cells.csv", comment="#")
    return mb.StudySet.from_frame(frame, label="study", **{c: c for c in COUNT_COLUMNS},
                                  measure=measure)


def check_pythonmeta_ci(result: mb.PoolResult) -> set[str]:
    """PythonMeta's CI is estimate -/+ 1.96 SE (pythonmeta.ci_196): check that, and return
    the fields to leave out of comparisons with other engines' exact-quantile CIs."""
    if "pythonmeta.ci_196" not in result.conventions or result.level != 0.95:
        return set()
    half = 1.96 * result.se
    # PythonMeta computes the CI on the ratio scale and metabridge takes its log: ~1e-15
    assert result.ci_low == pytest.approx(result.estimate - half, rel=1e-12, abs=1e-15)
    assert result.ci_high == pytest.approx(result.estimate + half, rel=1e-12, abs=1e-15)
    return {"ci_low", "ci_high"}


@pytest.fixture(scope="session")
def metadat_reference() -> pd.DataFrame:
    """metafor's values on the metadat fixtures and BCG (validation/metadat_reference.R)."""
    return pd.read_csv(REFERENCE / "metadat_reference.csv", comment="#", keep_default_na=False)


def pinned(pins: pd.DataFrame, dataset: str, analysis: str, statistic: str) -> pd.Series:
    """One pinned statistic, indexed by its label (a study, or a 1-based position)."""
    rows = pins[(pins.dataset == dataset) & (pins.analysis == analysis)
                & (pins.statistic == statistic)]
    if rows.empty:
        raise KeyError(f"no pin {dataset}/{analysis}/{statistic}: rerun the R script")
    values = pd.to_numeric(rows["value"], errors="coerce")
    text = rows["value"]
    return (text if values.isna().all() and (text != "NA").any() else values).set_axis(
        rows["label"])
