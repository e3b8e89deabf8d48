"""Property tests: do the engines agree on *any* valid data, not just ours?

Every engine's result passes metabridge's sanity layer (right to ~1e-10 against
exact arithmetic, or repaired and listed, or refused: tests/test_exact.py).  These
tests ask what must then hold on random valid study sets of every conditioning
(``strategies.py``: general, near-homogeneous, ties, effects far from 0, tiny
variances, variances over 8 orders, k = 2):

1. Cross-engine agreement (FE and DL): for every pair of installed engines, every
   statistic agrees to 1e-8 relative, or ``Comparison.differences()`` names the
   conventions that cause the gap *and checks them*; nothing is UNEXPLAINED; after
   ``.harmonised()`` no gap is left.
2. Permutation invariance: the order of the studies changes no pooled number.
3. Variance scaling: multiplying every variance by c multiplies the FE SE by
   sqrt(c) and Q by 1/c and leaves the FE estimate unchanged.
4. DL bounds: tau^2 >= 0 and 0 <= I^2 <= 100; on the tau^2 = 0 boundary DL is FE.

A refused result (EngineError from the sanity layer) is allowed and counted; the
count is printed at the end with the number of data sets tried.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterator
from itertools import combinations
from typing import Any

import numpy as np
import pytest
from conftest import ENGINES, need
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import (
    PROFILE,
    PROFILE_NAME,
    STUDY_SETS,
    WORST_CASES,
    Case,
    near_homogeneous_sets,
)

import metabridge as mb
from metabridge import estimators
from metabridge.comparison import Comparison
from metabridge.result import STAT_FIELDS, PoolResult

pytestmark = pytest.mark.filterwarnings("ignore::metabridge.errors.EngineWarning")

#: The comparison tolerance of ``Comparison.differences()`` (relative to max(1, |x|)).
CROSS_ENGINE = 1e-8
#: Same engine, studies reordered or variances rescaled: each result is within 1e-10
#: of the exact value on its scale (test_exact.py), so two results within 2e-10;
#: 1e-9 leaves a factor of five.
SAME_ENGINE = 1e-9
EPS = float(np.finfo(float).eps)
FIELDS = tuple(f for f in STAT_FIELDS if f != "q_df")

# ---------------------------------------------------------------- counting
TRIED: Counter[tuple[str, str]] = Counter()
DISTINCT: set[bytes] = set()
REFUSED: Counter[str] = Counter()


def count(test: str, case: Case) -> None:
    TRIED[test, case.kind] += 1
    DISTINCT.add(case.key)


def summary_line() -> str:
    by_test: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    for (test, kind), n in TRIED.items():
        by_test[test] += n
        by_kind[kind] += n
    return (
        f"hypothesis data sets tried: {len(DISTINCT)} distinct "
        f"(profile {PROFILE_NAME}; {sum(TRIED.values())} test runs; by kind: "
        + ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items()))
        + "; by property: " + ", ".join(f"{t} {n}" for t, n in sorted(by_test.items()))
        + "); results refused by the sanity layer: "
        + (", ".join(f"{e} {n}" for e, n in sorted(REFUSED.items())) or "none")
    )


class CountReport:
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if TRIED:
            terminalreporter.write_sep("-", "property tests (tests/test_properties.py)")
            terminalreporter.write_line(summary_line())


@pytest.fixture(scope="module", autouse=True)
def report_count(
    request: pytest.FixtureRequest, record_testsuite_property: Any
) -> Iterator[None]:
    manager = request.config.pluginmanager
    if not manager.has_plugin("metabridge-property-count"):
        manager.register(CountReport(), "metabridge-property-count")
    yield
    record_testsuite_property("hypothesis_datasets_tried", len(DISTINCT))


# ----------------------------------------------------------------- engines
@pytest.fixture(scope="module", params=list(combinations(ENGINES, 2)),
                ids=lambda pair: "-".join(pair))
def engine_pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    for name in request.param:
        need(name)
    return request.param


def pooled(studies: mb.StudySet, method: str, engine: str) -> PoolResult | None:
    """The checked result, or None when the sanity layer refuses it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mb.EngineWarning)
        try:
            return mb.pool(studies, method, engine)
        except mb.EngineError:
            REFUSED[engine] += 1
            return None


