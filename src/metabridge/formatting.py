"""One rule for printing P values, used by every summary, figure and report.

RevMan's rule at the bottom ("P < 0.00001" below 1e-5, Review Manager 5); above
it two significant digits with at least two decimals (0.52, 0.062, 0.0031,
0.000012).  A P value is never printed as zero: two significant digits of a
positive number are never 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

#: Below this a P value is printed as "< 0.00001" (RevMan).
P_FLOOR = 1e-5
#: Columns that hold P values in metabridge's tables.
P_COLUMNS = frozenset({"p", "q_p", "p_between", "pval"})


def p_value(p: float) -> str:
    """The P value alone: '< 0.00001', '0.0031', '0.52', or 'NA' when missing."""
    if p is None or math.isnan(p):
        return "NA"
    if p < P_FLOOR:
        return "< 0.00001"
    decimals = max(2, 1 - math.floor(math.log10(p)))
    return f"{p:.{decimals}f}"


def format_p(p: float, symbol: str = "P") -> str:
    """'P = 0.52' or 'P < 0.00001' (``symbol`` names the statistic, e.g. 'p-val')."""
    text = p_value(p)
    return f"{symbol} {text}" if text.startswith("<") else f"{symbol} = {text}"


def frame_text(frame: pd.DataFrame, p_columns: Iterable[str] = P_COLUMNS,
               digits: int = 4) -> str:
    """A table as aligned text: P columns by :func:`p_value`, other floats to ``digits``."""
    shown = p_columns_as_text(frame, p_columns)
    return shown.to_string(index=False, float_format=lambda x: f"{x:.{digits}f}")


def p_columns_as_text(frame: pd.DataFrame, p_columns: Iterable[str] = P_COLUMNS) -> pd.DataFrame:
    """A copy with the P columns as text by :func:`p_value` (for displayed tables)."""
    shown = frame.copy()
    for column in set(p_columns) & set(shown.columns):
        shown[column] = shown[column].map(p_value)
    return shown


def aligned(rows: list[list[str]]) -> str:
    """Rows of text cells as columns padded to their widest cell, a rule under the first."""
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
