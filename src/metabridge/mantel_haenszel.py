"""Mantel-Haenszel and Peto pooling of 2x2 tables, as formulas metabridge can evaluate.

Not an engine: these check each engine's MH and Peto numbers against the equations
that define them (:func:`check_tables`, called by every adapter on the tables it pooled:
a number off its formula is refused), recompute their heterogeneity statistic stably
(``backends.base.assemble``), and apply the documented conventions (``conventions.py``)
to one engine's numbers.  Cells of
table i: a, b (events, non-events, experimental arm), c, d (control arm);
n1 = a + b, n2 = c + d, N = n1 + n2.

- OR (Mantel & Haenszel 1959): OR = sum R / sum S, R = a d / N, S = b c / N; variance
  of ln OR (Robins, Breslow & Greenland 1986), with P = (a + d) / N, Q = (b + c) / N:
  [sum P R / (sum R)^2 + sum (P S + Q R) / (sum R sum S) + sum Q S / (sum S)^2] / 2.
- RR (Greenland & Robins 1985): RR = sum (a n2 / N) / sum (c n1 / N); variance of ln RR
  sum (n1 n2 (a + c) / N^2 - a c / N) / (sum (a n2 / N) sum (c n1 / N)).
- RD: RD = sum ((a n2 - c n1) / N) / sum (n1 n2 / N), with two variances:
  Greenland & Robins 1985 (RevMan 5, Stata ``metan``)
  sum ((a b n2^3 + c d n1^3) / (n1 n2 N^2)) / (sum n1 n2 / N)^2, and
  Sato 1989 (metafor ``rma.mh``, pimeta)
  [RD sum (c (n1/N)^2 - a (n2/N)^2 + (n1/N)(n2/N)(n2 - n1)/2)
  + sum (a (n2 - c) + c (n1 - a)) / (2 N)] / (sum n1 n2 / N)^2.
- Peto (Yusuf et al. 1985): O - E = a - n1 (a + c) / N, V = n1 n2 (a + c)(b + d) /
  (N^2 (N - 1)); ln OR = sum (O - E) / sum V, variance 1 / sum V; per table
  y = (O - E) / V with variance 1 / V.
- Heterogeneity around a pooled estimate theta (RevMan 5; metafor ``rma.mh``):
  Q = sum (y_i - theta)^2 / v_i over the tables with an effect size.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

Cells = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class Pooled(NamedTuple):
    """A pooled estimate (log scale for OR and RR) and its variance."""

    estimate: float
    variance: float


def mh_odds_ratio(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> Pooled:
    """ln OR_MH with the Robins-Breslow-Greenland variance."""
    n = a + b + c + d
    r, s = a * d / n, b * c / n
    p, q = (a + d) / n, (b + c) / n
    sr, ss = r.sum(), s.sum()
    variance = ((p * r).sum() / sr**2 + (p * s + q * r).sum() / (sr * ss)
                + (q * s).sum() / ss**2) / 2
    return Pooled(float(np.log(sr / ss)), float(variance))


def mh_risk_ratio(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> Pooled:
    """ln RR_MH with the Greenland-Robins variance."""
    n1, n2 = a + b, c + d
    n = n1 + n2
    r, s = (a * n2 / n).sum(), (c * n1 / n).sum()
    variance = (n1 * n2 * (a + c) / n**2 - a * c / n).sum() / (r * s)
    return Pooled(float(np.log(r / s)), float(variance))


def mh_risk_difference(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, variance: str = "sato"
) -> Pooled:
    """RD_MH with the Sato (``variance="sato"``) or Greenland-Robins ("greenland-robins")
    variance."""
    n1, n2 = a + b, c + d
    n = n1 + n2
    weight = (n1 * n2 / n).sum()
    rd = ((a * n2 - c * n1) / n).sum() / weight
    if variance == "greenland-robins":
        v = ((a * b * n2**3 + c * d * n1**3) / (n1 * n2 * n**2)).sum() / weight**2
    else:
        p1, p2 = n1 / n, n2 / n
        v = (rd * (c * p1**2 - a * p2**2 + p1 * p2 * (n2 - n1) / 2).sum()
             + ((a * (n2 - c) + c * (n1 - a)) / (2 * n)).sum()) / weight**2
    return Pooled(float(rd), float(v))


def peto_terms(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(O - E, V) per table."""
    n1, n2 = a + b, c + d
    n = n1 + n2
    return a - n1 * (a + c) / n, n1 * n2 * (a + c) * (b + d) / (n**2 * (n - 1))


