"""The one boundary every engine implements: :class:`Backend`.

An adapter module (``backends/<engine>.py``) is the only place that knows its
engine.  It declares the canonical methods it offers, reports whether the engine
can run here, and turns the engine's output into a :class:`PoolResult`.

Raw data: ``pool`` receives the whole :class:`StudySet`.  When the set carries raw
data (``studies.raw``: 2x2 counts or means and SDs), an engine with its own
effect-size routine computes the effect sizes from them for the inverse-variance
methods, so that the engines' conventions show (and ``compare`` names them); an
engine without one pools ``studies.yi``/``studies.vi`` (metafor's escalc() values).
Methods listed in ``raw_methods`` (Mantel-Haenszel, Peto) pool the 2x2 tables
themselves.  Either way the per-study effect sizes the engine used come back in
``PoolResult.study_yi``/``study_vi``, and its heterogeneity Q is checked against them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .. import heterogeneity as het
from .. import mantel_haenszel as mh
from ..analyses.types import (
    BeggTest,
    Cumulative,
    EggerTest,
    EggerVariant,
    HeterogeneityCI,
    Influence,
    K0Estimator,
    LeaveOneOut,
    Side,
    SubgroupAnalysis,
    Tau2Rule,
    TrimAndFill,
)
from ..errors import EngineError
from ..methods import Method
from ..result import PoolResult
from ..studies import StudySet


@dataclass(frozen=True)
class BatchResult:
    """Per-replicate numbers of a batch of pooled analyses (one entry per data set).

    The CI is estimate -/+ c SE from the engine's estimate and SE (c: normal, or
    t on k - 1 df for Hartung-Knapp), the same rule on every engine.  Every
    replicate passed the sanity layer: ``repaired`` replicates failed it and were
    re-pooled one by one (checked, repaired); ``failures`` lists the replicates
    that could not be (their numbers are NaN).
    """

    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    tau2: np.ndarray
    checked: int = 0
    repaired: int = 0
    failures: tuple[str, ...] = ()


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
    #: Canonical method names (metafor's) the engine computes natively on effect sizes.
    methods: frozenset[str]
    #: Methods that pool raw 2x2 tables ("MH", "PETO") -> the measures the engine gives.
    raw_methods: Mapping[str, frozenset[str]]
    #: Each of ``raw_methods`` -> how the engine treats tables with a zero cell and
    #: double-zero tables (no events, or only events, in both arms); one line each.
    table_zero_cells: Mapping[str, str]
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
        """Pool ``studies`` with ``method`` and ``test``; the facade has validated them.

        From the raw data when the set has them (see the module docstring).
        """
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
        """Regression test for funnel-plot asymmetry.  Engines with the feature
        "egger_sample_size" also take ``predictor`` ("vi", "ni", "ninv", "sqrtninv")
        and ``ni`` (the sample sizes) as keywords."""
        ...

    def cumulative(self, studies: StudySet, method: Method, level: float) -> Cumulative:
        """The model refitted as each study is added, in the set's order."""
        ...

    def influence(self, studies: StudySet, method: Method, level: float) -> Influence:
        """Leave-one-out case diagnostics and Baujat's coordinates."""
        ...

    def trim_and_fill(
        self, studies: StudySet, method: Method, level: float, side: Side | None,
        estimator: K0Estimator,
    ) -> TrimAndFill:
        """Duval & Tweedie's trim and fill (side None: chosen as metafor does)."""
        ...

    def can_choose_side(self, method: Method) -> bool:
        """True if trim and fill's side can be chosen here as metafor does."""
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
    "cumulative": "cumulative meta-analysis in one engine call",
    "influence": "leave-one-out case diagnostics (and Baujat's coordinates) in one engine call",
    "trim_and_fill": "trim and fill, the side chosen as metafor does (any estimator)",
    "meta_regression": "a meta-regression on sqrt(vi) with any of its estimators (trim and "
    "fill's side, chosen as metafor does)",
    "egger_sample_size": "Egger-type test on the sample size (ni, 1/ni, 1/sqrt(ni)) or vi",
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


#: Largest relative gap (to max(1, Q)) between an engine's Q and the two-pass Q around its
#: estimate: both sum the same k terms, so they agree to ~k ulp; a one-pass Q that cancels
#: misses by far more.
Q_RTOL = 1e-9


def percent_weights(weights: Iterable[float]) -> tuple[float, ...]:
    """Relative weights in percent (sum 100)."""
    w = np.asarray(weights if isinstance(weights, np.ndarray) else list(weights), dtype=float)
    return tuple((100.0 * w / w.sum()).tolist())


def _floats(values: Iterable[float]) -> np.ndarray:
    """``values`` as a float array (an engine's own vector type through a list)."""
    return np.asarray(values if isinstance(values, np.ndarray | list | tuple) else list(values),
                      dtype=float)


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
    study_effects: tuple[Iterable[float], Iterable[float]] | None = None,
    q_df: int | None = None,
    q_centre: float | None = None,
    fit_stats: Mapping[str, Any] | None = None,
) -> PoolResult:
    """Build a :class:`PoolResult`; statistics the engine did not give are computed here.

    Each statistic passed as ``None`` is computed by metabridge from the engine's
    estimate, SE and Q (``heterogeneity`` formulas) and listed in ``derived``, as
    are the fields named in ``computed_here`` (computed by the adapter itself).
    ``study_effects`` are the per-study (yi, vi) the engine pooled (default: the
    StudySet's; NaN for a study the engine left out of Q), ``q_df`` Q's degrees of
    freedom when the engine leaves studies out of Q (default k - 1).  For methods on
    raw tables (MH, Peto, DL-MH) Q is recomputed two-pass around the engine's estimate
    (``q_centre`` when Q is centred elsewhere: DL-MH's Q is the MH analysis') from
    those effects; an engine Q off by more than :data:`Q_RTOL` is replaced by it
    (convention ``metabridge.stable_q``).  ``fit_stats`` is what the engine reports
    about the fit (see :class:`PoolResult`), passed on as given.
    """
    if not se > 0:  # a zero SE would give an infinite z or t, a NaN one no test at all
        raise EngineError(backend, f"returned SE = {se} for the pooled {method.name} estimate "
                          f"(test={test!r}); an SE must be > 0 for a z or t statistic and a CI")
    k = len(studies.labels)
    df = k - 1 if q_df is None else q_df
    derived: set[str] = set(computed_here)
    yi, vi = (studies.yi, studies.vi) if study_effects is None else (
        _floats(study_effects[0]), _floats(study_effects[1]))
    conventions = list(conventions)
    extra = dict(extra or {})
    if method.needs is not None:
        stable = mh.q_around(estimate if q_centre is None else q_centre, yi, vi)
        if abs(q - stable) > Q_RTOL * max(1.0, stable):
            extra["q_engine"] = q
            conventions.append("metabridge.stable_q")
            derived.add("q")
            q, q_p, i2, h2 = stable, None, None, None

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
        q_df=int(df),
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
        extra=extra,
        study_yi=tuple(yi.tolist()),
        study_vi=tuple(vi.tolist()),
        fit_stats=dict(fit_stats or {}),
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
