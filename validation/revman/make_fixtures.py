"""Write metabridge's own RevMan fixtures: one review in the three formats.

    PYTHONPATH=src python validation/revman/make_fixtures.py

Runs ``make_fixtures.R`` (metafor computes every stored number, following RevMan 5's
methods -- NOT RevMan), then writes, in this folder:

- ``metabridge_examples.rm5``          RevMan 5 XML (full doubles);
- ``metabridge_examples_CR.csv``       RevMan 5 "Data and analyses" CSV export (8 decimals);
- ``metabridge_examples.zip``          RevMan Web data package (6 decimals);
- ``metabridge_examples_studies.csv``  the entered data, one row per study, with provenance;
- ``metabridge_examples_results.csv``  metafor's numbers at 17 significant digits.

The layouts copy the public Fleiss 1993 files (R package meta) and what meta's readers
expect; parts those files do not show (subgroup elements and rows, generic
inverse-variance and O - E analyses) follow meta's ``read.rm5``/``read.cdir``.  The
chi-square P values of the RevMan 5 formats follow RevMan 5's series rule (computed in
R, see make_fixtures.R); the RevMan Web package has the exact ones.
"""

from __future__ import annotations

import csv
import io
import math
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pandas as pd

HERE = Path(__file__).resolve().parent
STEM = "metabridge_examples"
TITLE = "metabridge example review (numbers computed by metafor, not by RevMan)"
NOTE = ("Written by validation/revman/make_fixtures.py. The stored results were computed by "
        "metafor following RevMan 5's methods, NOT by RevMan.")


@dataclass(frozen=True)
class Spec:
    """How RevMan would have been set up for one analysis."""

    comparison: str
    name: str
    kind: str  # "generic", "oe", "dichotomous" or "continuous"
    measure: str  # as the .rm5 and the CSV export write it
    web_measure: str  # as RevMan Web writes it
    method: str  # "IV", "MH", "PETO" or "EXP_O_E_VAR"
    random: bool
    study_level: int = 95
    total_level: int = 95

    @property
    def log_scale(self) -> bool:
        return self.measure not in ("MD", "SMD", "RD")


COMPARISONS = {"1": "BCG vaccine versus no vaccine (log risk ratio entered)",
               "2": "Beta blockers versus control (O - E entered)",
               "3": "2x2 counts: BCG vaccine; beta blockers",
               "4": "Specialist stroke unit versus usual care (means and SDs)"}
RR, OR, PETO_OR = ("Risk Ratio",) * 2, ("OR", "Odds Ratio"), ("PETO_OR", "Peto Odds Ratio")
SPECS = {
    "1.1": Spec("1", "Tuberculosis, by allocation", "generic", *RR, "IV", True),
    "1.2": Spec("1", "Tuberculosis, fixed effect, 90% study and 99% total CIs", "generic", *RR,
                "IV", False, 90, 99),
    "2.1": Spec("2", "Total mortality, short-term oral trials", "oe", "Peto Odds Ratio",
                "Peto Odds Ratio", "EXP_O_E_VAR", False),
    "2.2": Spec("2", "Total mortality at one week, initial IV dose, random effects", "oe",
                "Peto Odds Ratio", "Peto Odds Ratio", "EXP_O_E_VAR", True),
    "3.1": Spec("3", "Tuberculosis (BCG), by allocation", "dichotomous", "RR", "Risk Ratio", "MH",
                True),
    "3.2": Spec("3", "Total mortality, short-term oral trials", "dichotomous", *OR, "MH", False),
    "3.3": Spec("3", "Total mortality, short-term oral trials (Peto)", "dichotomous", *PETO_OR,
                "PETO", False),
    "3.4": Spec("3", "Total mortality at one week, initial IV dose", "dichotomous", *OR, "IV",
                True),
    "4.1": Spec("4", "Length of stay (days)", "continuous", "MD", "Mean Difference", "IV", True),
    "4.2": Spec("4", "Length of stay, standardised", "continuous", "SMD",
                "Std. Mean Difference", "IV", False),
}
#: Study inputs per kind: (studies.csv column, .rm5 attribute, CSV export column,
#: RevMan Web column).  The generic effect is written as RevMan stores it (see _inputs).
INPUTS = {
    "generic": [("yi", "EFFECT_SIZE", "Effect Estimate", "GIV Mean"),
                ("sei", "SE", "SE", "GIV SE")],
    "oe": [("o_minus_e", "O_E", "O-E", "O-E"), ("variance", "VAR", "Var", "Variance")],
    "dichotomous": [("events_exp", "EVENTS_1", "Events 1", "Experimental cases"),
                    ("total_exp", "TOTAL_1", "Total 1", "Experimental N"),
                    ("events_ctrl", "EVENTS_2", "Events 2", "Control cases"),
                    ("total_ctrl", "TOTAL_2", "Total 2", "Control N")],
    "continuous": [("mean_exp", "MEAN_1", "Mean 1", "Experimental mean"),
                   ("sd_exp", "SD_1", "SD 1", "Experimental SD"),
                   ("n_exp", "TOTAL_1", "Total 1", "Experimental N"),
                   ("mean_ctrl", "MEAN_2", "Mean 2", "Control mean"),
                   ("sd_ctrl", "SD_2", "SD 2", "Control SD"),
                   ("n_ctrl", "TOTAL_2", "Total 2", "Control N")],
}
#: Element prefix (.rm5) and data type (CSV export, RevMan Web) of each kind.
TYPES = {"generic": ("IV", "IV", "Contrast level"), "oe": ("IPD", "IPD", "O-E and variance"),
         "dichotomous": ("DICH", "DIC", "Dichotomous"),
         "continuous": ("CONT", "CON", "Continuous")}


