"""CSV tables of the RevMan exports: read as text, headers looked up by RevMan's spelling."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..errors import ReviewFileError
from .assemble import StudyRow, failing, read_inputs
from .model import Stored


def key(column: str) -> str:
    """A header as a lookup key: no BOM, lower case, I²/Tau² written with a plain 2."""
    return " ".join(str(column).replace("\ufeff", "").replace("²", "2").lower().split())


def cell(row: pd.Series, column: str) -> str | None:
    """The text in ``column`` (RevMan's spelling), ``None`` if the table has no such column."""
    name = key(column)
    return str(row[name]).strip() if name in row.index else None


def read_table(source: Path | bytes, fail: Callable[[str], Exception]) -> pd.DataFrame:
    """A CSV file (a path, or a zip member's bytes) as text cells with lookup-key headers.

    UTF-8 (with or without BOM) first, Windows-1252 otherwise.
    """
    for encoding in ("utf-8-sig", "cp1252"):
        handle = io.BytesIO(source) if isinstance(source, bytes) else source
        try:
            frame = pd.read_csv(handle, dtype=str, keep_default_na=False, encoding=encoding)
        except UnicodeDecodeError:
            continue
        except (OSError, ValueError) as exc:
            raise fail(f"cannot read it as a CSV table: {exc}") from None
        frame.attrs["headers"] = [str(c).replace("\ufeff", "") for c in frame.columns]
        return frame.rename(columns=key)
    raise fail("cannot read it as a CSV table: neither UTF-8 nor Windows-1252 text")


def missing_columns(table: pd.DataFrame, columns: tuple[str, ...]) -> list[str]:
    """The columns (RevMan's spelling) ``table`` lacks."""
    return [column for column in columns if key(column) not in table.columns]


class TableAnalysis:
    """Reading one analysis out of RevMan's CSV tables (CSV export, RevMan Web package)."""

    decimals: int  #: the decimals the format rounds to
    path: str
    where: str

    def fail(self, field: str | None = None) -> Callable[[str], ReviewFileError]:
        return failing(self.path, self.where, field)

    def numbers(self, row: pd.Series, names: dict[str, str]) -> dict[str, Stored]:
        """The stored numbers of ``row`` in the columns ``names`` (column -> field)."""
        out = {}
        for column, field in names.items():
            stored = Stored.parse(cell(row, column), self.decimals, self.fail(column))
            if stored is not None:
                out[field] = stored
        return out

    def inputs(self, row: pd.Series, label: str, columns: dict[str, str],
               kind: str) -> StudyRow:
        """A study's data in ``columns`` (column -> input); each one must be a number."""
        return read_inputs(columns, lambda column: cell(row, column), label, kind,
                           self.decimals, self.fail)
