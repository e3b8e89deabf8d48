"""The record counts of a PRISMA 2020 flow diagram (Page et al. 2021, BMJ 372:n71).

A count the review does not report is ``None`` and is drawn as "not reported",
never filled in.  :meth:`PrismaFlow.check` verifies the arithmetic of every step
whose counts are all known (each stage = the previous one minus those removed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from .errors import InvalidArgumentError

#: Steps of the flow: (stage, removed, next stage).
STEPS = (
    ("identified", "duplicates", "screened"),
    ("screened", "excluded_screening", "sought"),
    ("sought", "not_retrieved", "assessed"),
    ("assessed", "excluded_full_text", "included_reports"),
)


@dataclass(frozen=True)
class PrismaFlow:
    """Counts of the PRISMA 2020 flow for new reviews (databases and registers).

    ``identified_from`` says where the records came from; ``exclusion_reasons`` maps
    each reason for excluding a full-text report to its count, or is a sentence
    where the review gives the reasons without counts.  ``notes`` holds, per box,
    what the source says about a count it does not give.
    """

    identified: int | None
    duplicates: int | None
    screened: int | None
    excluded_screening: int | None
    sought: int | None = None
    not_retrieved: int | None = None
    assessed: int | None = None
    excluded_full_text: int | None = None
    included_studies: int | None = None
    included_reports: int | None = None
    identified_from: str = "databases and registers"
    exclusion_reasons: Mapping[str, int] | str | None = None
    notes: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PrismaFlow:
        """From a mapping (e.g. a TOML table); unknown and missing keys are an error."""
        if not isinstance(data, Mapping):
            raise InvalidArgumentError(
                f"PRISMA counts must be a mapping, got {type(data).__name__}")
        required = [f.name for f in fields(cls)
                    if f.default is MISSING and f.default_factory is MISSING]
        missing = [name for name in required if name not in data]
        if missing:
            raise InvalidArgumentError(f"PRISMA counts need {missing}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidArgumentError(
                f"unknown PRISMA field(s) {unknown}; known: {sorted(known)}")
        for name, value in data.items():
            if name in _COUNTS and value is not None and (
                    not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise InvalidArgumentError(
                    f"PRISMA count {name!r} must be a whole number >= 0, got {value!r}")
        return cls(**dict(data))

    def check(self) -> None:
        """Raise if a step whose counts are all known does not add up."""
        for before, removed, after in STEPS:
            values = [getattr(self, name) for name in (before, removed, after)]
            if None in values:
                continue
            if values[0] - values[1] != values[2]:
                raise InvalidArgumentError(
                    f"PRISMA counts do not add up: {before} {values[0]} - {removed} "
                    f"{values[1]} != {after} {values[2]}")
        if self.sought is None and None not in (self.screened, self.excluded_screening,
                                                 self.assessed):
            left = self.screened - self.excluded_screening  # type: ignore[operator]
            if self.assessed > left:  # type: ignore[operator]
                raise InvalidArgumentError(
                    f"PRISMA counts do not add up: {self.assessed} reports assessed but only "
                    f"{left} records left after screening")
        if isinstance(self.exclusion_reasons, Mapping) and self.excluded_full_text is not None:
            total = sum(self.exclusion_reasons.values())
            if total != self.excluded_full_text:
                raise InvalidArgumentError(
                    f"PRISMA exclusion reasons add up to {total}, not to the "
                    f"{self.excluded_full_text} reports excluded")


_COUNTS = frozenset(f.name for f in fields(PrismaFlow) if f.type == "int | None")
