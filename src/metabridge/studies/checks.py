"""Boundary checks of study-level input: every failure names the study and the field."""

from __future__ import annotations

import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import DataWarning, InvalidArgumentError, InvalidStudyError

MISSING = "value is missing; a number is needed (na='drop' drops such studies)"
#: What each input kind's reader returns: (yi, vi, reported inputs kept as columns).
Effects = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]
#: What a constructor does with a study whose effect inputs have a missing value.
NaRule = Literal["drop", "raise"]
NA_RULES = ("drop", "raise")


def warn(message: str) -> None:
    """A :class:`DataWarning` pointing at the first caller outside metabridge."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("metabridge"):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, DataWarning, stacklevel=level)


def is_missing(value: Any) -> bool:
    """True for None and NaN-like scalars."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def first_duplicate(values: Iterable[str]) -> str | None:
    """The first value seen twice, or None."""
    seen: set[str] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


def study_labels(labels: Iterable[Any] | None, values: Any) -> tuple[str, ...]:
    """Study labels, one per entry of ``values``: as given, or 'Study 1', 'Study 2', ..."""
    shape = np.atleast_1d(np.asarray(values, dtype=object)).shape
    if labels is None:
        return tuple(f"Study {i + 1}" for i in range(shape[0]))
    raw = [labels] if isinstance(labels, str) else list(labels)
    for i, label in enumerate(raw):
        if is_missing(label) or not str(label).strip():
            raise InvalidStudyError(None, "labels", f"study {i + 1} of {len(raw)} has no label")
    out = tuple(str(label) for label in raw)
    if len(shape) == 1 and len(out) != shape[0]:  # other shapes: vector() names the field
        raise InvalidStudyError(None, "labels", f"{len(out)} labels for {shape[0]} studies")
    if first_duplicate(out) is None:
        return out
    unique = make_unique(out)
    repeated = Counter(out)
    changes = "; ".join(
        f"{label!r} x{n} -> " + ", ".join(repr(new) for old, new in zip(out, unique, strict=True)
                                         if old == label)
        for label, n in repeated.items() if n > 1
    )
    warn(f"duplicate study labels made unique as metafor does (each repeat gets .1, .2, ...): "
         f"{changes}")
    return unique


def make_unique(labels: tuple[str, ...]) -> tuple[str, ...]:
    """metafor's rule (``.make.unique``): a label that occurs n > 1 times becomes
    label.1, ..., label.n in order of appearance.  Repeated while a new label
    collides with an existing one (e.g. 'A', 'A', 'A.1'), which metafor does not do."""
    out = list(labels)
    while first_duplicate(out) is not None:
        counts, seen = Counter(out), Counter[str]()
        for i, label in enumerate(out):
            if counts[label] > 1:
                seen[label] += 1
                out[i] = f"{label}.{seen[label]}"
    return tuple(out)


def _per_study(values: Any) -> np.ndarray:
    """A per-study input as a 1-d array: float arrays as they are, anything else as objects."""
    if isinstance(values, pd.Series | pd.Index):
        values = values.to_numpy()
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        return np.atleast_1d(values)
    return np.atleast_1d(np.asarray(values, dtype=object))


def _missing(values: Any, k: int) -> np.ndarray | None:
    """Which of k entries are missing (None, NaN, pd.NA); None if ``values`` is not k long."""
    try:
        arr = _per_study(values)
    except ValueError:  # ragged input: vector() names the field
        return None
    if arr.shape != (k,):
        return None
    if arr.dtype.kind == "f":
        return np.isnan(arr)
    if arr.dtype.kind == "O":
        return np.asarray(pd.isna(arr), dtype=bool)
    return np.zeros(k, dtype=bool)


def complete_rows(
    inputs: Mapping[str, Any], labels: tuple[str, ...], na: NaRule
) -> np.ndarray | None:
    """Positions of the studies to keep, or None to keep all.

    ``na="drop"`` drops every study with a missing effect input and warns with
    their labels and fields, as metafor's ``na.action = "na.omit"`` (its default)
    drops them with a warning.  ``na="raise"`` keeps all: the input check then
    raises for the first missing value, naming its study and field.
    """
    if na not in NA_RULES:
        raise InvalidArgumentError(f"na must be 'drop' or 'raise', got {na!r}")
    if na == "raise":
        return None
    masks = {field: _missing(values, len(labels)) for field, values in inputs.items()}
    if any(mask is None for mask in masks.values()):  # a length error comes first (vector())
        return None
    masks = {field: mask for field, mask in masks.items() if mask is not None and mask.any()}
    if not masks:
        return None
    bad = np.logical_or.reduce(list(masks.values()))
    if bad.all():
        raise InvalidStudyError(
            None, "/".join(masks), f"every study has a missing value; nothing is left "
            f"(na='drop'): {', '.join(labels)}")
    gaps = "; ".join(
        f"{labels[i]!r} ({', '.join(f for f, m in masks.items() if m[i])})"
        for i in np.flatnonzero(bad)
    )
    warn(f"{int(bad.sum())} of {len(labels)} studies dropped for missing values (na='drop', as "
         f"metafor's default na.omit): {gaps}; pass na='raise' to stop instead")
    return np.flatnonzero(~bad)


def take(values: Any, keep: np.ndarray) -> np.ndarray:
    """The entries ``keep`` of a per-study input (checked by complete_rows to be k long)."""
    return _per_study(values)[keep]


def number(value: Any, label: str, field: str) -> float:
    """``value`` as a float, or an error naming the study and field."""
    try:
        return float(value)
    except (TypeError, ValueError):
        problem = MISSING if is_missing(value) else f"{value!r} is not a number"
        raise InvalidStudyError(label, field, problem) from None


def vector(values: Any, field: str, labels: tuple[str, ...]) -> np.ndarray:
    """Float vector of length k with every entry finite, or an error naming the study."""
    raw = np.atleast_1d(np.asarray(values, dtype=object))
    if raw.ndim != 1 or raw.shape[0] != len(labels):
        raise InvalidStudyError(
            None, field,
            f"expected one value per study ({len(labels)}), got an array of shape {raw.shape}",
        )
    try:
        arr = raw.astype(float)
    except (TypeError, ValueError):  # find the entry that is not a number, and name its study
        arr = np.array([number(v, label, field) for v, label in zip(raw, labels, strict=True)])
    require(np.isnan(arr), labels, field, lambda i: MISSING)
    require(
        np.isinf(arr), labels, field,
        lambda i: f"value is {float(arr[i])}; a finite number is needed",
    )
    return arr


def require(
    bad: np.ndarray, labels: tuple[str, ...], field: str, problem: Callable[[int], str]
) -> None:
    """Raise for the first study flagged in ``bad``; ``problem(i)`` words the message."""
    for i in np.flatnonzero(bad):
        raise InvalidStudyError(labels[i], field, problem(i))
