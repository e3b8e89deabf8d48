"""Generic inverse-variance input: effects with their SEs or variances."""

from __future__ import annotations

from typing import Any

import numpy as np

from .checks import Effects, check_representable, require, vector


def effects_and_variances(
    yi: Any, labels: tuple[str, ...], sei: Any = None, vi: Any = None
) -> Effects:
    """(yi, vi, no reported inputs) from effects and one of ``sei`` (SE) or ``vi`` (variance)."""
    y = vector(yi, "yi", labels)
    if sei is not None:
        se = vector(sei, "sei", labels)
        require(se <= 0, labels, "sei", lambda i: f"SE must be > 0, got {float(se[i])}")
        with np.errstate(over="ignore", under="ignore"):
            var = se**2
        require(
            ~np.isfinite(var) | (var <= 0), labels, "sei",
            lambda i: f"SE {float(se[i]):.3g} squared is {float(var[i])} in double precision; "
            "the variance must be finite and > 0 (rescale the effects, e.g. change units)",
        )
        check_representable(y, var, labels, "sei")
        return y, var, {}
    var = vector(vi, "vi", labels)
    require(var <= 0, labels, "vi", lambda i: f"variance must be > 0, got {float(var[i])}")
    check_representable(y, var, labels, "vi")
    return y, var, {}
