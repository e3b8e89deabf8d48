"""Per-study columns beside the effects: reported inputs and covariates."""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from typing import Any

import pandas as pd

from ..errors import InvalidArgumentError, InvalidStudyError
from .checks import warn
from .counts import COUNT_COLUMNS
from .means import MEANS_COLUMNS

#: Columns a StudySet derives itself; no covariate may take these names.
RESERVED_COLUMNS = frozenset({"label", "yi", "vi", "sei"})
#: Reported inputs kept beside the covariates; ``with_columns`` will not replace them.
REPORTED_COLUMNS = frozenset({"ratio", "lower", "upper", "p", *COUNT_COLUMNS, *MEANS_COLUMNS})
#: Suffix of a table column kept under another name because its own name is taken.
RENAMED_SUFFIX = "_column"


def column(name: str, values: Any, k: int) -> list[Any]:
    """One value per study for a covariate; a single value is repeated for every study."""
    if not pd.api.types.is_list_like(values):
        return [values] * k
    out = list(values)
    if len(out) != k:
        raise InvalidStudyError(None, name, f"{len(out)} values for {k} studies")
    return out


def check_keyword_covariates(keywords: Mapping[str, Any], arguments: Iterable[str]) -> None:
    """A keyword that is not an argument is a covariate (a single value is repeated for
    every study, e.g. ``country='US'``).  A single value under a name close to an
    argument's is a mistyped argument (``input_level=0.9`` for ``level=0.9``), which
    would otherwise be kept as a column and silently ignored: refused, naming both."""
    import difflib

    for name, values in keywords.items():
        if pd.api.types.is_list_like(values):
            continue
        close = difflib.get_close_matches(name, list(arguments), n=1, cutoff=0.6)
        if close:
            raise InvalidArgumentError(
                f"{name}={values!r} is not an argument; did you mean {close[0]}=? (a keyword "
                f"that is not an argument is a covariate; for a constant column named "
                f"{name!r} pass covariates={{{name!r}: value}})")


def check_names(names: Iterable[str], taken: Container[str], problem: str) -> None:
    """Raise for the first of ``names`` that is in ``taken``."""
    for name in names:
        if name in taken:
            raise InvalidStudyError(None, name, problem)


def covariate_columns(columns: Mapping[str, Any], k: int) -> dict[str, list[Any]]:
    """Covariates (and reported inputs) as {name: one value per study}, names checked."""
    check_names(
        columns, RESERVED_COLUMNS,
        f"reserved column name (metabridge derives {', '.join(sorted(RESERVED_COLUMNS))}); "
        "rename it",
    )
    return {name: column(name, values, k) for name, values in columns.items()}


def covariate_frame(columns: Mapping[str, Any], labels: tuple[str, ...]) -> pd.DataFrame:
    """Covariates (and reported inputs) as a frame indexed by label, one row per study."""
    return frame_of(covariate_columns(columns, len(labels)), labels)


def frame_of(columns: Mapping[str, list[Any]], labels: tuple[str, ...]) -> pd.DataFrame:
    """Checked columns (:func:`covariate_columns`) as a frame indexed by label."""
    return pd.DataFrame(columns, index=pd.Index(labels, name="label"))


def keep_apart(
    table: Mapping[str, Any] | pd.DataFrame | None, taken: Container[str]
) -> Mapping[str, Any] | pd.DataFrame | None:
    """A covariate table whose columns named like a derived column or an input are renamed.

    Columns of a table (``covariates=``, or the columns ``from_frame`` was not told
    about) must not matter: a metadat/escalc file's own ``yi`` and ``vi`` are kept,
    as ``yi_column`` and ``vi_column``, when the effects are read from other
    columns, with a :class:`DataWarning` saying so.  A name typed as a keyword
    (``yi=[...]``) is not renamed: that is an error (:func:`covariate_frame`).
    """
    if table is None:
        return None
    if not isinstance(table, Mapping | pd.DataFrame):
        raise InvalidStudyError(None, "covariates", "covariates must be a mapping "
                                f"{{name: values}} or a DataFrame, got {type(table).__name__}")
    names = [str(name) for name in table]
    clashes = [name for name in names if name in taken]
    if not clashes:
        return table
    used = set(names) | set(taken)
    renames: dict[str, str] = {}
    for name in clashes:
        new, n = f"{name}{RENAMED_SUFFIX}", 1
        while new in used:
            n += 1
            new = f"{name}{RENAMED_SUFFIX}_{n}"
        renames[name] = new
        used.add(new)
    warn(
        "columns not used for the effects are kept as covariates under new names, because "
        "metabridge derives or reads a column of that name: "
        + ", ".join(f"{old!r} -> {new!r}" for old, new in renames.items())
    )
    return {renames.get(str(name), str(name)): values for name, values in table.items()}


def merge(*parts: Mapping[str, Any] | pd.DataFrame | None) -> dict[str, Any]:
    """Reported inputs and covariates as one {column: values}; a name may appear once."""
    merged: dict[str, Any] = {}
    for part in parts:
        for name, values in (part if part is not None else {}).items():
            check_names([str(name)], merged, "column given twice (as a reported input "
                        "or a covariate); rename one")
            merged[str(name)] = values
    return merged
