"""Boundary checks of study-level input: every failure names the study and the field."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidStudyError

MISSING = "value is missing; a number is needed"


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
    duplicate = first_duplicate(out)
    if duplicate is not None:
        raise InvalidStudyError(duplicate, "labels", "duplicate label; labels must be unique")
    return out


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
