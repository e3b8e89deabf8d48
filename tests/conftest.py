"""Shared fixtures.

Engine availability: a test that needs an engine is skipped when the engine is
missing on a developer machine, but FAILS when ``CI`` is set (CI installs every
engine, so a missing one there is a defect, not a reason to skip).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

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
