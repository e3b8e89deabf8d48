"""Figures in the layout readers of meta-analyses know (RevMan 5 / metafor).

- :func:`forest`: study, weight, ratio [95% CI], squares sized by weight, a
  diamond per pooled result, heterogeneity lines, optional subgroup blocks with
  their own diamonds and the test for subgroup differences, log axis with
  "favours" labels.
- :func:`funnel`: effect vs standard error with pseudo-95% limits.
- :func:`prisma`: PRISMA 2020 flow diagram from the record counts.
- :func:`baujat`: Baujat plot from :func:`metabridge.influence` diagnostics.

All functions return a :class:`matplotlib.figure.Figure` (no pyplot state).
Every text is drawn literally: a ``$`` in a study label or title is a dollar sign,
never matplotlib mathtext (``"$\\alpha^$"`` would otherwise fail to draw).
"""

from __future__ import annotations

from .baujat_plot import baujat
from .forest_plot import forest
from .funnel_plot import funnel
from .prisma_flow import check_prisma, prisma

__all__ = ["baujat", "check_prisma", "forest", "funnel", "prisma"]
