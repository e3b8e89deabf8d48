"""RevMan Web / Cochrane Library data packages (zip).

The analyses are three CSV tables in the package's ``*-analysis-data/`` folder:
``*-overall-estimates-and-settings.csv`` (one row per analysis: settings and pooled
numbers), ``*-data-rows.csv`` (one row per study and analysis: the data and the
study's effect, CI and weight) and ``*-subgroup-estimates.csv`` (one row per
subgroup).  A RevMan Web article download nests these in a ``*-data.zip``; a Cochrane
Library data package holds them directly; both are read, in memory.  Learnt from the
public example ``Fleiss1993.zip`` (R package meta) and meta's ``read.cdir``.

RevMan Web rounds the numbers in these tables to 6 decimals (``0.896866`` for
0.8968655609130709 in the public file) and writes zeros where it computed nothing.
The tables do not say which tau^2 estimator a random-effects analysis used.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd

from ..errors import ReviewFileError
from . import vocabulary
from .assemble import (
    StudyRow,
    analysis,
    estimable,
    failing,
    percent_level,
    without_placeholders,
)
from .model import Analysis, Review, Settings, Stored
from .tables import TableAnalysis, cell, key, missing_columns, read_table

FORMAT = "RevMan Web data package (zip)"
#: Decimals RevMan Web writes in these tables.
DECIMALS = 6
_TABLES = {"settings": "-overall-estimates-and-settings.csv", "rows": "-data-rows.csv",
           "subgroups": "-subgroup-estimates.csv"}
_ID = ("Analysis group", "Analysis number")
_SETTINGS = (*_ID, "Analysis name", "Data type", "Statistical method", "Effect measure",
             "Analysis model", "Log-scale data", "Study CI", "Estimate CI")
_ROWS = (*_ID, "Study", "Subgroup")
_INPUTS = {
    "dichotomous": {"Experimental cases": "events_exp", "Experimental N": "total_exp",
                    "Control cases": "events_ctrl", "Control N": "total_ctrl"},
    "continuous": {"Experimental mean": "mean_exp", "Experimental SD": "sd_exp",
                   "Experimental N": "n_exp", "Control mean": "mean_ctrl",
                   "Control SD": "sd_ctrl", "Control N": "n_ctrl"},
    "generic": {"GIV Mean": "yi", "GIV SE": "sei"},
    "oe": {"O-E": "o_minus_e", "Variance": "variance"},
}
_POOLED = {"Mean": "effect", "CI start": "ci_low", "CI end": "ci_high", "Effect Z": "z",
           "Effect P": "p", "Heterogeneity Chi²": "chi2", "Heterogeneity df": "df",
           "Heterogeneity P": "chi2_p", "Heterogeneity I²": "i2", "Heterogeneity Tau²": "tau2"}
_TEST = {"Subgroup Chi²": "chi2", "Subgroup df": "df", "Subgroup P": "p", "Subgroup I²": "i2"}
_STUDY = {"Mean": "effect", "CI start": "ci_low", "CI end": "ci_high", "Weight": "weight"}
_IN_OVERALL = "SUBGROUP_AND_OVERALL"


def is_data_package(path: str | Path) -> bool:
    """True if ``path`` is a zip file (RevMan Web packages are zip files)."""
    return zipfile.is_zipfile(path)


def _members(archive: zipfile.ZipFile, depth: int = 0) -> dict[str, bytes]:
    """Every CSV member of the archive and of the zip files it nests (one level)."""
    out: dict[str, bytes] = {}
    for info in archive.infolist():
        lower = info.filename.lower()
        if lower.endswith(".csv"):
            out[info.filename] = archive.read(info)
        elif lower.endswith(".zip") and depth == 0:
            with zipfile.ZipFile(io.BytesIO(archive.read(info))) as inner:
                out |= _members(inner, depth + 1)
    return out


def read_web(path: str | Path) -> Review:
    """Read every analysis of a RevMan Web / Cochrane Library data package."""
    name = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = _members(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ReviewFileError(name, f"not a readable zip file: {exc}") from None
    if any(m.lower().endswith("-parameters.csv") for m in members):
        raise ReviewFileError(name, "a diagnostic test accuracy review; metabridge reads "
                              "reviews of interventions")
    tables = {}
    for role, suffix in _TABLES.items():
        found = [m for m in members if m.lower().endswith(suffix)]
        if len(found) != 1:
            problem = "missing" if not found else f"found {len(found)} times"
            raise ReviewFileError(name, f"not a RevMan Web data package: the table *{suffix} "
                                  f"is {problem}", field=suffix.lstrip("-"))
        tables[role] = read_table(members[found[0]], failing(name, field=found[0]))
    for role, required in (("settings", _SETTINGS), ("rows", _ROWS)):
        missing = missing_columns(tables[role], required)
        if missing:
            raise ReviewFileError(name, f"column missing from *{_TABLES[role]}",
                                  field=missing[0])
    analyses = [
        _Analysis(name, settings_row, tables).read()
        for _, settings_row in tables["settings"].iterrows()
    ]
    return Review(name, FORMAT, Path(path).stem, tuple(analyses))


def _same(table: pd.DataFrame, row: pd.Series) -> pd.Series:
    """Rows of ``table`` belonging to the analysis of ``row`` (same group and number)."""
    mask = pd.Series(True, index=table.index)
    for column in _ID:
        if key(column) not in table.columns:
            return pd.Series(False, index=table.index)
        mask &= table[key(column)].str.strip() == str(row[key(column)]).strip()
    return mask


class _Analysis(TableAnalysis):
    decimals = DECIMALS

    def __init__(self, path: str, head: pd.Series, tables: dict[str, pd.DataFrame]) -> None:
        self.path = path
        self.head = head
        self.tables = tables
        self.number = f"{cell(head, 'Analysis group')}.{cell(head, 'Analysis number')}"
        self.name = cell(head, "Analysis name") or ""
        self.where = f"{self.number} {self.name!r}"

    def read(self) -> Analysis:
        settings = self.settings()
        rows = self.tables["rows"][_same(self.tables["rows"], self.head)]
        studies = [self.study(row, settings) for _, row in rows.iterrows()]
        groups = self.tables["subgroups"][_same(self.tables["subgroups"], self.head)]
        subgroups = {}
        if self.flag("Subgroup estimates", default=True):
            subgroups = {cell(g, "Subgroup") or f"Subgroup {cell(g, 'Subgroup number')}":
                         self.pooled(g, settings) for _, g in groups.iterrows()}
        test = {}
        if subgroups and settings.subgroup_test:
            test = self.numbers(self.head, _TEST)
            if not test.get("df") or test["df"].value == 0:
                test = {}  # empty or zeros: RevMan computed no test
        return analysis(
            path=self.path, number=self.number, name=self.name,
            comparison=cell(self.head, "Analysis group name") or "", settings=settings,
            rows=studies, overall=self.pooled(self.head, settings) if settings.totals else {},
            subgroups=subgroups, subgroup_test=test,
            input_fields={v: k for k, v in _INPUTS[settings.data_type].items()},
        )

    def flag(self, column: str, default: bool | None = None) -> bool:
        text = (cell(self.head, column) or "").lower()
        if not text and default is not None:
            return default
        if text not in ("true", "false"):
            raise self.fail(column)(f"{cell(self.head, column)!r} is neither true nor false")
        return text == "true"

    def settings(self) -> Settings:
        head = self.head
        kind = vocabulary.data_type(cell(head, "Data type") or "", self.fail("Data type"))
        method = vocabulary.method(cell(head, "Statistical method") or "",
                                   self.fail("Statistical method"))
        if method == "OE":
            kind = "oe"
        measure_name = cell(head, "Effect measure") or ""
        measure, _ = vocabulary.measure(measure_name, kind, self.fail("Effect measure"))
        log_scale = self.flag("Log-scale data")
        model = (cell(head, "Analysis model") or "").lower()
        if not model.startswith(("fixed", "random")):
            raise self.fail("Analysis model")(
                f"{cell(head, 'Analysis model')!r} is neither fixed nor random effect(s)")
        random_effects = model.startswith("random")
        assumed = ("the tau^2 estimator is not in the data package: DerSimonian-Laird "
                   "assumed",) if random_effects else ()
        return Settings(
            data_type=kind, method="OE" if kind == "oe" else method,
            measure=vocabulary.on_scale(measure, log_scale), measure_name=measure_name,
            random_effects=random_effects,
            study_level=percent_level(cell(head, "Study CI") or "", self.fail("Study CI")),
            total_level=percent_level(cell(head, "Estimate CI") or "", self.fail("Estimate CI")),
            log_scale=log_scale,
            swap_events=kind == "dichotomous" and self.flag("Swap event and non-event", False),
            totals=self.flag("Overall estimates", default=True),
            subgroup_test=self.flag("Test for subgroup differences", default=True),
            assumed=assumed,
        )

    def pooled(self, row: pd.Series, settings: Settings) -> dict[str, Stored]:
        numbers = self.numbers(row, _POOLED)
        low, high = numbers.get("ci_low"), numbers.get("ci_high")
        if not (low and high) or low.value == high.value:
            return {}  # RevMan's zeros: nothing computed
        return without_placeholders(numbers, settings)

    def study(self, row: pd.Series, settings: Settings) -> StudyRow:
        label = cell(row, "Study") or ""
        applicability = cell(row, "Applicability")
        if applicability and applicability != _IN_OVERALL:
            raise self.fail("Applicability")(
                f"study {label!r}: {applicability!r}; metabridge reads {_IN_OVERALL} rows only")
        study = self.inputs(row, label, _INPUTS[settings.data_type], settings.data_type)
        study.estimable = estimable(settings.data_type, settings.measure, study.inputs)
        stored = self.numbers(row, _STUDY) if study.estimable else {}
        low, high = stored.get("ci_low"), stored.get("ci_high")
        if low and high and low.value == high.value:
            stored = {}  # RevMan's zeros
        study.stored, study.subgroup = stored, cell(row, "Subgroup") or None
        study.year = cell(row, "Study year") or None
        return study
