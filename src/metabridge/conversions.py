"""Standard errors on the log scale from reported ratios, CIs and P values.

Cochrane Handbook for Systematic Reviews of Interventions, v6.4, section 6.3
("Extracting estimates of effect directly"): for a ratio measure with a
100(1 - alpha)% CI (L, U),

    SE(ln ratio) = (ln U - ln L) / (2 * z_{1 - alpha/2})

and from a two-sided P value,  SE = |ln ratio| / z_{1 - P/2}.

RevMan 5 and the Handbook divide by a rounded constant (3.92 for 95% CIs,
3.29 for 90%, 5.15 for 99%); ``se_rule="revman"`` reproduces that, and
``se_rule="exact"`` uses the exact normal quantile (2 * 1.959964 for 95%).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ._lazy import lazy_module
from .errors import InvalidArgumentError

special = lazy_module("scipy.special")

SeRule = Literal["exact", "revman"]

#: Divisors RevMan 5 / the Cochrane Handbook use for (ln U - ln L).
REVMAN_DIVISORS: dict[float, float] = {0.90: 3.29, 0.95: 3.92, 0.99: 5.15}


def check_level(level: float) -> float:
    """Return ``level`` as float if it is a confidence level in (0, 1), else raise."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"level must be a number in (0, 1), got {level!r}") from None
    if not 0.0 < value < 1.0:
        hint = f" (did you mean {value / 100:g}?)" if 1.0 < value < 100.0 else ""
        raise InvalidArgumentError(f"level must be in (0, 1), got {level!r}{hint}")
    return value


def normal_quantile(level: float) -> float:
    """Two-sided critical value z_{1 - alpha/2} of the standard normal."""
    return float(-special.ndtri((1.0 - check_level(level)) / 2.0))  # lower tail: exact


def ci_divisor(level: float, se_rule: SeRule) -> float:
    """Width of the CI in SE units: 2 z_{1-alpha/2} (exact) or RevMan's constant."""
    level = check_level(level)
    if se_rule == "exact":
        return 2.0 * normal_quantile(level)
    if se_rule == "revman":
        for known, divisor in REVMAN_DIVISORS.items():
            if abs(level - known) < 1e-12:
                return divisor
        levels = ", ".join(f"{lv:g}" for lv in REVMAN_DIVISORS)
        raise InvalidArgumentError(
            f"se_rule='revman' has constants only for levels {levels}; got level={level:g} "
            "(use se_rule='exact' for other levels)"
        )
    raise InvalidArgumentError(f"se_rule must be 'exact' or 'revman', got {se_rule!r}")


def log_se_from_ci(
    lower: np.ndarray, upper: np.ndarray, level: float = 0.95, se_rule: SeRule = "exact"
) -> np.ndarray:
    """SE of the log ratio from CI bounds: (ln U - ln L) / divisor."""
    return (np.log(upper) - np.log(lower)) / ci_divisor(level, se_rule)


def log_se_from_p(ratio: np.ndarray, p: np.ndarray) -> np.ndarray:
    """SE of the log ratio from a two-sided P value: |ln ratio| / z_{1 - p/2}."""
    return np.abs(np.log(ratio)) / -special.ndtri(np.asarray(p) / 2.0)  # = norm.isf(p / 2)
