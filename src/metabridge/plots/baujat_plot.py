"""Baujat plot: each study's contribution to heterogeneity against its influence."""

from __future__ import annotations

import textwrap

from matplotlib.figure import Figure

from ..analyses.types import Influence
from .common import SQUARE


def baujat(diagnostics: Influence, *, title: str | None = None) -> Figure:
    """Baujat et al. 2002 (Stat Med 21:2641), as metafor's ``baujat()``.

    x: the study's squared Pearson residual in the full model, (y_i - mu)^2 /
    (v_i + tau^2), its contribution to the Q statistic; y: the squared change in
    the pooled estimate when it is left out, over the variance of the estimate
    without it.  Points are labelled with the studies; ``diagnostics`` comes from
    :func:`metabridge.influence`.  ``title`` defaults to the fit ("" for none).
    """
    points = diagnostics.baujat()
    fig = Figure(figsize=(6.0, 5.0))
    ax = fig.add_axes((0.13, 0.11, 0.83, 0.78))
    ax.scatter(points["x"], points["y"], s=30, facecolor="white", edgecolor=SQUARE, zorder=3)
    middle = (points["x"].min() + points["x"].max()) / 2
    for label, (x, y) in points.iterrows():
        right = x > middle  # labels point inwards, so none runs off the canvas
        ax.annotate(str(label), (x, y), xytext=(-3 if right else 3, 3),
                    textcoords="offset points", fontsize=7, ha="right" if right else "left")
    ax.margins(x=0.08, y=0.08)
    ax.grid(color="#dddddd", lw=0.6)
    fixed = diagnostics.method == "FE"
    ax.set_xlabel("Contribution to overall heterogeneity" + (" (Q)" if fixed else ""))
    ax.set_ylabel("Influence on overall result")
    if title is None:
        title = f"Baujat plot ({diagnostics.method}, {diagnostics.backend})"
    if title:
        fig.text(0.02, 0.98, textwrap.fill(title, 80), fontsize=10, fontweight="bold",
                 ha="left", va="top")
    return fig
