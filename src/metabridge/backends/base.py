"""The one boundary every engine implements: :class:`Backend`.

An adapter module (``backends/<engine>.py``) is the only place that knows its
engine.  It declares the canonical methods it offers, reports whether the engine
can run here, and turns the engine's output into a :class:`PoolResult`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .. import heterogeneity as het
from ..methods import Method
from ..result import PoolResult
from ..studies import StudySet


@dataclass(frozen=True)
class BackendStatus:
    """Whether an engine can run here; if not, why and what to install."""

    name: str
    available: bool
    version: str = ""
    reason: str = ""


@runtime_checkable
class Backend(Protocol):
    """An engine adapter."""

    #: Registry name, lower case ("statsmodels", "pythonmeta", "metafor").
    name: str
    #: One line saying what the engine is.
    description: str
    #: Canonical method names (metafor's) the engine computes natively.
    methods: frozenset[str]
    #: Further abilities, e.g. {"pool"}; later verbs are dispatched on these.
    features: frozenset[str]
    #: Largest k the engine accepts, or None for no limit.
    max_studies: int | None

    def status(self) -> BackendStatus:
        """Probe the engine once (import, version); never raises."""
        ...

    def pool(self, studies: StudySet, method: Method, level: float) -> PoolResult:
        """Pool ``studies`` with ``method``; the facade has validated both."""
        ...


def percent_weights(weights: Iterable[float]) -> tuple[float, ...]:
    """Relative weights in percent (sum 100)."""
    w = np.asarray(list(weights), dtype=float)
    return tuple(float(x) for x in 100.0 * w / w.sum())


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
    z: float | None = None,
    p: float | None = None,
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
    df = studies.k - 1
    derived: set[str] = set(computed_here)

    def fill(name: str, value: float | None, compute: Any) -> float:
        if value is None:
            derived.add(name)
            return float(compute())
        return float(value)

    z_value = fill("z", z, lambda: estimate / se)
    return PoolResult(
        estimate=float(estimate),
        se=float(se),
        ci_low=float(ci[0]),
        ci_high=float(ci[1]),
        z=z_value,
        p=fill("p", p, lambda: het.z_pvalue(z_value)),
        tau2=float(tau2),
        i2=fill("i2", i2, lambda: het.i2_from_q(q, df)),
        h2=fill("h2", h2, lambda: het.h2_from_q(q, df)),
        q=float(q),
        q_df=df,
        q_p=fill("q_p", q_p, lambda: het.q_pvalue(q, df)),
        k=studies.k,
        weights=percent_weights(weights),
        labels=studies.labels,
        method=method.name,
        backend=backend,
        measure=studies.measure,
        level=level,
        engine_version=engine_version,
        converged=converged,
        derived=frozenset(derived),
        conventions=tuple(conventions),
        extra=dict(extra or {}),
    )


__all__ = ["Backend", "BackendStatus", "assemble", "percent_weights"]
