"""pimeta engine: a pure-Python port of metafor and meta (PyPI ``pimeta``, MIT).

``pool`` is ``pimeta.rma(yi, vi, method, test, level)``, pimeta's transcription of
metafor's ``rma.uni``, with the prediction interval from its ``predict()``.
Methods FE, DL, HE, HS, SJ, ML, REML, EB, PM (pimeta has no HSk or PMM); tests
"z", "knha", "adhoc".

pimeta's iterative estimators stop on absolute rules (ML/REML/EB: a change in
tau^2 below 1e-5 within 100 Fisher-scoring steps; PM: ``brentq`` with xtol 2e-12
and a root search that silently returns tau^2 = 1e6 when the root lies above),
and none of them reports whether it converged.  The adapter therefore fits data
rescaled by a power of two (:func:`_unit`) and checks pimeta's own stopping rule
at its answer (:func:`_converged`).  Conventions applied: pimeta.scaled_input,
pimeta.i2_from_tau2.
"""

from __future__ import annotations

import math
import warnings
from functools import cache
from typing import Any

import numpy as np

from .. import heterogeneity as het
from ..analyses.types import BeggTest, EggerTest, EggerVariant
from ..errors import ConvergenceWarning, EngineError
from ..methods import Method
from ..result import PoolResult
from ..studies import StudySet
from .base import BackendStatus, BatchResult, assemble, probe_python_engine
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


def _fisher_step(yi: np.ndarray, vi: np.ndarray, tau2: float, method: str) -> float:
    """The next step pimeta's (metafor's) iteration would take from ``tau2``.

    Intercept-only forms of metafor's updates, w = 1 / (v + tau^2), r = y - mu_w:
    ML   (sum w^2 r^2 - sum w) / sum w^2;
    REML (y'PPy - tr P) / tr PP, tr P = S1 - S2/S1, tr PP = S2 - 2 S3/S1 + (S2/S1)^2;
    EB   (k/(k-1) sum w r^2 - k) / sum w   (S_j = sum w^j).
    The step is clipped at the boundary tau^2 >= 0, as the iteration clips it.
    """
    w = 1.0 / (vi + tau2)
    s1, s2, s3 = w.sum(), (w**2).sum(), (w**3).sum()
    r = yi - (w * yi).sum() / s1
    k = len(yi)
    if method == "ML":
        step = ((w**2 * r**2).sum() - s1) / s2
    elif method == "REML":
        step = ((w**2 * r**2).sum() - (s1 - s2 / s1)) / (s2 - 2 * s3 / s1 + (s2 / s1) ** 2)
    else:  # EB
        step = ((w * r**2).sum() * k / (k - 1) - k) / s1
    return float(max(step, -tau2))


def _converged(fit: Any, method: str) -> bool:
    """pimeta's own stopping rule, checked at its answer (it reports no flag).

    ML/REML/EB: tau^2 = 0 (the boundary, or metafor's ll0 check) or the next
    Fisher-scoring step is below THRESHOLD (else the 100 iterations ran out).
    PM: the root is below the cap (brentq itself raises if it fails).
    """
    if method == "PM":
        return fit.tau2 < PM_CAP
    if method not in ITERATIVE or fit.tau2 == 0.0:
        return True
    step = _fisher_step(np.asarray(fit.yi), np.asarray(fit.vi), fit.tau2, method)
    return abs(step) < THRESHOLD


def _rma(yi: np.ndarray, vi: np.ndarray, method: Method, level: float, test: str) -> Any:
    """pimeta.rma on (yi / c, vi / c^2); returns (fit, c)."""
    c = _unit(yi, vi)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):  # its z = b / 0 before the error
            fit = _engine().rma(yi / c, vi / c**2, method=method.name, test=test, level=level)
    except np.linalg.LinAlgError as exc:  # Hartung-Knapp with a zero residual sum of squares
        raise EngineError(
            "pimeta", f"rma(method={method.name!r}, test={test!r}) failed in numpy ({exc}); "
            "with Hartung-Knapp this happens when every estimate is the same "
            "(zero residual sum of squares)",
        ) from None
    return fit, c


