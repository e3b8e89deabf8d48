"""Figures of a simulation study: coverage and bias against k, one panel per tau^2,
one line per (engine, method, test), with +/- 1.96 Monte Carlo SE.

One pair of figures per combination of the other scenario keys (family, mu,
variance model, baseline risk, arm sizes); files are named after them.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

#: Scenario keys that get a figure of their own (k is the x axis, tau^2 the panels).
PANEL_KEYS = ("family", "mu", "variance", "baseline_risk", "arm_n")
#: metric -> (MC SE column, y label, reference line).
METRICS = {"coverage": ("mc_se", "CI coverage of the true effect", None),
           "bias": ("bias_mc_se", "bias of the pooled estimate", 0.0)}


def write_figures(summary: pd.DataFrame, folder: Path, level: float) -> list[Path]:
    """Write coverage_*.png and bias_*.png to ``folder``; return their paths."""
    from matplotlib.figure import Figure

    done = summary.dropna(subset=["coverage"])
    if done.empty:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    keys = [key for key in PANEL_KEYS if done[key].notna().any()]
    for values, part in done.groupby(keys, sort=False, dropna=False):
        setting = dict(zip(keys, values if isinstance(values, tuple) else (values,),
                           strict=True))
        title = ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
                          for k, v in setting.items() if not pd.isna(v))
        for metric, (se, label, line) in METRICS.items():
            tau2s = sorted(part["tau2"].unique())
            fig = Figure(figsize=(3.2 * len(tau2s) + 1.8, 3.4))
            axes = fig.subplots(1, len(tau2s), sharey=True, squeeze=False)[0]
            for ax, tau2 in zip(axes, tau2s, strict=True):
                _panel(ax, part[part["tau2"] == tau2], metric, se)
                ax.axhline(level if line is None else line, color="black", lw=0.8, ls="--")
                ax.set_title(f"tau^2 = {tau2:g}", fontsize=9)
                ax.set_xlabel("k (studies)")
            axes[0].set_ylabel(label)
            axes[-1].legend(fontsize=7, frameon=False, loc="center left",
                            bbox_to_anchor=(1.02, 0.5))
            fig.suptitle(title, fontsize=9, x=0.01, ha="left")
            fig.tight_layout()
            path = folder / f"{metric}_{_slug(title)}.png"
            fig.savefig(path, dpi=110)
            written.append(path)
    return written


def _panel(ax: object, part: pd.DataFrame, metric: str, se: str) -> None:
    lines = part.groupby(["backend", "method", "test"], sort=False)
    for i, ((backend, method, test), line) in enumerate(lines):
        line = line.sort_values("k")
        dodge = np.exp((i - (lines.ngroups - 1) / 2) * 0.025)  # side by side, log x axis
        ax.errorbar(line["k"] * dodge, line[metric], yerr=1.96 * line[se],
                    marker="o", ms=3, capsize=2, lw=1, label=f"{backend} {method} ({test})")
    ax.set_xscale("log")
    ks = sorted(part["k"].unique())
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text.replace(" = ", "")).strip("-") or "all"