def peto(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> Pooled:
    """Peto's one-step ln OR and its variance 1 / sum V."""
    o_e, v = peto_terms(a, b, c, d)
    return Pooled(float(o_e.sum() / v.sum()), float(1 / v.sum()))


def peto_effects(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-table one-step ln OR (O - E) / V and variance 1 / V (NaN where V = 0)."""
    o_e, v = peto_terms(a, b, c, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(v > 0, o_e / v, np.nan), np.where(v > 0, 1 / v, np.nan)


def q_around(estimate: float, yi: np.ndarray, vi: np.ndarray) -> float:
    """Q = sum (y_i - theta)^2 / v_i over the tables with an effect size (stable: two pass)."""
    used = np.isfinite(yi) & np.isfinite(vi)
    return float((((yi[used] - estimate) ** 2) / vi[used]).sum())


POOLERS = {
    ("MH", "OR"): mh_odds_ratio,
    ("MH", "RR"): mh_risk_ratio,
    ("MH", "RD"): mh_risk_difference,
    ("PETO", "OR"): peto,
}
#: The fixed-effect analysis each method on tables starts from (RevMan's DL-MH: MH).
FIXED_PART = {"MH": "MH", "PETO": "PETO", "DL-MH": "MH"}


def dl_tau2_from_q(q: float, vi: np.ndarray) -> float:
    """DerSimonian-Laird tau^2 = max(0, (Q - df) / (sum w - sum w^2 / sum w)), w = 1 / v,
    over the tables with an effect size (df = their number - 1)."""
    w = 1 / vi[np.isfinite(vi)]
    return max(0.0, (q - (len(w) - 1)) / (w.sum() - (w**2).sum() / w.sum()))


def undefined_reason(method: str, measure: str, cells: Cells) -> str | None:
    """Why ``method`` (MH or PETO) has no finite estimate with a positive variance on these
    tables (counts as they are), or None when it has one."""
    a, b, c, d = cells
    n = a + b + c + d
    if method == "PETO":
        if peto_terms(a, b, c, d)[1].sum() > 0:
            return None
        return "no table has both events and non-events (sum of V = 0)"
    sums = {"OR": ((a * d / n).sum(), (b * c / n).sum()),
            "RR": ((a * (c + d) / n).sum(), (c * (a + b) / n).sum())}
    if measure in sums:
        top, bottom = sums[measure]
        if top == 0:
            return (f"the {measure} is 0: no table has events in the experimental arm"
                    + (" with non-events in the control arm" if measure == "OR" else ""))
        if bottom == 0:
            return (f"the {measure} is infinite: no table has events in the control arm"
                    + (" with non-events in the experimental arm" if measure == "OR" else ""))
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = mh_risk_difference(a, b, c, d).variance
    if np.isfinite(variance) and variance > 0:
        return None
    return "every arm has no events or only events, so the risk difference has no variance"


#: Largest gap between an engine's MH or Peto estimate (relative to |estimate| + SE) or
#: variance (relative) and the defining formula on the tables it pooled: the same closed
#: form over k tables evaluated in another order agrees to ~k ulp.
FORMULA_RTOL = 1e-9


def check_tables(
    engine: str, method: str, measure: str, cells: Cells, estimate: float,
    variance: float | None, rd_variance: str = "sato",
) -> None:
    """Refuse (EngineError) an engine's MH or Peto estimate, or its variance, that is not
    what the defining formula (module docstring) gives on the tables the engine pooled
    (``cells``: the counts after the engine's own zero-cell rule)."""
    from .errors import EngineError

    with np.errstate(divide="ignore", invalid="ignore"):
        if (method, measure) == ("MH", "RD"):
            pooled = mh_risk_difference(*cells, variance=rd_variance)
        else:
            pooled = POOLERS[(method, measure)](*cells)
    scale = abs(pooled.estimate) + math.sqrt(abs(pooled.variance))
    checks = [("estimate", estimate, pooled.estimate, scale)]
    if variance is not None:
        checks.append(("variance", variance, pooled.variance, abs(pooled.variance)))
    for name, got, want, size in checks:
        if not abs(got - want) <= FORMULA_RTOL * size:
            raise EngineError(engine, (
                f"its {method} {measure} {name} {got!r} is not the {method} formula's {want!r} "
                "on the tables it pooled; metabridge does not pass it on"))
