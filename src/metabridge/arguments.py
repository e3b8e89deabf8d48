"""Checks of the verbs' scalar and list arguments, each naming the argument.

Study data are checked by :mod:`metabridge.studies`; these are the knobs (counts,
numbers, switches, lists of names, seeds).  A bool is never taken for a number,
a float is never truncated to a count, and a string is never split into letters.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import InvalidArgumentError


def whole_number(value: Any, name: str, minimum: int) -> int:
    """``value`` as an int >= ``minimum`` (an integral float such as 5.0 is accepted)."""
    integral = isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer())
    if isinstance(value, bool) or not integral or int(value) < minimum:
        raise InvalidArgumentError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def finite_number(value: Any, name: str, minimum: float | None = None) -> float:
    """``value`` as a finite float (>= ``minimum`` if given)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(
            value) or (minimum is not None and value < minimum):
        bound = f" >= {minimum:g}" if minimum is not None else ""
        raise InvalidArgumentError(f"{name} must be a finite number{bound}, got {value!r}")
    return float(value)


def flag(value: Any, name: str) -> bool:
    """``value`` if it is True or False (a string such as 'no' is not a switch)."""
    if not isinstance(value, bool | np.bool_):
        raise InvalidArgumentError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def names(values: Any, what: str) -> list[Any]:
    """A name, or an iterable of names, as a non-empty list (a lone string is one name,
    never its letters)."""
    if isinstance(values, str):
        return [values]
    if not isinstance(values, Iterable) or isinstance(values, bytes | dict):
        raise InvalidArgumentError(
            f"{what}s must be a name or a list of names, got {values!r}")
    listed = list(values)
    if not listed:
        raise InvalidArgumentError(f"give at least one {what}")
    return listed


def random_generator(seed: Any) -> np.random.Generator:
    """numpy's Generator for ``seed``: None, an int >= 0, a sequence of them, a
    SeedSequence or a Generator."""
    if isinstance(seed, bool | float | str | bytes):
        raise InvalidArgumentError(
            f"seed must be None, a whole number >= 0 or a list of them, got {seed!r}")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            f"seed must be None, a whole number >= 0 or a list of them, got {seed!r} ({exc})"
        ) from None
