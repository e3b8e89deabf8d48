"""Figures in the layout readers of meta-analyses know (RevMan 5 / metafor).

- :func:`forest`: study, weight, ratio [95% CI], squares sized by weight, a
  diamond per pooled result, heterogeneity lines, optional subgroup blocks with
  their own diamonds and the test for subgroup differences, log axis with
  "favours" labels.
- :func:`funnel`: effect vs standard error with pseudo-95% limits.
- :func:`prisma`: PRISMA 2020 flow diagram from the record counts.

All functions return a :class:`matplotlib.figure.Figure` (no pyplot state).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Polygon
from matplotlib.ticker import FixedLocator, NullLocator
from matplotlib.transforms import blended_transform_factory

from .analyses.types import SubgroupAnalysis
from .conversions import normal_quantile
from .errors import InvalidArgumentError
from .formatting import format_p
from .result import PoolResult
from .studies import StudySet

_COLUMNS = {"label": 0.015, "weight": 0.36, "ci": 0.555}
_AXES = (0.58, 0.97)
_SQUARE = "#2c5f8a"
_DIAMOND = "#111111"


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
    return f"Test for overall effect: Z = {abs(result.z):.2f} ({format_p(result.p)})"


def _study_rows(studies: StudySet, weights: Mapping[str, float], level: float) -> list[_Row]:
    z = normal_quantile(level)
    rows = []
    for label, y, se in zip(studies.labels, studies.yi, studies.sei, strict=True):
        if studies.is_ratio and {"ratio", "lower", "upper"} <= set(studies.covariates.columns):
            reported = studies.covariates.loc[label, ["ratio", "lower", "upper"]]
            est, lo, hi = (float(v) for v in reported)
        else:
            est, lo, hi = y, y - z * se, y + z * se
            if studies.is_ratio:
                est, lo, hi = math.exp(est), math.exp(lo), math.exp(hi)
        w = weights.get(label, math.nan)
        rows.append(_Row("study", label, f"{w:.1f}%", _fmt_ratio((est, lo, hi)), est, lo, hi, w))
    return rows


def _pooled_row(result: PoolResult, label: str, weight: float) -> _Row:
    if result.measure in ("HR", "OR", "RR", "IRR"):
        view = result.exp()
        values = (view.estimate, view.ci_low, view.ci_high)
    else:
        values = (result.estimate, result.ci_low, result.ci_high)
    return _Row("pooled", label, f"{weight:.1f}%", _fmt_ratio(values), *values, bold=True)


def _layout(
    studies: StudySet, overall: PoolResult, subgroups: SubgroupAnalysis | None
) -> list[_Row]:
    weights = dict(zip(overall.labels, overall.weights, strict=True))
    pct = f"{overall.level * 100:g}% CI"
    rows: list[_Row] = []
    if subgroups is None:
        rows += _study_rows(studies, weights, overall.level)
        rows.append(_Row("blank"))
    else:
        parts = studies.groupby(subgroups.by)
        for name, part in parts.items():
            result = subgroups.groups[str(name)]
            rows.append(_Row("header", f"{subgroups.by}: {name}", bold=True))
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
        rows.append(_Row(
            "text",
            f"Test for subgroup differences: Chi\u00b2 = {subgroups.q_between:.2f}, "
            f"df = {subgroups.df} ({format_p(subgroups.p)}); separate tau\u00b2 per subgroup"
            if subgroups.tau2_rule == "separate" else
            f"Test for subgroup differences (common tau\u00b2): Q = {subgroups.q_between:.2f}, "
            f"df = {subgroups.df} ({format_p(subgroups.p)})",
        ))
    return rows


def _log_ticks(low: float, high: float) -> list[float]:
    candidates = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
    inside = [t for t in candidates if low <= t <= high]
    return inside if 1 in inside else sorted({*inside, 1})


def forest(
    studies: StudySet,
    overall: PoolResult,
    subgroups: SubgroupAnalysis | None = None,
    *,
    title: str | None = None,
    favours: tuple[str, str] = ("Favours [low]", "Favours [high]"),
    effect_label: str | None = None,
) -> Figure:
    """Forest plot of ``studies`` with the pooled ``overall`` result (and subgroups)."""
    if tuple(overall.labels) != tuple(studies.labels):
        raise InvalidArgumentError("overall must be the pooled result of these studies")
    rows = _layout(studies, overall, subgroups)
    n = len(rows) + 1
    height = 0.28 * (n + 1.5) + 1.3
    fig = Figure(figsize=(11.0, height))
    ax = fig.add_axes((_AXES[0], 0.75 / height, _AXES[1] - _AXES[0], 1 - 1.3 / height))
    ax.set_ylim(n - 0.5, -1.6)
    text = blended_transform_factory(fig.transFigure, ax.transData)
    ratio = studies.is_ratio
    model = "Random" if overall.random_effects else "Fixed"
    effect = effect_label or (f"{studies.measure} IV, {model}, {overall.level * 100:g}% CI")
    header = {"label": "Study or subgroup", "weight": "Weight", "ci": effect}
    for key, x in _COLUMNS.items():
        ax.text(x, -1.1, header[key], transform=text, fontweight="bold", fontsize=9,
                ha="left" if key == "label" else "right", va="center", clip_on=False)
    max_w = max((r.size for r in rows if r.kind == "study"), default=1.0)
    values = [v for r in rows for v in (r.low, r.high) if not math.isnan(v)]
    for y, row in enumerate(rows):
        weight = "normal" if not row.bold else "bold"
        if row.kind in ("study", "pooled", "header"):
            ax.text(_COLUMNS["label"], y, row.label, transform=text, fontsize=9,
                    fontweight=weight, va="center", clip_on=False)
        if row.kind == "text":
            ax.text(_COLUMNS["label"], y, row.label, transform=text, fontsize=8,
                    va="center", clip_on=False, color="#333333")
        if row.kind in ("study", "pooled"):
            ax.text(_COLUMNS["weight"], y, row.weight, transform=text, fontsize=9, ha="right",
                    va="center", fontweight=weight, clip_on=False)
            ax.text(_COLUMNS["ci"], y, row.ci_text, transform=text, fontsize=9, ha="right",
                    va="center", fontweight=weight, clip_on=False)
        if row.kind == "study":
            ax.plot([row.low, row.high], [y, y], color="black", lw=1)
            side = 4.0 + 9.0 * math.sqrt(row.size / max_w)  # points; area ~ weight
            ax.scatter([row.estimate], [y], s=side**2, marker="s", color=_SQUARE, zorder=3)
        if row.kind == "pooled":
            ax.add_patch(Polygon(
                [(row.low, y), (row.estimate, y - 0.32), (row.high, y), (row.estimate, y + 0.32)],
                closed=True, color=_DIAMOND,
            ))
    lo, hi = min(values), max(values)
    null = 1.0 if ratio else 0.0
    if ratio:
        ax.set_xscale("log")
        span = max(abs(math.log10(lo)), abs(math.log10(hi)), 0.3) * 1.08
        ax.set_xlim(10**-span, 10**span)
        ticks = _log_ticks(10**-span, 10**span)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([f"{t:g}" for t in ticks])
    else:
        span = max(abs(lo), abs(hi)) * 1.08
        ax.set_xlim(-span, span)
    ax.axvline(null, color="black", lw=0.8)
    ax.axvline(_pooled_center(overall), color="#888888", lw=0.8, ls="--")
    for spine in ("left", "right", "top"):
        ax.spines[spine].set_visible(False)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=8)
    for x, words in ((0.25, favours[0]), (0.75, favours[1])):
        ax.annotate(words, xy=(x, 0), xycoords="axes fraction", xytext=(0, -24),
                    textcoords="offset points", ha="center", va="top", fontsize=8)
    if title:
        fig.suptitle(title, x=0.015, ha="left", fontsize=11, fontweight="bold")
    return fig


def _pooled_center(result: PoolResult) -> float:
    return math.exp(result.estimate) if result.measure in ("HR", "OR", "RR", "IRR") \
        else result.estimate


def funnel(
    studies: StudySet, result: PoolResult, *, title: str | None = None, level: float = 0.95
) -> Figure:
    """Funnel plot: effect (ratio on log axis) vs SE, inverted, with pseudo CI limits."""
    z = normal_quantile(level)
    se = studies.sei
    top = float(se.max()) * 1.1
    grid = np.linspace(0, top, 100)
    centre = result.estimate
    fig = Figure(figsize=(6.0, 5.0))
    ax = fig.add_subplot()
    to_plot = np.exp if studies.is_ratio else (lambda v: v)
    ax.plot(to_plot(centre - z * grid), grid, color="#555555", ls="--", lw=0.9,
            label=f"pseudo {level * 100:g}% limits")
    ax.plot(to_plot(centre + z * grid), grid, color="#555555", ls="--", lw=0.9)
    ax.axvline(float(to_plot(centre)), color="black", lw=0.9,
               label=f"pooled ({result.method}, {result.backend})")
    ax.scatter(to_plot(studies.yi), se, s=36, facecolor="white", edgecolor=_SQUARE, zorder=3)
    if studies.is_ratio:
        ax.set_xscale("log")
        lo = float(np.exp(min(studies.yi.min(), centre - z * top)))
        hi = float(np.exp(max(studies.yi.max(), centre + z * top)))
        ticks = _log_ticks(lo * 0.9, hi * 1.1)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.set_ylim(top, 0)
    ax.set_xlabel(studies.measure + (" (log scale)" if studies.is_ratio else ""))
    ax.set_ylabel(f"SE(log[{studies.measure}])" if studies.is_ratio else "SE")
    ax.legend(fontsize=8, loc="lower left", frameon=False)
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    return fig


#: PRISMA 2020 boxes: (key, text template) in flow order.
_PRISMA_FLOW: Sequence[tuple[str, str]] = (
    ("identified", "Records identified from databases\nand citation searching\n(n = {n})"),
    ("screened", "Records screened\n(n = {n})"),
    ("full_text", "Full-text articles assessed\nfor eligibility\n(n = {n})"),
    ("included", "Studies included in the\nquantitative synthesis\n(n = {n})"),
)
_PRISMA_SIDE: Sequence[tuple[str, str]] = (
    ("duplicates", "Duplicate records removed\n(n = {n})"),
    ("excluded_screening", "Records excluded on title\nand abstract (n = {n})"),
    ("excluded_full_text", "Full-text articles excluded,\nwith reasons (n = {n})"),
)


def check_prisma(counts: Mapping[str, int]) -> None:
    """Raise if the flow's arithmetic does not add up (each stage = previous - removed)."""
    steps = [("identified", "duplicates", "screened"),
             ("screened", "excluded_screening", "full_text"),
             ("full_text", "excluded_full_text", "included")]
    for before, removed, after in steps:
        if counts[before] - counts[removed] != counts[after]:
            raise InvalidArgumentError(
                f"PRISMA counts do not add up: {before} {counts[before]} - {removed} "
                f"{counts[removed]} != {after} {counts[after]}"
            )


