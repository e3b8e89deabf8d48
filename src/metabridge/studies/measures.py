"""The effect measures metabridge knows, and which are ratios (pooled on the log scale)."""

from __future__ import annotations

from ..errors import InvalidArgumentError

#: Measures metabridge knows; ratio measures are analysed on the log scale.
MEASURES: dict[str, str] = {
    "HR": "hazard ratio",
    "OR": "odds ratio",
    "RR": "risk ratio",
    "IRR": "incidence rate ratio",
    "MD": "mean difference",
    "SMD": "standardised mean difference",
    "RD": "risk difference",
    "GEN": "generic effect",
}
RATIO_MEASURES = frozenset({"HR", "OR", "RR", "IRR"})


def check_measure(measure: str, *, ratio: bool | None = None) -> str:
    """The canonical (upper-case) name of ``measure``, or InvalidArgumentError."""
    name = str(measure).upper()
    if name not in MEASURES:
        raise InvalidArgumentError(
            f"unknown measure {measure!r}; known: {', '.join(MEASURES)}"
        )
    if ratio is True and name not in RATIO_MEASURES:
        raise InvalidArgumentError(
            f"measure {measure!r} is not a ratio; use one of {', '.join(sorted(RATIO_MEASURES))}"
        )
    return name


def check_input_measure(measure: str, allowed: tuple[str, ...], data: str) -> str:
    """``measure`` (upper case) if ``data`` can give it (one of ``allowed``), else raise."""
    name = str(measure).upper()
    if name not in allowed:
        raise InvalidArgumentError(
            f"measure {measure!r} cannot be computed from {data}; use one of {', '.join(allowed)}"
        )
    return name