def close(a: float, b: float, rtol: float, floor: float = 1.0) -> bool:
    """|a - b| <= rtol max(floor, |a|, |b|); NaN only equals NaN (as ``Comparison``)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= rtol * max(floor, abs(a), abs(b))


def assert_same_core(a: PoolResult, b: PoolResult, studies: mb.StudySet, rtol: float) -> None:
    """Core numbers equal on their natural scales (those of test_exact.py), and weights."""
    w = 1.0 / (studies.vi + a.tau2)
    floor = 8 * studies.k * EPS * float((w * np.abs(studies.yi)).sum() / w.sum())
    s2 = float(estimators.typical_variance(studies.vi)) if studies.k > 1 else 0.0
    assert abs(a.estimate - b.estimate) <= rtol * a.se + floor, ("estimate", a, b)
    assert abs(a.se - b.se) <= rtol * a.se, ("se", a.se, b.se)
    assert abs(a.q - b.q) <= rtol * max(a.q, a.q_df, 1.0), ("q", a.q, b.q)
    assert abs(a.tau2 - b.tau2) <= rtol * (a.tau2 + 0.01 * s2), ("tau2", a.tau2, b.tau2)


# -------------------------------------------------- 1. cross-engine agreement
@PROFILE
@example(case=WORST_CASES[0])
@example(case=WORST_CASES[1])
@example(case=WORST_CASES[2])
@example(case=WORST_CASES[3])
@example(case=WORST_CASES[4])
@example(case=WORST_CASES[5])
@given(case=STUDY_SETS)
def test_engines_agree_on_fe_and_dl(engine_pair: tuple[str, str], case: Case) -> None:
    count("agreement", case)
    studies = case.studies()
    for method in ("FE", "DL"):
        results = [pooled(studies, method, name) for name in engine_pair]
        if None in results:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error", mb.UnexplainedDifferenceWarning)
            diffs = Comparison(tuple(results), studies=studies).differences(CROSS_ENGINE)
        assert not diffs["explained_by"].str.startswith("UNEXPLAINED").any(), diffs
        # a statistic moved by core numbers within their checked rounding bounds (a Q of
        # 5e-16 for an exact 0 moves P by 2e-8): differences() verified exactly that
        rounded = set(diffs.loc[diffs["explained_by"] == "metabridge.rounding", "quantity"])
        a, b = (r.harmonised() for r in results)
        for field in set(FIELDS) - rounded:
            assert close(getattr(a, field), getattr(b, field), CROSS_ENGINE), (
                method, field, getattr(a, field), getattr(b, field))


# ------------------------------------------------ 2. permutation invariance
@PROFILE
@given(case=STUDY_SETS, data=st.data())
def test_study_order_changes_nothing(installed_engine: str, case: Case, data: Any) -> None:
    count("permutation", case)
    studies = case.studies()
    order = data.draw(st.permutations(range(case.k)), label="order")
    shuffled = studies.subset([studies.labels[i] for i in order])
    for method in ("FE", "DL"):
        before = pooled(studies, method, installed_engine)
        after = pooled(shuffled, method, installed_engine)
        if before is None or after is None:
            continue
        assert_same_core(before, after, studies, SAME_ENGINE)
        moved = dict(zip(after.labels, after.weights, strict=True))
        for label, weight in zip(before.labels, before.weights, strict=True):
            assert abs(weight - moved[label]) <= 1e-7, (method, label)  # percentage points


# ---------------------------------------------------- 3. variance scaling
FACTOR = st.floats(min_value=-3.0, max_value=3.0).map(lambda e: 10.0**e)


@PROFILE
@given(case=STUDY_SETS, factor=FACTOR)
def test_scaling_variances_scales_fe_se(installed_engine: str, case: Case, factor: float) -> None:
    count("scaling", case)
    base = pooled(case.studies(), "FE", installed_engine)
    scaled = pooled(case.studies(factor), "FE", installed_engine)
    if base is None or scaled is None:
        return
    assert close(scaled.se, base.se * math.sqrt(factor), SAME_ENGINE, floor=0.0)
    w = 1.0 / case.studies().vi
    floor = 8 * case.k * EPS * float((w * np.abs(case.yi)).sum() / w.sum())
    assert abs(scaled.estimate - base.estimate) <= SAME_ENGINE * base.se + floor
    assert abs(scaled.q * factor - base.q) <= SAME_ENGINE * max(base.q, base.q_df, 1.0)


# ------------------------------------------------------------ 4. DL bounds
@PROFILE
@given(case=STUDY_SETS)
def test_dl_tau2_and_i2_in_range(installed_engine: str, case: Case) -> None:
    count("bounds", case)
    dl = pooled(case.studies(), "DL", installed_engine)
    if dl is None:
        return
    assert dl.tau2 >= 0.0
    assert dl.q >= 0.0
    if dl.k > 1:
        assert 0.0 <= dl.i2 <= 100.0
        assert dl.h2 >= 0.0


@PROFILE
@given(case=near_homogeneous_sets())
def test_dl_on_the_boundary_is_fe(installed_engine: str, case: Case) -> None:
    """Q < df: DL's tau^2 is 0 and DL pools as FE (H^2 by each engine's own recipe)."""
    count("boundary", case)
    studies = case.studies()
    fe = pooled(studies, "FE", installed_engine)
    dl = pooled(studies, "DL", installed_engine)
    if fe is None or dl is None:
        return
    assert fe.q < fe.q_df  # what the strategy promises
    assert dl.tau2 == 0.0
    assert_same_core(fe, dl, studies, SAME_ENGINE)
    if installed_engine == "statsmodels":  # truncated at 0, the raw value kept
        assert "statsmodels.dl_untruncated" in dl.conventions
        assert dl.extra["tau2_untruncated"] < 0.0


def test_statsmodels_q_is_never_negative() -> None:
    """yi = (1.5, 1.5), SE = (1, 100): statsmodels' one-pass Q is -4.4e-16, which made
    I^2 = 2.25e17 %; the sanity layer catches it and re-runs statsmodels centred."""
    need("statsmodels")
    studies = mb.StudySet.from_effects([1.5, 1.5], sei=[1.0, 100.0])
    result = mb.pool(studies, "FE", "statsmodels")
    assert "statsmodels.q_cancellation" in result.conventions
    assert "metabridge.recentred" in result.conventions
    assert result.extra["q_engine"] < 0.0
    assert result.q == 0.0
    assert result.i2 == 0.0
