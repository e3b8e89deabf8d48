"""RevMan 5 "Data and analyses" CSV export.

One table, one row per comparison, analysis, subgroup and study, told apart by the
number columns: ``Comparison Number``, ``Outcome Number`` (0 on a comparison's row)
and ``Subgroup Number`` (0 outside subgroups); the first row of an analysis or of a
subgroup carries its ``Data Type`` (``DIC``, ``CON``, ...) and RevMan's pooled
numbers, the rows after it (``Data Type`` empty) are its studies.  Learnt from the
public example ``Fleiss1993_CR.csv`` (R package meta) and meta's ``read.rm5``.

RevMan rounds every number in this export to 8 decimals (as seen in the public file:
``0.89686556`` for 0.8968655609130709).  The export's columns are chosen by the user
in RevMan; the confidence levels are only in it when the user ticked them, else the
analysis says RevMan's default (95%) was assumed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import ReviewFileError
from . import vocabulary
from .assemble import (
    StudyRow,
    analysis,
    estimable,
    failing,
    log_of_ratio,
    percent_level,
    without_placeholders,
)
from .model import Analysis, Review, Settings, Stored
from .tables import TableAnalysis, cell, key, missing_columns, read_table

FORMAT = "RevMan 5 CSV export"
#: Decimals RevMan 5 writes in this export.
DECIMALS = 8
_NUMBERS = ("Comparison Number", "Outcome Number", "Subgroup Number")
_REQUIRED = (*_NUMBERS, "Name", "Data Type", "Statistical Method", "Effect Measure",
             "Analysis Model")
_INPUTS = {
    "dichotomous": {"Events 1": "events_exp", "Total 1": "total_exp", "Events 2": "events_ctrl",
                    "Total 2": "total_ctrl"},
    "continuous": {"Mean 1": "mean_exp", "SD 1": "sd_exp", "Total 1": "n_exp",
                   "Mean 2": "mean_ctrl", "SD 2": "sd_ctrl", "Total 2": "n_ctrl"},
    "generic": {"Effect Estimate": "yi", "SE": "sei"},
    "oe": {"O-E": "o_minus_e", "Var": "variance"},
}
_POOLED = {"Effect Estimate": "effect", "CI Start": "ci_low", "CI End": "ci_high", "Z": "z",
           "P(Z)": "p", "Q": "chi2", "df": "df", "P(Q)": "chi2_p", "I²(Q)": "i2", "Tau²": "tau2"}
_TEST = {"Qint": "chi2", "P(Qint)": "p", "I²(Qint)": "i2"}
_STUDY = {"Effect Estimate": "effect", "SE": "se", "CI Start": "ci_low", "CI End": "ci_high",
          "Weight": "weight"}
_LEVELS = {"Study Confidence Interval": "study_level", "Total Confidence Interval": "total_level"}
_LOG_SCALE = "Entered data are on log scale (Generic Inverse Variance only)"


def read_csv_export(path: str | Path) -> Review:
    """Read every analysis of a RevMan 5 CSV export."""
    name = str(path)
    table = read_table(Path(path), failing(name))
    missing = missing_columns(table, _REQUIRED)
    headers = table.attrs["headers"]
    if missing:
        raise ReviewFileError(
            name, "column missing; not a RevMan 5 'Data and analyses' CSV export (it has "
            f"{', '.join(headers[:8])}{', ...' if len(headers) > 8 else ''})",
            field=missing[0])
    for column in _NUMBERS:
        numbers = pd.to_numeric(table[key(column)], errors="coerce")
        if numbers.isna().any():
            row = int(numbers.isna().to_numpy().argmax())
            raise ReviewFileError(name, f"row {row + 2}: {table.iloc[row][key(column)]!r} is "
                                  "not a number", field=column)
        table[key(column)] = numbers.astype(int)
    comparisons = {int(r["comparison number"]): r["name"]
                   for _, r in table[table["outcome number"] == 0].iterrows()}
    analyses: list[Analysis] = []
    rows = table[table["outcome number"] > 0]
    for (comp, out), part in rows.groupby(["comparison number", "outcome number"], sort=False):
        analyses.append(_Outcome(name, comparisons.get(comp, ""), f"{comp}.{out}", part).read())
    return Review(name, FORMAT, Path(path).stem, tuple(analyses))


class _Outcome(TableAnalysis):
    decimals = DECIMALS

    def __init__(self, path: str, comparison: str, number: str, rows: pd.DataFrame) -> None:
        self.path = path
        self.comparison = comparison
        self.number = number
        self.rows = rows
        self.head = rows.iloc[0]
        self.name = self.head["name"]
        self.where = f"{number} {self.name!r}"

    def read(self) -> Analysis:
        if not self.head["data type"] or int(self.head["subgroup number"]) != 0:
            raise self.fail("Data Type")("the analysis' first row is not its summary row "
                                         "(Data Type empty or Subgroup Number not 0)")
        settings = self.settings(grouped=bool((self.rows["subgroup number"] > 0).any()))
        studies: list[StudyRow] = []
        subgroups: dict[str, dict[str, Stored]] = {}
        group_names: dict[int, str] = {}
        for _, row in self.rows.iloc[1:].iterrows():
            number = int(row["subgroup number"])
            if number and number not in group_names and row["data type"]:
                group_names[number] = row["name"]
                subgroups[row["name"]] = self.pooled(row, settings)
                continue
            group = group_names.get(number, f"Subgroup {number}") if number else None
            studies.append(self.study(row, group, settings))
        test = {}
        if subgroups and settings.subgroup_test:
            test = self.numbers(self.head, _TEST)
            if test.get("chi2") and test.get("p") and test["chi2"].value == test["p"].value == 0:
                test = {}  # RevMan's placeholder zeros: the test was not computed
        return analysis(path=self.path, number=self.number, name=self.name,
                        comparison=self.comparison, settings=settings, rows=studies,
                        overall=self.pooled(self.head, settings), subgroups=subgroups,
                        subgroup_test=test, favours=(cell(self.head, "Left Graph Label"),
                                                     cell(self.head, "Right Graph Label")),
                        input_fields={v: k for k, v in _INPUTS[settings.data_type].items()})

    def settings(self, grouped: bool) -> Settings:
        head = self.head
        kind = vocabulary.data_type(head["data type"], self.fail("Data Type"))
        method = vocabulary.method(head["statistical method"], self.fail("Statistical Method"))
        if method == "OE":
            kind = "oe"
        measure, log_scale = vocabulary.measure(head["effect measure"], kind,
                                                self.fail("Effect Measure"))
        assumed: list[str] = []
        if kind == "generic":
            log_scale = self.yes(head, _LOG_SCALE, default=None, assumed=assumed)
        elif kind == "oe":
            log_scale = True
        levels = {field: self.level(head, column, assumed) for column, field in _LEVELS.items()}
        model = head["analysis model"].strip().lower()
        if not model.startswith(("fixed", "random")):
            raise self.fail("Analysis Model")(f"{head['analysis model']!r} is neither Fixed "
                                              "nor Random")
        return Settings(
            data_type=kind, method="OE" if kind == "oe" else method,
            measure=vocabulary.on_scale(measure, log_scale), measure_name=head["effect measure"],
            random_effects=model.startswith("random"), log_scale=log_scale,
            swap_events=kind == "dichotomous" and self.yes(
                head, "Swap event and non-event", default=False, assumed=assumed),
            subgroup_test=grouped and self.yes(
                head, "Test for subgroup differences", default=True, assumed=assumed),
            assumed=tuple(assumed), **levels,
        )

    def yes(self, row: pd.Series, column: str, default: bool | None,
            assumed: list[str]) -> bool:
        text = cell(row, column)
        if not text:
            if default is None:
                raise self.fail(column)("column missing or empty; it says whether the "
                                        "entered data are on the log scale")
            assumed.append(f"{column!r} not in the export: {'yes' if default else 'no'} assumed")
            return default
        if text.lower() not in ("yes", "no"):
            raise self.fail(column)(f"{text!r} is neither Yes nor No")
        return text.lower() == "yes"

    def level(self, row: pd.Series, column: str, assumed: list[str]) -> float:
        text = cell(row, column)
        if not text:
            assumed.append(f"{column!r} not in the export: RevMan's default 95% assumed")
            return 0.95
        return percent_level(text, self.fail(column))

    def pooled(self, row: pd.Series, settings: Settings) -> dict[str, Stored]:
        numbers = self.numbers(row, _POOLED)
        low, high = numbers.get("ci_low"), numbers.get("ci_high")
        if "effect" not in numbers or (low and high and low.value == high.value):
            return {}  # nothing computed (empty, or RevMan's zeros)
        return without_placeholders(numbers, settings)

    def study(self, row: pd.Series, group: str | None, settings: Settings) -> StudyRow:
        study = self.inputs(row, row["name"], _INPUTS[settings.data_type], settings.data_type)
        if settings.data_type == "generic" and settings.log_scale:
            log_of_ratio(study, DECIMALS, self.fail("Effect Estimate"))  # the export: ratio
        study.estimable = estimable(settings.data_type, settings.measure, study.inputs)
        study.stored = self.numbers(row, _STUDY) if study.estimable else {}
        if settings.data_type == "generic":  # the effect and SE are the inputs, not results
            study.stored.pop("effect", None)
            study.stored.pop("se", None)
        study.subgroup, study.year = group, cell(row, "Year of study") or None
        return study
