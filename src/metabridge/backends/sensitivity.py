"""Default sensitivity verbs for every engine, assembled from its own ``pool`` calls.

:class:`SensitivityVerbs` is a base of :class:`.engine_base.EngineBase`; an
adapter overrides a verb where its engine has it natively (and lists it in
``features``).  Otherwise: cumulative meta-analysis as k pooling calls,
influence diagnostics and Baujat's coordinates from k + 1 pooling calls, trim
and fill as the engine's pooling calls inside Duval & Tweedie's iteration; the
arithmetic on the fits is :mod:`metabridge.diagnostics` (metafor's definitions).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .. import diagnostics
from ..analyses.types import (
    Cumulative,
    EggerTest,
    Influence,
    K0Estimator,
    Side,
    TrimAndFill,
)
from ..errors import EngineError, InvalidArgumentError
from ..methods import METHODS, Method
from ..result import PoolResult
from ..studies import StudySet

#: metafor's trimfill() stops after this many iterations without a stable k0.
TRIMFILL_MAXITER = 100
#: Columns of a cumulative table, in order (metafor's cumul() numbers).
CUMULATIVE_COLUMNS = ("estimate", "se", "z", "p", "ci_low", "ci_high", "q", "q_p", "tau2", "i2",
                      "h2")


#: Heterogeneity of a single study as metafor's rma() and cumul() give it.
ONE_STUDY_HETEROGENEITY = {"q": 0.0, "q_p": 1.0, "i2": 0.0, "h2": 1.0}


class SensitivityVerbs:
    """Cumulative, influence and trim-and-fill from the engine's own pooling calls."""

    name: str
    features: frozenset[str]
    pool: Callable[..., PoolResult]
    egger: Callable[..., EggerTest]

    def cumulative(self, studies: StudySet, method: Method, level: float) -> Cumulative:
        """One pooling call per step, studies added in their order; the first step
        (one study) is the fixed-effect fit, as ``rma()`` fits k = 1 with tau^2 = 0,
        with metafor's heterogeneity of one study: Q = 0, P = 1, I^2 = 0, H^2 = 1."""
        rows = []
        for i in range(1, studies.k + 1):
            fit = self.pool(studies.subset(np.arange(studies.k) < i),
                            method if i > 1 else METHODS["FE"], level)
            rows.append({c: getattr(fit, c) for c in CUMULATIVE_COLUMNS})
        rows[0] |= ONE_STUDY_HETEROGENEITY
        return cumulative_result(studies, rows, method, level, self.name,
                                 f"{studies.k} {self.name} pooling calls")

    def influence(self, studies: StudySet, method: Method, level: float) -> Influence:
        """metafor's influence() diagnostics from the full fit and the k refits without
        each study (a refit the engine fails leaves its row NaN, as in metafor)."""
        full = self.pool(studies, method, level)
        deleted = []
        for label in studies.labels:
            try:
                deleted.append(_numbers(self.pool(studies.drop(label), method, level)))
            except EngineError:
                deleted.append(None)
        yi, vi = np.asarray(full.study_yi), np.asarray(full.study_vi)
        table = diagnostics.case_diagnostics(yi, vi, _numbers(full), deleted)
        return Influence(table.set_axis(pd.Index(studies.labels, name="study")), method.name,
                         self.name, f"{studies.k + 1} {self.name} pooling calls; diagnostics "
                         "computed by metabridge (metafor's formulas)")

    def trim_and_fill(
        self, studies: StudySet, method: Method, level: float, side: Side | None,
        estimator: K0Estimator,
    ) -> TrimAndFill:
        """Duval & Tweedie's iteration with the engine's pooling calls (metafor's steps:
        effects sorted on the side's scale, the k0 largest trimmed, k0 re-estimated
        from the trimmed fit until it is stable, then the k0 mirrored and the model
        refitted).  Without ``side`` it is chosen by :meth:`choose_side`."""
        original = self.pool(studies, method, level)
        how = f"{self.name} pooling calls in the trim-and-fill iteration"
        if side is None:
            side = self.choose_side(studies, method)
            how += f"; side chosen by {self.name} as metafor does"
        sign = -1.0 if side == "right" else 1.0
        order = np.argsort(sign * studies.yi, kind="stable")
        y, v = sign * studies.yi[order], studies.vi[order]
        k, k0, previous, centre = studies.k, 0, -1, 0.0
        missing = diagnostics.MissingStudies(0, 0.0, float("nan"))
        for _ in range(TRIMFILL_MAXITER + 1):  # the last pass only sees k0 stable
            if k0 == previous:
                break
            previous = k0
            kept = StudySet.from_effects(y[:k - k0], vi=v[:k - k0])
            centre = self.pool(kept, method if k - k0 > 1 else METHODS["FE"], level).estimate
            missing = diagnostics.estimate_k0(y - centre, estimator)
            k0 = missing.k0
        else:
            raise EngineError(self.name, f"trim and fill did not converge in "
                              f"{TRIMFILL_MAXITER} iterations")
        filled = sign * (2.0 * centre - y[k - k0:])
        return trimfill_result(self, studies, method, level, original, side, estimator,
                               missing, filled, v[k - k0:], how)

    def can_choose_side(self, method: Method) -> bool:
        """True if :meth:`choose_side` works for ``method`` on this engine."""
        return "meta_regression" in self.features or (
            method.name == "FE" and "egger_classic" in self.features)

    def choose_side(self, studies: StudySet, method: Method) -> Side:
        """metafor's rule: missing on the right if the sqrt(vi) coefficient of a
        meta-regression with ``method`` is negative, else on the left.  For the
        fixed-effect model that regression is the classic Egger one (its bias is
        the coefficient); engines with a meta-regression override this."""
        if not self.can_choose_side(method):
            raise InvalidArgumentError(
                f"{self.name} cannot choose the side for {method.name} as metafor does "
                "(a meta-regression on sqrt(vi)); pass side='left' or 'right'")
        return "right" if self.egger(studies, "classic").bias < 0 else "left"


