"""Textbook formulas metabridge computes itself, vectorised over the last axis.

Used where an engine does not report a statistic (and the result then says so in
``PoolResult.derived``), and by the harmonised views.

    w_i = 1 / v_i,   Q = sum w_i (y_i - mu_FE)^2            (Cochran 1954)
    I^2 = max(0, (Q - df) / Q) * 100,   H^2 = Q / df       (Higgins & Thompson 2002)
    p(z) = 2 * (1 - Phi(|z|)),   p(Q) = 1 - F_chi2(Q; df)
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def cochran_q(yi: np.ndarray, vi: np.ndarray) -> np.ndarray:
    """Cochran's Q with inverse-variance weights (over the last axis)."""
    w = 1.0 / vi
    mu = (w * yi).sum(axis=-1, keepdims=True) / w.sum(axis=-1, keepdims=True)
    return (w * (yi - mu) ** 2).sum(axis=-1)


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
    return float(2.0 * stats.norm.sf(abs(z)))


def q_pvalue(q: float, df: int) -> float:
    """Upper-tail chi-square P value of Q on df degrees of freedom; NaN when df = 0."""
    return float(stats.chi2.sf(q, df)) if df > 0 else float("nan")
