"""Data families of a simulation study: how one scenario's replicates are drawn.

``normal``: theta_ri ~ N(mu, tau^2), y_ri ~ N(theta_ri, v_ri), with the
within-study variances v_ri from a *variance model* (:data:`VARIANCE_MODELS`);
the draw is :func:`metabridge.simulate.draw_normal`, the same as ``simulate()``'s.

``binary``: 2x2 tables.  Per study, both arms have n participants (``arm_n``);
the control arm's risk is ``baseline_risk``; the true log odds ratio is
theta_ri ~ N(mu, tau^2), so the treatment risk is expit(logit(p0) + theta_ri);
events are binomial in each arm.  Inverse-variance methods pool the log odds
ratios y = ln(ad / bc), v = 1/a + 1/b + 1/c + 1/d, where a study with a zero cell
gets ``continuity`` (default 1/2) added to all four cells first -- metafor
escalc()'s default (``add = 1/2, to = "only0"``, ``drop00 = FALSE``), so
double-zero studies are kept, with y = 0 and a large v.  That correction is made
in one place, :func:`log_odds_ratios`, for every engine alike.  Methods on the
tables themselves (MH, PETO, DL-MH; :mod:`.tables`) get the tables as drawn, and
each engine applies its own zero-cell rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .._lazy import lazy_module
from ..errors import InvalidArgumentError
from ..simulate import draw_normal, uniform_variances

special = lazy_module("scipy.special")

if TYPE_CHECKING:
    from .grid import Scenario

FAMILIES = ("normal", "binary")
#: The measure of the binary family's tables: mu and tau^2 are on the log OR scale.
TABLE_MEASURE = "OR"


@dataclass(frozen=True)
class Model:
    """A model that draws one number per study: its parameters and what it draws.

    ``whole``: the parameters are sample sizes (whole, 1 <= low <= high); otherwise
    they are variances (> 0, low < high)."""

    params: tuple[str, ...]
    what: str
    whole: bool = False


#: Within-study variance models of the normal family (grid key ``variance``).
VARIANCE_MODELS: dict[str, Model] = {
    "uniform": Model(("low", "high"), "v ~ Uniform(low, high), per study and replicate"),
    "fixed": Model(("v",), "v is the same for every study"),
    "sample_size": Model(
        ("low", "high"),
        "each study's per-arm n is drawn from the integers low..high and v = 2 / n "
        "(a mean difference between two arms of n with unit SD)", whole=True,
    ),
}
#: Per-arm sample sizes of the binary family (grid key ``arm_n``).
ARM_SIZES: dict[str, Model] = {
    "fixed": Model(("n",), "every arm of every study has n participants", whole=True),
    "uniform": Model(("low", "high"), "each study's per-arm n is drawn from the integers "
                     "low..high", whole=True),
}
_SPEC = re.compile(r"^\s*(?P<name>[a-z_]+)\s*\((?P<args>[^()]*)\)\s*$")


@dataclass(frozen=True)
class Spec:
    """A parsed model spec such as ``uniform(0.01, 0.2)``."""

    name: str
    args: tuple[float, ...]

    def __str__(self) -> str:
        return f"{self.name}({', '.join(_number(a) for a in self.args)})"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def parse_spec(text: object, models: dict[str, Model], key: str) -> Spec:
    """``name(a, b)`` -> :class:`Spec`, checked against ``models``; a bare number is
    ``fixed(number)``."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        text = f"fixed({text})"
    match = _SPEC.match(text) if isinstance(text, str) else None
    if match is None or match["name"] not in models:
        known = "; ".join(f"{n}({', '.join(m.params)})" for n, m in models.items())
        raise InvalidArgumentError(f"{key} = {text!r} is not a model metabridge knows: {known}")
    model = models[match["name"]]
    try:
        args = tuple(float(a) for a in match["args"].split(",")) if match["args"].strip() else ()
    except ValueError:
        raise InvalidArgumentError(f"{key} = {text!r}: the parameters must be numbers") from None
    if len(args) != len(model.params) or not all(np.isfinite(args)):
        names = ", ".join(model.params)
        raise InvalidArgumentError(f"{key} = {text!r}: {match['name']} takes "
                                   f"{len(model.params)} finite number(s) ({names})")
    if model.whole:
        ok = all(a.is_integer() for a in args) and 1 <= args[0] <= args[-1]
        need = "whole numbers with 1 <= low <= high"
    else:
        ok = args[0] > 0 and (len(args) == 1 or args[0] < args[1])
        need = "variances > 0 with low < high"
    if not ok:
        raise InvalidArgumentError(f"{key} = {text!r}: the parameters must be {need}")
    return Spec(match["name"], args)