class PimetaBackend(EngineBase):
    """Adapter for pimeta's ``rma`` (metafor's rma.uni in pure Python)."""

    name = "pimeta"
    description = "pimeta (pure-Python port of metafor and meta)"
    methods = frozenset({"FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"})
    tests = frozenset({"z", "knha", "adhoc"})
    features = frozenset({"egger_classic", "egger_metafor-rma", "begg"})
    max_studies = None

    def status(self) -> BackendStatus:
        return probe_python_engine(self.name, _engine, "pimeta", "pip install 'metabridge[pimeta]'")

    def pool(
        self, studies: StudySet, method: Method, level: float, test: str = "z"
    ) -> PoolResult:
        fit, c = _rma(studies.yi, studies.vi, method, level, test)
        converged = _converged(fit, method.name)
        if not converged:
            warnings.warn(
                f"pimeta: the {method.name} tau^2 iteration did not converge "
                f"(tau^2 = {fit.tau2 * c**2:.6g}); the result is marked converged=False",
                ConvergenceWarning, stacklevel=3,
            )
        df = studies.k - 1
        conventions, extra = [], {"scale": c}
        if method.name in ITERATIVE:
            conventions.append("pimeta.scaled_input")
        pi = None
        if method.random_effects:
            conventions.append("pimeta.i2_from_tau2")
            extra |= {"i2_q": het.i2_from_q(fit.QE, df), "h2_q": het.h2_from_q(fit.QE, df)}
            pred = fit.predict()
            pi = (pred.pi_lb * c, pred.pi_ub * c)
        nan = float("nan")
        return assemble(
            studies, method, level,
            backend=self.name, engine_version=_engine().__version__, test=test,
            estimate=fit.b[0] * c, se=fit.se[0] * c, ci=(fit.ci_lb[0] * c, fit.ci_ub[0] * c),
            tau2=fit.tau2 * c**2, q=fit.QE, weights=fit.weights,
            z=fit.zval[0], p=fit.pval[0], pi=pi,
            i2=fit.I2 if df > 0 else nan, h2=fit.H2 if df > 0 else nan,
            q_p=fit.QEp if df > 0 else nan,
            converged=converged, conventions=conventions, extra=extra,
        )

    def pool_batch(
        self, yi: np.ndarray, vi: np.ndarray, method: Method, level: float, test: str = "z"
    ) -> BatchResult:
        """One pimeta.rma call per replicate; a replicate that fails or does not
        converge gives NaN, and one warning says how many and why."""
        rows, failures = [], []
        for i, (y, v) in enumerate(zip(yi, vi, strict=True)):
            try:
                fit, c = _rma(y, v, method, level, test)
            except EngineError as exc:
                failures.append(f"replicate {i}: {exc.engine_message}")
                rows.append((math.nan,) * 3)
                continue
            if not _converged(fit, method.name):
                failures.append(f"replicate {i}: the {method.name} iteration did not converge")
                rows.append((math.nan,) * 3)
                continue
            rows.append((fit.b[0] * c, fit.se[0] * c, fit.tau2 * c**2))
        if failures:
            warnings.warn(f"pimeta: {len(failures)} of {len(rows)} replicates gave no result: "
                          + "; ".join(failures[:3]), ConvergenceWarning, stacklevel=2)
        estimate, se, tau2 = np.array(rows, dtype=float).reshape(-1, 3).T
        df = float("inf") if test == "z" else float(yi.shape[1] - 1)
        half = het.critical_value(level, df) * se
        return BatchResult(estimate, se, estimate - half, estimate + half, tau2)

    def egger(self, studies: StudySet, variant: EggerVariant) -> EggerTest:
        """pimeta.regtest(predictor="sei"): model "lm" (classic Egger: weighted regression
        of y on SE with multiplicative dispersion, t on k - 2 df) or "rma" (metafor's
        default: REML meta-regression on SE, z test; fitted on y / c, v / c^2, which
        leaves the SE coefficient and its z unchanged).  The SE coefficient is Egger's
        intercept (bias)."""
        model = "lm" if variant == "classic" else "rma"
        c = _unit(studies.yi, studies.vi)
        fit = _engine().regtest(studies.yi / c, studies.vi / c**2, predictor="sei",
                                model=model, method="REML")
        return EggerTest(
            variant, fit.slope, fit.slope_se, fit.stat,
            float(studies.k - 2) if model == "lm" else float("nan"), fit.p, self.name,
            f'regtest(model="{model}", predictor="sei")',
        )

    def begg(self, studies: StudySet) -> BeggTest:
        """pimeta.begg_test: Kendall's tau of the standardised effects and the variances
        (metafor's ranktest)."""
        fit = _engine().begg_test(studies.yi, studies.vi)
        how = "begg_test() (ranktest)"
        if studies.k > EXACT_KENDALL_MAX_K:
            how += "; P from the normal approximation (convention pimeta.begg_pvalue)"
        return BeggTest(fit.tau, fit.p, self.name, how)
