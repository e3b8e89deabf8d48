"""PRISMA 2020 flow diagram (Page et al. 2021, BMJ 372:n71) from a :class:`PrismaFlow`.

The boxes of the 2020 template for new reviews (databases and registers):
identification, records removed before screening, records screened and excluded,
reports sought and not retrieved, reports assessed and excluded (with reasons),
studies and reports included.  A count the source does not give is drawn as
"n not reported".
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Rectangle

from ..prisma import PrismaFlow
from .common import SQUARE, literal_text

_MAIN_X, _MAIN_W = 1.1, 4.2
_SIDE_X, _SIDE_W = 6.0, 3.8
_WRAP = 40  # characters per line in a box


def _n(value: int | None) -> str:
    return "n not reported" if value is None else f"n = {value}"


def _reasons(flow: PrismaFlow) -> str:
    head = f"Reports excluded ({_n(flow.excluded_full_text)})"
    reasons = flow.exclusion_reasons
    if reasons is None:
        return f"{head}\nreasons not reported"
    if isinstance(reasons, str):
        return head + "\n" + textwrap.fill(f"Reasons: {reasons}", _WRAP)
    return head + ":" + "".join(f"\n{textwrap.fill(f'{why} (n = {n})', _WRAP)}"
                                for why, n in reasons.items())


def check_prisma(flow: PrismaFlow | Mapping[str, Any]) -> PrismaFlow:
    """The flow as a :class:`PrismaFlow`, its arithmetic checked (raises if it does not add up)."""
    flow = flow if isinstance(flow, PrismaFlow) else PrismaFlow.from_mapping(flow)
    flow.check()
    return flow


@literal_text
def prisma(flow: PrismaFlow | Mapping[str, Any], *, title: str | None = None) -> Figure:
    """PRISMA 2020 flow diagram; counts the source does not give say so."""
    flow = check_prisma(flow)
    rows = [  # (main box, side box or None, height)
        (f"Records identified from {flow.identified_from}\n({_n(flow.identified)})",
         f"Records removed before screening:\nduplicate records ({_n(flow.duplicates)})", 1.5),
        (f"Records screened\n({_n(flow.screened)})",
         f"Records excluded\n({_n(flow.excluded_screening)})", 1.1),
        (f"Reports sought for retrieval\n({_n(flow.sought)})",
         f"Reports not retrieved\n({_n(flow.not_retrieved)})", 1.1),
        (f"Reports assessed for eligibility\n({_n(flow.assessed)})", _reasons(flow), 1.9),
        (f"Studies included in review\n({_n(flow.included_studies)})\n"
         f"Reports of included studies\n({_n(flow.included_reports)})", None, 1.7),
    ]
    notes = [textwrap.fill(f"{key.replace('_', ' ')}: {text}", 110)
             for key, text in flow.notes.items()]
    if flow.source:
        notes.append(textwrap.fill(f"Source: {flow.source}", 110))
    foot = 0.35 * sum(note.count("\n") + 1 for note in notes)
    height = 12.0 + foot
    fig = Figure(figsize=(8.5, 8.5 * height / 12.0))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 10)
    ax.set_ylim(-foot, 12)
    ax.axis("off")
    ys = [10.3, 8.2, 6.5, 4.5, 1.9]
    for y, (main, side, box_height) in zip(ys, rows, strict=True):
        _box(ax, _MAIN_X, y, _MAIN_W, box_height, main)
        if side is not None:
            _box(ax, _SIDE_X, y, _SIDE_W, box_height, side)
            ax.annotate("", xy=(_SIDE_X, y), xytext=(_MAIN_X + _MAIN_W, y),
                        arrowprops={"arrowstyle": "->", "lw": 1})
    heights = [r[2] for r in rows]
    for (upper, h_up), (lower, h_low) in pairwise(zip(ys, heights, strict=True)):
        ax.annotate("", xy=(_MAIN_X + _MAIN_W / 2, lower + h_low / 2),
                    xytext=(_MAIN_X + _MAIN_W / 2, upper - h_up / 2),
                    arrowprops={"arrowstyle": "->", "lw": 1})
    for stage, top, bottom in (("Identification", 11.2, 9.4), ("Screening", 8.8, 3.5),
                               ("Included", 2.8, 1.0)):
        ax.add_patch(Rectangle((0.15, bottom), 0.55, top - bottom, fc="#dbe7f3", ec=SQUARE,
                               lw=0.8))
        ax.text(0.425, (top + bottom) / 2, stage, rotation=90, ha="center", va="center",
                fontsize=8.5, fontweight="bold", color=SQUARE)
    for i, note in enumerate(notes):
        ax.text(0.15, -0.2 - 0.35 * sum(n.count("\n") + 1 for n in notes[:i]), note,
                fontsize=7.5, va="top", color="#333333")
    ax.text(0.15, 11.75, title or "PRISMA 2020 flow diagram", fontsize=10, fontweight="bold",
            va="top")
    return fig


def _box(ax: Any, x: float, y: float, width: float, height: float, text: str) -> None:
    ax.add_patch(FancyBboxPatch((x, y - height / 2), width, height,
                                boxstyle="round,pad=0.05", fc="white", ec="black", lw=1))
    lines = [textwrap.fill(line, _WRAP) for line in text.split("\n")]
    ax.text(x + width / 2, y, "\n".join(lines), ha="center", va="center", fontsize=8.5)
