"""From the rows a parser read to an :class:`~.model.Analysis` (shared by every format)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from ..errors import ReviewFileError
from .model import INPUT_COLUMNS, Analysis, Settings, Stored, StoredNumbers


@dataclass
class StudyRow:
    """One study of an analysis as read from the file."""

    name: str
    inputs: dict[str, float]
    stored: dict[str, Stored] = field(default_factory=dict)
    subgroup: str | None = None
    year: str | None = None
    estimable: bool = True


def _unique_labels(rows: Sequence[StudyRow]) -> list[str]:
    """Study names, made unique: a study in two subgroups gets the subgroup appended."""
    counts = Counter(row.name for row in rows)
    labels = [row.name if counts[row.name] == 1 or row.subgroup is None
              else f"{row.name} ({row.subgroup})" for row in rows]
    seen: Counter[str] = Counter()
    out = []
    for label in labels:
        seen[label] += 1
        out.append(label if seen[label] == 1 else f"{label} [{seen[label]}]")
    return out


def analysis(
    *,
    path: str,
    number: str,
    name: str,
    comparison: str,
    settings: Settings,
    rows: Sequence[StudyRow],
    overall: StoredNumbers,
    subgroups: Mapping[str, StoredNumbers],
    subgroup_test: StoredNumbers,
) -> Analysis:
    """Build the Analysis; an analysis without studies is an error naming it."""
    if not rows:
        raise ReviewFileError(path, "the analysis has no study data", analysis=f"{number} {name!r}")
    labels = _unique_labels(rows)
    columns = INPUT_COLUMNS[settings.data_type]
    data = pd.DataFrame({
        "label": labels,
        "subgroup": [row.subgroup for row in rows],
        "year": [row.year for row in rows],
        **{column: [row.inputs[column] for row in rows] for column in columns},
    })
    return Analysis(
        id=number, name=name, comparison=comparison, settings=settings, data=data,
        overall=overall, subgroups=subgroups, subgroup_test=subgroup_test,
        study_results={label: row.stored for label, row in zip(labels, rows, strict=True)
                       if row.stored},
        not_estimable=tuple(label for label, row in zip(labels, rows, strict=True)
                            if not row.estimable),
        path=path,
    )


def failing(path: str, analysis: str | None = None,
            field: str | None = None) -> Callable[[str], ReviewFileError]:
    """A function turning a problem into a ReviewFileError naming file, analysis, field."""
    return lambda problem: ReviewFileError(path, problem, analysis=analysis, field=field)


def estimable(kind: str, measure: str, inputs: Mapping[str, float]) -> bool:
    """RevMan's rule for 2x2 data: a ratio (OR, RR, Peto OR) is not estimable when both
    arms have no events, or both have only events; a risk difference always is."""
    if kind != "dichotomous" or measure == "RD":
        return True
    no_events = inputs["events_exp"] == 0 and inputs["events_ctrl"] == 0
    all_events = (inputs["events_exp"] == inputs["total_exp"]
                  and inputs["events_ctrl"] == inputs["total_ctrl"])
    return not (no_events or all_events)


def percent_level(text: str, fail: Callable[[str], Exception]) -> float:
    """A confidence level written in percent ("95", "95%") as a fraction."""
    try:
        level = float(text.strip().rstrip("%")) / 100
    except ValueError:
        level = float("nan")
    if not 0 < level < 1:
        raise fail(f"{text!r} is not a confidence level in percent")
    return level


def without_placeholders(numbers: dict[str, Stored], settings: Settings) -> dict[str, Stored]:
    """RevMan's pooled numbers without the values it writes for what it did not compute:
    Tau^2 under a fixed effect (0) and the heterogeneity test of a single study."""
    if not settings.random_effects:
        numbers.pop("tau2", None)
    if "df" in numbers and numbers["df"].value == 0:
        for field in ("chi2", "chi2_p", "i2"):
            numbers.pop(field, None)
    return numbers