def _inputs(row: object, kind: str, fmt: int, text: object) -> dict[str, str]:
    """A study's inputs in the columns of format ``fmt`` (1 .rm5, 2 CSV, 3 RevMan Web)."""
    out = {}
    for column, *names in INPUTS[kind]:
        value = getattr(row, column)
        if column == "yi" and fmt in (1, 2):
            value = math.exp(value)  # RevMan stores the ratio, exp(entered log)
        out[names[fmt - 1]] = text(value)
    return out


def rounded(value: float, decimals: int) -> str:
    """``value`` rounded half-even to ``decimals`` decimals, trailing zeros dropped."""
    text = format(Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals),
                                                ROUND_HALF_EVEN), "f")
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("-0", "") else text


class Numbers:
    """metafor's results, looked up by analysis, scope, item and quantity."""

    def __init__(self, frame: pd.DataFrame, rule: str) -> None:
        keep = frame["rule"].fillna("").isin(["", rule])
        rows = frame[keep].fillna({"item": ""})
        self.values = {(r.analysis, r.scope, r.item, r.quantity): float(r.value)
                       for r in rows.itertuples()}

    def get(self, analysis: str, scope: str, item: str, quantity: str) -> float | None:
        return self.values.get((analysis, scope, item, quantity))


# ------------------------------------------------------------------------- .rm5
def _attrs(**values: object) -> str:
    return " ".join(f"{k}={quoteattr(str(v))}" for k, v in values.items())


