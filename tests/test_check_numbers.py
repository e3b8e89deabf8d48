"""Are the sanity layer's own numbers exact enough to judge the engines?

``backends/check_numbers.py`` computes, once per check, what every engine result is
compared with: Cochran's Q, DerSimonian-Laird's c, sum 1/v and, at a tau^2, the
weighted mean, its SE and the percent weights.  It has two routes -- exactly rounded
Python sums for a few studies, numpy beyond ``SMALL_K`` -- and both are compared
here with exact rational arithmetic (``fractions.Fraction`` of the input floats) on
the ill-conditioned data of ``strategies.py`` (effects far from 0, near-homogeneous
effects, ties, tiny variances, variances over 8 orders, k = 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given
from strategies import STUDY_SETS, WORST_CASES, Case

from metabridge.backends import check_numbers

EPS = float(np.finfo(float).eps)
#: The checker must be far more exact than what it grants an engine (1e-10 of each
#: quantity's scale, tests/test_exact.py): Q, c and the estimate are sums of k <= 60
#: terms, each rounded once or twice, so their error is a few k eps (~1e-14) of the
#: scale; 1e-12 leaves room for that and is still 100 times inside the engines' bar.
CHECKER_RTOL = 1e-12


def exact(case: Case, tau2: float) -> dict[str, Fraction]:
    """Q, c, sum w and the pooled estimate and variance at ``tau2``, exactly."""
    y = [Fraction(x) for x in case.yi]
    v = [Fraction(float(s) ** 2) for s in case.sei]
    w = [1 / x for x in v]
    total = sum(w)
    mu = sum(a * b for a, b in zip(w, y, strict=True)) / total
    wt = [1 / (x + Fraction(tau2)) for x in v]
    total_t = sum(wt)
    return {
        "q": sum(a * (b - mu) ** 2 for a, b in zip(w, y, strict=True)),
        "c": total - sum(a * a for a in w) / total,
        "sum_w": total,
        "estimate": sum(a * b for a, b in zip(wt, y, strict=True)) / total_t,
        "variance": 1 / total_t,
        "sum_w_abs_y": sum(a * abs(b) for a, b in zip(wt, y, strict=True)),
    }


def worst_cases_first(test: Callable[..., None]) -> Callable[..., None]:
    """``test`` tried on every case of WORST_CASES before hypothesis's own draws."""
    for case in WORST_CASES:
        test = example(case=case)(test)
    return test


@pytest.mark.parametrize("route", ["python", "numpy"])
@worst_cases_first
@given(case=STUDY_SETS)
def test_the_checkers_numbers_are_exact_to_rounding(route: str, case: Case) -> None:
    small_k = 10**6 if route == "python" else 0
    yi = list(case.yi)
    vi = (np.asarray(case.sei) ** 2).tolist()
    if route == "numpy":
        yi, vi = np.asarray(yi), np.asarray(vi)
    tau2 = float(np.var(case.yi))  # an interior tau^2 of the data's own scale
    truth = exact(case, tau2)
    original = check_numbers.SMALL_K
    check_numbers.SMALL_K = small_k
    try:
        data = check_numbers.data_numbers(yi, vi)
        at = check_numbers.pooled_at(yi, vi, tau2, hartung_knapp=False)
    finally:
        check_numbers.SMALL_K = original
    k = case.k
    # each on its natural scale: Q on max(Q, df, 1) as in test_exact; c and sum w on
    # themselves (sums of positive terms); the estimate on its SE plus the rounding
    # floor of any weighted mean, k eps sum w|y| / sum w
    q, c, sum_w = (float(truth[name]) for name in ("q", "c", "sum_w"))
    assert abs(data.q - q) <= CHECKER_RTOL * max(q, k - 1, 1.0)
    assert abs(data.c - c) <= CHECKER_RTOL * c
    assert abs(data.sum_w - sum_w) <= CHECKER_RTOL * sum_w
    se = math.sqrt(float(truth["variance"]))
    floor = k * EPS * float(truth["sum_w_abs_y"] / (1 / truth["variance"]))
    assert abs(at.estimate - float(truth["estimate"])) <= CHECKER_RTOL * se + floor
    assert abs(at.se_z - se) <= CHECKER_RTOL * se
    assert sum(at.percent) == pytest.approx(100.0, rel=CHECKER_RTOL)
