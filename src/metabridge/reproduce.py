"""Reproduce Cheng & Song 2025 on every engine and check each published number.

The published numbers live in ``validation/targets.toml`` (with citation and
printed precision).  Every computed value comes from the engines through the
facade verbs; nothing published is copied into an output.  A computed number
PASSes when it rounds half away from zero to the published value at the printed
number of decimals (or is below a printed bound such as "P < 0.001").
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from . import datasets
from ._resources import targets_file
from .analyses.suite import AnalysisSuite
from .backends import split_requested
from .errors import MetabridgeError
from .formatting import aligned, p_value

#: Pooling method and conventions of the paper (RevMan 5 DerSimonian-Laird).
PAPER_METHOD = "DL"


@dataclass(frozen=True)
class Target:
    """One published number: where it is, its printed value and precision."""

    outcome: str
    analysis: str
    quantity: str
    value: float
    decimals: int
    where: str
    by: str | None = None
    bound: str | None = None

    @property
    def name(self) -> str:
        by = f"[{self.by}]" if self.by else ""
        return f"{self.outcome} {self.analysis}{by} {self.quantity}"

    @property
    def printed(self) -> str:
        text = f"{self.value:.{self.decimals}f}"
        return f"< {text}" if self.bound == "below" else text

    def check(self, computed: float) -> bool:
        """PASS if ``computed`` rounds to the printed value (or is below the bound)."""
        if computed is None or math.isnan(computed):
            return False
        if self.bound == "below":
            return computed < self.value
        return round_half_up(computed, self.decimals) == Decimal(self.printed)


def round_half_up(value: float, decimals: int) -> Decimal:
    """Round as printed tables do: half away from zero, from the shortest repr."""
    quantum = Decimal(1).scaleb(-decimals)
    return Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP)


def load_targets(path: str | Path | None = None) -> tuple[dict[str, Any], tuple[Target, ...]]:
    """(source table, targets) from targets.toml."""
    with open(path or targets_file(), "rb") as handle:
        data = tomllib.load(handle)
    return data["source"], tuple(Target(**row) for row in data["target"])


@dataclass(frozen=True)
class Computed:
    """One computed value for a target on one engine, and how it was obtained."""

    value: float
    how: str
    error: str = ""


#: The paper's analyses by the names targets.toml uses: (suite, by) -> result.
ANALYSES: dict[str, Callable[[AnalysisSuite, str | None], Any]] = {
    "pooled": lambda suite, by: suite.pooled(),
    "loo": lambda suite, by: suite.leave_one_out(),
    "exclusion": lambda suite, by: suite.exclude([datasets.UNIVARIATE_STUDY]),
    "subgroup": lambda suite, by: suite.subgroups(str(by), "separate"),
    "subgroup_common": lambda suite, by: suite.subgroups(str(by), "common"),
    "egger": lambda suite, by: suite.egger("classic"),
}


def paper_suite(outcome: str, backend: str) -> AnalysisSuite:
    """The analyses of one outcome of the paper on one engine, with the paper's method."""
    return AnalysisSuite(datasets.ferritin_car_t(outcome), PAPER_METHOD, backend)


def run_analysis(suite: AnalysisSuite, analysis: str, by: str | None = None) -> Any:
    """One of the paper's analyses (a name of :data:`ANALYSES`) from the suite's cache."""
    if analysis not in ANALYSES:
        raise MetabridgeError(f"unknown analysis {analysis!r} in targets")
    return ANALYSES[analysis](suite, by)


def _pooled_value(result: Any, quantity: str) -> float:
    ratio = result.exp()
    return {
        "hr": ratio.estimate, "ci_low": ratio.ci_low, "ci_high": ratio.ci_high,
        "i2": result.i2, "p": result.p,
    }[quantity]


_EXTRACT: dict[str, Callable[[Any, str], tuple[float, str]]] = {
    "pooled": lambda r, q: (_pooled_value(r, q), _how_pool(r, q)),
    "exclusion": lambda r, q: (_pooled_value(r, q), _how_pool(r, q)),
    "loo": lambda r, q: (
        math.exp(r.estimate_range()[0 if q == "hr_min" else 1]), r.how,
    ),
    "subgroup": lambda r, q: (r.p, r.how),
    "egger": lambda r, q: (r.p, r.how),
}


