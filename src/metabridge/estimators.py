"""Each tau^2 estimator by its defining equation, evaluated by a numerically stable route.

These are metabridge's reference formulas for the intercept-only random-effects
model.  The sanity layer (:mod:`metabridge.backends.sanity`) checks every engine's
numbers against them; they are used to *repair* an engine's number only where the
engine's own result failed a check (and the result then says so).

Stable arithmetic:

- the weighted mean is computed in two passes (mean, then the mean of the
  residuals), and residuals are ``(y - mu) - correction``, so that they keep their
  relative precision when the effects sit far from 0 (or agree to many digits);
- Q is the sum of squared centred residuals (never ``sum w y^2 - (sum w y)^2 / sum w``);
- DerSimonian-Laird's ``c = S1 - S2 / S1`` is ``sum_i w_i (S1 - w_i) / S1`` with
  ``S1 - w_i`` the sum of the *other* weights (prefix + suffix sums of positive
  terms), so it does not cancel when one weight dominates.

Estimators (Viechtbauer 2005; metafor's ``rma.uni`` for the intercept-only model),
with ``w_i = 1/(v_i + tau^2)``, ``r_i = y_i - mu_w`` and ``df = k - 1``:

======  ==========================================================================
FE      tau^2 = 0
DL      max(0, (Q - df) / c)                          DerSimonian & Laird 1986
HE      max(0, sum (y - ybar)^2 / df - sum v / k)     Hedges 1983
HS      max(0, (Q - k) / sum w)                       Hunter & Schmidt 2004
HSk     max(0, (k/df Q - k) / sum w)                  Brannick et al. 2019
SJ      t0 Q_gen(t0) / df, t0 = sum (y - ybar)^2 / k  Sidik & Jonkman 2005
PM, EB  root of Q_gen(tau^2) = df, or 0 if Q <= df   Paule & Mandel 1982; Morris 1983
PMM     root of Q_gen(tau^2) = median(chi2_df)        Viechtbauer 2021
ML      root of sum w^2 r^2 = sum w                   Hardy & Thompson 1996
REML    root of sum w^2 r^2 = c = sum w - sum w^2/sum w   Viechtbauer 2005
======  ==========================================================================

(EB and PM solve the same equation when there are no moderators.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._lazy import lazy_module

special = lazy_module("scipy.special")

#: Estimators given in closed form.
CLOSED_FORM = frozenset({"FE", "DL", "HE", "HS", "HSk", "SJ"})
#: Closed forms that follow from Cochran's Q, sum 1/v and DL's c alone.
MOMENT_FORM = frozenset({"DL", "HS", "HSk"})
#: Estimators defined as the root of an estimating equation (decreasing through 0).
ROOT_FORM = frozenset({"PM", "EB", "PMM", "ML", "REML"})

# Every function works on one data set (1-d arrays) or a batch (rows of 2-d arrays,
# studies along the last axis; tau2 then one value per row).


def _col(value: np.ndarray | float) -> np.ndarray | float:
    """A per-row value as a column, so that it broadcasts over the studies."""
    return value[..., None] if isinstance(value, np.ndarray) and value.ndim else value


#: Pairwise sums over the studies (ndarray.sum's arithmetic, without its Python layer).
_sum = np.add.reduce


def centre(yi: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mu, correction) of the weighted mean: mu = sum w y / sum w and the weighted
    mean of y - mu, kept apart so that residuals keep digits below mu's last place."""
    total = _sum(w, axis=-1)
    mu = _sum(w * yi, axis=-1) / total
    return mu, _sum(w * (yi - _col(mu)), axis=-1) / total


def weighted_mean(yi: np.ndarray, w: np.ndarray) -> np.ndarray:
    """sum w y / sum w, refined once with the weighted mean of the residuals."""
    mu, correction = centre(yi, w)
    return mu + correction


def residuals(yi: np.ndarray, w: np.ndarray) -> np.ndarray:
    """y - mu_w, as (y - mu) - correction: y - mu is exact when y is near mu (Sterbenz),
    so residuals far below the effects' magnitude keep their relative precision."""
    mu, correction = centre(yi, w)
    return (yi - _col(mu)) - _col(correction)


