"""The sanity layer: every engine result is checked before it reaches a user.

:func:`verify` recomputes, from the data and the engine's own core numbers:

1. Cochran's Q by the stable route (:mod:`metabridge.estimators`);
2. tau^2 against the estimator's definition: the closed form (FE, DL, HE, HS,
   HSk, SJ), or a sign change of the estimating equation within the engine's
   declared stopping tolerance (PM, EB, PMM, ML, REML; the boundary tau^2 = 0
   only when the equation is <= 0 there);
3. the estimate, SE and percent weights implied by the engine's tau^2 and test;
4. every reported statistic (CI, z, P, prediction interval, Q's P, I^2, H^2) from
   the core numbers, by metabridge's definition or by the recipe of the engine
   convention attached to the result (:mod:`metabridge.recipes`);
5. the engine's own convergence flag.

:func:`checked` is what :meth:`EngineBase.pool` returns: the engine's result when
it passes; otherwise a repair by a stable route, each listed in ``derived`` and
``conventions`` with the engine's numbers and the defects in ``extra`` —
(a) the engine re-run on the effects centred at their fixed-effect mean (tau^2,
SE, Q and weights are shift-invariant; estimate and intervals are shifted back),
(b) the engine pooled at tau^2 computed by metabridge's stable route (engines with
``fit_at_tau2``), (c) for a wrong Q alone, Q and its statistics recomputed — and
when no repair passes, :class:`EngineError` naming the engine and the defects.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import estimators
from .. import heterogeneity as het
from ..conventions import recipes_for, tau2_tolerance
from ..errors import EngineError, EngineWarning, MetabridgeError
from ..methods import METHODS, Method
from ..recipes import Core
from ..result import PoolResult
from ..studies import StudySet
from .base import BatchResult
from .check_numbers import SMALL_K, DataNumbers, data_numbers, pooled_at

if TYPE_CHECKING:
    from .engine_base import EngineBase

EPS = np.finfo(float).eps
#: Closed-form quantities (Q, closed-form tau^2, estimate and SE at a given tau^2,
#: reported statistics) are the same formula in every engine: in double precision
#: they agree to ~1e-13 even on ill-conditioned data (checked against exact
#: rational arithmetic in tests/test_exact.py), so 1e-10 of the quantity's natural
#: scale separates rounding from a wrong number.
RTOL = 1e-10
#: Reported P values and statistics computed by different special-function
#: libraries (R's pnorm/pt/pchisq, cephes): agree to ~1e-13 relative; 1e-9 is safe.
RTOL_REPORTED = 1e-9
#: Percent weights: some engines print them to ~1e-12; 1e-8 percentage points.
WEIGHT_ATOL = 1e-8
#: tau^2 may be off by rtol (tau^2 + v_h) + ROUNDING k eps s^2: v_h = k / sum(1/v), the
#: harmonic mean of the sampling variances (an error d in tau^2 moves the weights of
#: the studies that carry the weight by ~d / v_h), and s^2 the typical variance (near
#: the boundary a correct engine still carries Q's rounding, ~k eps (tau^2 + s^2)).
ROUNDING = 8.0


def estimate_tolerance(se: np.ndarray | float, w: np.ndarray, yi: np.ndarray) -> np.ndarray:
    """RTOL SE, plus the rounding floor of any weighted mean, 4 k eps sum w|y| / sum w
    (recursive summation of k terms errs by at most (k - 1) eps sum |w y|)."""
    return _estimate_allowance(se, yi.shape[-1], (w * np.abs(yi)).sum(axis=-1),
                               w.sum(axis=-1))


def _estimate_allowance(se: Any, k: int, sum_w_abs_y: Any, sum_w: Any) -> Any:
    return RTOL * se + 4 * k * EPS * sum_w_abs_y / sum_w


def q_tolerance(q: float, data: DataNumbers) -> float:
    """RTOL Q, plus the Q that rounding the effects at their own precision would give,
    sum w (4 k eps max|y|)^2.  (A one-pass Q errs by ~eps sum w y^2: far more when the
    effects sit far from 0; and the P value of a Q near 0 moves like sqrt(Q), so an
    absolute floor any larger would move it.)"""
    return RTOL * q + data.sum_w * (4 * data.k * EPS * data.max_abs_y) ** 2


def tau2_tolerance_abs(
    rtol: float, tau2: float | np.ndarray, vi: np.ndarray
) -> float | np.ndarray:
    """How far tau^2 may sit from the truth at relative tolerance ``rtol`` (see ROUNDING)."""
    k = vi.shape[-1]
    harmonic = k / (1.0 / vi).sum(axis=-1)
    s2 = estimators.typical_variance(vi) if k > 1 else harmonic
    return _tau2_allowance(rtol, tau2, k, harmonic, s2)


def _tau2_allowance(rtol: float, tau2: Any, k: int, harmonic: Any, s2: Any) -> Any:
    return rtol * (tau2 + harmonic) + ROUNDING * k * EPS * s2


def _data_tau2_tolerance(rtol: float, tau2: float, data: DataNumbers) -> float:
    """:func:`tau2_tolerance_abs` from the data's numbers, computed once per check."""
    s2 = data.typical_variance if data.k > 1 else data.harmonic
    return _tau2_allowance(rtol, tau2, data.k, data.harmonic, s2)


