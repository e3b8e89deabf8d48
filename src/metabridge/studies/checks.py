"""Boundary checks of study-level input: every failure names the study and the field.

The representable range (:func:`check_representable`).  Pooling forms weights
w = 1/v, the sums of w, w y, w y^2 and w^2 (DerSimonian-Laird's c, the
likelihood's information) and squares of those sums ((sum w)^2, (sum w y)^2).
In IEEE double precision these stay finite and normal when every factor lies
within 2^-512 .. 2^512 of 1 (the square root of the largest double, 2^1024, and
of the smallest normal one, 2^-1022).  metabridge keeps 2^12 of that for the sums
over k studies and the centring, and accepts a study when

    v <= 2^500  and  k * max(1, 1/v) * max(1, |y|) <= 2^500  (2^500 ~ 3.3e150),

so that w^2 >= 2^-1000 stays normal and every sum and square stays below 2^1000.
And each study's SE must be resolvable at the size of its effect:

    sqrt(v) >= 2^8 * spacing(|y|)  (the gap between adjacent doubles at y),

i.e. the effect is stored to within 1/512 of its SE (the rounding of y to double
is at most half a spacing), and its 95% CI spans about a thousand representable
numbers (the pooled SE of k such studies is sqrt(k) times smaller and stays above
one spacing for k up to 2^16).  Relative precision finer than ~5.7e-14 of the
effect (an SE below 256 spacings) is refused with the advice to subtract a
reference value first; physical-constant data (SE ~1e-9 of the effect), effects
offset by 1e4 and variances spread over many orders of magnitude are well inside.
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
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


@lru_cache(maxsize=16)
def default_labels(k: int) -> tuple[str, ...]:
    """'Study 1', ..., 'Study k' (kept for the last few k: a set of 1,000 studies would
    otherwise spend most of its construction writing them)."""
    return tuple(f"Study {i + 1}" for i in range(k))


def study_labels(labels: Iterable[Any] | None, values: Any) -> tuple[str, ...]:
    """Study labels, one per entry of ``values``: as given, or 'Study 1', 'Study 2', ..."""
    shape = (values.shape or (1,)) if isinstance(values, np.ndarray) else \
        np.atleast_1d(np.asarray(values, dtype=object)).shape
    if labels is None:
        return default_labels(shape[0])
    if isinstance(labels, set | frozenset):
        raise InvalidStudyError(None, "labels", "labels must be in study order (a list, "
                                "not a set)")
    raw = list(labels) if pd.api.types.is_list_like(labels) else [labels]
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
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        raw = np.atleast_1d(values)  # numbers already: no bool to refuse, nothing to parse
    else:
        raw = np.atleast_1d(np.asarray(values, dtype=object))
    if raw.ndim != 1 or raw.shape[0] != len(labels):
        raise InvalidStudyError(
            None, field,
            f"expected one value per study ({len(labels)}), got an array of shape {raw.shape}",
        )
    if raw.dtype == object:
        for i in np.flatnonzero([isinstance(v, bool | np.bool_) for v in raw]):
            raise InvalidStudyError(labels[i], field, f"{raw[i]!r} is not a number")
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


#: Bound on every factor of the pooling sums (module docstring): 2^500 ~ 3.3e150.
LIMIT = 2.0**500
#: An SE must span at least this many spacings of double at its effect (2^8).
RESOLUTION = 2.0**8


def check_representable(
    yi: np.ndarray, vi: np.ndarray, labels: tuple[str, ...], field: str = "vi",
    *, derived: bool = False, k: int | None = None,
) -> None:
    """Refuse a study that double precision cannot pool (see the module docstring).

    ``field`` names the input the variance came from ("sei" or "vi"; ``derived``
    when it was computed from other input, e.g. a CI); a finite, positive ``vi``
    is assumed (checked before).  ``k`` is the number of studies pooled together
    (default: one per label).
    """
    k = len(labels) if k is None else k
    with np.errstate(divide="ignore", over="ignore"):
        weight = 1.0 / vi
        size = k * np.maximum(1.0, weight) * np.maximum(1.0, np.abs(yi))
    se = np.sqrt(vi)
    spacing = np.spacing(np.abs(yi))

    def given(i: int) -> str:
        if field == "sei":
            return f"SE {float(se[i]):.3g} (variance {float(vi[i]):.3g})"
        what = "the variance derived from the input," if derived else "variance"
        return f"{what} {float(vi[i]):.3g} (SE {float(se[i]):.3g})"

    require(
        np.abs(yi) > LIMIT, labels, "yi",
        lambda i: f"effect {float(yi[i]):.3g} is above 2^500 ~ 3.3e150 in size; its square "
        "overflows double precision: rescale the effects (e.g. change units)",
    )
    require(
        vi > LIMIT, labels, field,
        lambda i: f"{given(i)} is above 2^500 ~ 3.3e150: the square of its weight 1/v "
        "underflows double precision; rescale the effects (e.g. change units)",
    )
    require(
        size > LIMIT, labels, field,
        lambda i: f"{given(i)} with effect {float(yi[i]):.6g} is outside what double precision "
        f"can pool for k = {k}: k * max(1, 1/v) * max(1, |effect|) = {float(size[i]):.3g} must "
        "stay below 2^500 ~ 3.3e150 so that the sums of weights, weighted effects and their "
        "squares stay finite; rescale the effects (e.g. change units)",
    )
    require(
        se < RESOLUTION * spacing, labels, field,
        lambda i: f"{given(i)} is below 256 spacings of double precision at its effect "
        f"{float(yi[i]):.17g} (spacing {float(spacing[i]):.3g}): the effect is not stored to "
        "within its own SE; subtract a reference value from the effects (e.g. pool "
        f"yi - {float(yi[i]):.6g}) and add it back to the pooled estimate",
    )


def require(
    bad: np.ndarray, labels: tuple[str, ...], field: str, problem: Callable[[int], str]
) -> None:
    """Raise for the first study flagged in ``bad``; ``problem(i)`` words the message."""
    if not bad.any():  # the usual case, at a third of flatnonzero's cost
        return
    for i in np.flatnonzero(bad):
        raise InvalidStudyError(labels[i], field, problem(i))
