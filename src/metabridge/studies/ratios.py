"""Ratio input (HR, OR, RR, IRR): a ratio with its CI, or with its two-sided P value.

Cochrane Handbook v6.4, section 6.3: SE(ln ratio) = (ln U - ln L) / divisor, and from a
two-sided P value SE = |ln ratio| / z_{1 - P/2} (see :mod:`metabridge.conversions`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..conversions import SeRule, log_se_from_ci, log_se_from_p
from .checks import Effects, require, vector


def from_ci(
    ratio: Any, lower: Any, upper: Any, labels: tuple[str, ...], level: float, se_rule: SeRule
) -> Effects:
    """(ln ratio, variance, reported columns) from ratios with CIs."""
    est = vector(ratio, "ratio", labels)
    lo = vector(lower, "lower", labels)
    hi = vector(upper, "upper", labels)
    for field, arr in (("ratio", est), ("lower", lo), ("upper", hi)):
        require(arr <= 0, labels, field, lambda i, a=arr: f"a ratio must be > 0, got {float(a[i])}")

    def ci(i: int) -> str:
        return f"({float(lo[i])} to {float(hi[i])})"

    require(
        lo > hi, labels, "lower",
        lambda i: f"lower CI bound {float(lo[i])} is above the upper bound {float(hi[i])}",
    )
    require(
        lo == hi, labels, "upper",
        lambda i: f"the CI has zero width {ci(i)}; no SE can be derived",
    )
    require(
        (est < lo) | (est > hi), labels, "ratio",
        lambda i: f"estimate {float(est[i])} lies outside its CI {ci(i)}",
    )
    se = log_se_from_ci(lo, hi, level, se_rule)
    return np.log(est), se**2, {"ratio": est, "lower": lo, "upper": hi}


def from_p(ratio: Any, p: Any, labels: tuple[str, ...]) -> Effects:
    """(ln ratio, variance, reported columns) from ratios with two-sided P values."""
    est = vector(ratio, "ratio", labels)
    pv = vector(p, "p", labels)
    require(est <= 0, labels, "ratio", lambda i: f"a ratio must be > 0, got {float(est[i])}")
    require(
        (pv <= 0) | (pv >= 1), labels, "p",
        lambda i: f"P must be strictly between 0 and 1 to give an SE, got {float(pv[i])}",
    )
    require(
        est == 1, labels, "ratio",
        lambda i: "a ratio of exactly 1 gives SE = 0 from its P value; report a CI instead",
    )
    se = log_se_from_p(est, pv)
    return np.log(est), se**2, {"ratio": est, "p": pv}
