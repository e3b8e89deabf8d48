"""Cochrane review files: RevMan's analyses, settings and stored results.

:func:`read_revman` reads the three formats reviews circulate in -- RevMan 5 ``.rm5``
XML (:mod:`.rm5`), the RevMan 5 "Data and analyses" CSV export (:mod:`.csv_export`)
and the RevMan Web / Cochrane Library data package zip (:mod:`.web`) -- into one
model (:mod:`.model`): a :class:`Review` of :class:`Analysis` objects, each with its
studies as a StudySet, RevMan's settings and the numbers RevMan stored.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ReviewFileError
from .csv_export import read_csv_export
from .model import Analysis, Review, Settings, Stored
from .rm5 import read_rm5
from .web import is_data_package, read_web

#: The formats, by the name :attr:`Review.format` gives them.
FORMATS = ("RevMan 5 (.rm5)", "RevMan 5 CSV export", "RevMan Web data package (zip)")
_CSV_HEADER = b"comparison number"


def read_revman(path: str | Path) -> Review:
    """Read a Cochrane review file: RevMan 5 .rm5, RevMan 5 CSV export or RevMan Web zip.

    The format is recognised from the content, not the file name.  Raises
    :class:`~metabridge.errors.ReviewFileError` (naming the file, the analysis and
    the field) for a file that is none of these or lacks what an analysis needs.
    """
    source = Path(path)
    if not source.is_file():
        raise ReviewFileError(str(path), "no such file")
    kind = _kind(source)
    if kind is not None:
        return _READERS[kind](source)
    raise ReviewFileError(
        str(path), "not a RevMan file: neither RevMan 5 XML (.rm5), a RevMan 5 'Data and "
        "analyses' CSV export (first column 'Comparison Number') nor a RevMan Web zip")


def _kind(source: Path) -> str | None:
    """'web', 'rm5' or 'csv' from the file's content; None for anything else."""
    if is_data_package(source):
        return "web"
    with source.open("rb") as handle:
        head = handle.read(4096)
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return "rm5"
    if text[:200].lower().replace(b'"', b"").startswith(_CSV_HEADER):
        return "csv"
    return None


_READERS = {"web": read_web, "rm5": read_rm5, "csv": read_csv_export}


def is_review_file(path: str | Path) -> bool:
    """True if ``path`` is a file :func:`read_revman` recognises by its content."""
    source = Path(path)
    return source.is_file() and _kind(source) is not None


__all__ = ["FORMATS", "Analysis", "Review", "Settings", "Stored", "is_review_file",
           "read_revman"]
