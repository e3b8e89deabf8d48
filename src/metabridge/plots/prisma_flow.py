"""PRISMA flow diagram from the record counts of a systematic review."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from ..errors import InvalidArgumentError

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
