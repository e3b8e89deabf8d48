"""The one boundary every engine implements: :class:`Backend`.

An adapter module (``backends/<engine>.py``) is the only place that knows its
engine.  It declares the canonical methods it offers, reports whether the engine
can run here, and turns the engine's output into a :class:`PoolResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol, runtime_checkable

import numpy as np

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
from ..methods import Method
from ..result import PoolResult
from ..studies import StudySet


@dataclass(frozen=True)
class BatchResult:
    """Per-replicate numbers of a batch of pooled analyses (one entry per data set).

    The CI is estimate -/+ c SE from the engine's estimate and SE (c: normal, or
    t on k - 1 df for Hartung-Knapp), the same rule on every engine.
    """

    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    tau2: np.ndarray


@dataclass(frozen=True)
class BackendStatus:
    """Whether an engine can run here; if not, why and what to install."""

    name: str
    available: bool
    version: str = ""
    reason: str = ""


@runtime_checkable
class Backend(Protocol):
    """An engine adapter: the one interface the facade talks to.

    ``pool`` is the engine's core.  The analysis verbs have default
    implementations in :class:`.engine_base.EngineBase` built from the engine's own pooling
    calls; an adapter overrides a verb where its engine has it natively and then
    lists the verb in ``features``.
    """

    #: Registry name, lower case ("statsmodels", "pythonmeta", "metafor").
    name: str
    #: One line saying what the engine is.
    description: str
    #: Canonical method names (metafor's) the engine computes natively.
    methods: frozenset[str]
    #: Inference for the pooled estimate the engine offers (see methods.TESTS).
    tests: frozenset[str]
    #: Verbs the engine has natively (see FEATURES).
    features: frozenset[str]
    #: Largest k the engine accepts, or None for no limit.
    max_studies: int | None

    def status(self) -> BackendStatus:
        """Probe the engine once (import, version); never raises."""
        ...

    def pool(
        self, studies: StudySet, method: Method, level: float, test: str = "z"
    ) -> PoolResult:
        """Pool ``studies`` with ``method`` and ``test``; the facade has validated them."""
        ...

    def leave_one_out(self, studies: StudySet, method: Method, level: float) -> LeaveOneOut:
        """Refit without each study in turn."""
        ...

    def subgroups(
        self, studies: StudySet, by: str, method: Method, level: float, tau2: Tau2Rule
    ) -> SubgroupAnalysis:
        """Per-subgroup results and the test for subgroup differences."""
        ...

    def egger(self, studies: StudySet, variant: EggerVariant) -> EggerTest:
        """Regression test for funnel-plot asymmetry."""
        ...

    def begg(self, studies: StudySet) -> BeggTest:
        """Rank correlation test for funnel-plot asymmetry."""
        ...

    def pool_batch(
        self, yi: np.ndarray, vi: np.ndarray, method: Method, level: float, test: str = "z"
    ) -> BatchResult:
        """Pool every row of ``yi``/``vi`` (replicates x k); for simulations."""
        ...

    def heterogeneity_ci(self, studies: StudySet, method: Method, level: float) -> HeterogeneityCI:
        """tau^2, tau, I^2, H^2 with Q-profile confidence intervals."""
        ...


#: Native verbs an engine may list in ``features``, and what each means.
FEATURES: dict[str, str] = {
    "leave_one_out": "leave-one-out in one engine call",
    "subgroups_separate": "subgroup fits (separate tau^2) and Q-between in one engine call",
    "subgroups_common": "mixed-effects moderator test (common tau^2), any estimator",
    "egger_classic": "classic Egger regression test",
    "egger_metafor-rma": "metafor's default regtest (meta-regression on SE, z test)",
    "begg": "Begg & Mazumdar rank correlation test",
}


def probe_python_engine(
    name: str, load: Callable[[], object], distribution: str, install: str
) -> BackendStatus:
    """Status of a Python engine: importable (``load`` succeeds) and its version, or why not."""
    try:
        load()
        version = metadata.version(distribution)
    except Exception as exc:  # any import failure means "not available"
        return BackendStatus(name, False, reason=f"{exc.__class__.__name__}: {exc} ({install})")
    return BackendStatus(name, True, version=version)


def percent_weights(weights: Iterable[float]) -> tuple[float, ...]:
    """Relative weights in percent (sum 100)."""
    w = np.asarray(weights if isinstance(weights, np.ndarray) else list(weights), dtype=float)
    return tuple((100.0 * w / w.sum()).tolist())


def assemble(
    studies: StudySet,
    method: Method,
    level: float,
    *,
    backend: str,
    engine_version: str,
    estimate: float,
    se: float,
    ci: tuple[float, float],
    tau2: float,
    q: float,
    weights: Iterable[float],
    test: str = "z",
    z: float | None = None,
    p: float | None = None,
    pi: tuple[float, float] | None = None,
    i2: float | None = None,
    h2: float | None = None,
    q_p: float | None = None,
    converged: bool = True,
    computed_here: Iterable[str] = (),
    conventions: Iterable[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> PoolResult:
    """Build a :class:`PoolResult`; statistics the engine did not give are computed here.

    Each statistic passed as ``None`` is computed by metabridge from the engine's
    estimate, SE and Q (``heterogeneity`` formulas) and listed in ``derived``, as
    are the fields named in ``computed_here`` (computed by the adapter itself).
    """
    k = len(studies.labels)
    df = k - 1
    derived: set[str] = set(computed_here)

    def fill(name: str, value: float | None, compute: Any) -> float:
        if value is None:
            derived.add(name)
            return float(compute())
        return float(value)

    test_df = float("inf") if test == "z" else float(df)
    z_value = fill("z", z, lambda: estimate / se)
    if pi is None:
        derived.update(("pi_low", "pi_high"))
        pi = het.prediction_interval(estimate, se, tau2, level, test_df)
    return PoolResult(
        estimate=float(estimate),
        se=float(se),
        ci_low=float(ci[0]),
        ci_high=float(ci[1]),
        z=z_value,
        p=fill("p", p, lambda: het.test_pvalue(z_value, test_df)),
        pi_low=float(pi[0]),
        pi_high=float(pi[1]),
        tau2=float(tau2),
        i2=fill("i2", i2, lambda: het.i2_from_q(q, df)),
        h2=fill("h2", h2, lambda: het.h2_from_q(q, df)),
        q=float(q),
        q_df=df,
        q_p=fill("q_p", q_p, lambda: het.q_pvalue(q, df)),
        k=k,
        weights=percent_weights(weights),
        labels=studies.labels,
        method=method.name,
        backend=backend,
        measure=studies.measure,
        level=level,
        test=test,
        test_df=test_df,
        engine_version=engine_version,
        converged=converged,
        derived=frozenset(derived),
        conventions=tuple(conventions),
        extra=dict(extra or {}),
    )


__all__ = [
    "FEATURES",
    "Backend",
    "BackendStatus",
    "BatchResult",
    "assemble",
    "percent_weights",
    "probe_python_engine",
]
