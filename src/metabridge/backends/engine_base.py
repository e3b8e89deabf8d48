"""The checked pooling template and default analysis verbs of every engine.

An adapter subclasses :class:`EngineBase` and implements ``fit`` (one data set as
its engine pools it) and, where it can, ``fit_at_tau2`` and ``fit_batch``.
``pool`` and ``pool_batch`` are templates that pass every engine result through
the sanity layer (:mod:`.sanity`); an adapter cannot override them.  Verbs the
engine has natively are overridden (and listed in ``features``); otherwise these
run: leave-one-out as k pooling calls, subgroups as one pooling call per
subgroup plus a fixed-effect pooling of the subgroup estimates (Q-between),
Q-profile CIs around the engine's tau^2, and batches as a plain loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from .. import estimators
from .. import heterogeneity as het
from ..analyses.types import (
    BeggTest,
    EggerTest,
    EggerVariant,
    HeterogeneityCI,
    LeaveOneOut,
    SubgroupAnalysis,
    Tau2Rule,
)
from ..errors import EngineError
from ..methods import METHODS, Method
from ..result import PoolResult
from ..studies import StudySet
from . import sanity
from .base import BatchResult
from .sensitivity import SensitivityVerbs

#: The templates an adapter must not override (it implements fit / fit_batch instead).
_TEMPLATES = ("pool", "pool_batch")


class EngineBase(SensitivityVerbs):
    """Checked pooling and default analysis verbs, built on the engine's ``fit`` (the
    sensitivity verbs -- cumulative, influence, trim and fill -- in :mod:`.sensitivity`)."""

    name: str
    methods: frozenset[str]
    raw_methods: Mapping[str, frozenset[str]] = MappingProxyType({})
    table_zero_cells: Mapping[str, str] = MappingProxyType({})
    tests: frozenset[str] = frozenset({"z"})
    features: frozenset[str] = frozenset()
    #: Convention key whose ``tau2_rtol`` bounds the engine's iterative estimators.
    tolerance_convention: str | None = None
    #: Sanity-check field -> convention key saying why this engine gets it wrong.
    defect_causes: Mapping[str, str] = MappingProxyType({})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        overridden = [name for name in _TEMPLATES if name in cls.__dict__]
        if overridden:
            raise TypeError(
                f"{cls.__name__} overrides {overridden}: implement fit() (and fit_batch()) "
                "instead; pool() and pool_batch() pass every result through the sanity layer"
            )

    def pool(
        self, studies: StudySet, method: Method, level: float, test: str = "z"
    ) -> PoolResult:
        """``fit`` checked by the sanity layer: passed, repaired and listed, or refused."""
        return sanity.checked(self, studies, method, level, test,
                              self.fit(studies, method, level, test))

    def checked(
        self, studies: StudySet, method: Method, level: float, result: PoolResult,
        test: str = "z",
    ) -> PoolResult:
        """A result a native verb built from the engine's output, through the sanity layer
        (passed, repaired and listed, or EngineError), like every ``pool`` result."""
        return sanity.checked(self, studies, method, level, test, result)

    def fit(
        self, studies: StudySet, method: Method, level: float, test: str = "z"
    ) -> PoolResult:
        """The engine's own result for ``studies`` (unchecked); every adapter implements it."""
        raise NotImplementedError

    def fit_at_tau2(
        self, studies: StudySet, method: Method, tau2: float, level: float, test: str = "z"
    ) -> PoolResult | None:
        """The engine's result with tau^2 fixed (a repair route); None if it cannot."""
        return None

    def leave_one_out(self, studies: StudySet, method: Method, level: float) -> LeaveOneOut:
        """k pooling calls; a refit the engine fails is recorded in ``failures``."""
        full = self.pool(studies, method, level)
        fits = {label: _attempt(lambda label=label: self.pool(studies.drop(label), method, level))
                for label in studies.labels}
        kept = {label: fit for label, fit in fits.items() if isinstance(fit, PoolResult)}
        return LeaveOneOut(
            full, tuple(kept.values()), tuple(kept), f"{studies.k} {self.name} pooling calls",
            failures=_failures(fits),
        )

    def subgroups(
        self, studies: StudySet, by: str, method: Method, level: float, tau2: Tau2Rule
    ) -> SubgroupAnalysis:
        """One pooling call per subgroup and one of their estimates (Q-between); a
        subgroup the engine fails is recorded in ``failures`` and the test is NaN."""
        parts = {str(g): s for g, s in studies.groupby(by).items()}
        fe = METHODS["FE"]
        if tau2 == "common":
            return _common_tau2_subgroups(self, parts, by, method, level)
        fits = {g: _attempt(lambda s=s: self.pool(s, method if s.k > 1 else fe, level))
                for g, s in parts.items()}
        groups = {g: fit for g, fit in fits.items() if isinstance(fit, PoolResult)}
        failures = _failures(fits)
        nan = float("nan")
        q, df, p = (nan, len(parts) - 1, nan) if failures else _q_between(self, groups, level)
        return SubgroupAnalysis(
            by, "separate", method.name, self.name, groups, q, df, p,
            how=f"{len(parts)} {self.name} subgroup fits + {self.name} fixed-effect pooling "
            "of the subgroup estimates (Q-between)",
            notes=_single_study_notes(groups, method) + _untested_note(failures),
            failures=failures,
        )

    def egger(self, studies: StudySet, variant: EggerVariant) -> EggerTest:
        raise NotImplementedError(f"{self.name} has no Egger test ({variant})")

    def heterogeneity_ci(self, studies: StudySet, method: Method, level: float) -> HeterogeneityCI:
        """Q-profile CIs computed by metabridge around the engine's own tau^2."""
        tau2 = self.pool(studies, method, level).tau2
        low, high = het.q_profile_tau2_ci(studies.yi, studies.vi, level)
        return _heterogeneity_table(
            studies, (tau2, low, high), method, level, self.name,
            f"tau^2 from {self.name}; Q-profile CI computed by metabridge (scipy brentq)",
        )

    def pool_batch(
        self, yi: np.ndarray, vi: np.ndarray, method: Method, level: float, test: str = "z"
    ) -> BatchResult:
        """``fit_batch`` checked replicate by replicate (see :func:`sanity.checked_batch`)."""
        estimate, se, tau2 = self.fit_batch(yi, vi, method, level, test)
        return sanity.checked_batch(self, yi, vi, method, level, test, estimate, se, tau2)

    def fit_batch(
        self, yi: np.ndarray, vi: np.ndarray, method: Method, level: float, test: str = "z"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(estimate, se, tau2) per row, unchecked: one ``_pool_numbers`` call per replicate."""
        with np.errstate(divide="ignore", invalid="ignore"):  # engines' own 0/0, sqrt(<0)
            rows = np.array([self._pool_numbers(y, v, method, test)
                             for y, v in zip(yi, vi, strict=True)], dtype=float)
        return rows[:, 0], rows[:, 1], rows[:, 2]

    def _pool_numbers(
        self, yi: np.ndarray, vi: np.ndarray, method: Method, test: str
    ) -> tuple[float, float, float]:
        """(estimate, se, tau2) of one data set, as directly as the engine allows."""
        result = self.fit(StudySet.from_effects(yi, vi=vi), method, 0.95, test)
        return result.estimate, result.se, result.tau2

    def begg(self, studies: StudySet) -> BeggTest:
        raise NotImplementedError(f"{self.name} has no rank correlation test")


def q_profile_only(studies: StudySet, method: Method, level: float,
                   backend: str) -> HeterogeneityCI:
    """Q-profile bounds (estimator-free) with no point estimate: ``backend`` lacks
    ``method`` and no other engine's estimate stands in for it."""
    low, high = het.q_profile_tau2_ci(studies.yi, studies.vi, level)
    return _heterogeneity_table(
        studies, (float("nan"), low, high), method, level, backend,
        f"{backend} has no {method.name}: Q-profile CI (it does not depend on the estimator) "
        f"computed by metabridge (scipy brentq), no point estimate",
    )


def _heterogeneity_table(
    studies: StudySet, tau2: tuple[float, float, float], method: Method, level: float,
    backend: str, how: str,
) -> HeterogeneityCI:
    """Rows tau^2, tau, I^2, H^2 from (estimate, lower, upper) of tau^2."""
    s2 = float(estimators.typical_variance(studies.vi))
    values = np.asarray(tau2, dtype=float)
    table = pd.DataFrame(
        [values, np.sqrt(values), 100.0 * values / (values + s2), (values + s2) / s2],
        index=["tau2", "tau", "i2", "h2"], columns=["estimate", "ci_low", "ci_high"],
    )
    return HeterogeneityCI(table, method.name, backend, level, how)


def _group_estimates(groups: dict[str, PoolResult]) -> StudySet:
    """The subgroup estimates as studies (for the fixed-effect Q-between test)."""
    return StudySet.from_effects(
        [r.estimate for r in groups.values()], sei=[r.se for r in groups.values()],
        labels=list(groups),
    )


def _attempt(fit: Callable[[], PoolResult]) -> PoolResult | EngineError:
    """The fit, or the engine's error (kept to be recorded, not raised)."""
    try:
        return fit()
    except EngineError as exc:
        return exc


def _failures(fits: dict[str, PoolResult | EngineError]) -> tuple[tuple[str, str], ...]:
    return tuple((name, str(fit)) for name, fit in fits.items() if isinstance(fit, EngineError))


def _q_between(
    engine: EngineBase, groups: dict[str, PoolResult], level: float
) -> tuple[float, int, float]:
    test = engine.pool(_group_estimates(groups), METHODS["FE"], level)
    return test.q, test.q_df, test.q_p


def _untested_note(failures: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    if not failures:
        return ()
    names = ", ".join(repr(name) for name, _ in failures)
    return (f"test for subgroup differences not computed: it needs every subgroup, and "
            f"the fit of {names} failed",)


def _single_study_notes(groups: dict[str, PoolResult], method: Method) -> tuple[str, ...]:
    return tuple(
        f"subgroup {g!r} has one study: its estimate is that study (tau^2 = 0), "
        "as in RevMan and R meta"
        for g, r in groups.items() if r.k == 1 and method.random_effects
    )


def _common_tau2_subgroups(
    engine: EngineBase, parts: dict[str, StudySet], by: str, method: Method, level: float
) -> SubgroupAnalysis:
    """Common-tau^2 subgroup test for FE/DL from the engine's fixed-effect fits.

    DL with a common tau^2 (Borenstein et al. 2009 ch. 19; R meta tau.common):
    tau^2 = max(0, (sum_g Q_g - (k - G)) / sum_g c_g),  c_g = S1_g - S2_g / S1_g,
    S1_g = sum w_i, S2_g = sum w_i^2 over the subgroup; then each subgroup is pooled
    with that tau^2 and Q-between is the engine's fixed-effect Q of those estimates.
    """
    if method.name not in ("FE", "DL"):
        raise NotImplementedError(
            f"{engine.name} has no mixed-effects model; common tau^2 with {method.name}"
        )
    fe = METHODS["FE"]
    within = {g: engine.pool(s, fe, level) for g, s in parts.items()}
    k = sum(s.k for s in parts.values())
    tau2 = 0.0
    if method.name == "DL":
        c = sum(float((1 / s.vi).sum() - (1 / s.vi**2).sum() / (1 / s.vi).sum())
                for s in parts.values())
        tau2 = max(0.0, (sum(r.q for r in within.values()) - (k - len(parts))) / c)
    estimates = {}
    for g, s in parts.items():
        w = 1.0 / (s.vi + tau2)
        estimates[g] = (float((w * s.yi).sum() / w.sum()), float(np.sqrt(1.0 / w.sum())))
    pooled = StudySet.from_effects(
        [e for e, _ in estimates.values()], sei=[se for _, se in estimates.values()],
        labels=list(estimates),
    )
    test = engine.pool(pooled, fe, level)
    return SubgroupAnalysis(
        by, "common", method.name, engine.name, {}, test.q, test.q_df, test.q_p,
        how=f"common DL tau^2 computed by metabridge from {engine.name} fixed-effect fits; "
        f"Q-between from {engine.name} fixed-effect pooling",
        tau2_common=tau2,
    )
