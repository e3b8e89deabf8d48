"""What the figures (and the report's tables) share: colours, ticks, study intervals,
literal text and the check of a figure's arguments."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import ParamSpec

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..analyses.types import SubgroupAnalysis
from ..conversions import normal_quantile
from ..errors import InvalidArgumentError
from ..facade import check_studyset
from ..result import PoolResult
from ..studies import MEASURES, RATIO_MEASURES, StudySet

_P = ParamSpec("_P")

SQUARE = "#2c5f8a"
DIAMOND = "#111111"


def log_ticks(low: float, high: float) -> list[float]:
    candidates = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
    inside = [t for t in candidates if low <= t <= high]
    return inside if 1 in inside else sorted({*inside, 1})


def literal_text(draw: Callable[_P, Figure]) -> Callable[_P, Figure]:
    """Build the figure with mathtext off: every label is drawn as the user wrote it."""

    @functools.wraps(draw)
    def drawn(*args: _P.args, **kwargs: _P.kwargs) -> Figure:
        with matplotlib.rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

    return drawn


def check_figure_inputs(
    studies: StudySet, result: PoolResult, subgroups: SubgroupAnalysis | None = None
) -> None:
    """The figure's arguments fit together, else InvalidArgumentError naming the argument."""
    check_studyset(studies)
    if not isinstance(result, PoolResult):
        raise InvalidArgumentError(
            f"the pooled result must be a PoolResult (from mb.pool), got {type(result).__name__}")
    if tuple(result.labels) != tuple(studies.labels):
        raise InvalidArgumentError("the pooled result must be the pooled result of these studies")
    if subgroups is None:
        return
    if not isinstance(subgroups, SubgroupAnalysis):
        raise InvalidArgumentError(
            f"subgroups must be a SubgroupAnalysis (from mb.subgroups), got "
            f"{type(subgroups).__name__}")
    groups = {str(g) for g in studies.groupby(subgroups.by)}
    failed = {str(name) for name, _ in subgroups.failures}
    if set(subgroups.groups) | failed != groups:
        raise InvalidArgumentError(
            f"subgroups must be mb.subgroups(studies, {subgroups.by!r}, tau2='separate') of "
            f"these studies (groups {sorted(groups)}), got groups {sorted(subgroups.groups)}")


def pooled_center(result: PoolResult) -> float:
    return math.exp(result.estimate) if result.measure in RATIO_MEASURES \
        else result.estimate


def study_intervals(studies: StudySet, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each study's effect and CI as shown: the reported ratio and CI where the data hold
    them, else y -/+ z se (exponentiated for ratio measures)."""
    if studies.is_ratio and {"ratio", "lower", "upper"} <= set(studies.covariates.columns):
        reported = studies.covariates[["ratio", "lower", "upper"]].to_numpy(dtype=float)
        return reported[:, 0], reported[:, 1], reported[:, 2]
    half = normal_quantile(level) * studies.sei
    values = (studies.yi, studies.yi - half, studies.yi + half)
    return tuple(np.exp(v) if studies.is_ratio else v for v in values)  # type: ignore[return-value]


def readable(column: str) -> str:
    """A column name as a heading: 'cutoff_group' -> 'Cutoff group'."""
    words = str(column).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def measure_name(measure: str) -> str:
    """'HR' -> 'Hazard ratio' (the measure's own name where metabridge has none)."""
    name = MEASURES.get(measure, measure)
    return name[:1].upper() + name[1:]
