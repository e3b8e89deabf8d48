"""Report figures on disk: each drawn once, saved as PNG (for the page) and SVG (for print).

Every figure of metabridge lays itself out inside its canvas, so no tight
bounding box is computed (that costs one more full draw per file); the PNG and
the SVG are the two renderings of one :class:`~matplotlib.figure.Figure`.  SVG
text is written as text (``svg.fonttype = "none"``): editable, searchable, and
about half the cost of tracing every glyph as a path.  The time each step takes
is kept (:attr:`FigureFolder.costs`) for ``validation/bench.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import matplotlib
from matplotlib.figure import Figure

from .document import FigureRef
from .outputs import OutputFolder

#: Pixels per inch of the PNG files.
DPI = 130
#: zlib level 1: these mostly-white figures compress to within ~1% of level 6's size in
#: about 60% of the time.
_PNG = {"compress_level": 1}


@dataclass(frozen=True)
class FigureCost:
    """Seconds spent building a figure and saving each of its files."""

    stem: str
    build: float
    png: float
    svg: float

    @property
    def total(self) -> float:
        return self.build + self.png + self.svg


@dataclass
class FigureFolder:
    """Figures in the subfolder ``link`` of a report's :class:`OutputFolder` (``link`` is
    also how the report links to them); every file is written through the folder, so
    none replaces a file metabridge did not write."""

    output: OutputFolder
    link: str = "figures"
    costs: list[FigureCost] = field(default_factory=list)

    def add(self, stem: str, caption: str, draw: Callable[[], Figure]) -> FigureRef:
        """Draw the figure once, write ``stem``.png and ``stem``.svg, return the reference."""
        start = time.perf_counter()
        fig = draw()
        built = time.perf_counter()
        self.output.write(f"{self.link}/{stem}.png",
                          lambda path: fig.savefig(path, dpi=DPI, pil_kwargs=_PNG))
        saved_png = time.perf_counter()
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": stem}):
            self.output.write(f"{self.link}/{stem}.svg",
                              lambda path: fig.savefig(path, metadata={"Date": None}))
        saved_svg = time.perf_counter()
        self.costs.append(FigureCost(stem, built - start, saved_png - built, saved_svg - saved_png))
        return FigureRef(f"{self.link}/{stem}.png", f"{self.link}/{stem}.svg", caption)