def variance_model(spec: Spec) -> Callable[[np.random.Generator, int, int], np.ndarray]:
    """The normal family's within-study variances as ``simulate()``'s callable."""
    if spec.name == "uniform":
        return uniform_variances(*spec.args)
    if spec.name == "fixed":
        value = spec.args[0]
        return lambda rng, reps, k: np.full((reps, k), value)
    low, high = (int(a) for a in spec.args)
    return lambda rng, reps, k: 2.0 / rng.integers(low, high, size=(reps, k), endpoint=True)


@dataclass(frozen=True)
class Draw:
    """One scenario's replicates: effects and variances (reps x k), and for 2x2 data the
    tables (reps x k x 4: a, b, c, d = treatment events, non-events, control events,
    non-events) and the zero-cell counts."""

    y: np.ndarray
    v: np.ndarray
    tables: np.ndarray | None = None
    zero_cells: dict[str, int] = field(default_factory=dict)


def draw(scenario: Scenario, rng: np.random.Generator, continuity: float) -> Draw:
    """Replicates of one scenario (its family's keys are set; grid.py checks that)."""
    s = scenario
    if s.family == "normal":
        y, v = draw_normal(rng, s.reps, s.k, s.tau2, s.mu, variance_model(s.variance))
        return Draw(y, v)
    tables = draw_tables(rng, s.reps, s.k, s.tau2, s.mu, s.baseline_risk, s.arm_n)
    y, v = log_odds_ratios(tables, continuity)
    return Draw(y, v, tables, zero_cell_counts(tables))


def draw_tables(rng: np.random.Generator, reps: int, k: int, tau2: float, mu: float,
                baseline_risk: float, arm_n: Spec) -> np.ndarray:
    """2x2 tables, drawn in this order: arm sizes (if drawn), log ORs, control events,
    treatment events."""
    if arm_n.name == "fixed":
        n = np.full((reps, k), int(arm_n.args[0]))
    else:
        n = rng.integers(int(arm_n.args[0]), int(arm_n.args[1]), size=(reps, k), endpoint=True)
    theta = mu + np.sqrt(tau2) * rng.standard_normal((reps, k))
    control = rng.binomial(n, baseline_risk)
    treated = rng.binomial(n, special.expit(special.logit(baseline_risk) + theta))
    return np.stack([treated, n - treated, control, n - control], axis=-1)


def log_odds_ratios(tables: np.ndarray, continuity: float) -> tuple[np.ndarray, np.ndarray]:
    """ln OR and its variance (Woolf) per table; ``continuity`` added to every cell of a
    table with a zero cell (escalc's ``add = 1/2, to = "only0"``)."""
    cells = tables.astype(float)
    cells += np.where((tables == 0).any(axis=-1, keepdims=True), continuity, 0.0)
    a, b, c, d = np.moveaxis(cells, -1, 0)
    return np.log(a * d / (b * c)), (1.0 / cells).sum(axis=-1)


def zero_cell_counts(tables: np.ndarray) -> dict[str, int]:
    """Over all replicates (tables: reps x k x 4): studies with a zero cell; of those, the
    double-zero studies (no events in either arm, or only events: no information on the
    OR) and the single-zero ones (the others: mostly no events in one arm); and the
    replicates with at least one study of each kind."""
    zero = (tables == 0).any(axis=-1)
    a, b, c, d = np.moveaxis(tables, -1, 0)
    double = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    single = zero & ~double
    return {"zero_cell_studies": int(zero.sum()), "single_zero_studies": int(single.sum()),
            "double_zero_studies": int(double.sum()),
            "zero_cell_replicates": int(zero.any(axis=1).sum()),
            "single_zero_replicates": int(single.any(axis=1).sum()),
            "double_zero_replicates": int(double.any(axis=1).sum())}