def q_statistic(yi: np.ndarray, vi: np.ndarray, tau2: np.ndarray | float = 0.0) -> np.ndarray:
    """Generalised Q: sum w (y - mu_w)^2 with w = 1 / (v + tau^2); Cochran's Q at tau^2 = 0."""
    w = 1.0 / (vi + _col(tau2))
    r = residuals(yi, w)
    return _sum(w * r * r, axis=-1)


def others_sum(w: np.ndarray) -> np.ndarray:
    """S - w_i for each i, as prefix + suffix sums of the other (positive) weights."""
    before, after = np.zeros_like(w), np.zeros_like(w)
    np.add.accumulate(w[..., :-1], axis=-1, out=before[..., 1:])
    np.add.accumulate(w[..., :0:-1], axis=-1, out=after[..., -2::-1])  # from the end
    return before + after


def dl_c(w: np.ndarray) -> np.ndarray:
    """c = sum w - sum w^2 / sum w = sum_i w_i (S - w_i) / S, without cancellation."""
    return _sum(w * others_sum(w), axis=-1) / _sum(w, axis=-1)


def typical_variance(vi: np.ndarray) -> np.ndarray:
    """s^2 = df sum w / ((sum w)^2 - sum w^2) (Higgins & Thompson 2002), stably."""
    return (vi.shape[-1] - 1) / dl_c(1.0 / vi)


def _unweighted_ss(yi: np.ndarray) -> np.ndarray:
    """sum (y - ybar)^2 with the two-pass mean."""
    r = residuals(yi, np.ones_like(yi))
    return (r * r).sum(axis=-1)


# ------------------------------------------------------------ closed forms
def closed_form_tau2(method: str, yi: np.ndarray, vi: np.ndarray) -> np.ndarray:
    """tau^2 of a closed-form estimator (see the module table)."""
    k = yi.shape[-1]
    if method == "FE":
        return np.zeros(yi.shape[:-1]) if yi.ndim > 1 else np.float64(0.0)
    if method == "HE":
        raw = _unweighted_ss(yi) / (k - 1) - vi.sum(axis=-1) / k
    elif method == "SJ":
        t0 = _unweighted_ss(yi) / k
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.where(t0 > 0, t0 * q_statistic(yi, vi, t0) / (k - 1), 0.0)
    elif method in MOMENT_FORM:
        w = 1.0 / vi
        raw = moment_tau2(method, q_statistic(yi, vi), k, w.sum(axis=-1),
                          dl_c(w) if method == "DL" else None)
    else:
        raise KeyError(method)
    return np.maximum(0.0, raw)


def moment_tau2(method: str, q: Any, k: int, sum_w: Any, c: Any) -> Any:
    """DL, HS or HSk before truncation at 0, from Cochran's Q, sum w (w = 1/v) and
    DL's c (see the module table)."""
    if method == "DL":
        return (q - (k - 1)) / c
    if method == "HS":
        return (q - k) / sum_w
    if method == "HSk":
        return (k / (k - 1) * q - k) / sum_w
    raise KeyError(method)


# ------------------------------------------------------ estimating equations
def estimating_equation(
    method: str, yi: np.ndarray, vi: np.ndarray, tau2: np.ndarray | float
) -> np.ndarray:
    """g(tau^2), whose root (decreasing through 0) defines a root-form estimator.

    tau^2 = 0 is the estimate when g(0) <= 0.  The likelihood scores are divided by
    sum w so that g has the scale of Q.
    """
    k = yi.shape[-1]
    if method in ("PM", "EB"):
        return q_statistic(yi, vi, tau2) - (k - 1)
    if method == "PMM":
        return q_statistic(yi, vi, tau2) - special.chdtri(k - 1, 0.5)
    if method not in ("ML", "REML"):
        raise KeyError(method)
    w = 1.0 / (vi + _col(tau2))
    r = residuals(yi, w)
    total = w.sum(axis=-1)
    # ML: sum w - 0; REML: sum w - sum w^2 / sum w = c(w), computed without cancellation
    expected = dl_c(w) if method == "REML" else total
    return ((w * w * r * r).sum(axis=-1) - expected) / total