def prisma(counts: Mapping[str, int], *, title: str | None = None) -> Figure:
    """PRISMA 2020 flow diagram (Page et al. 2021, BMJ 372:n71) from record counts."""
    check_prisma(counts)
    fig = Figure(figsize=(8.0, 7.0))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.axis("off")
    ys = [8.6, 6.4, 4.2, 1.8]
    stages = ("Identification", "Screening", "Eligibility", "Included")
    for y, (key, template), stage in zip(ys, _PRISMA_FLOW, stages, strict=True):
        _box(ax, 1.4, y, 3.8, 1.3, template.format(n=counts[key]))
        ax.text(0.45, y, stage, rotation=90, ha="center", va="center", fontsize=9,
                fontweight="bold", color="#2c5f8a")
    for y, (key, template) in zip(ys[:-1], _PRISMA_SIDE, strict=True):
        side_y = y - 1.1
        _box(ax, 6.2, side_y, 3.4, 1.1, template.format(n=counts[key]))
        ax.annotate("", xy=(6.2, side_y), xytext=(3.3, side_y),
                    arrowprops={"arrowstyle": "->", "lw": 1})
    for upper, lower in pairwise(ys):
        ax.annotate("", xy=(3.3, lower + 0.65), xytext=(3.3, upper - 0.65),
                    arrowprops={"arrowstyle": "->", "lw": 1})
    if title:
        ax.text(0.2, 9.75, title, fontsize=10, fontweight="bold", va="top")
    return fig


def _box(ax: object, x: float, y: float, width: float, height: float, text: str) -> None:
    ax.add_patch(FancyBboxPatch((x, y - height / 2), width, height,  # type: ignore[attr-defined]
                                boxstyle="round,pad=0.05", fc="white", ec="black", lw=1))
    ax.text(x + width / 2, y, text, ha="center", va="center", fontsize=9)  # type: ignore[attr-defined]