@dataclass(frozen=True)
class Defect:
    """One engine number that failed its check."""

    field: str
    engine: float
    expected: float
    why: str

    def __str__(self) -> str:
        return f"{self.field} = {self.engine:.17g}, expected {self.expected:.17g} ({self.why})"


def _close(value: float, expected: float, atol: float) -> bool:
    """Within ``atol``, or both NaN (a NaN on one side only fails the comparison)."""
    return abs(value - expected) <= atol or (expected != expected and value != value)


def _array(values: tuple[float, ...]) -> np.ndarray:
    """A result's tuple of floats as an array (fromiter: ~40% faster than asarray)."""
    return np.fromiter(values, float, len(values))


def pooled_effects(
    result: PoolResult, yi: np.ndarray, vi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(yi, vi, used): the effect sizes the engine pooled -- its own, computed from raw
    data, when it reported them (``study_yi``/``study_vi``; NaN for a study it left
    out) -- else the StudySet's, with the mask of the studies pooled."""
    if result.study_yi:
        yi, vi = _array(result.study_yi), _array(result.study_vi)
    used = np.isfinite(yi) & np.isfinite(vi)
    return yi[used], vi[used], used


def core_of(result: PoolResult, vi: np.ndarray) -> Core:
    """The core numbers of ``result``, with s^2 of the pooled studies' variances."""
    s2 = float(estimators.typical_variance(vi)) if len(vi) > 1 else math.nan
    return _core(result, s2)


def _core(result: PoolResult, s2: float) -> Core:
    return Core(result.estimate, result.se, result.tau2, result.q, result.q_df + 1,
                result.level, result.test_df, s2)


def expected_reported(result: PoolResult, core: Core) -> dict[str, float]:
    """Every reported statistic as ``result``'s conventions define it, from ``core``."""
    return {name: float(recipe(core)) for name, recipe in recipes_for(result.conventions)}


def _reported_tolerance(name: str, expected: float, core: Core) -> float:
    if name in ("ci_low", "ci_high"):
        return RTOL_REPORTED * core.se + 16 * EPS * abs(expected)
    if name in ("pi_low", "pi_high"):
        return RTOL_REPORTED * math.sqrt(core.tau2 + core.se**2) + 16 * EPS * abs(expected)
    if name == "i2":
        return RTOL_REPORTED * 100.0
    return RTOL_REPORTED * abs(expected) + 1e-300


def verify(
    result: PoolResult, yi: np.ndarray, vi: np.ndarray, method: Method,
    *, reported: bool = True,
) -> list[Defect]:
    """Every check of the module docstring; an empty list when ``result`` passes.

    ``yi``/``vi`` are the StudySet's; the checks use the engine's own effect sizes where
    it reported them (:func:`pooled_effects`).  Methods on raw 2x2 tables (MH, Peto,
    DL-MH) are not inverse-variance means: for them only the reported statistics are
    checked here (their Q is recomputed around the engine's estimate by ``assemble``,
    their estimates against the defining formulas in tests/test_mantel_haenszel.py).
    """
    ys, vs, used = _pooled_sequences(result, yi, vi)
    defects: list[Defect] = []
    if method.needs is not None:
        s2 = float(estimators.typical_variance(np.asarray(vs))) if len(vs) > 1 else math.nan
        return _reported_defects(result, s2) if reported else defects
    data = data_numbers(ys, vs)
    k, df, q = data.k, data.k - 1, data.q
    if result.q < 0 or not _close(result.q, q, q_tolerance(q, data)):
        defects.append(Defect("q", result.q, q, "Cochran's Q by the stable route"))

    tau2 = result.tau2
    if method.name in estimators.ROOT_FORM:
        rtol = tau2_tolerance(result.conventions) or RTOL
        y, v = np.asarray(ys, dtype=float), np.asarray(vs, dtype=float)
        if not (math.isfinite(tau2) and tau2 >= 0 and bool(estimators.root_within(
                method.name, y, v, tau2, _data_tau2_tolerance(rtol, tau2, data)))):
            defects.append(Defect(
                "tau2", tau2, estimators.stable_tau2(method.name, y, v),
                f"root of the {method.name} estimating equation (tolerance {rtol:g} of "
                "tau^2 + v_h)"))
        elif method.name in estimators.LIKELIHOOD and k > 1:
            best = estimators.better_maximum(method.name, y, v, tau2)
            if best is not None:
                defects.append(Defect(
                    "tau2", tau2, best,
                    f"global maximum of the {method.name} likelihood (the engine's tau^2 is a "
                    "local maximum: log-likelihood "
                    f"{float(estimators.profile_loglik(method.name, y, v, tau2)):.6g} there, "
                    f"{float(estimators.profile_loglik(method.name, y, v, best)):.6g} at the "
                    "global one)"))
    else:
        expected = _closed_form_tau2(method.name, ys, vs, data)
        if not _close(tau2, expected, _data_tau2_tolerance(RTOL, expected, data)):
            defects.append(Defect("tau2", tau2, expected, f"closed form of {method.name}"))
    if not result.converged:
        defects.append(Defect("converged", 0.0, 1.0, "the engine reports no convergence"))
    if not (math.isfinite(tau2) and tau2 >= 0):
        return defects  # nothing else can be checked from a tau^2 like this

    at = pooled_at(ys, vs, tau2, hartung_knapp=result.test != "z")
    se = at.se_z
    if result.test != "z" and df > 0:
        se = at.se_hk if result.test == "knha" else max(at.se_hk, at.se_z)
    tol_mu = _estimate_allowance(se, k, at.sum_w_abs_y, at.total)
    if not _close(result.estimate, at.estimate, tol_mu):
        defects.append(Defect("estimate", result.estimate, at.estimate,
                              "weighted mean at the tau^2"))
    if not _close(result.se, se, RTOL * se):
        defects.append(Defect("se", result.se, se, f"SE of the {result.test} test at the tau^2"))
    weight = _weight_defect(result, at.percent, used)
    if weight is not None:
        defects.append(weight)
    if reported:
        defects += _reported_defects(result, data.typical_variance)
    return defects


def _pooled_sequences(
    result: PoolResult, yi: np.ndarray, vi: np.ndarray
) -> tuple[Sequence[float], Sequence[float], np.ndarray | None]:
    """:func:`pooled_effects` as Python floats for a few studies (``check_numbers``), and
    ``used`` None when every study was pooled."""
    if result.study_yi and len(result.study_yi) <= SMALL_K and all(
            map(math.isfinite, result.study_yi)) and all(map(math.isfinite, result.study_vi)):
        return result.study_yi, result.study_vi, None
    y, v, used = pooled_effects(result, yi, vi)
    if len(y) <= SMALL_K:
        y, v = y.tolist(), v.tolist()
    return y, v, None if used.all() else used


def _closed_form_tau2(
    name: str, yi: Sequence[float], vi: Sequence[float], data: DataNumbers
) -> float:
    """A closed-form tau^2; DL, HS and HSk from the data's Q, c and sum w."""
    if name == "FE" or data.k < 2:
        return 0.0
    if name in estimators.MOMENT_FORM:
        raw = estimators.moment_tau2(name, data.q, data.k, data.sum_w, data.c)
        return 0.0 if raw < 0.0 else raw  # truncated at 0; a NaN stays NaN (np.maximum)
    return float(estimators.closed_form_tau2(name, np.asarray(yi, dtype=float),
                                             np.asarray(vi, dtype=float)))


def _weight_defect(
    result: PoolResult, percent: Sequence[float], used: np.ndarray | None
) -> Defect | None:
    """The study whose percent weight is furthest from ``percent`` (0 for a study the
    engine left out), or None when every weight is within WEIGHT_ATOL."""
    weights = result.weights
    if used is not None:
        full = np.zeros(len(used))
        full[used] = percent
        percent = full
    if len(weights) == len(percent):
        if isinstance(percent, np.ndarray):
            gap = np.abs(_array(weights) - percent)
            if np.all(gap <= WEIGHT_ATOL):
                return None
        elif all(abs(a - b) <= WEIGHT_ATOL for a, b in zip(weights, percent, strict=True)):
            return None
        else:
            gap = np.abs(np.asarray(weights, dtype=float) - np.asarray(percent))
    else:
        gap = np.full(len(percent), np.inf)
    failing = np.where(gap <= WEIGHT_ATOL, -np.inf, np.nan_to_num(gap, nan=np.inf))
    i = int(np.argmax(failing))
    return Defect("weights", float(weights[i]) if weights else math.nan, float(percent[i]),
                  f"percent weight of {result.labels[i]!r}")


def _reported_defects(result: PoolResult, s2: float) -> list[Defect]:
    """Each reported statistic against its recipe applied to the result's core numbers
    (``s2`` the typical variance of the pooled studies)."""
    core = _core(result, s2)
    defects = []
    for name, recipe in recipes_for(result.conventions):
        value, engine = float(recipe(core)), getattr(result, name)
        if not _close(engine, value, _reported_tolerance(name, value, core)):
            defects.append(Defect(name, engine, value,
                                  "from the core numbers under the result's conventions"))
    return defects


_CORE = frozenset({"q", "tau2", "estimate", "se", "weights", "converged"})
#: Q and the statistics computed from it alone.
_Q_FAMILY = frozenset({"q", "q_p", "i2", "h2"})


def checked(
    engine: EngineBase, studies: StudySet, method: Method, level: float, test: str,
    result: PoolResult,
) -> PoolResult:
    """``result`` if it passes :func:`verify`, else a verified repair, else EngineError."""
    defects = verify(result, studies.yi, studies.vi, method)
    if not defects:
        return result
    causes = [engine.defect_causes[d.field] for d in defects if d.field in engine.defect_causes]
    attempts: list[tuple[str, list[Defect]]] = []
    for route, repair in _repairs(engine, studies, method, level, test, result, defects):
        if repair is None:
            continue
        left = verify(repair, studies.yi, studies.vi, method)
        routes = [route]
        if left and {d.field for d in left} <= _Q_FAMILY:  # a wrong Q on top: stable Q
            repair, routes = _stable_q(repair, studies), [route, "metabridge.stable_q"]
            left = verify(repair, studies.yi, studies.vi, method)
        if not left:
            return _annotate(repair, defects, routes, causes)
        attempts.append((" + ".join(routes), left))
    tried = "; ".join(f"after {route}: " + ", ".join(map(str, left)) for route, left in attempts)
    raise EngineError(
        engine.name,
        f"{method.name} result failed metabridge's checks and could not be repaired: "
        + "; ".join(map(str, defects)) + (f" ({tried})" if tried else ""),
    )


def _repairs(
    engine: EngineBase, studies: StudySet, method: Method, level: float, test: str,
    result: PoolResult, defects: list[Defect],
) -> Iterable[tuple[str, PoolResult | None]]:
    """Candidate repairs, cheapest and most engine-native first (lazily computed)."""
    fields = {d.field for d in defects}
    yi, vi, _ = pooled_effects(result, studies.yi, studies.vi)
    if fields & _CORE and len(yi) > 1 and studies.raw is None:
        yield "metabridge.recentred", _recentred(engine, studies, method, level, test)
    if fields & {"tau2", "estimate", "se", "weights", "converged"} and len(yi) > 1:
        tau2 = estimators.stable_tau2(method.name, yi, vi)
        at_tau2 = engine.fit_at_tau2(studies, method, tau2, level, test)
        if at_tau2 is None and tau2 == 0.0:  # on the boundary the engine's FE fit is it
            fe = engine.fit(studies, METHODS["FE"], level, test)
            at_tau2 = replace(fe, method=method.name,
                              conventions=(*fe.conventions, "metabridge.boundary_fe"))
        yield "metabridge.stable_tau2", at_tau2
    if fields <= _Q_FAMILY:
        yield "metabridge.stable_q", _stable_q(result, studies)


def _recentred(
    engine: EngineBase, studies: StudySet, method: Method, level: float, test: str
) -> PoolResult:
    """The engine on y - c (c the fixed-effect mean); location statistics shifted back.
    (Only for effect-size input: an engine computes raw data's effect sizes itself.)"""
    shift = float(estimators.weighted_mean(studies.yi, 1.0 / studies.vi))
    moved = engine.fit(studies.shifted(-shift), method, level, test)
    back = {name: getattr(moved, name) + shift
            for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")}
    new = replace(moved, **back, study_yi=tuple(y + shift for y in moved.study_yi))
    core = core_of(new, studies.vi)
    z_fields = {name: value for name, value in expected_reported(new, core).items()
                if name in ("z", "p")}  # z and P are not shift-invariant: from the core
    return replace(new, **z_fields, derived=new.derived | set(z_fields))


def _stable_q(result: PoolResult, studies: StudySet) -> PoolResult:
    """``result`` with Q by the stable route and Q's statistics from it."""
    yi, vi, _ = pooled_effects(result, studies.yi, studies.vi)
    q = float(estimators.q_statistic(yi, vi)) if len(yi) > 1 else 0.0
    fixed = replace(result, q=q)
    expected = expected_reported(fixed, core_of(fixed, vi))
    new = {name: expected[name] for name in ("q_p", "i2", "h2")}
    return replace(fixed, **new, derived=fixed.derived | {"q", *new})


def _annotate(
    repair: PoolResult, defects: list[Defect], routes: list[str], causes: list[str]
) -> PoolResult:
    extra: dict[str, Any] = dict(repair.extra)
    extra["defects"] = tuple(str(d) for d in defects)
    extra |= {f"{d.field}_engine": d.engine for d in defects if d.field != "converged"}
    keys = dict.fromkeys([*repair.conventions, *causes, *routes])
    derived = repair.derived | ({"tau2"} if "metabridge.stable_tau2" in routes else set())
    return replace(repair, conventions=tuple(keys), extra=extra, derived=derived,
                   converged=True)


def batch_defects(
    yi: np.ndarray, vi: np.ndarray, method: Method, test: str, estimate: np.ndarray,
    se: np.ndarray, tau2: np.ndarray, rtol: float | None,
) -> np.ndarray:
    """True for each replicate (row) whose tau^2, estimate or SE fails :func:`verify`'s
    core checks (the same tolerances, vectorised)."""
    k = yi.shape[1]
    with np.errstate(all="ignore"):
        finite = np.isfinite(tau2) & (tau2 >= 0) & np.isfinite(estimate) & np.isfinite(se)
        safe = np.where(finite, tau2, 0.0)
        if method.name in estimators.ROOT_FORM:
            tau2_ok = estimators.root_within(method.name, yi, vi, safe,
                                             tau2_tolerance_abs(rtol or RTOL, safe, vi))
            if method.name in estimators.LIKELIHOOD and k > 1:
                tau2_ok &= ~estimators.beaten_rows(method.name, yi, vi, safe)
        else:
            expected = estimators.closed_form_tau2(method.name, yi, vi)
            tau2_ok = np.abs(safe - expected) <= tau2_tolerance_abs(RTOL, expected, vi)
        w = 1.0 / (vi + safe[:, None])
        total = w.sum(axis=1)
        mu = estimators.weighted_mean(yi, w)
        want_se = np.sqrt(1.0 / total)
        if test != "z" and k > 1:
            r = estimators.residuals(yi, w)
            se_hk = np.sqrt((w * r * r).sum(axis=1) / ((k - 1) * total))
            want_se = se_hk if test == "knha" else np.maximum(se_hk, want_se)
        tol_mu = estimate_tolerance(want_se, w, yi)
        ok = (finite & tau2_ok & (np.abs(estimate - mu) <= tol_mu)
              & (np.abs(se - want_se) <= RTOL * want_se))
    return ~ok


def checked_batch(
    engine: EngineBase, yi: np.ndarray, vi: np.ndarray, method: Method, level: float,
    test: str, estimate: np.ndarray, se: np.ndarray, tau2: np.ndarray,
) -> BatchResult:
    """A batch whose failing replicates are re-pooled one by one through ``engine.pool``
    (checked, repaired or refused); a refused replicate is NaN and listed in ``failures``."""
    estimate, se, tau2 = (np.array(a, dtype=float) for a in (estimate, se, tau2))
    rtol = tau2_tolerance([engine.tolerance_convention] if engine.tolerance_convention else [])
    bad = np.flatnonzero(batch_defects(yi, vi, method, test, estimate, se, tau2, rtol))
    failures = []
    for i in bad:
        try:
            alone = StudySet.from_effects(yi[i], vi=vi[i], na="raise")  # never fewer studies
            fixed = engine.pool(alone, method, level, test)
            estimate[i], se[i], tau2[i] = fixed.estimate, fixed.se, fixed.tau2
        except MetabridgeError as exc:
            estimate[i] = se[i] = tau2[i] = np.nan
            failures.append(f"replicate {i}: {exc}")
    if failures:
        warnings.warn(f"{engine.name}: {len(failures)} of {len(estimate)} replicates refused "
                      "(NaN): " + "; ".join(failures[:3]), EngineWarning, stacklevel=3)
    df = float("inf") if test == "z" else float(yi.shape[1] - 1)
    half = het.critical_value(level, df) * se
    return BatchResult(estimate, se, estimate - half, estimate + half, tau2,
                       checked=len(estimate), repaired=len(bad) - len(failures),
                       failures=tuple(failures))
