"""pimeta engine: a pure-Python port of metafor and meta (PyPI ``pimeta``, MIT).

``pool`` is ``pimeta.rma(yi, vi, method, test, level)``, pimeta's transcription of
metafor's ``rma.uni``, with the prediction interval from its ``predict()``.
Methods FE, DL, HE, HS, SJ, ML, REML, EB, PM (pimeta has no HSk or PMM); tests
"z", "knha", "adhoc".  Native verbs: ``leave1out`` (FE, DL, ML, REML),
``rma(mods=)`` for common-tau^2 subgroups, ``regtest`` (Egger), ``begg_test``.
2x2 tables: :func:`_mantel_haenszel` and :func:`_peto` (``rma_mh``, ``rma_peto``).

pimeta's iterative estimators stop on absolute rules (ML/REML/EB: a change in
tau^2 below 1e-5 within 100 Fisher-scoring steps; PM: ``brentq`` with xtol 2e-12
and a root search that silently returns tau^2 = 1e6 when the root lies above),
and none of them reports whether it converged.  The adapter therefore fits data
rescaled by a power of two (:func:`_unit`) and checks pimeta's own stopping rule
at its answer (:func:`_converged`).  pimeta's ``read_rm5``, ``metabin`` and
``metacont`` are never called (pimeta.not_called).  Conventions applied:
pimeta.scaled_input, pimeta.i2_from_tau2, pimeta.begg_pvalue, pimeta.leave1out_ci,
pimeta.leave1out_fe_i2, pimeta.tables_api, pimeta.peto_q_df, pimeta.eb_as_pm,
pimeta.max_studies.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from .. import heterogeneity as het
from .. import mantel_haenszel as mh
from ..analyses.types import (
    BeggTest,
    EggerPredictor,
    EggerTest,
    EggerVariant,
    Influence,
    LeaveOneOut,
    Side,
    SubgroupAnalysis,
    Tau2Rule,
)
from ..errors import ConvergenceWarning, EngineError
from ..methods import Method
from ..result import PoolResult
from ..studies import StudySet
from .base import BackendStatus, assemble, probe_python_engine
from .engine_base import EngineBase

#: pimeta's Fisher-scoring stopping rule for ML/REML/EB (metafor's default threshold).
THRESHOLD = 1e-5
#: pimeta's Paule-Mandel search returns this tau^2, unsolved, when the root lies above it.
PM_CAP = 1e6
#: The data are scaled so that max(var(yi), median(vi)) is about this (see _unit).
UNIT = 2.0**16
ITERATIVE = frozenset({"ML", "REML", "EB", "PM"})
#: Largest k for which scipy's kendalltau (so pimeta's Begg test) uses the exact P.
EXACT_KENDALL_MAX_K = 33
#: Estimators pimeta's leave1out() has; the others are refitted one omission at a time.
LEAVE1OUT_METHODS = frozenset({"FE", "DL", "ML", "REML"})
#: pimeta builds and inverts k x k matrices: k = 2000 takes 1-10 s and ~0.3 GB (PM, REML).
MAX_STUDIES = 2000
#: pimeta's leave1out() CIs are 95% whatever its alpha argument says.
LEAVE1OUT_LEVEL = 0.95


@cache
def _engine() -> Any:
    import pimeta

    return pimeta


def _unit(yi: np.ndarray, vi: np.ndarray) -> float:
    """The power of two c by which pimeta receives the data: yi / c, vi / c^2.

    Every estimator is scale-equivariant (tau^2(c y, c^2 v) = c^2 tau^2(y, v)), and
    dividing by a power of two is exact in binary floating point, so the closed-form
    methods are unchanged to the last bit.  What changes is where pimeta's absolute
    stopping rules bite: with max(var(yi), median(vi)) ~ 2^16, a tau^2 change below
    1e-5 is ~1.5e-10 of the data's scale, PM's xtol 2e-12 is negligible, and PM's
    root (at most var(yi), since Q_gen(tau^2) <= (k - 1) var(y) / tau^2) stays far
    below the 1e6 cap.
    """
    size = max(float(np.var(yi, ddof=1)) if len(yi) > 1 else 0.0, float(np.median(vi)))
    return 2.0 ** round(0.5 * math.log2(size / UNIT))


def _fisher_step(
    yi: np.ndarray, vi: np.ndarray, tau2: float, method: str, x: np.ndarray | None = None
) -> float:
    """The next step pimeta's (metafor's rma.uni) iteration would take from ``tau2``.

    With W = diag(1 / (v + tau^2)), P = W - W X (X'WX)^-1 X'W (X the design, an
    intercept by default) and q = columns of X:
    ML (y'PPy - tr W) / tr W^2;  REML (y'PPy - tr P) / tr PP;  EB (y'Py k/(k - q) - k) / tr W.
    The step is clipped at the boundary tau^2 >= 0, as the iteration clips it.
    """
    x = np.ones((len(yi), 1)) if x is None else x
    w = 1.0 / (vi + tau2)
    wx = w[:, None] * x
    p = np.diag(w) - wx @ np.linalg.solve(x.T @ wx, wx.T)
    py = p @ yi
    k, q = x.shape
    if method == "ML":
        step = (py @ py - w.sum()) / (w**2).sum()
    elif method == "REML":
        step = (py @ py - np.trace(p)) / (p * p).sum()
    else:  # EB
        step = (yi @ py * k / (k - q) - k) / w.sum()
    return float(max(step, -tau2))


def _converged(
    yi: np.ndarray, vi: np.ndarray, tau2: float, method: str, x: np.ndarray | None = None
) -> bool:
    """pimeta's own stopping rule, checked at its answer on the data it fitted.

    pimeta reports no convergence flag.  ML/REML/EB: tau^2 = 0 (the boundary, or
    metafor's ll0 check) or the next Fisher-scoring step is below THRESHOLD (else
    its 100 iterations ran out).  PM: the root is below the cap (brentq raises if it
    fails).  Closed-form estimators always converge.
    """
    if method == "PM":
        return tau2 < PM_CAP
    if method not in ITERATIVE or tau2 == 0.0:
        return True
    return abs(_fisher_step(yi, vi, tau2, method, x)) < THRESHOLD


def _warn_unconverged(what: str, method: str, tau2: float) -> None:
    warnings.warn(f"pimeta: the {method} tau^2 iteration did not converge in {what} "
                  f"(tau^2 = {tau2:.6g}); the result is marked converged=False",
                  ConvergenceWarning, stacklevel=4)


@dataclass(frozen=True)
class _Fitted:
    """A pimeta.rma fit of (yi / scale, vi / scale^2) and whether it converged.

    ``eb_iterate``: EB's unconverged tau^2 (original units) when PM's root replaced it.
    """

    fit: Any
    scale: float
    converged: bool
    eb_iterate: float | None = None


def _call_rma(y: np.ndarray, v: np.ndarray, method: str, level: float, test: str,
              mods: np.ndarray | None) -> Any:
    try:
        with np.errstate(divide="ignore", invalid="ignore"):  # its z = b / 0 before the error
            return _engine().rma(y, v, mods=mods, method=method, test=test, level=level)
    except np.linalg.LinAlgError as exc:  # Hartung-Knapp with a zero residual sum of squares
        raise EngineError(
            "pimeta", f"rma(method={method!r}, test={test!r}) failed in numpy ({exc}); "
            "with Hartung-Knapp this happens when every estimate is the same "
            "(zero residual sum of squares)",
        ) from None


def _rma(yi: np.ndarray, vi: np.ndarray, method: Method, level: float, test: str = "z",
         mods: np.ndarray | None = None) -> _Fitted:
    """pimeta.rma on (yi / c, vi / c^2), c = :func:`_unit`, with its convergence checked.

    EB's loop stops after 100 steps, where metafor's (run to 1000) often converges; EB's
    estimating equation, y'Py k/(k - p) = k, is PM's, y'Py = k - p, so an unconverged
    EB is replaced by pimeta's PM root (pimeta.eb_as_pm).
    """
    c = _unit(yi, vi)
    y, v = yi / c, vi / c**2
    design = None if mods is None else np.column_stack([np.ones(len(y)), mods])
    fit = _call_rma(y, v, method.name, level, test, mods)
    converged = _converged(y, v, fit.tau2, method.name, design)
    if method.name == "EB" and not converged:
        root = _call_rma(y, v, "PM", level, test, mods)
        return _Fitted(root, c, _converged(y, v, root.tau2, "PM"), fit.tau2 * c**2)
    return _Fitted(fit, c, converged)


#: Estimators whose se(tau^2) pimeta computes with metafor's formula.  For DL it
#: evaluates metafor's expression with the weights at the DL tau^2, where metafor
#: uses the fixed-effect weights its DL estimate is built on (0.2988 vs 0.2299 on
#: BCG; tests/test_usability.py reproduces both): that number is not passed on.
SE_TAU2_METHODS = frozenset({"ML", "REML"})


def _se_tau2(fit: Any, method: Method, c: float) -> dict[str, float]:
    """pimeta's se(tau^2) on the data's scale (tau^2 scales by c^2), where it is metafor's."""
    if method.name not in SE_TAU2_METHODS or fit.se_tau2 is None:
        return {}
    return {"se_tau2": float(fit.se_tau2) * c**2}


#: How pimeta's regtest() coefficient scales when it fits y / c, v / c^2: the
#: coefficient of the original data is its value times c ** PREDICTOR_SCALE.
PREDICTOR_SCALE = {"sei": 0, "vi": -1, "ni": 1, "ninv": 1, "sqrtninv": 1}
#: Estimators pimeta's influence() and baujat() fit (others: k + 1 rma() fits).
INFLUENCE_METHODS = frozenset({"FE", "DL", "ML", "REML"})


class PimetaBackend(EngineBase):
    """Adapter for pimeta's ``rma`` (metafor's rma.uni in pure Python)."""

    name = "pimeta"
    description = "pimeta (pure-Python port of metafor and meta)"
    methods = frozenset({"FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"})
    raw_methods = MappingProxyType({"MH": frozenset({"OR", "RR", "RD"}),
                                    "PETO": frozenset({"OR"})})
    table_zero_cells = MappingProxyType({
        "MH": "rma_mh: counts as they are, no correction; tables with no events in either arm "
              "left out of Q, tables with only events kept in it (pimeta.only_events_tables)",
        "PETO": "rma_peto: counts as they are (O - E and V need no correction); double-zero "
                "tables have V = 0, no weight, and are left out of Q",
    })
    tests = frozenset({"z", "knha", "adhoc"})
    features = frozenset({"leave_one_out", "subgroups_common", "egger_classic",
                          "egger_metafor-rma", "begg", "influence", "egger_sample_size",
                          "meta_regression"})
    max_studies = MAX_STUDIES
    tolerance_convention = "pimeta.scaled_input"

    def status(self) -> BackendStatus:
        return probe_python_engine(self.name, _engine, "pimeta", "pip install 'metabridge[pimeta]'")

    def fit(
        self, studies: StudySet, method: Method, level: float, test: str = "z"
    ) -> PoolResult:
        """pimeta.rma; a result its own stopping rule did not reach is marked
        converged=False (the sanity layer then repairs or refuses it)."""
        if method.needs is not None:
            return self._pool_tables(studies, method, level)
        yi, vi, used = _effect_sizes(studies)
        fitted = _rma(yi[used], vi[used], method, level, test)
        fit, c = fitted.fit, fitted.scale
        df = int(used.sum()) - 1
        conventions, extra = [], {"scale": c}
        if not used.all():
            conventions.append("pimeta.escalc_drop00")
        if method.name in ITERATIVE:
            conventions.append("pimeta.scaled_input")
        if fitted.eb_iterate is not None:
            conventions.append("pimeta.eb_as_pm")
            extra["tau2_eb_iterate"] = fitted.eb_iterate
        pi = None
        if method.random_effects:
            conventions.append("pimeta.i2_from_tau2")
            extra |= {"i2_q": het.i2_from_q(fit.QE, df), "h2_q": het.h2_from_q(fit.QE, df)}
            pred = fit.predict()
            pi = (pred.pi_lb * c, pred.pi_ub * c)
        nan = float("nan")
        weights = np.zeros(studies.k)
        weights[used] = fit.weights
        return assemble(
            studies, method, level,
            backend=self.name, engine_version=_engine().__version__, test=test,
            estimate=fit.b[0] * c, se=fit.se[0] * c, ci=(fit.ci_lb[0] * c, fit.ci_ub[0] * c),
            tau2=fit.tau2 * c**2, q=fit.QE, weights=weights,
            z=fit.zval[0], p=fit.pval[0], pi=pi,
            i2=fit.I2 if df > 0 else nan, h2=fit.H2 if df > 0 else nan,
            q_p=fit.QEp if df > 0 else nan, q_df=df,
            converged=fitted.converged, conventions=conventions, extra=extra,
            study_effects=(np.where(used, yi, nan), np.where(used, vi, nan)),
            fit_stats=_se_tau2(fit, method, c),
        )

    def _pool_tables(self, studies: StudySet, method: Method, level: float) -> PoolResult:
        """rma_mh / rma_peto (:func:`_mantel_haenszel`, :func:`_peto`) on the 2x2 tables;
        the per-table effects are pimeta's escalc() values for the tables its Q uses."""
        cells = studies.counts.cells()
        yi, vi, in_q = _q_effects(cells, "PETO" if method.name == "PETO" else studies.measure)
        try:
            fit = _peto(*cells, level) if method.name == "PETO" else _mantel_haenszel(
                *cells, studies.measure, level)
        except EngineError as exc:
            if np.ptp(yi[in_q]) == 0:  # every table the same effect: Q = 0 (pimeta.zero_q)
                raise EngineError("pimeta", f"{exc.engine_message}: pimeta divides by Q to "
                                  "get I^2 and fails when Q = 0, as here, where every table "
                                  "has the same effect (metafor reports I^2 = 0); pool these "
                                  "tables with another engine") from None
            raise
        mh.check_tables(self.name, method.name, studies.measure, cells, fit.estimate,
                        fit.se**2)
        only_events = in_q & studies.counts.double_zero()
        return assemble(
            studies, method, level, backend=self.name, engine_version=_engine().__version__,
            estimate=fit.estimate, se=fit.se, ci=fit.ci, tau2=0.0, q=fit.q, weights=fit.weights,
            z=fit.z, p=fit.p, i2=fit.i2, h2=fit.h2, q_p=fit.q_p, q_df=fit.q_df,
            computed_here=fit.computed_here, study_effects=(yi, vi),
            conventions=[*fit.conventions,
                         *(["pimeta.only_events_tables"] if only_events.any() else [])],
            extra=fit.extra,
        )

    def fit_batch(
        self, yi: np.ndarray, vi: np.ndarray, method: Method, level: float, test: str = "z"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One pimeta.rma call per replicate; a replicate that fails or does not converge
        gives NaN (the sanity layer re-pools it alone and records why it fails)."""
        rows = []
        for y, v in zip(yi, vi, strict=True):
            try:
                fitted = _rma(y, v, method, level, test)
            except EngineError:
                rows.append((math.nan,) * 3)
                continue
            if not fitted.converged:
                rows.append((math.nan,) * 3)
                continue
            fit, c = fitted.fit, fitted.scale
            rows.append((fit.b[0] * c, fit.se[0] * c, fit.tau2 * c**2))
        estimate, se, tau2 = np.array(rows, dtype=float).reshape(-1, 3).T
        return estimate, se, tau2

    def leave_one_out(self, studies: StudySet, method: Method, level: float) -> LeaveOneOut:
        """pimeta.leave1out (FE, DL, ML, REML) on y / c, v / c^2: k fits in one call.

        Its CIs are always 95% (pimeta.leave1out_ci), and for FE it reports I^2 = 0,
        H^2 = 1 (pimeta.leave1out_fe_i2): at other levels the CI, and for FE I^2 and
        H^2, are computed here from its estimate, SE and Q.  Weights 1 / (v + tau^2).
        """
        if method.name not in LEAVE1OUT_METHODS or not _effect_sizes(studies)[2].all():
            # tables its escalc() leaves out: each omission pooled as the full fit is
            return super().leave_one_out(studies, method, level)
        c = _unit(studies.yi, studies.vi)
        out = _engine().leave1out(studies.yi / c, studies.vi / c**2, method=method.name)
        results = tuple(
            self.checked(studies.drop(label), method, level,
                         self._omission(studies, label, method, level, out, i, c))
            for i, label in enumerate(studies.labels)
        )
        return LeaveOneOut(self.pool(studies, method, level), results, studies.labels,
                           f"pimeta leave1out(): {studies.k} fits in one call")

    def _omission(
        self, studies: StudySet, label: str, method: Method, level: float, out: Any, i: int,
        c: float,
    ) -> PoolResult:
        """The PoolResult of leave1out()'s row ``i`` (study ``label`` left out)."""
        kept = studies.drop(label)
        df, tau2, se = kept.k - 1, out.tau2[i] * c**2, out.se[i] * c
        estimate, q = out.estimate[i] * c, out.QE[i]
        conventions, computed, extra = [], ["weights"], {"scale": c}
        if method.name in ITERATIVE:
            conventions.append("pimeta.scaled_input")
        ci = (out.ci_lower[i] * c, out.ci_upper[i] * c)
        if level != LEAVE1OUT_LEVEL:
            conventions.append("pimeta.leave1out_ci")
            computed += ["ci_low", "ci_high"]
            half = het.critical_value(level) * se
            ci = (estimate - half, estimate + half)
        i2 = h2 = None  # FE: computed by assemble from Q (pimeta.leave1out_fe_i2)
        if method.random_effects:
            conventions.append("pimeta.i2_from_tau2")
            i2, h2 = out.I2[i], out.H2[i]
            extra |= {"i2_q": het.i2_from_q(q, df), "h2_q": het.h2_from_q(q, df)}
        else:
            conventions.append("pimeta.leave1out_fe_i2")
        converged = _converged(kept.yi / c, kept.vi / c**2, out.tau2[i], method.name)
        if not converged:
            _warn_unconverged(f"leave1out() without {label!r}", method.name, tau2)
        return assemble(
            kept, method, level, backend=self.name, engine_version=_engine().__version__,
            estimate=estimate, se=se, ci=ci, tau2=tau2, q=q, weights=1.0 / (kept.vi + tau2),
            z=out.z[i], p=out.p[i], i2=i2, h2=h2, q_p=out.QE_p[i] if df > 0 else math.nan,
            converged=converged, computed_here=computed, conventions=conventions, extra=extra,
        )

    def subgroups(
        self, studies: StudySet, by: str, method: Method, level: float, tau2: Tau2Rule
    ) -> SubgroupAnalysis:
        """Common tau^2: pimeta.rma(mods = subgroup dummies) on y / c, v / c^2, the omnibus
        QM test of the dummies (metafor's mixed-effects model), any estimator.  Separate
        tau^2: one pimeta fit per subgroup (EngineBase)."""
        if tau2 != "common":
            return super().subgroups(studies, by, method, level, tau2)
        groups = [str(g) for g in studies.covariates[by]]
        levels = sorted(set(groups))
        mods = np.array([[g == name for name in levels[1:]] for g in groups], dtype=float)
        fitted = _rma(studies.yi, studies.vi, method, level, mods=mods)
        fit, c = fitted.fit, fitted.scale
        if not fitted.converged:
            _warn_unconverged("the subgroup model", method.name, fit.tau2 * c**2)
        how = "pimeta rma(mods = subgroup dummies): omnibus QM test"
        if fitted.eb_iterate is not None:
            how += " (EB by PM's root, convention pimeta.eb_as_pm)"
        return SubgroupAnalysis(
            by, "common", method.name, self.name, {}, fit.QM, int(fit.QMdf[0]), fit.QMp,
            how=how, tau2_common=fit.tau2 * c**2,
        )

    def egger(self, studies: StudySet, variant: EggerVariant, predictor: EggerPredictor = "sei",
              ni: np.ndarray | None = None) -> EggerTest:
        """pimeta.regtest(): model "lm" (classic Egger: weighted regression of y on the
        predictor with multiplicative dispersion, t on k - 2 df) or "rma" (metafor's
        default: REML meta-regression on it, z test).  Fitted on y / c, v / c^2, which
        leaves every statistic unchanged and multiplies the predictor's coefficient by
        PREDICTOR_SCALE (1 for the SE: Egger's intercept, the bias)."""
        model = "lm" if variant == "classic" else "rma"
        c = _unit(studies.yi, studies.vi)
        fit = _engine().regtest(studies.yi / c, studies.vi / c**2, ni=ni, predictor=predictor,
                                model=model, method="REML")
        scale = c ** PREDICTOR_SCALE[predictor]
        return EggerTest(
            variant, fit.slope * scale, fit.slope_se * scale, fit.stat,
            float(studies.k - 2) if model == "lm" else float("nan"), fit.p, self.name,
            f'regtest(model="{model}", predictor="{predictor}")', predictor,
        )

    def choose_side(self, studies: StudySet, method: Method) -> Side:
        """metafor's rule for trim and fill's side: the sign of the SE coefficient of
        pimeta.regtest(model="rma", predictor="sei") with the model's estimator (the
        meta-regression metafor's trimfill() fits; its sign is scale-free)."""
        c = _unit(studies.yi, studies.vi)
        fit = _engine().regtest(studies.yi / c, studies.vi / c**2, predictor="sei",
                                model="rma", method=method.name)
        return "right" if fit.slope < 0 else "left"

    def influence(self, studies: StudySet, method: Method, level: float) -> Influence:
        """pimeta.influence() and pimeta.baujat() on y / c, v / c^2 (every diagnostic is
        scale-free but tau2_del, which is multiplied back by c^2); other estimators than
        INFLUENCE_METHODS from k + 1 rma() fits.  Its cumul() is not
        used: for generic effects it ignores ``order``, back-transforms by effect type
        and has no FE; nor its trimfill(): it returns no filled studies and evaluates
        Var(S_r) of L0 at the rounded k0 (metafor: unrounded; 2.4067 vs 2.3853 on
        BCG, FE).  Those two run on pimeta's rma() fits (:mod:`.sensitivity`)."""
        if method.name not in INFLUENCE_METHODS:
            return super().influence(studies, method, level)
        c = _unit(studies.yi, studies.vi)
        y, v = studies.yi / c, studies.vi / c**2
        inf = _engine().influence(y, v, method=method.name)
        bj = _engine().baujat(y, v, method=method.name)
        table = pd.DataFrame({
            "rstudent": inf.rstudent, "dffits": inf.dffits, "cook_d": inf.cook_d,
            "cov_r": inf.cov_r, "tau2_del": np.asarray(inf.tau2_del, dtype=float) * c**2,
            "q_del": inf.qe_del, "hat": inf.hat, "weight": inf.weight,
            "dfbetas": np.ravel(inf.dfbs), "influential": np.asarray(inf.is_infl, dtype=bool),
            "baujat_x": bj.x, "baujat_y": bj.y,
        }, index=pd.Index(studies.labels, name="study"))
        return Influence(table, method.name, self.name, "influence() and baujat()")

    def begg(self, studies: StudySet) -> BeggTest:
        """pimeta.begg_test: Kendall's tau of the standardised effects and the variances
        (metafor's ranktest)."""
        fit = _engine().begg_test(studies.yi, studies.vi)
        how = "begg_test() (ranktest)"
        if studies.k > EXACT_KENDALL_MAX_K:
            how += "; P from the normal approximation (convention pimeta.begg_pvalue)"
        return BeggTest(fit.tau, fit.p, self.name, how)


# ------------------------------------------------------------------ 2x2 tables
@dataclass(frozen=True)
class TablesFit:
    """A fixed-effect pooling of 2x2 tables by pimeta (Mantel-Haenszel or Peto).

    On the analysis scale (log OR, log RR; RD as is), with the fields of
    :func:`.base.assemble`.  ``q_df`` is the number of informative tables minus 1
    (metafor's k.yi - 1: a table with no events, or only events, in both arms has no
    effect size and adds nothing to Q); ``weights`` are percent, one per table (0 for
    a table that adds nothing); ``computed_here`` names fields metabridge computed;
    ``extra`` holds the OR's Cochran-Mantel-Haenszel, Breslow-Day and Tarone tests.
    """

    estimate: float
    se: float
    ci: tuple[float, float]
    z: float
    p: float
    q: float
    q_df: int
    q_p: float
    i2: float
    h2: float
    weights: tuple[float, ...]
    computed_here: tuple[str, ...] = ()
    conventions: tuple[str, ...] = ("pimeta.tables_api",)
    extra: dict[str, float] = field(default_factory=dict)


#: rma_mh's OR tests -> keys of TablesFit.extra (each also with "_p", its P value):
#: Cochran-Mantel-Haenszel (continuity-corrected), Breslow-Day, Tarone.
OR_TESTS = {"MH": "cmh", "BD": "breslow_day", "TA": "tarone"}


def _counts(*tables: Any) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(t, dtype=float) for t in tables)


def _table_weights(fit: Any, k: int) -> tuple[float, ...]:
    """Percent weights of an rma_mh/rma_peto fit (its weights() default is a k x k matrix)."""
    weights = np.asarray(_engine().weights(fit, pct=True), dtype=float)
    if weights.shape != (k,):
        raise EngineError("pimeta", f"weights(fit, pct=True) has shape {weights.shape}, "
                          f"not one weight per table ({k})")
    return tuple(weights.tolist())


def _mantel_haenszel(
    ai: Any, bi: Any, ci: Any, di: Any, measure: str, level: float
) -> TablesFit:
    """pimeta.rma_mh (metafor's rma.mh): Mantel-Haenszel OR, RR or RD, fixed effect.

    ``ai``/``ci``: events, ``bi``/``di``: non-events in the experimental/control arm.
    ``level`` is the confidence level; pimeta's rma_mh takes alpha, so it receives
    1 - level.  Robins-Breslow-Greenland variance (OR), Greenland-Robins (RR),
    Sato 1989 (RD), as metafor; Q is centred on the MH estimate, over escalc's
    effects (0.5 added to tables with a zero cell, double-zero tables dropped).
    """
    a, b, c, d = _counts(ai, bi, ci, di)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = _engine().rma_mh(a, b, c, d, measure=measure, level=1.0 - level)
    except (ValueError, ZeroDivisionError) as exc:
        raise EngineError("pimeta", f"rma_mh(measure={measure!r}) failed: {exc}") from None
    extra = {}
    if measure == "OR":
        for name, key in OR_TESTS.items():
            extra |= {key: float(getattr(fit, name)), f"{key}_p": float(getattr(fit, f"{name}p"))}
    df = fit.k - 1  # rma_mh's k counts the tables with an effect size (k.yi)
    heterogeneity = (fit.QEp, fit.I2, fit.H2) if df > 0 else (math.nan,) * 3
    return TablesFit(fit.beta, fit.se, (fit.ci_lb, fit.ci_ub), fit.zval, fit.pval, fit.QE,
                     df, *heterogeneity, _table_weights(fit, len(a)), extra=extra)


def _effect_sizes(studies: StudySet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(yi, vi, used): pimeta's escalc() with its defaults on the raw data (for counts it
    drops the tables with no events in either arm, pimeta.escalc_drop00), else the set's."""
    used = np.ones(studies.k, dtype=bool)
    counts, means = studies.counts, studies.means
    if counts is not None:
        a, b, c, d = counts.cells()
        used = ~((a == 0) & (c == 0))
        out = _engine().escalc(studies.measure, ai=a.tolist(), bi=b.tolist(), ci=c.tolist(),
                               di=d.tolist())
    elif means is not None:
        out = _engine().escalc(studies.measure, **{
            name: column.tolist() for name, column in zip(
                ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"), means, strict=True)})
    else:
        return studies.yi, studies.vi, used
    yi, vi = np.full(studies.k, np.nan), np.full(studies.k, np.nan)
    yi[used], vi[used] = out.yi, out.vi
    return yi, vi, used


def _q_effects(
    cells: tuple[np.ndarray, ...], measure: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(yi, vi, in Q) per table, as pimeta's rma_mh / rma_peto compute their Q: its
    escalc() (1/2 added to zero-cell tables) without the tables with no events in either
    arm (its drop00; tables with only events stay, pimeta.only_events_tables); for Peto
    the one-step (O - E) / V of the tables with V > 0, from the counts as they are."""
    a, b, c, d = cells
    if measure == "PETO":
        in_q = mh.peto_terms(a, b, c, d)[1] > 0
        add = 0.0
    else:
        in_q = ~((a == 0) & (c == 0))
        add = 0.5
    yi, vi = np.full(len(a), np.nan), np.full(len(a), np.nan)
    if in_q.any():
        out = _engine().escalc(measure, ai=a[in_q].tolist(), bi=b[in_q].tolist(),
                               ci=c[in_q].tolist(), di=d[in_q].tolist(), add=add, drop00=False)
        yi[in_q], vi[in_q] = out.yi, out.vi
    return yi, vi, in_q


def _peto(ai: Any, bi: Any, ci: Any, di: Any, level: float) -> TablesFit:
    """pimeta.rma_peto (metafor's rma.peto): Peto's log OR = sum(O - E) / sum(V), fixed effect.

    Counts as for :func:`_mantel_haenszel`; pimeta receives alpha = 1 - level.  pimeta
    refers Q to k - 1 df, counting tables with V = 0; metafor to k.yi - 1: Q's P value,
    I^2 and H^2 are computed here from pimeta's Q with metafor's df (pimeta.peto_q_df).
    """
    a, b, c, d = _counts(ai, bi, ci, di)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = _engine().rma_peto(a, b, c, d, level=1.0 - level)
    except (ValueError, ZeroDivisionError) as exc:
        raise EngineError("pimeta", f"rma_peto failed: {exc}") from None
    df = fit.k_pos - 1
    return TablesFit(
        fit.beta, fit.se, (fit.ci_lb, fit.ci_ub), fit.zval, fit.pval, fit.QE, df,
        het.q_pvalue(fit.QE, df), het.i2_from_q(fit.QE, df), het.h2_from_q(fit.QE, df),
        _table_weights(fit, len(a)), computed_here=("q_p", "i2", "h2"),
        conventions=("pimeta.tables_api", "pimeta.peto_q_df"),
    )
