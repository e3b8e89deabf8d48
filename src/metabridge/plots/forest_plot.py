"""Forest plot in RevMan 5's layout: study, weight, effect [CI], squares and diamonds."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import FixedLocator, NullLocator
from matplotlib.transforms import blended_transform_factory

from ..analyses.types import SubgroupAnalysis
from ..conversions import normal_quantile
from ..errors import InvalidArgumentError
from ..formatting import format_p
from ..result import PoolResult
from ..studies import StudySet
from .common import DIAMOND, SQUARE, log_ticks, pooled_center

_COLUMNS = {"label": 0.015, "weight": 0.36, "ci": 0.555}
_AXES = (0.58, 0.97)


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
            ax.scatter([row.estimate], [y], s=side**2, marker="s", color=SQUARE, zorder=3)
        if row.kind == "pooled":
            ax.add_patch(Polygon(
                [(row.low, y), (row.estimate, y - 0.32), (row.high, y), (row.estimate, y + 0.32)],
                closed=True, color=DIAMOND,
            ))
    lo, hi = min(values), max(values)
    null = 1.0 if ratio else 0.0
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
    ax.axvline(null, color="black", lw=0.8)
    ax.axvline(pooled_center(overall), color="#888888", lw=0.8, ls="--")
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
