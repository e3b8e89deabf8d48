"""Funnel plot: effect against its standard error, with pseudo confidence limits."""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from ..conversions import normal_quantile
from ..result import PoolResult
from ..studies import StudySet
from .common import SQUARE, check_figure_inputs, literal_text, log_ticks, measure_name


@literal_text
def funnel(
    studies: StudySet, result: PoolResult, *, title: str | None = None, level: float = 0.95
) -> Figure:
    """Funnel plot: effect (ratio on log axis) vs SE, inverted, with pseudo CI limits.

    ``title`` defaults to the measure and the pooled fit drawn ("" for none).
    """
    check_figure_inputs(studies, result)
    z = normal_quantile(level)
    se = studies.sei
    top = float(se.max()) * 1.1
    grid = np.linspace(0, top, 100)
    centre = result.estimate
    fig = Figure(figsize=(6.0, 5.0))
    ax = fig.add_axes((0.13, 0.11, 0.83, 0.78))
    to_plot = np.exp if studies.is_ratio else (lambda v: v)
    ax.plot(to_plot(centre - z * grid), grid, color="#555555", ls="--", lw=0.9,
            label=f"pseudo {level * 100:g}% limits")
    ax.plot(to_plot(centre + z * grid), grid, color="#555555", ls="--", lw=0.9)
    ax.axvline(float(to_plot(centre)), color="black", lw=0.9,
               label=f"pooled ({result.method}, {result.backend})")
    ax.scatter(to_plot(studies.yi), se, s=36, facecolor="white", edgecolor=SQUARE, zorder=3)
    if studies.is_ratio:
        ax.set_xscale("log")
        lo = float(np.exp(min(studies.yi.min(), centre - z * top)))
        hi = float(np.exp(max(studies.yi.max(), centre + z * top)))
        ticks = log_ticks(lo * 0.9, hi * 1.1)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.set_ylim(top, 0)
    ax.set_xlabel(measure_name(studies.measure) + (" (log scale)" if studies.is_ratio else ""))
    ax.set_ylabel(f"SE(log[{studies.measure}])" if studies.is_ratio else "SE")
    ax.legend(fontsize=8, loc="lower left", frameon=False)
    if title is None:
        title = f"Funnel plot: {measure_name(studies.measure)}, k = {studies.k}"
    if title:
        fig.text(0.02, 0.98, textwrap.fill(title, 80), fontsize=10, fontweight="bold",
                 ha="left", va="top")
    return fig
