"""Results as HTML for notebooks (``_repr_html_``): real tables, not preformatted text.

Numbers are shown with ``digits`` decimals and P values by metabridge's one rule
(:mod:`metabridge.formatting`); every string is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import pandas as pd

from .formatting import p_columns_as_text


def table_html(frame: pd.DataFrame, *, index: bool = False, digits: int = 4) -> str:
    """One table: P columns as text, other floats to ``digits`` decimals."""
    shown = p_columns_as_text(frame)
    return shown.to_html(index=index, border=0, classes="metabridge", na_rep="NA",
                         float_format=lambda x: f"{x:.{digits}f}")


def block_html(title: str, parts: Iterable[tuple[str, str]], notes: Iterable[str] = ()) -> str:
    """A titled block: (heading, table HTML) pairs, then notes as a list."""
    out = [f"<div class=\"metabridge\"><p><strong>{html.escape(title)}</strong></p>"]
    for heading, table in parts:
        if heading:
            out.append(f"<p>{html.escape(heading)}</p>")
        out.append(table)
    items = [f"<li>{html.escape(note)}</li>" for note in notes]
    if items:
        out.append("<ul>" + "".join(items) + "</ul>")
    out.append("</div>")
    return "\n".join(out)