def _how_pool(result: Any, quantity: str) -> str:
    field_name = {"hr": "estimate", "ci_low": "ci_low", "ci_high": "ci_high"}.get(
        quantity, quantity
    )
    if field_name in result.derived:
        return f"{field_name} computed by metabridge from {result.backend}'s output"
    return f"{result.backend} native"


def compute(target: Target, suite: AnalysisSuite) -> Computed:
    """The engine's value for one target (or the reason it has none)."""
    try:
        result = run_analysis(suite, target.analysis, target.by)
        value, how = _EXTRACT[target.analysis](result, target.quantity)
    except MetabridgeError as exc:
        return Computed(float("nan"), "", error=str(exc))
    return Computed(float(value), how)


@dataclass(frozen=True)
class Reproduction:
    """Published vs computed for every target on every engine."""

    source: dict[str, Any]
    targets: tuple[Target, ...]
    backends: tuple[str, ...]
    values: dict[tuple[int, str], Computed]
    missing: dict[str, str]
    runs: dict[tuple[str, str], AnalysisSuite] = field(default_factory=dict)

    def analysis(self, backend: str, outcome: str, analysis: str, by: str | None = None) -> Any:
        """The (cached) analysis object behind the targets, e.g. a PoolResult."""
        return run_analysis(self.runs[(backend, outcome)], analysis, by)

    def status(self, index: int, backend: str) -> str:
        computed = self.values[(index, backend)]
        if computed.error:
            return "FAIL"
        return "PASS" if self.targets[index].check(computed.value) else "FAIL"

    @property
    def failures(self) -> list[tuple[Target, str, Computed]]:
        return [
            (t, b, self.values[(i, b)])
            for i, t in enumerate(self.targets) for b in self.backends
            if self.status(i, b) == "FAIL"
        ]

    @property
    def passed(self) -> bool:
        return not self.failures and bool(self.backends)

    def frame(self) -> pd.DataFrame:
        """Long table: one row per (target, engine)."""
        rows = []
        for i, t in enumerate(self.targets):
            for b in self.backends:
                c = self.values[(i, b)]
                rows.append({
                    "outcome": t.outcome, "analysis": t.analysis, "by": t.by or "",
                    "quantity": t.quantity, "published": t.printed, "decimals": t.decimals,
                    "where": t.where, "backend": b, "computed": c.value,
                    "computed_rounded": _shown(t, c), "status": self.status(i, b),
                    "how": c.how, "error": c.error,
                })
        return pd.DataFrame(rows)

    def table(self) -> str:
        """The published-vs-computed table as printed by ``metabridge reproduce``."""
        head = ["target", "published", *self.backends]
        rows = [head]
        for i, t in enumerate(self.targets):
            cells = [f"{_shown(t, self.values[(i, b)])} {self.status(i, b)}"
                     for b in self.backends]
            rows.append([t.name, t.printed, *cells])
        return aligned(rows)

    def summary(self) -> str:
        n = len(self.targets) * len(self.backends)
        bad = self.failures
        lines = [f"{n - len(bad)}/{n} checks PASS on {', '.join(self.backends) or 'no engine'}."]
        for t, b, c in bad:
            reason = c.error or f"computed {c.value:.6g}, published {t.printed}"
            lines.append(f"FAIL {t.name} on {b}: {reason}")
        for name, reason in self.missing.items():
            lines.append(f"MISSING engine {name}: {reason}")
        return "\n".join(lines)


def _shown(target: Target, computed: Computed) -> str:
    if computed.error:
        return "n/a"
    if target.bound == "below":
        return p_value(computed.value) if target.quantity == "p" else f"{computed.value:.2g}"
    return str(round_half_up(computed.value, target.decimals))


def reproduce(
    backends: Iterable[str] | None = None, targets_path: str | Path | None = None
) -> Reproduction:
    """Run every published analysis on every requested (default: installed) engine."""
    source, targets = load_targets(targets_path)
    usable, missing = split_requested(backends)
    values = {}
    runs = {(b, o): paper_suite(o, b) for b in usable for o in datasets.OUTCOMES}
    for backend in usable:
        for i, target in enumerate(targets):
            values[(i, backend)] = compute(target, runs[(backend, target.outcome)])
    return Reproduction(source, targets, usable, values, missing, runs)
