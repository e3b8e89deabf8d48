"""Conventions of the data undone: a result recomputed under metafor's convention.

:meth:`PoolResult.harmonised` calls these for the conventions rows that name one
(``Convention.realign``).  A Mantel-Haenszel or Peto result is recomputed from the
counts as metafor's ``rma.mh()`` / ``rma.peto()`` compute it (the formulas of
:mod:`metabridge.mantel_haenszel`: counts as they are, Sato's RD variance, Q over the
escalc() effects without double-zero tables); the engine's own values stay in
``extra``.  An inverse-variance result cannot be recomputed without its engine: pool
``studies.effects_only()`` (what ``compare(harmonise=True)`` does) instead.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import mantel_haenszel as mh
from .errors import InvalidArgumentError
from .methods import METHODS

if TYPE_CHECKING:
    from .result import PoolResult
    from .studies import StudySet


def as_metafor(result: PoolResult, studies: StudySet) -> dict[str, Any]:
    """The fields of ``result`` that its data conventions change, as metafor has them."""
    if METHODS[result.method].needs is None:
        raise InvalidArgumentError(
            f"{result.backend} computed its own effect sizes ({', '.join(result.conventions)}): "
            "to compare under one convention, pool studies.effects_only() (as "
            "compare(harmonise=True) does)"
        )
    counts = studies.counts
    if counts is None or studies.labels != result.labels:
        raise InvalidArgumentError("harmonised(studies) needs the 2x2 counts the result pooled")
    cells = counts.cells()
    pooled = mh.POOLERS[(mh.FIXED_PART[result.method], result.measure)](*cells)
    if result.method == "PETO":
        yi, vi = mh.peto_effects(*cells)
    else:
        left_out = counts.double_zero()
        yi, vi = np.where(left_out, np.nan, studies.yi), np.where(left_out, np.nan, studies.vi)
    q = mh.q_around(pooled.estimate, yi, vi)
    out = {
        "estimate": pooled.estimate, "se": math.sqrt(pooled.variance), "q": q,
        "q_df": int(np.isfinite(yi).sum()) - 1,
        "study_yi": tuple(yi.tolist()), "study_vi": tuple(vi.tolist()),
    }
    if result.method == "DL-MH":  # RevMan's random effects: DL tau^2 from the MH Q
        tau2 = mh.dl_tau2_from_q(q, vi)
        used = np.isfinite(yi)
        w = 1 / (vi[used] + tau2)
        out |= {"tau2": tau2, "estimate": float((w * yi[used]).sum() / w.sum()),
                "se": float(1 / np.sqrt(w.sum()))}
    return out
