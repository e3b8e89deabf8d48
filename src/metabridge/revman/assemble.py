"""From the rows a parser read to an :class:`~.model.Analysis` (shared by every format)."""

from __future__ import annotations

import math
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
    rounding: dict[str, float] = field(default_factory=dict)
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
    favours: tuple[str | None, str | None] = (None, None),
    input_fields: Mapping[str, str] | None = None,
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
        rounding=pd.DataFrame({column: [row.rounding.get(column, 0.0) for row in rows]
                               for column in columns}),
        favours=(favours[0] or "Favours experimental", favours[1] or "Favours control"),
        input_fields=dict(input_fields or {}),
    )


def failing(path: str, analysis: str | None = None,
            field: str | None = None) -> Callable[[str], ReviewFileError]:
    """A function turning a problem into a ReviewFileError naming file, analysis, field."""
    return lambda problem: ReviewFileError(path, problem, analysis=analysis, field=field)


def estimable(kind: str, measure: str, inputs: Mapping[str, float]) -> bool:
    """RevMan's rule: an O - E study with variance 0 carries no information; for 2x2 data
    a ratio (OR, RR, Peto OR) is not estimable when both arms have no events, or both
    have only events, while a risk difference always is."""
    if kind == "oe":
        return inputs["variance"] != 0
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


def read_inputs(columns: Mapping[str, str], text: Callable[[str], str | None], label: str,
                kind: str, decimals: int | None,
                fail: Callable[[str], Callable[[str], Exception]]) -> StudyRow:
    """A study's inputs from ``text(source)`` for each ``columns`` source -> input.

    Each must be a number; the row also records how much each may have been rounded.
    """
    row = StudyRow(name=label, inputs={})
    for source, column in columns.items():
        raw = text(source)
        problem = fail(source)
        if raw is None:
            raise problem(f"column missing; {kind} data need it")
        stored = Stored.parse(raw, decimals, lambda p, f=problem: f(f"study {label!r}: {p}"))
        if stored is None:
            raise problem(f"study {label!r}: value is empty; a number is needed")
        row.inputs[column] = stored.value
        row.rounding[column] = stored.input_rounding
    return row


def log_of_ratio(row: StudyRow, decimals: int | None, fail: Callable[[str], Exception]) -> None:
    """Turn a generic-IV ratio (as RevMan stores it) into yi = ln(ratio), in place.

    RevMan stores exp(entered value), a computed number: in a rounding format it is
    rounded whatever digits the text shows (trailing zeros are dropped), so it carries
    half a unit of the format's last decimal, moved to the log scale to first order:
    d ln R = dR / R.
    """
    ratio = row.inputs["yi"]
    if not ratio > 0:
        raise fail(f"study {row.name!r}: a ratio entered on the log scale must be > 0, "
                   f"got {ratio}")
    row.inputs["yi"] = math.log(ratio)
    row.rounding["yi"] = 0.0 if decimals is None else 0.5 * 10.0 ** -decimals / ratio
