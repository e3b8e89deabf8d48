"""A report as a list of blocks, rendered to Markdown and to HTML that reads on a phone.

Blocks: headings, paragraphs, preformatted text (metafor-style output), tables
(pandas DataFrames) and figures (a PNG shown, an SVG linked).  The HTML page has a
viewport meta tag, scales images to the screen and lets wide tables and text
scroll sideways inside their own box instead of widening the page.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import pandas as pd

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1150px;
margin:0 auto;padding:0 1em 3em;line-height:1.45;color:#1b1b1b}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%;margin:.8em 0}
table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums}
td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;white-space:nowrap}
td.n{text-align:right}
th{background:#f3f5f8;position:sticky;top:0}
pre{font-size:12px;background:#f7f7f7;padding:.7em;margin:0}
figure{margin:1.2em 0}figure img{max-width:100%;height:auto;display:block}
figcaption{font-style:italic;color:#444;font-size:.95em}
nav li{margin:.15em 0}.note{color:#444;font-size:.95em}
"""


@dataclass(frozen=True)
class FigureRef:
    """A saved figure: the PNG shown on the page, the SVG linked beside it."""

    png: str
    svg: str
    caption: str


@dataclass
class Document:
    """A report: add blocks in reading order, then render with :meth:`markdown` / :meth:`html`."""

    title: str
    blocks: list[tuple[str, object]] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("heading", (level, text)))

    def para(self, text: str) -> None:
        self.blocks.append(("para", text))

    def note(self, text: str) -> None:
        """A paragraph that qualifies what precedes it (method notes, what was not computed)."""
        self.blocks.append(("note", text))

    def code(self, text: str) -> None:
        """Preformatted text, e.g. a metafor-style results block."""
        self.blocks.append(("code", text))

    def table(self, frame: pd.DataFrame) -> None:
        self.blocks.append(("table", frame))

    def figure(self, figure: FigureRef) -> None:
        self.blocks.append(("figure", figure))

    def extend(self, other: Document) -> None:
        """Append another document's blocks (its title becomes nothing)."""
        self.blocks.extend(other.blocks)

    # ---------------------------------------------------------------- Markdown
    def markdown(self) -> str:
        out = [f"# {self.title}"]
        for kind, value in self.blocks:
            if kind == "heading":
                level, text = value  # type: ignore[misc]
                out.append(f"{'#' * level} {text}")
            elif kind == "para":
                out.append(str(value))
            elif kind == "note":
                out.append(f"*{value}*")
            elif kind == "code":
                out.append(f"```\n{value}\n```")
            elif kind == "table":
                out.append(markdown_table(value))  # type: ignore[arg-type]
            else:
                fig: FigureRef = value  # type: ignore[assignment]
                out.append(f"![{fig.caption}]({fig.png})\n\n*{fig.caption}* ([SVG]({fig.svg}))")
        return "\n\n".join(out) + "\n"

    # -------------------------------------------------------------------- HTML
    def html(self) -> str:
        body, toc, used = [], [], set()
        for kind, value in self.blocks:
            if kind == "heading":
                level, text = value  # type: ignore[misc]
                anchor = _anchor(text, used)
                if level == 2:
                    toc.append(f'<li><a href="#{anchor}">{html.escape(text)}</a></li>')
                body.append(f'<h{level} id="{anchor}">{html.escape(text)}</h{level}>')
            elif kind == "para":
                body.append(f"<p>{html.escape(str(value))}</p>")
            elif kind == "note":
                body.append(f'<p class="note">{html.escape(str(value))}</p>')
            elif kind == "code":
                body.append(f'<div class="scroll"><pre>{html.escape(str(value))}</pre></div>')
            elif kind == "table":
                body.append(f'<div class="scroll">{html_table(value)}</div>')  # type: ignore[arg-type]
            else:
                fig: FigureRef = value  # type: ignore[assignment]
                body.append(
                    f'<figure><img src="{html.escape(fig.png)}" alt="{html.escape(fig.caption)}" '
                    f'loading="lazy"><figcaption>{html.escape(fig.caption)} '
                    f'(<a href="{html.escape(fig.svg)}">SVG</a>)</figcaption></figure>')
        nav = f"<nav><ul>{''.join(toc)}</ul></nav>" if len(toc) > 2 else ""
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head>\n"
                f"<body>\n<h1>{html.escape(self.title)}</h1>\n{nav}\n" + "\n".join(body)
                + "\n</body></html>\n")


#: A cell that reads as a number, a P value or an estimate with its CI: right-aligned.
_NUMERIC = re.compile(r"^[<>]?\s?[-+]?\d[\d.,]*(e[-+]?\d+)?%?( \[[-\d.e+]+, [-\d.e+]+\])?"
                      r"( (PASS|FAIL))?$")


def html_table(frame: pd.DataFrame) -> str:
    """A DataFrame as an HTML table; cells that read as numbers are right-aligned."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.astype(object).where(frame.notna(), "").to_numpy():
        cells = []
        for value in row:
            text = str(value)
            number = ' class="n"' if _NUMERIC.match(text) else ""
            cells.append(f"<td{number}>{html.escape(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def markdown_table(frame: pd.DataFrame) -> str:
    """A DataFrame as a GitHub-flavoured Markdown table (pipes in cells escaped)."""
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    cells = frame.astype(object).where(frame.notna(), "")
    head = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in cells.to_numpy()]
    return "\n".join([head, rule, *rows])


def _anchor(text: str, used: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
    anchor, i = base, 2
    while anchor in used:
        anchor, i = f"{base}-{i}", i + 1
    used.add(anchor)
    return anchor
