"""How every reported statistic follows from a result's core numbers.

A pooled result has four *core* numbers, each checked against the data by the
sanity layer: the estimate, its SE, tau^2 and Q.  Everything else an engine
reports (CI, z, P, prediction interval, Q's P value, I^2, H^2) is a function of
those, the level and the test.  :data:`STANDARD` holds metabridge's definitions;
an engine convention that reports a statistic differently names its own recipe
(``Convention.recipes``), and that recipe is the *claim* the convention makes:
the sanity layer checks each engine's reported value against the recipe of the
conventions attached to the result, and :meth:`Comparison.differences` accepts a
convention as the explanation of a gap only when the recipes reproduce both
engines' values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import heterogeneity as het


@dataclass(frozen=True)
class Core:
    """The numbers every reported statistic is computed from."""

    estimate: float
    se: float
    tau2: float
    q: float
    k: int
    level: float
    test_df: float
    #: Typical within-study variance s^2 (Higgins & Thompson 2002).
    s2: float

    @property
    def df(self) -> int:
        return self.k - 1


Recipe = Callable[[Core], float]


def _ci(sign: float) -> Recipe:
    return lambda c: c.estimate + sign * het.critical_value(c.level, c.test_df) * c.se


def _pi(index: int) -> Recipe:
    return lambda c: het.prediction_interval(c.estimate, c.se, c.tau2, c.level, c.test_df)[index]


def _ci_196(sign: float) -> Recipe:
    return lambda c: c.estimate + sign * 1.96 * c.se


def _i2_from_tau2(c: Core) -> float:
    return 100.0 * c.tau2 / (c.tau2 + c.s2) if c.df > 0 else math.nan


def _h2_from_tau2(c: Core) -> float:
    return (c.tau2 + c.s2) / c.s2 if c.df > 0 else math.nan


def _h2_at_least_1(c: Core) -> float:
    return max(1.0, het.h2_from_q(c.q, c.df)) if c.df > 0 else math.nan


#: metabridge's definition of each reported statistic (the harmonised view).
STANDARD: Mapping[str, Recipe] = {
    "ci_low": _ci(-1.0),
    "ci_high": _ci(1.0),
    "z": lambda c: c.estimate / c.se,
    "p": lambda c: het.test_pvalue(c.estimate / c.se, c.test_df),
    "pi_low": _pi(0),
    "pi_high": _pi(1),
    "q_p": lambda c: het.q_pvalue(c.q, c.df),
    "i2": lambda c: het.i2_from_q(c.q, c.df),
    "h2": lambda c: het.h2_from_q(c.q, c.df),
}

#: Recipes an engine convention may name (see ``conventions.CONVENTIONS``).
RECIPES: Mapping[str, Recipe] = {
    **{f"standard_{name}": recipe for name, recipe in STANDARD.items()},
    "ci_low_196": _ci_196(-1.0),
    "ci_high_196": _ci_196(1.0),
    "i2_from_tau2": _i2_from_tau2,
    "h2_from_tau2": _h2_from_tau2,
    "h2_at_least_1": _h2_at_least_1,
}

REPORTED = tuple(STANDARD)
