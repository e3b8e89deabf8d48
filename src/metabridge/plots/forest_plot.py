"""Forest plot in RevMan 5's layout: study, weight, effect [CI], squares and diamonds."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import FixedLocator, NullLocator
from matplotlib.transforms import Transform, blended_transform_factory

from ..analyses.types import SubgroupAnalysis
from ..errors import InvalidArgumentError
from ..formatting import format_p
from ..result import PoolResult
from ..studies import RATIO_MEASURES, StudySet
from .common import (
    DIAMOND,
    SQUARE,
    check_figure_inputs,
    literal_text,
    log_ticks,
    measure_name,
    pooled_center,
    readable,
    study_intervals,
)

#: RevMan 5's default "favours" labels (left, right of the line of no effect).
FAVOURS = ("Favours [experimental]", "Favours [control]")
#: Layout in inches: row height, margins, column widths, plot width.
_ROW, _TOP, _BOTTOM, _LEFT = 0.27, 0.55, 0.95, 0.15
_WEIGHT_W, _CI_W, _GAP, _PLOT_W, _RIGHT = 0.75, 1.75, 0.3, 3.8, 0.35
_CHAR = 9 * 0.58 / 72  # inches per character of 9 pt DejaVu Sans (average width)


@dataclass(frozen=True)
class _Row:
    kind: str  # "header", "study", "pooled", "text", "blank"
    label: str = ""
    weight: str = ""
    ci_text: str = ""
    estimate: float = math.nan
    low: float = math.nan
    high: float = math.nan
    size: float = 0.0
    bold: bool = False


#: RevMan's names of the pooling methods in a forest plot's column header.
REVMAN_METHOD_NAMES = {"MH": "M-H", "DL-MH": "M-H", "PETO": "Peto"}


def _fmt_ratio(result_or_values: tuple[float, float, float]) -> str:
    est, lo, hi = result_or_values
    return f"{est:.2f} [{lo:.2f}, {hi:.2f}]"


def _heterogeneity_line(result: PoolResult) -> str:
    if result.k < 2:
        return "Heterogeneity: not applicable"
    tau = f"Tau\u00b2 = {result.tau2:.2f}; " if result.random_effects else ""
    return (f"Heterogeneity: {tau}Chi\u00b2 = {result.q:.2f}, df = {result.q_df} "
            f"({format_p(result.q_p)}); I\u00b2 = {result.i2:.0f}%")


def _overall_line(result: PoolResult) -> str:
    stat = "Z" if result.test == "z" else f"t({result.test_df:g})"
    return f"Test for overall effect: {stat} = {abs(result.z):.2f} ({format_p(result.p)})"


def _study_rows(studies: StudySet, weights: Mapping[str, float], level: float) -> list[_Row]:
    rows = []
    for label, est, lo, hi in zip(studies.labels, *study_intervals(studies, level), strict=True):
        w = weights.get(label, math.nan)
        rows.append(_Row("study", label, f"{w:.1f}%", _fmt_ratio((est, lo, hi)), est, lo, hi, w))
    return rows


def _pooled_row(result: PoolResult, label: str, weight: float) -> _Row:
    if result.measure in RATIO_MEASURES:
        view = result.exp()
        values = (view.estimate, view.ci_low, view.ci_high)
    else:
        values = (result.estimate, result.ci_low, result.ci_high)
    return _Row("pooled", label, f"{weight:.1f}%", _fmt_ratio(values), *values, bold=True)


def _subgroup_test_line(subgroups: SubgroupAnalysis) -> str:
    rule = ("separate tau\u00b2 per subgroup" if subgroups.tau2_rule == "separate"
            else "common tau\u00b2")
    return (f"Test for subgroup differences: Chi\u00b2 = {subgroups.q_between:.2f}, "
            f"df = {subgroups.df} ({format_p(subgroups.p)}); {rule}")


def _layout(
    studies: StudySet, overall: PoolResult, subgroups: SubgroupAnalysis | None,
    group_label: str,
) -> list[_Row]:
    pct = f"{overall.level * 100:g}% CI"
    rows: list[_Row] = []
    if subgroups is None:
        weights = dict(zip(overall.labels, overall.weights, strict=True))
        rows += _study_rows(studies, weights, overall.level)
        rows.append(_Row("blank"))
    else:
        weights = subgroups.study_weights()
        for name, part in studies.groupby(subgroups.by).items():
            result = subgroups.groups[str(name)]
            rows.append(_Row("header", f"{group_label}: {name}", bold=True))
            rows += _study_rows(part, weights, overall.level)
            subtotal = sum(weights[label] for label in part.labels)
            rows.append(_pooled_row(result, f"Subtotal ({pct})", subtotal))
            rows.append(_Row("text", _heterogeneity_line(result)))
            rows.append(_Row("text", _overall_line(result)))
            rows.append(_Row("blank"))
    rows.append(_pooled_row(overall, f"Total ({pct})", 100.0))
    rows.append(_Row("text", _heterogeneity_line(overall)))
    rows.append(_Row("text", _overall_line(overall)))
    if subgroups is not None:
        rows.append(_Row("text", _subgroup_test_line(subgroups)))
    return rows


#: What the weight column of a subgroup forest plot shows.
WEIGHTS_NOTE = ("Weights: each study's weight in its own subgroup's fit (the fit that draws the "
                "subtotal diamond), times the subgroup's share of 1/SE\u00b2 in the test for "
                "subgroup differences; the Total diamond is one fit of all studies.")


def default_title(overall: PoolResult) -> str:
    """'Hazard ratio, random effects (DL), metafor' -- measure, model and engine."""
    model = f"random effects ({overall.method})" if overall.random_effects else "fixed effect"
    test = "" if overall.test == "z" else f", {overall.test} test"
    return f"{measure_name(overall.measure)}, {model}{test}; engine: {overall.backend}"


@literal_text
def forest(
    studies: StudySet,
    overall: PoolResult,
    subgroups: SubgroupAnalysis | None = None,
    *,
    title: str | None = None,
    favours: tuple[str, str] = FAVOURS,
    effect_label: str | None = None,
    xlabel: str | None = None,
    group_label: str | None = None,
) -> Figure:
    """Forest plot of ``studies`` with the pooled ``overall`` result (and subgroups).

    ``title`` defaults to the measure, model and engine ("" for none); ``favours``
    labels the two sides of the line of no effect (RevMan's defaults); ``xlabel``
    defaults to the measure's name; ``group_label`` heads each subgroup block
    (default: the column name made readable).  In a subgroup plot each study's
    weight is its weight in the fit that drew its subgroup's diamond
    (:meth:`SubgroupAnalysis.study_weights`); the plot says so.
    """
    check_figure_inputs(studies, overall, subgroups)
    if isinstance(favours, str) or not isinstance(favours, Sequence) or len(favours) != 2:
        raise InvalidArgumentError(f"favours needs two labels (left, right), got {favours!r}")
    heading = group_label or (readable(subgroups.by) if subgroups is not None else "")
    rows = _layout(studies, overall, subgroups, heading)
    longest = max((len(r.label) for r in rows if r.kind != "text"), default=10)
    label_w = max(2.2, longest * _CHAR + 0.2)
    weight_x = _LEFT + label_w + _WEIGHT_W
    ci_x = weight_x + _CI_W
    plot_x = ci_x + _GAP
    width = plot_x + _PLOT_W + _RIGHT
    if subgroups is not None:
        per_line = int((width - 2 * _LEFT) / (_CHAR * 8 / 9))
        rows += [_Row("text", line) for line in textwrap.wrap(WEIGHTS_NOTE, per_line)]
    n = len(rows) + 1
    title = default_title(overall) if title is None else title
    title_lines = textwrap.wrap(title, int(width / (_CHAR * 11 / 9 * 1.12))) if title else []
    top = _TOP + 0.2 * max(0, len(title_lines) - 1)
    height = _ROW * (n + 1.1) + top + _BOTTOM
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((plot_x / width, _BOTTOM / height, _PLOT_W / width,
                       1 - (top + _BOTTOM) / height))
    ax.set_ylim(n - 0.5, -1.6)
    text = blended_transform_factory(fig.transFigure, ax.transData)
    columns = {"label": _LEFT / width, "weight": weight_x / width, "ci": ci_x / width}
    model = "Random" if overall.random_effects else "Fixed"
    pooling = REVMAN_METHOD_NAMES.get(overall.method, "IV")
    effect = effect_label or f"{studies.measure} {pooling}, {model}, {overall.level * 100:g}% CI"
    header = {"label": "Study or subgroup", "weight": "Weight", "ci": effect}
    for key, x in columns.items():
        ax.text(x, -1.1, header[key], transform=text, fontweight="bold", fontsize=9,
                ha="left" if key == "label" else "right", va="center", clip_on=False)
    _draw_rows(ax, rows, text, columns)
    _axis(ax, rows, overall, studies.is_ratio)
    ax.set_xlabel(xlabel or measure_name(studies.measure) + (" (log scale)" if studies.is_ratio
                                                             else ""), fontsize=8, labelpad=2)
    for x, words in ((0.25, favours[0]), (0.75, favours[1])):
        ax.annotate(words, xy=(x, 0), xycoords="axes fraction", xytext=(0, -34),
                    textcoords="offset points", ha="center", va="top", fontsize=8)
    if title_lines:
        fig.suptitle("\n".join(title_lines), x=_LEFT / width, y=1 - 0.12 / height, ha="left",
                     va="top", fontsize=11, fontweight="bold")
    return fig


def _draw_rows(ax: Axes, rows: list[_Row], text: Transform, columns: dict[str, float]) -> None:
    max_w = max((r.size for r in rows if r.kind == "study" and r.size > 0), default=1.0)
    for y, row in enumerate(rows):
        weight = "normal" if not row.bold else "bold"
        if row.kind in ("study", "pooled", "header"):
            ax.text(columns["label"], y, row.label, transform=text, fontsize=9,
                    fontweight=weight, va="center", clip_on=False)
        if row.kind == "text":
            ax.text(columns["label"], y, row.label, transform=text, fontsize=8,
                    va="center", clip_on=False, color="#333333")
        if row.kind in ("study", "pooled"):
            ax.text(columns["weight"], y, row.weight, transform=text, fontsize=9, ha="right",
                    va="center", fontweight=weight, clip_on=False)
            ax.text(columns["ci"], y, row.ci_text, transform=text, fontsize=9, ha="right",
                    va="center", fontweight=weight, clip_on=False)
        if row.kind == "study":
            ax.plot([row.low, row.high], [y, y], color="black", lw=1)
            side = 4.0 + 9.0 * math.sqrt(row.size / max_w)  # points; area ~ weight
            ax.scatter([row.estimate], [y], s=side**2, marker="s", color=SQUARE, zorder=3)
        if row.kind == "pooled":
            ax.add_patch(Polygon(
                [(row.low, y), (row.estimate, y - 0.32), (row.high, y), (row.estimate, y + 0.32)],
                closed=True, color=DIAMOND,
            ))


def _axis(ax: Axes, rows: list[_Row], overall: PoolResult, ratio: bool) -> None:
    values = [v for r in rows for v in (r.low, r.high) if not math.isnan(v)]
    lo, hi = min(values), max(values)
    if ratio:
        ax.set_xscale("log")
        span = max(abs(math.log10(lo)), abs(math.log10(hi)), 0.3) * 1.08
        ax.set_xlim(10**-span, 10**span)
        ticks = log_ticks(10**-span, 10**span)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([f"{t:g}" for t in ticks])
    else:
        span = max(abs(lo), abs(hi)) * 1.08
        ax.set_xlim(-span, span)
    ax.axvline(1.0 if ratio else 0.0, color="black", lw=0.8)
    ax.axvline(pooled_center(overall), color="#888888", lw=0.8, ls="--")
    for spine in ("left", "right", "top"):
        ax.spines[spine].set_visible(False)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=8)
