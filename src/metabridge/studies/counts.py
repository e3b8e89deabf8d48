"""2x2 counts: events and totals per arm, for odds ratios, risk ratios and risk differences.

Cells of study i: a = events_exp, b = total_exp - a, c = events_ctrl, d = total_ctrl - c.
The StudySet's own effect sizes (``yi``, ``vi``) follow metafor's ``escalc()`` defaults
(Viechtbauer 2010, J Stat Softw 36(3); metafor 3.8 ``add = 1/2, to = "only0",
drop00 = FALSE``): a table with a zero cell gets 1/2 added to each of its four cells,
tables without one are used as they are, and double-zero tables (no events, or only
events, in both arms) are kept with the correction.  Then

    OR: yi = ln(a d / (b c)),              vi = 1/a + 1/b + 1/c + 1/d
    RR: yi = ln((a / n1) / (c / n2)),      vi = 1/a - 1/n1 + 1/c - 1/n2
    RD: yi = a / n1 - c / n2,              vi = a b / n1^3 + c d / n2^3

Each engine computes its own effect sizes from the counts when it pools (see
``backends/base.py``); where they differ, the conventions table says why.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .checks import Effects, require, vector

#: Column names of the counts, in the positional order of ``StudySet.from_counts``.
COUNT_COLUMNS = ("events_exp", "total_exp", "events_ctrl", "total_ctrl")
#: Measures computed from 2x2 counts.
COUNT_MEASURES = ("OR", "RR", "RD")
#: metafor's escalc() default continuity correction, added to every cell of a zero-cell table.
ZERO_CELL_CORRECTION = 0.5

class Counts(NamedTuple):
    """Events and totals per arm, one entry per study (float arrays of whole numbers)."""

    events_exp: np.ndarray
    total_exp: np.ndarray
    events_ctrl: np.ndarray
    total_ctrl: np.ndarray

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(a, b, c, d): events and non-events, experimental then control arm."""
        return (self.events_exp, self.total_exp - self.events_exp,
                self.events_ctrl, self.total_ctrl - self.events_ctrl)

    def zero_cell(self) -> np.ndarray:
        """True for tables with at least one zero cell."""
        return np.any(np.vstack(self.cells()) == 0, axis=0)

    def double_zero(self) -> np.ndarray:
        """True for tables without events, or with only events, in both arms."""
        a, b, c, d = self.cells()
        return ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))


def whole_numbers(values: Any, field: str, labels: tuple[str, ...]) -> np.ndarray:
    """A vector of non-negative whole numbers, or an error naming the study and field."""
    arr = vector(values, field, labels)
    require(arr < 0, labels, field, lambda i: f"a count must be >= 0, got {arr[i]:g}")
    require(arr != np.round(arr), labels, field,
            lambda i: f"a count must be a whole number, got {float(arr[i])!r}")
    return arr


def stored(arr: np.ndarray) -> np.ndarray:
    """Whole numbers as integers for display; beyond 2^53 (not exact as floats) kept as floats."""
    return arr.astype(np.int64) if np.all(arr < 2.0**53) else arr


def read_counts(
    events_exp: Any, total_exp: Any, events_ctrl: Any, total_ctrl: Any,
    labels: tuple[str, ...],
) -> Counts:
    """Checked counts: whole numbers, totals > 0, events <= total in each arm."""
    counts = Counts(*(whole_numbers(values, field, labels) for values, field in
                      zip((events_exp, total_exp, events_ctrl, total_ctrl), COUNT_COLUMNS,
                          strict=True)))
    for events, total, arm in ((counts.events_exp, counts.total_exp, "exp"),
                               (counts.events_ctrl, counts.total_ctrl, "ctrl")):
        require(total == 0, labels, f"total_{arm}",
                lambda i: "the arm has no participants (total 0); a 2x2 table needs > 0")
        require(events > total, labels, f"events_{arm}",
                lambda i, e=events, t=total: f"{e[i]:g} events exceed the arm's total of {t[i]:g}")
    return counts


def corrected_cells(
    counts: Counts, add: float = ZERO_CELL_CORRECTION
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, c, d) with ``add`` added to every cell of each table that has a zero cell."""
    shift = add * counts.zero_cell()
    a, b, c, d = counts.cells()
    return a + shift, b + shift, c + shift, d + shift


def escalc_counts(counts: Counts, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """(yi, vi) under metafor's escalc() defaults (module docstring).

    Computed from the cells (ln a + ln d - ln b - ln c rather than escalc's
    ln(p1/(1 - p1)) - ln(p2/(1 - p2)), which loses digits when a proportion is near 1).
    """
    a, b, c, d = corrected_cells(counts)
    n1, n2 = a + b, c + d
    if measure == "OR":
        return np.log(a) + np.log(d) - np.log(b) - np.log(c), 1 / a + 1 / b + 1 / c + 1 / d
    if measure == "RR":
        return np.log(a / n1) - np.log(c / n2), 1 / a - 1 / n1 + 1 / c - 1 / n2
    return a / n1 - c / n2, a * b / n1**3 + c * d / n2**3


def from_counts(
    events_exp: Any, total_exp: Any, events_ctrl: Any, total_ctrl: Any,
    labels: tuple[str, ...], measure: str,
) -> Effects:
    """(yi, vi, raw columns) from 2x2 counts; ``measure`` is OR, RR or RD."""
    counts = read_counts(events_exp, total_exp, events_ctrl, total_ctrl, labels)
    yi, vi = escalc_counts(counts, measure)
    return yi, vi, {name: stored(column) for name, column in zip(COUNT_COLUMNS, counts,
                                                                    strict=True)}