def root_tau2(method: str, yi: np.ndarray, vi: np.ndarray) -> float:
    """The first root above 0 of the root-form estimator's equation (or 0 when
    g(0) <= 0), solved to full precision (scipy brentq).  Unique for PM, EB and PMM
    (Q_gen decreases in tau^2); ML and REML can have several: see :func:`stable_tau2`."""

    def g(tau2: float) -> float:
        return float(estimating_equation(method, yi, vi, tau2))

    if g(0.0) <= 0.0:
        return 0.0
    tiny = np.finfo(float).tiny
    step = max(float(typical_variance(vi)), float(np.var(yi)), tiny)
    low, high = 0.0, step
    while g(high) > 0.0:
        step *= 4.0
        high += step
    return _polish(g, low, high)


def _polish(g: Callable[[float], float], low: float, high: float) -> float:
    from scipy.optimize import brentq

    tiny = np.finfo(float).tiny
    return float(brentq(g, low, high, xtol=tiny, rtol=4 * np.finfo(float).eps, maxiter=500))


# ----------------------------------------------------------- likelihoods
#: Estimators that maximise a likelihood, which can have more than one local maximum.
LIKELIHOOD = frozenset({"ML", "REML"})
#: Grid points per decade of tau^2 when searching for the global maximum.
GRID_PER_DECADE = 12


def profile_loglik(
    method: str, yi: np.ndarray, vi: np.ndarray, tau2: np.ndarray | float
) -> np.ndarray:
    """The (restricted) log-likelihood profiled over mu, constants dropped:
    ML  -1/2 [sum log(v + tau^2) + sum w r^2];  REML  ML - 1/2 log sum w
    (Viechtbauer 2005, eqs. 5 and 9).  Its derivative in tau^2 has the sign of
    :func:`estimating_equation`."""
    w = 1.0 / (vi + _col(tau2))
    r = residuals(yi, w)
    ll = -0.5 * (np.log(vi + _col(tau2)).sum(axis=-1) + (w * r * r).sum(axis=-1))
    return ll - 0.5 * np.log(w.sum(axis=-1)) if method == "REML" else ll


def likelihood_grid(yi: np.ndarray, vi: np.ndarray) -> np.ndarray:
    """0 and a log grid of tau^2 from 1e-4 min(v) to 2 max(3 R^2, max v), R the range of
    the effects.  Above 3 R^2 and max v both scores are negative (every w r^2 < 1/3 and
    no weight exceeds twice another), so every maximum lies on the grid's span."""
    spread = float(np.ptp(yi))
    top = 2.0 * max(3.0 * spread * spread, float(vi.max()))
    bottom = 1e-4 * float(vi.min())
    if not top > bottom:
        return np.array([0.0])
    decades = np.log10(top / bottom)
    points = int(np.ceil(decades * GRID_PER_DECADE)) + 1
    return np.concatenate(([0.0], np.geomspace(bottom, top, points)))


def global_max_tau2(method: str, yi: np.ndarray, vi: np.ndarray) -> float:
    """The ML or REML estimate: the global maximum of :func:`profile_loglik` over
    tau^2 >= 0 (grid search, then the root of the score in the best point's bracket)."""
    grid = likelihood_grid(yi, vi)
    ll = _loglik_on(method, yi, vi, grid)
    best = int(np.argmax(ll))
    if best == 0 and float(estimating_equation(method, yi, vi, 0.0)) <= 0.0:
        return 0.0

    def g(tau2: float) -> float:
        return float(estimating_equation(method, yi, vi, tau2))

    low = grid[max(best - 1, 0)]
    high = grid[min(best + 1, len(grid) - 1)]
    if g(low) >= 0.0 >= g(high):
        return _polish(g, low, high)
    from scipy.optimize import minimize_scalar

    found = minimize_scalar(lambda t: -float(profile_loglik(method, yi, vi, t)),
                            bounds=(low, high), method="bounded",
                            options={"xatol": 1e-12 * high})
    return float(found.x)


