"""RevMan 5 review files (``.rm5``): XML, the analyses under ``ANALYSES_AND_DATA``.

The layout, learnt from the public example ``Fleiss1993.rm5`` (R package meta) and
meta's ``read.rm5``::

    <COCHRANE_REVIEW REVMAN_VERSION="5" REVMAN_SUB_VERSION="5.0.23" ...>
      <STUDIES_AND_REFERENCES> ... <STUDY ID="STD-MRC_x002d_1" NAME="MRC-1" YEAR="1974">
      <ANALYSES_AND_DATA>
        <COMPARISON NO="1"> <NAME>...</NAME>
          <DICH_OUTCOME NO="1" METHOD="MH" EFFECT_MEASURE="OR" RANDOM="NO" CI_STUDY="95"
                        CI_TOTAL="95" TOTALS="YES" SUBGROUPS="NO" SUBGROUP_TEST="YES"
                        EFFECT_SIZE=".." CI_START=".." Z=".." CHI2=".." I2=".." Q=".." ...>
            <NAME>...</NAME>
            <DICH_DATA STUDY_ID=".." EVENTS_1=".." ... EFFECT_SIZE=".." WEIGHT=".."/>
            (or <DICH_SUBGROUP NO=".." EFFECT_SIZE=".." ...> <NAME/> <DICH_DATA/>...)

``CONT_``, ``IV_`` (generic inverse variance; the measure is a child element
``<EFFECT_MEASURE>`` and ``LOG_DATA="YES"`` marks a ratio entered on the log scale)
and ``IPD_`` (O - E and variance) outcomes have the same shape.  RevMan writes its
results as full doubles; attributes it did not compute are empty.  The heterogeneity
test is ``CHI2``/``DF``/``P_CHI2``/``I2``; the test for subgroup differences is
``Q``/``P_Q``/``I2_Q``.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from ..errors import ReviewFileError
from . import vocabulary
from .assemble import (
    StudyRow,
    analysis,
    failing,
    log_of_ratio,
    read_inputs,
    without_placeholders,
)
from .model import Analysis, Review, Settings, Stored

FORMAT = "RevMan 5 (.rm5)"
_OUTCOMES = {"DICH": "dichotomous", "CONT": "continuous", "IV": "generic", "IPD": "oe"}
#: Attributes of an outcome or subgroup element -> pooled field.
_POOLED = {"EFFECT_SIZE": "effect", "CI_START": "ci_low", "CI_END": "ci_high", "Z": "z",
           "P_Z": "p", "CHI2": "chi2", "DF": "df", "P_CHI2": "chi2_p", "I2": "i2",
           "TAU2": "tau2"}
_TEST = {"Q": "chi2", "P_Q": "p", "I2_Q": "i2"}
_STUDY = {"EFFECT_SIZE": "effect", "SE": "se", "CI_START": "ci_low", "CI_END": "ci_high",
          "WEIGHT": "weight"}
#: Study inputs per data type: attribute -> input column.
_INPUTS = {
    "dichotomous": {"EVENTS_1": "events_exp", "TOTAL_1": "total_exp", "EVENTS_2": "events_ctrl",
                    "TOTAL_2": "total_ctrl"},
    "continuous": {"MEAN_1": "mean_exp", "SD_1": "sd_exp", "TOTAL_1": "n_exp",
                   "MEAN_2": "mean_ctrl", "SD_2": "sd_ctrl", "TOTAL_2": "n_ctrl"},
    "generic": {"EFFECT_SIZE": "yi", "SE": "sei"},
    "oe": {"O_E": "o_minus_e", "VAR": "variance"},
}


def read_rm5(path: str | Path) -> Review:
    """Read every analysis of a RevMan 5 ``.rm5`` file."""
    name = str(path)
    try:
        root = ET.fromstring(Path(path).read_bytes())
    except ET.ParseError as exc:
        raise ReviewFileError(name, f"not a RevMan 5 file: not well-formed XML ({exc})") from None
    if root.tag != "COCHRANE_REVIEW":
        raise ReviewFileError(
            name, f"not a RevMan 5 review: the root element is <{root.tag}>, not <COCHRANE_REVIEW>")
    version = root.get("REVMAN_VERSION")
    if version is None:
        raise ReviewFileError(name, "attribute missing; a RevMan 5 file states its version",
                              field="REVMAN_VERSION")
    if version.split(".")[0] != "5":
        sub = root.get("REVMAN_SUB_VERSION", "")
        raise ReviewFileError(
            name, f"unknown schema version {version!r} {sub}".rstrip()
            + "; metabridge reads RevMan 5 files (REVMAN_VERSION 5)", field="REVMAN_VERSION")
    studies = {s.get("ID"): (s.get("NAME") or s.get("ID"), s.get("YEAR") or None)
               for s in root.iter("STUDY") if s.get("ID")}
    data = root.find("ANALYSES_AND_DATA")
    analyses: list[Analysis] = []
    for comparison in [] if data is None else data.findall("COMPARISON"):
        for outcome in comparison:
            kind = outcome.tag.removesuffix("_OUTCOME")
            if outcome.tag.endswith("_OUTCOME") and kind in _OUTCOMES:
                analyses.append(_Outcome(name, comparison, outcome, studies).read())
    title = (root.findtext("COVER_SHEET/TITLE") or "").strip()
    return Review(name, FORMAT, title, tuple(analyses))


class _Outcome:
    """Reads one ``*_OUTCOME`` element."""

    def __init__(self, path: str, comparison: ET.Element, element: ET.Element,
                 studies: dict[str | None, tuple[str, str | None]]) -> None:
        self.path = path
        self.element = element
        self.prefix = element.tag.removesuffix("_OUTCOME")
        self.kind = _OUTCOMES[self.prefix]
        self.comparison = (comparison.findtext("NAME") or "").strip()
        number = f"{comparison.get('NO', '?')}.{element.get('NO', '?')}"
        self.name = (element.findtext("NAME") or "").strip()
        self.where = f"{number} {self.name!r}"
        self.number = number
        self.studies = studies

    def fail(self, field: str | None = None) -> Callable[[str], ReviewFileError]:
        return failing(self.path, self.where, field)

    def attribute(self, element: ET.Element, name: str, default: str | None = None) -> str:
        value = element.get(name, default)
        if value is None:
            raise self.fail(name)(f"attribute missing from <{element.tag}>")
        return value

    def read(self) -> Analysis:
        settings = self.settings()
        subgroups = {}
        rows: list[StudyRow] = []
        for child in self.element:
            if child.tag == f"{self.prefix}_DATA":
                rows.append(self.study(child, None, settings))
            elif child.tag == f"{self.prefix}_SUBGROUP":
                group = (child.findtext("NAME") or f"Subgroup {child.get('NO', '?')}").strip()
                rows += [self.study(d, group, settings)
                         for d in child.findall(f"{self.prefix}_DATA")]
                subgroups[group] = self.pooled(child, settings)
        grouped = self.element.get("SUBGROUPS") == "YES" and bool(subgroups)
        test = {}
        if grouped and settings.subgroup_test and self.pooled(self.element, settings):
            test = self.numbers(self.element, _TEST)
        return analysis(
            path=self.path, number=self.number, name=self.name, comparison=self.comparison,
            settings=settings, rows=rows,
            overall=self.pooled(self.element, settings) if settings.totals else {},
            subgroups=subgroups, subgroup_test=test,
            favours=(self.element.findtext("GRAPH_LABEL_1"),
                     self.element.findtext("GRAPH_LABEL_2")),
            input_fields={v: k for k, v in _INPUTS[self.kind].items()},
        )

    def settings(self) -> Settings:
        e = self.element
        default_method = {"continuous": "IV", "generic": "IV", "oe": "EXP_O_E_VAR"}.get(self.kind)
        method = vocabulary.method(self.attribute(e, "METHOD", default_method), self.fail("METHOD"))
        measure_text = e.get("EFFECT_MEASURE") or (e.findtext("EFFECT_MEASURE") or "").strip()
        if not measure_text:
            raise self.fail("EFFECT_MEASURE")("no effect measure (attribute or child element)")
        measure, log_scale = vocabulary.measure(measure_text, self.kind,
                                                self.fail("EFFECT_MEASURE"))
        if self.kind == "generic":
            log_scale = self.flag(e, "LOG_DATA", default="NO")
        elif self.kind == "oe":
            log_scale = True
        return Settings(
            data_type=self.kind, method="OE" if self.kind == "oe" else method,
            measure=vocabulary.on_scale(measure, log_scale), measure_name=measure_text,
            random_effects=self.flag(e, "RANDOM"),
            study_level=self.level("CI_STUDY"), total_level=self.level("CI_TOTAL"),
            log_scale=log_scale,
            swap_events=self.flag(e, "SWAP_EVENTS", default="NO"),
            totals=self.attribute(e, "TOTALS") == "YES",
            subgroup_test=self.flag(e, "SUBGROUP_TEST", default="NO"),
        )

    def flag(self, element: ET.Element, name: str, default: str | None = None) -> bool:
        value = self.attribute(element, name, default)
        if value not in ("YES", "NO"):
            raise self.fail(name)(f"{value!r} is neither YES nor NO")
        return value == "YES"

    def level(self, name: str) -> float:
        text = self.attribute(self.element, name)
        try:
            level = float(text) / 100
        except ValueError:
            raise self.fail(name)(f"{text!r} is not a confidence level in percent") from None
        if not 0 < level < 1:
            raise self.fail(name)(f"{text!r} is not a confidence level in percent")
        return level

    def numbers(self, element: ET.Element, names: dict[str, str]) -> dict[str, Stored]:
        out = {}
        for attribute, field in names.items():
            stored = Stored.parse(element.get(attribute), None, self.fail(attribute))
            if stored is not None and math.isfinite(stored.value):
                out[field] = stored
        return out

    def pooled(self, element: ET.Element, settings: Settings) -> dict[str, Stored]:
        """RevMan's pooled numbers, without its placeholders for what it did not compute."""
        if element.get("ESTIMABLE") == "NO" or not element.get("EFFECT_SIZE"):
            return {}
        return without_placeholders(self.numbers(element, _POOLED), settings)

    def study(self, element: ET.Element, group: str | None, settings: Settings) -> StudyRow:
        study_id = self.attribute(element, "STUDY_ID")
        if study_id not in self.studies:
            raise self.fail("STUDY_ID")(f"study {study_id!r} is not among the review's studies")
        name, year = self.studies[study_id]
        row = read_inputs(_INPUTS[self.kind], lambda a: self.attribute(element, a), name,
                          self.kind, None, self.fail)
        if self.kind == "generic" and settings.log_scale:
            log_of_ratio(row, None, self.fail("EFFECT_SIZE"))  # RevMan stores exp(entered)
        estimable = element.get("ESTIMABLE", "YES") != "NO"
        stored = self.numbers(element, _STUDY) if estimable else {}
        if self.kind == "generic":  # the effect and SE are the inputs, not results
            stored.pop("effect", None)
            stored.pop("se", None)
        row.stored, row.subgroup, row.year, row.estimable = stored, group, year, estimable
        return row