def _full(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _pooled_attrs(n: Numbers, analysis: str, scope: str, item: str) -> dict[str, str]:
    def get(q: str) -> str:
        return _full(n.get(analysis, scope, item, q))
    return {"CHI2": get("chi2") or "0.0", "CI_END": get("ci_high"), "CI_START": get("ci_low"),
            "DF": str(int(n.get(analysis, scope, item, "df") or 0)),
            "EFFECT_SIZE": get("effect"), "I2": get("i2") or "0.0",
            "P_CHI2": get("chi2_p") or "0.0", "P_Z": get("p"),
            "TAU2": get("tau2") or "0.0", "Z": get("z")}


def write_rm5(studies: pd.DataFrame, n: Numbers, path: Path) -> None:
    names = studies.drop_duplicates("study_id")
    root = _attrs(DESCRIPTION=NOTE, ID="0", REVMAN_SUB_VERSION="5.4.1", REVMAN_VERSION="5",
                  STAGE="R", TYPE="INTERVENTION")
    lines = ['<?xml version="1.0" encoding="UTF-8" standalone="no"?>', f"<!-- {NOTE} -->",
             f"<COCHRANE_REVIEW {root}>", f"<COVER_SHEET><TITLE>{TITLE}</TITLE></COVER_SHEET>",
             "<STUDIES_AND_REFERENCES><STUDIES><INCLUDED_STUDIES>"]
    for row in names.itertuples():
        year = "" if pd.isna(row.year) else str(int(row.year))
        study = _attrs(DATA_SOURCE="PUB", ID=row.study_id, NAME=row.label, YEAR=year)
        lines.append(f"<STUDY {study}/>")
    lines.append("</INCLUDED_STUDIES></STUDIES></STUDIES_AND_REFERENCES>")
    lines.append('<ANALYSES_AND_DATA CALCULATED_DATA="YES">')
    for comparison, title in COMPARISONS.items():
        lines.append(f'<COMPARISON {_attrs(ID=f"CMP-00{comparison}", NO=comparison)}>'
                     f"<NAME>{title}</NAME>")
        for analysis, spec in SPECS.items():
            if spec.comparison == comparison:
                lines += _rm5_outcome(analysis, spec, studies[studies.analysis == analysis], n)
        lines.append("</COMPARISON>")
    lines += ["</ANALYSES_AND_DATA>", "</COCHRANE_REVIEW>"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _rm5_number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _rm5_outcome(analysis: str, spec: Spec, rows: pd.DataFrame, n: Numbers) -> list[str]:
    tag = TYPES[spec.kind][0]
    groups = [g for g in pd.unique(rows.subgroup) if isinstance(g, str)]
    attrs = _pooled_attrs(n, analysis, "overall", "")
    test = {"Q": _full(n.get(analysis, "test", "", "chi2")) or "0.0",
            "P_Q": _full(n.get(analysis, "test", "", "p")) or "0.0",
            "I2_Q": _full(n.get(analysis, "test", "", "i2")) or "0.0"}
    extra: dict[str, str] = {
        "generic": {"LOG_DATA": "YES", "METHOD": "IV"},
        "dichotomous": {"EFFECT_MEASURE": spec.measure, "METHOD": spec.method,
                        "SWAP_EVENTS": "NO"},
        "continuous": {"EFFECT_MEASURE": spec.measure},
    }.get(spec.kind, {})
    head = _attrs(**attrs, **test, **extra, CI_STUDY=spec.study_level,
                  CI_TOTAL=spec.total_level, ESTIMABLE="YES", ID=f"CMP-00{analysis}",
                  NO=analysis.split(".")[1], RANDOM="YES" if spec.random else "NO",
                  STUDIES=len(rows), SUBGROUPS="YES" if groups else "NO", SUBGROUP_TEST="YES",
                  TOTALS="YES", WEIGHT="100.0")
    out = [f"<{tag}_OUTCOME {head}>", f"<NAME>{spec.name}</NAME>",
           "<GROUP_LABEL_1>Experimental</GROUP_LABEL_1><GROUP_LABEL_2>Control</GROUP_LABEL_2>",
           "<GRAPH_LABEL_1>Favours experimental</GRAPH_LABEL_1>"
           "<GRAPH_LABEL_2>Favours control</GRAPH_LABEL_2>"]
    if spec.kind in ("generic", "oe"):
        out.append(f"<EFFECT_MEASURE>{spec.measure}</EFFECT_MEASURE>")
    if not groups:
        return [*out, *_rm5_data(tag, spec, analysis, rows, n), f"</{tag}_OUTCOME>"]
    for number, group in enumerate(groups, start=1):
        sub = _attrs(**_pooled_attrs(n, analysis, "subgroup", group), ESTIMABLE="YES",
                     NO=number, STUDIES=int((rows.subgroup == group).sum()))
        out += [f"<{tag}_SUBGROUP {sub}>", f"<NAME>{group}</NAME>",
                *_rm5_data(tag, spec, analysis, rows[rows.subgroup == group], n),
                f"</{tag}_SUBGROUP>"]
    return [*out, f"</{tag}_OUTCOME>"]


def _rm5_data(tag: str, spec: Spec, analysis: str, rows: pd.DataFrame,
              n: Numbers) -> list[str]:
    out = []
    for order, row in enumerate(rows.itertuples(), start=1):
        def get(q: str, label: str = row.label) -> str:
            return _full(n.get(analysis, "study", label, q))
        estimable = get("effect") != ""
        values = {"CI_END": get("ci_high"), "CI_START": get("ci_low"),
                  "EFFECT_SIZE": get("effect"), "ESTIMABLE": "YES" if estimable else "NO",
                  "ORDER": order, "SE": get("se"), "STUDY_ID": row.study_id,
                  "WEIGHT": get("weight")}
        values |= _inputs(row, spec.kind, 1, _rm5_number)
        out.append(f"<{tag}_DATA {_attrs(**values)}/>")
    return out


# ------------------------------------------------------------- RevMan 5 CSV export
CSV_COLUMNS = [
    "Comparison Number", "Outcome Number", "Subgroup Number", "Name", "Data Type",
    "Statistical Method", "Effect Measure", "Analysis Model", "Study Confidence Interval",
    "Total Confidence Interval", "Entered data are on log scale (Generic Inverse Variance only)",
    "Events 1", "Mean 1", "SD 1", "Total 1", "Events 2", "Mean 2", "SD 2", "Total 2", "O-E",
    "Var", "Effect Estimate", "SE", "CI Start", "CI End", "Weight", "Q", "P(Q)", "I²(Q)",
    "Tau²", "Z", "P(Z)", "Qint", "P(Qint)", "I²(Qint)", "df", "Group Label 1", "Group Label 2",
    "Left Graph Label", "Right Graph Label", "Year of study", "User defined order",
]


def _csv_pooled(n: Numbers, analysis: str, scope: str, item: str) -> dict[str, str]:
    def get(q: str) -> str:
        value = n.get(analysis, scope, item, q)
        return "" if value is None else rounded(value, 8)
    return {"Effect Estimate": get("effect"), "CI Start": get("ci_low"),
            "CI End": get("ci_high"), "Q": get("chi2"), "P(Q)": get("chi2_p"),
            "I²(Q)": get("i2"), "Tau²": get("tau2"), "Z": get("z"), "P(Z)": get("p"),
            "df": get("df")}


def write_csv_export(studies: pd.DataFrame, n: Numbers, path: Path) -> None:
    rows: list[dict[str, str]] = []
    for comparison, title in COMPARISONS.items():
        rows.append({"Comparison Number": comparison, "Outcome Number": "0",
                     "Subgroup Number": "0", "Name": title})
        for analysis, spec in SPECS.items():
            if spec.comparison != comparison:
                continue
            part = studies[studies.analysis == analysis]
            settings = {
                "Comparison Number": comparison, "Outcome Number": analysis.split(".")[1],
                "Data Type": TYPES[spec.kind][1], "Statistical Method": spec.method,
                "Effect Measure": spec.measure,
                "Analysis Model": "Random" if spec.random else "Fixed",
                "Study Confidence Interval": f"{spec.study_level}%",
                "Total Confidence Interval": f"{spec.total_level}%",
                "Entered data are on log scale (Generic Inverse Variance only)":
                    "Yes" if spec.kind == "generic" else ""}
            test = {"Qint": n.get(analysis, "test", "", "chi2"),
                    "P(Qint)": n.get(analysis, "test", "", "p"),
                    "I²(Qint)": n.get(analysis, "test", "", "i2")}
            rows.append({**settings, "Subgroup Number": "0", "Name": spec.name, "Weight": "100",
                         "Group Label 1": "Experimental", "Group Label 2": "Control",
                         "Left Graph Label": "Favours experimental",
                         "Right Graph Label": "Favours control",
                         **_csv_pooled(n, analysis, "overall", ""),
                         **{k: "0" if v is None else rounded(v, 8) for k, v in test.items()}})
            groups = [g for g in pd.unique(part.subgroup) if isinstance(g, str)]
            if not groups:
                rows += _csv_studies(settings, spec, part, n, analysis, "0")
            for number, group in enumerate(groups, start=1):
                rows.append({**settings, "Subgroup Number": str(number), "Name": group,
                             **_csv_pooled(n, analysis, "subgroup", group)})
                rows += _csv_studies(settings, spec, part[part.subgroup == group], n, analysis,
                                     str(number))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _csv_studies(settings: dict[str, str], spec: Spec, rows: pd.DataFrame, n: Numbers,
                 analysis: str, subgroup: str) -> list[dict[str, str]]:
    out = []
    for order, row in enumerate(rows.itertuples(), start=1):
        def get(q: str, label: str = row.label) -> str:
            value = n.get(analysis, "study", label, q)
            return "" if value is None else rounded(value, 8)
        values = {"Comparison Number": settings["Comparison Number"],
                  "Outcome Number": settings["Outcome Number"], "Subgroup Number": subgroup,
                  "Name": row.label, "Effect Estimate": get("effect"), "SE": get("se"),
                  "CI Start": get("ci_low"), "CI End": get("ci_high"), "Weight": get("weight"),
                  "User defined order": str(order),
                  "Year of study": "" if pd.isna(row.year) else str(int(row.year))}
        out.append(values | _inputs(row, spec.kind, 2, lambda v: rounded(v, 8)))
    return out


# ------------------------------------------------------------ RevMan Web package
SETTINGS = [
    "Analysis group", "Analysis number", "Analysis name", "Analysis group name", "Data source",
    "Data type", "Log-scale data", "Statistical method", "Effect measure", "Analysis model",
    "Subgroup estimates", "Overall estimates", "Test for subgroup differences",
    "Swap event and non-event", "Study CI", "Estimate CI", "Mean", "CI start", "CI end",
    "Heterogeneity Tau²", "Heterogeneity Chi²", "Heterogeneity df", "Heterogeneity P",
    "Heterogeneity I²", "Effect Z", "Effect P", "Subgroup Chi²", "Subgroup df", "Subgroup P",
    "Subgroup I²", "ID",
]
DATA_ROWS = [
    "Analysis group", "Analysis number", "Analysis name", "Subgroup", "Applicability", "Study",
    "Study year", "GIV Mean", "GIV SE", "Experimental mean", "Experimental SD",
    "Experimental cases", "Experimental N", "Control mean", "Control SD", "Control cases",
    "Control N", "O-E", "Variance", "Weight", "Mean", "CI start", "CI end", "Footnotes",
]
SUBGROUPS = [
    "Analysis group", "Analysis number", "Subgroup", "Subgroup number", "Weight", "Mean",
    "CI start", "CI end", "Heterogeneity Tau²", "Heterogeneity Chi²", "Heterogeneity df",
    "Heterogeneity P", "Heterogeneity I²", "Effect Z", "Effect P", "ID",
]


def _web_pooled(n: Numbers, analysis: str, scope: str, item: str) -> dict[str, str]:
    def get(q: str) -> str:
        value = n.get(analysis, scope, item, q)
        return "" if value is None else rounded(value, 6)
    return {"Mean": get("effect"), "CI start": get("ci_low"), "CI end": get("ci_high"),
            "Heterogeneity Tau²": get("tau2"), "Heterogeneity Chi²": get("chi2"),
            "Heterogeneity df": get("df"), "Heterogeneity P": get("chi2_p"),
            "Heterogeneity I²": get("i2"), "Effect Z": get("z"), "Effect P": get("p")}


def _table(columns: list[str], rows: Iterable[dict[str, str]]) -> bytes:
    handle = io.StringIO()
    writer = csv.DictWriter(handle, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" + handle.getvalue()).encode("utf-8")


def write_web(studies: pd.DataFrame, n: Numbers, path: Path) -> None:
    settings, data_rows, subgroup_rows = [], [], []
    for analysis, spec in SPECS.items():
        group, number = analysis.split(".")
        part = studies[studies.analysis == analysis]
        groups = [g for g in pd.unique(part.subgroup) if isinstance(g, str)]
        test = {"Subgroup Chi²": "chi2", "Subgroup df": "df", "Subgroup P": "p",
                "Subgroup I²": "i2"}
        settings.append({
            "Analysis group": group, "Analysis number": number, "Analysis name": spec.name,
            "Analysis group name": COMPARISONS[group], "Data source": "Custom input",
            "Data type": TYPES[spec.kind][2],
            "Log-scale data": "true" if spec.log_scale else "false",
            "Statistical method": spec.method, "Effect measure": spec.web_measure,
            "Analysis model": "Random effect" if spec.random else "Fixed effect",
            "Subgroup estimates": "true", "Overall estimates": "true",
            "Test for subgroup differences": "true", "Swap event and non-event": "false",
            "Study CI": f"{spec.study_level}%", "Estimate CI": f"{spec.total_level}%",
            **_web_pooled(n, analysis, "overall", ""),
            **{column: rounded(v, 6) for column, q in test.items()
               if (v := n.get(analysis, "test", "", q)) is not None},
            "ID": f"analysis:{analysis}",
        })
        for row in part.itertuples():
            def get(q: str, label: str = row.label, analysis: str = analysis) -> str:
                value = n.get(analysis, "study", label, q)
                return "0" if value is None else rounded(value, 6)
            values = {"Analysis group": group, "Analysis number": number,
                      "Analysis name": spec.name,
                      "Subgroup": row.subgroup if isinstance(row.subgroup, str) else "",
                      "Applicability": "SUBGROUP_AND_OVERALL", "Study": row.label,
                      "Study year": "" if pd.isna(row.year) else str(int(row.year)),
                      "Weight": get("weight"), "Mean": get("effect"), "CI start": get("ci_low"),
                      "CI end": get("ci_high")}
            data_rows.append(values | _inputs(row, spec.kind, 3, lambda v: rounded(v, 6)))
        for index, name in enumerate(groups, start=1):
            subgroup_rows.append({"Analysis group": group, "Analysis number": number,
                                  "Subgroup": name, "Subgroup number": str(index),
                                  **{k: v for k, v in _web_pooled(n, analysis, "subgroup",
                                                                  name).items()},
                                  "ID": f"subgroup:{analysis}.{index}"})
    folder = "metabridge-examples-analysis-data/metabridge-examples"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for suffix, columns, rows in (
            ("-overall-estimates-and-settings.csv", SETTINGS, settings),
            ("-data-rows.csv", DATA_ROWS, data_rows),
            ("-subgroup-estimates.csv", SUBGROUPS, subgroup_rows),
        ):
            info = zipfile.ZipInfo(folder + suffix, date_time=(2024, 1, 1, 0, 0, 0))
            archive.writestr(info, _table(columns, rows), zipfile.ZIP_DEFLATED)
        archive.writestr(zipfile.ZipInfo("README.txt", date_time=(2024, 1, 1, 0, 0, 0)),
                         NOTE + "\n")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["Rscript", str(HERE / "make_fixtures.R"), tmp], check=True)
        studies = pd.read_csv(Path(tmp) / "studies.csv", dtype={"analysis": str})
        results = pd.read_csv(Path(tmp) / "results.csv", dtype={"analysis": str, "value": str})
        versions = (Path(tmp) / "versions.txt").read_text().strip()
    studies["study_id"] = "STD-" + studies["label"].str.replace(r"[^A-Za-z0-9]+", "-",
                                                                regex=True)
    revman5, web = Numbers(results, "revman5"), Numbers(results, "exact")
    write_rm5(studies, revman5, HERE / f"{STEM}.rm5")
    write_csv_export(studies, revman5, HERE / f"{STEM}_CR.csv")
    write_web(studies, web, HERE / f"{STEM}.zip")
    studies.drop(columns="study_id").to_csv(HERE / f"{STEM}_studies.csv", index=False)
    with (HERE / f"{STEM}_results.csv").open("w", encoding="utf-8") as handle:
        handle.write(f"# computed by {versions} (validation/revman/make_fixtures.R), not by "
                     "RevMan; rule: chi-square P by RevMan 5's series (revman5) or exact\n")
        results.to_csv(handle, index=False)
    print(f"wrote {STEM}.rm5, {STEM}_CR.csv, {STEM}.zip, {STEM}_studies.csv, "
          f"{STEM}_results.csv ({versions})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