def _loglik_on(method: str, yi: np.ndarray, vi: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """profile_loglik at every grid point, in chunks of at most ~2e6 numbers."""
    step = max(1, 2_000_000 // max(1, yi.shape[-1]))
    return np.concatenate([profile_loglik(method, yi, vi, grid[i:i + step])
                           for i in range(0, len(grid), step)])


def loglik_tolerance(vi: np.ndarray, tau2: np.ndarray | float) -> np.ndarray:
    """Rounding in profile_loglik: 1e-9 of the sum of its terms' magnitudes."""
    return 1e-9 * (1.0 + np.abs(np.log(vi + _col(tau2))).sum(axis=-1) + vi.shape[-1])


def beaten_rows(method: str, yi: np.ndarray, vi: np.ndarray, tau2: np.ndarray) -> np.ndarray:
    """For a batch (rows of 2-d ``yi``, ``vi``): True where some point of the row's
    :func:`likelihood_grid` span beats the likelihood at the row's ``tau2`` by more
    than rounding, i.e. ``tau2`` is not the global maximum (vectorised, in chunks)."""
    spread = np.ptp(yi, axis=1)
    top = 2.0 * np.maximum(3.0 * spread * spread, vi.max(axis=1))
    bottom = 1e-4 * vi.min(axis=1)
    decades = np.log10(np.maximum(top / bottom, 1.0))
    points = int(np.ceil(decades.max() * GRID_PER_DECADE)) + 1
    steps = np.linspace(0.0, 1.0, points)
    grid = np.concatenate((np.zeros((len(yi), 1)),
                           bottom[:, None] * (top / bottom)[:, None] ** steps), axis=1)
    at = profile_loglik(method, yi, vi, tau2) + loglik_tolerance(vi, tau2)
    beaten = np.zeros(len(yi), dtype=bool)
    rows = max(1, 2_000_000 // (yi.shape[1] * grid.shape[1]))
    for i in range(0, len(yi), rows):
        part = slice(i, i + rows)
        ll = profile_loglik(method, yi[part, None, :], vi[part, None, :], grid[part])
        beaten[part] = ll.max(axis=1) > at[part]
    return beaten


def better_maximum(method: str, yi: np.ndarray, vi: np.ndarray, tau2: float) -> float | None:
    """The global maximiser when the likelihood there beats its value at ``tau2`` by
    more than rounding (``tau2`` is then a local maximum only), else None."""
    grid = likelihood_grid(yi, vi)
    at = float(profile_loglik(method, yi, vi, tau2))
    tolerance = loglik_tolerance(vi, tau2)
    if float(_loglik_on(method, yi, vi, grid).max()) <= at + tolerance:
        return None
    best = global_max_tau2(method, yi, vi)
    return best if float(profile_loglik(method, yi, vi, best)) > at + tolerance else None


def stable_tau2(method: str, yi: np.ndarray, vi: np.ndarray) -> float:
    """tau^2 of ``method`` for one data set by metabridge's stable route (for ML and
    REML the global maximum of the likelihood)."""
    if method in CLOSED_FORM:
        return float(closed_form_tau2(method, yi, vi))
    if method in LIKELIHOOD:
        return global_max_tau2(method, yi, vi)
    return root_tau2(method, yi, vi)


def root_within(
    method: str, yi: np.ndarray, vi: np.ndarray, tau2: np.ndarray | float,
    tolerance: np.ndarray | float,
) -> np.ndarray:
    """True where the root of ``method``'s equation lies within ``tolerance`` of ``tau2``.

    A sign change of g over [tau2 - tol, tau2 + tol] (or g <= 0 at the upper end when
    the interval reaches 0: the boundary solution tau^2 = 0).
    """
    low = np.maximum(0.0, np.asarray(tau2) - tolerance)
    high = np.asarray(tau2) + tolerance
    upper_ok = estimating_equation(method, yi, vi, high) <= 0.0
    lower_ok = (low == 0.0) | (estimating_equation(method, yi, vi, low) >= 0.0)
    return upper_ok & lower_ok
