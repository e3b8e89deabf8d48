"""Textbook formulas metabridge computes itself, vectorised over the last axis.

Used where an engine does not report a statistic (and the result then says so in
``PoolResult.derived``), by the harmonised views and by the sanity layer.  Q itself
and the tau^2 estimators are in :mod:`metabridge.estimators` (stable routes).

    I^2 = max(0, (Q - df) / Q) * 100,   H^2 = Q / df       (Higgins & Thompson 2002)
    p(z) = 2 * (1 - Phi(|z|)),   p(t) = 2 * (1 - F_t(|t|; df)),   p(Q) = 1 - F_chi2(Q; df)
    prediction interval: mu -/+ c * sqrt(tau^2 + SE^2), c the test's critical value
    (Higgins, Thompson & Spiegelhalter 2009; metafor's predict() in version 3.8)

scipy.special ufuncs are used rather than scipy.stats distributions: the same
functions (cephes), without the per-call argument checking that costs ~50 us.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ._lazy import lazy_module

special = lazy_module("scipy.special")


def i2_from_q(q: float, df: int) -> float:
    """I^2 in percent from Q: max(0, (Q - df) / Q) * 100; NaN when df = 0."""
    if df <= 0:
        return float("nan")
    if q <= 0:
        return 0.0
    return max(0.0, (q - df) / q) * 100.0


def h2_from_q(q: float, df: int) -> float:
    """H^2 = Q / df; NaN when df = 0."""
    return float(q) / df if df > 0 else float("nan")


def z_pvalue(z: float) -> float:
    """Two-sided normal P value of a Wald z statistic."""
    return float(2.0 * special.ndtr(-abs(z)))


def t_pvalue(t: float, df: float) -> float:
    """Two-sided P value of a t statistic on df degrees of freedom."""
    return float(2.0 * special.stdtr(df, -abs(t)))


def test_pvalue(statistic: float, df: float) -> float:
    """Two-sided P of a z (df = inf) or t statistic."""
    return z_pvalue(statistic) if math.isinf(df) else t_pvalue(statistic, df)


@lru_cache(maxsize=256)
def critical_value(level: float, df: float = float("inf")) -> float:
    """Two-sided critical value: z_{1-alpha/2}, or t_{df, 1-alpha/2} for finite df.

    Taken from the lower tail, -z_{alpha/2}: 1 - alpha/2 rounds to the spacing of
    doubles near 1 (1.1e-16), which moves the quantile by ~1e-8 at alpha = 1e-9.
    """
    lower = (1.0 - level) / 2.0
    return float(-special.ndtri(lower) if math.isinf(df) else -special.stdtrit(df, lower))


def q_pvalue(q: float, df: int) -> float:
    """Upper-tail chi-square P value of Q on df degrees of freedom; NaN when df = 0."""
    return float(special.chdtrc(df, q)) if df > 0 else float("nan")


def prediction_interval(
    estimate: float, se: float, tau2: float, level: float, df: float = float("inf")
) -> tuple[float, float]:
    """mu -/+ c sqrt(tau^2 + SE^2), with c = z (z test) or t_{k-1} (Hartung-Knapp)."""
    half = critical_value(level, df) * math.sqrt(tau2 + se**2)
    return estimate - half, estimate + half


def q_profile_tau2_ci(yi: np.ndarray, vi: np.ndarray, level: float) -> tuple[float, float]:
    """Q-profile CI for tau^2 (Viechtbauer 2007): Q_gen(bound) = chi^2_{k-1} quantiles.

    A bound is 0 when Q_gen(0) is already below its target (Q_gen decreases in tau^2).
    """
    from scipy.optimize import brentq

    from .estimators import q_statistic

    def generalised_q(tau2: float) -> float:
        return float(q_statistic(yi, vi, tau2))

    df = len(yi) - 1
    alpha = 1.0 - level
    targets = (special.chdtri(df, alpha / 2), special.chdtri(df, 1 - alpha / 2))  # upper, lower
    bounds = []
    for target in targets:
        if generalised_q(0.0) <= target:
            bounds.append(0.0)
            continue
        high = max(1.0, 10.0 * float(np.var(yi)))
        while generalised_q(high) > target:
            high *= 2.0
        bounds.append(brentq(lambda t, c=target: generalised_q(t) - c, 0.0, high,
                             xtol=1e-12, rtol=1e-12))
    return bounds[0], bounds[1]
