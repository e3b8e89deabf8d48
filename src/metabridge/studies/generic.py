"""Generic inverse-variance input: effects with their SEs or variances."""

from __future__ import annotations

from typing import Any

import numpy as np

from .checks import Effects, require, vector


def effects_and_variances(
    yi: Any, labels: tuple[str, ...], sei: Any = None, vi: Any = None
) -> Effects:
    """(yi, vi, no reported inputs) from effects and one of ``sei`` (SE) or ``vi`` (variance)."""
    y = vector(yi, "yi", labels)
    if sei is not None:
        se = vector(sei, "sei", labels)
        require(se <= 0, labels, "sei", lambda i: f"SE must be > 0, got {float(se[i])}")
        with np.errstate(over="ignore"):  # an overflow is caught by StudySet._build
            return y, se**2, {}
    var = vector(vi, "vi", labels)
    require(var <= 0, labels, "vi", lambda i: f"variance must be > 0, got {float(var[i])}")
    return y, var, {}
