"""Odd but valid data: does every engine give the same number, or a documented flag?

Cases from issue 6: tau^2 = 0 boundary, Q < df, k = 2, identical estimates,
variances from 1e-8 to 1e4, 10,000 studies; and R's own errors and warnings.
Closed-form FE/DL: engines agree to 1e-8 relative after ``harmonised()`` (which
removes only the documented CI/I^2 conventions); extreme variance ratios lose
digits in every engine alike, so there the bound is 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ENGINES, need

import metabridge as mb

FIELDS = ("estimate", "se", "tau2", "q", "i2", "z", "p", "ci_low", "ci_high")


def _agree(studies: mb.StudySet, method: str, rtol: float, engines=ENGINES) -> list:
    results = []
    for engine in engines:
        need(engine)
        results.append(mb.pool(studies, method, engine).harmonised())
    first = results[0]
    for other in results[1:]:
        for field in FIELDS:
            assert getattr(other, field) == pytest.approx(
                getattr(first, field), rel=rtol, abs=rtol), (other.backend, method, field)
    return results


@pytest.mark.parametrize("method", ["FE", "DL"])
def test_two_studies(method: str) -> None:
    _agree(mb.StudySet.from_effects([0.2, 0.9], sei=[0.1, 0.3]), method, 1e-8)


@pytest.mark.parametrize("method", ["FE", "DL"])
def test_identical_estimates(method: str) -> None:
    studies = mb.StudySet.from_effects([0.4] * 5, sei=[0.1, 0.2, 0.3, 0.2, 0.1])
    for result in _agree(studies, method, 1e-8):
        assert result.tau2 == 0.0
        assert result.q == pytest.approx(0.0, abs=1e-20)
        assert result.i2 == 0.0


def test_statsmodels_identical_estimates_flags_its_raw_i2() -> None:
    result = mb.pool(mb.StudySet.from_effects([0.4] * 3, sei=[0.1, 0.2, 0.3]), "DL",
                     "statsmodels")
    assert result.extra["i2_untruncated"] < 0  # statsmodels: 1 - df/Q with Q = 0
    assert "statsmodels.i2_untruncated" in result.conventions


@pytest.mark.parametrize("method", ["FE", "DL"])
def test_variances_spanning_twelve_orders(method: str) -> None:
    rng = np.random.default_rng(11)
    v = np.logspace(-8, 4, 15)
    studies = mb.StudySet.from_effects(rng.normal(size=15) * np.sqrt(v + 0.2), vi=v)
    with pytest.warns(mb.EngineWarning, match="Ratio of largest to smallest sampling variance"):
        _agree(studies, method, 1e-6)


def test_ten_thousand_studies() -> None:
    rng = np.random.default_rng(5)
    v = rng.uniform(0.01, 0.5, 10_000)
    studies = mb.StudySet.from_effects(0.1 + rng.normal(scale=np.sqrt(v + 0.05)), vi=v)
    _agree(studies, "DL", 1e-8, engines=("statsmodels", "pymare"))
    # metafor builds k x k matrices (k = 10,000 with DL: ~7 GB): 3,000 studies (~0.6 GB)
    # test the same arithmetic; larger k is refused by its memory guard (test_r_safety).
    _agree(studies.subset(list(studies.labels[:3000])), "DL", 1e-8,
           engines=("statsmodels", "metafor", "pymare"))
    need("pythonmeta")
    with pytest.raises(mb.UnsupportedMethodError, match="at most 200") as info:
        mb.pool(studies, "DL", "pythonmeta")
    assert "statsmodels" in info.value.supported_by


def test_single_study_fixed_effect_everywhere() -> None:
    studies = mb.StudySet.from_effects([0.3], sei=[0.1])
    for engine in ENGINES:
        need(engine)
        result = mb.pool(studies, "FE", engine)
        assert result.estimate == pytest.approx(0.3, abs=1e-15)
        assert result.se == pytest.approx(0.1, rel=1e-14)
        assert np.isnan(result.i2)
        assert np.isnan(result.q_p)
    with pytest.raises(mb.InsufficientStudiesError, match="method='FE'"):
        mb.pool(studies, "DL", "statsmodels")


def test_r_errors_arrive_with_rs_message(metafor: str) -> None:
    import rpy2.robjects as ro

    saved = ro.globalenv["mb_control"]
    ro.r("mb_control <- function(yi, vi) list(threshold = 1e-15, maxiter = 2)")
    try:
        with pytest.raises(mb.EngineError, match="Fisher scoring algorithm did not converge"):
            mb.pool(mb.datasets.bcg(), "REML", metafor)
    finally:
        ro.globalenv["mb_control"] = saved
    assert mb.pool(mb.datasets.bcg(), "REML", metafor).converged
