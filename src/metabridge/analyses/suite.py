"""Every analysis of one set of studies on one engine, each computed once when first asked.

The report (:mod:`metabridge.reporting`) and the reproduction of a paper
(:mod:`metabridge.reproduce`) read their numbers from the same
:class:`AnalysisSuite`, so a figure and the published-vs-computed table can never
come from two different fits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..backends import available_backends, get_backend
from ..comparison import Comparison
from ..errors import UnsupportedMethodError
from ..facade import DEFAULT_BACKEND, DEFAULT_METHOD, compare, pool
from ..result import PoolResult
from ..studies import StudySet
from . import (
    begg,
    cumulative,
    egger,
    exclude,
    heterogeneity_ci,
    influence,
    leave_one_out,
    subgroups,
    trim_and_fill,
)
from .types import (
    BeggTest,
    Cumulative,
    EggerTest,
    EggerVariant,
    HeterogeneityCI,
    Influence,
    LeaveOneOut,
    SubgroupAnalysis,
    Tau2Rule,
    TrimAndFill,
)


@dataclass
class AnalysisSuite:
    """The analyses of ``studies`` pooled with ``method``/``test`` on ``backend``, cached."""

    studies: StudySet
    method: str = DEFAULT_METHOD
    backend: str = DEFAULT_BACKEND
    level: float = 0.95
    test: str = "z"
    _cache: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)

    def _once(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def pooled(self) -> PoolResult:
        return self._once(("pooled",), lambda: pool(
            self.studies, self.method, self.backend, self.level, self.test))

    def leave_one_out(self) -> LeaveOneOut:
        return self._once(("loo",), lambda: leave_one_out(
            self.studies, self.method, self.backend, self.level))

    def cumulative(self) -> Cumulative:
        return self._once(("cumulative",), lambda: cumulative(
            self.studies, self.method, self.backend, self.level))

    def influence(self) -> Influence:
        return self._once(("influence",), lambda: influence(
            self.studies, self.method, self.backend, self.level))

    def trim_and_fill(self) -> TrimAndFill:
        """Trim and fill, the side chosen as metafor does: on this engine, or else on the
        first installed engine that can choose it for this method."""
        return self._once(("trim_and_fill",), lambda: self._on_an_engine(
            lambda name: trim_and_fill(self.studies, self.method, name, self.level)))

    def exclude(self, labels: Iterable[str]) -> PoolResult:
        names = tuple(labels)
        return self._once(("exclude", names), lambda: exclude(
            self.studies, names, self.method, self.backend, self.level))

    def subgroups(self, by: str, tau2: Tau2Rule = "separate") -> SubgroupAnalysis:
        """Subgroups on this engine, or (an engine without the mixed-effects model asked
        for a common tau^2) on the first installed engine that has it."""
        return self._once(("subgroups", by, tau2), lambda: self._on_an_engine(
            lambda name: subgroups(self.studies, by, self.method, name, tau2, self.level)))

    def heterogeneity_ci(self) -> HeterogeneityCI:
        return self._once(("heterogeneity_ci",), lambda: heterogeneity_ci(
            self.studies, self.method, self.backend, self.level))

    def egger(self, variant: EggerVariant = "classic") -> EggerTest:
        """Egger's test on this engine, or else on the first installed engine that has it."""
        return self._once(("egger", variant), lambda: self._on_an_engine(
            lambda name: egger(self.studies, name, variant)))

    def begg(self) -> BeggTest:
        """Begg's test on this engine, or else on the first installed engine that has it."""
        return self._once(("begg",), lambda: self._on_an_engine(
            lambda name: begg(self.studies, name)))

    def compare(self, engines: Iterable[str] | None = None) -> Comparison:
        """This method and test on every engine (default: every installed engine)."""
        names = None if engines is None else tuple(engines)
        return self._once(("compare", names), lambda: compare(
            self.studies, (self.method,), names, self.level, tests=(self.test,)))

    def _on_an_engine(self, run: Callable[[str], Any]) -> Any:
        try:
            return run(self.backend)
        except UnsupportedMethodError as exc:
            installed = set(available_backends())
            others = [name for name in exc.supported_by if name in installed]
            if not others:
                raise
            return run(get_backend(others[0]).name)