def cumulative_result(studies: StudySet, rows: list[dict[str, float]], method: Method,
                      level: float, backend: str, how: str) -> Cumulative:
    """The Cumulative of per-step numbers (studies in the order they were added)."""
    table = pd.DataFrame(rows, columns=list(CUMULATIVE_COLUMNS))
    table.insert(0, "k", np.arange(1, studies.k + 1))
    table.insert(0, "study", list(studies.labels))
    return Cumulative(table, method.name, backend, level, "the order given", how)


def trimfill_result(engine: SensitivityVerbs, studies: StudySet, method: Method, level: float,
                    original: PoolResult, side: Side, estimator: K0Estimator,
                    missing: diagnostics.MissingStudies, filled_yi: np.ndarray,
                    filled_vi: np.ndarray, how: str,
                    result: PoolResult | None = None) -> TrimAndFill:
    """A TrimAndFill; without ``result`` the engine pools the augmented studies."""
    labels = [f"Filled {i + 1}" for i in range(len(filled_yi))]
    filled = pd.DataFrame({"study": labels, "yi": filled_yi, "vi": filled_vi})
    if result is None:
        result = original if not labels else engine.pool(
            augmented(studies, filled), method, level)
    return TrimAndFill(estimator, side, missing.k0, missing.se_k0, missing.p_k0, filled,
                       result, original, how)


def augmented(studies: StudySet, filled: pd.DataFrame) -> StudySet:
    """The studies and the filled ones, as generic effects on the analysis scale."""
    return StudySet.from_effects(
        np.concatenate([studies.yi, filled["yi"]]), vi=np.concatenate([studies.vi, filled["vi"]]),
        labels=[*studies.labels, *filled["study"]], measure=studies.measure)


def _numbers(fit: PoolResult) -> diagnostics.Fit:
    return diagnostics.Fit(fit.estimate, fit.se, fit.tau2, fit.q)


__all__ = ["SensitivityVerbs", "augmented", "cumulative_result", "trimfill_result"]
