"""The numbers the sanity layer checks an engine against, each computed once per check.

:func:`data_numbers` gives what depends on the data alone (Cochran's Q, DerSimonian
and Laird's c, sum 1/v), :func:`pooled_at` what follows from a tau^2 (weighted mean,
Wald and Hartung-Knapp SE, percent weights).  Both follow the stable routes of
:mod:`metabridge.estimators` -- two-pass weighted mean, Q as the sum of squared
centred residuals, c as sum_i w_i (S - w_i) / S with S - w_i a prefix plus a suffix
sum of positive terms -- in one of two ways that agree to rounding:

- for up to :data:`SMALL_K` studies, Python floats, every sum exactly rounded
  (:func:`math.fsum`; numpy's pairwise sums err by up to ~log2(k) eps of the sum of
  absolute terms): a numpy call on ten numbers costs more than the arithmetic;
- beyond that, :mod:`metabridge.estimators`' vectorised functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from .. import estimators

#: Up to this many studies the sums are Python's (measured crossover with numpy: ~50).
SMALL_K = 48

fsum = math.fsum
_sum = np.add.reduce


@dataclass(frozen=True, slots=True)
class DataNumbers:
    """What the checks need from the pooled studies alone (tau^2 plays no part)."""

    k: int
    #: Cochran's Q by the stable route (0 for one study).
    q: float
    #: sum w - sum w^2 / sum w with w = 1/v, without cancellation (0 for one study).
    c: float
    #: sum 1/v.
    sum_w: float
    #: max |y|.
    max_abs_y: float

    @property
    def harmonic(self) -> float:
        """v_h = k / sum(1/v), the harmonic mean of the variances."""
        return self.k / self.sum_w

    @property
    def typical_variance(self) -> float:
        """s^2 = df / c (Higgins & Thompson 2002); NaN for one study."""
        return (self.k - 1) / self.c if self.k > 1 else math.nan


@dataclass(frozen=True, slots=True)
class Pooled:
    """The inverse-variance pooling at a given tau^2."""

    #: sum w, w = 1/(v + tau^2).
    total: float
    #: Weighted mean, refined once by the weighted mean of its residuals.
    estimate: float
    #: sqrt(1 / sum w).
    se_z: float
    #: sqrt(sum w r^2 / (df sum w)) (Hartung-Knapp); NaN when not asked for or k = 1.
    se_hk: float
    #: sum w |y|.
    sum_w_abs_y: float
    #: 100 w / sum w, in the order of the studies.
    percent: Sequence[float]


def _others(w: list[float]) -> list[float]:
    """S - w_i for each i: the prefix sum before i plus the suffix sum after it (the
    running sums of estimators.others_sum)."""
    before = [0.0, *accumulate(w[:-1])]
    after = [0.0, *accumulate(w[:0:-1])][::-1]
    return [b + a for b, a in zip(before, after, strict=True)]


def _mean(yi: Sequence[float], w: list[float], total: float) -> tuple[float, float]:
    """(mu, correction) of the two-pass weighted mean (estimators.centre)."""
    mu = fsum([a * b for a, b in zip(w, yi, strict=True)]) / total
    return mu, fsum([a * (b - mu) for a, b in zip(w, yi, strict=True)]) / total


def data_numbers(yi: Sequence[float], vi: Sequence[float]) -> DataNumbers:
    """Q, c, sum 1/v and max |y| of one data set (see the module docstring)."""
    k = len(yi)
    if k > SMALL_K:
        y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
        w = 1.0 / v
        return DataNumbers(k, float(estimators.q_statistic(y, v)), float(estimators.dl_c(w)),
                           float(_sum(w)), float(np.abs(y).max()))
    w = [1.0 / x for x in vi]
    total = fsum(w)
    max_abs_y = max(map(abs, yi))
    if k < 2:
        return DataNumbers(k, 0.0, 0.0, total, max_abs_y)
    mu, correction = _mean(yi, w, total)
    r = [(y - mu) - correction for y in yi]
    q = fsum([a * b * b for a, b in zip(w, r, strict=True)])
    c = fsum([a * b for a, b in zip(w, _others(w), strict=True)]) / total
    return DataNumbers(k, q, c, total, max_abs_y)


def pooled_at(
    yi: Sequence[float], vi: Sequence[float], tau2: float, hartung_knapp: bool
) -> Pooled:
    """The pooling of ``yi`` at ``tau2`` (Hartung-Knapp SE only when asked for)."""
    k = len(yi)
    if k > SMALL_K:
        y, v = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
        wa = 1.0 / (v + tau2)
        total = float(_sum(wa))
        mu, correction = estimators.centre(y, wa)
        se_hk = math.nan
        if hartung_knapp and k > 1:
            r = (y - mu) - correction
            se_hk = math.sqrt(float(_sum(wa * r * r)) / ((k - 1) * total))
        return Pooled(total, float(mu + correction), math.sqrt(1.0 / total), se_hk,
                      float(_sum(wa * np.abs(y))), 100.0 * wa / total)
    w = [1.0 / (x + tau2) for x in vi]
    total = fsum(w)
    mu, correction = _mean(yi, w, total)
    se_hk = math.nan
    if hartung_knapp and k > 1:
        r = [(y - mu) - correction for y in yi]
        se_hk = math.sqrt(fsum([a * b * b for a, b in zip(w, r, strict=True)])
                          / ((k - 1) * total))
    return Pooled(total, mu + correction, math.sqrt(1.0 / total), se_hk,
                  fsum([a * abs(b) for a, b in zip(w, yi, strict=True)]),
                  [100.0 * a / total for a in w])
