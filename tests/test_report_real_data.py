"""`metabridge report` on a metadat CSV (yi/vi columns, repeated labels, subgroups) vs metafor.

Truth: metafor's own verbs (rma, confint, leave1out, cumul, influence, trimfill,
regtest, ranktest and the mixed-effects model) run by validation/report_reference.R and pinned in
tests/reference/report_reference.csv -- not metabridge's R code.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import need

from metabridge import cli

DATA = Path(__file__).parent / "data" / "hackshaw1998.csv"
PINS = Path(__file__).parent / "reference" / "report_reference.csv"
#: metafor live vs metafor pinned, same calls and tolerances (threshold 1e-10 on tau^2).
SAME_ENGINE = 1e-9
#: PyMARE's REML (scipy's optimiser) vs metafor's (Fisher scoring to 1e-10): they agree
#: to ~1e-8 relative on these data; a wrong formula moves these numbers by > 1e-3.
ITERATIVE = 1e-6
#: Cook's distance is a squared difference of two iterative fits (with and without the
#: study), so PyMARE's ~1e-9 distance from metafor's REML optimum moves a small one
#: (3e-4 here) by ~1e-9 absolute, ~3e-6 relative; 1e-7 absolute bounds that, while a
#: wrong formula moves the larger ones (up to ~0.1 here) by far more.
COOK_ABS = 1e-7


@pytest.fixture(scope="module")
def pins() -> pd.DataFrame:
    return pd.read_csv(PINS, comment="#", keep_default_na=False)


def _report(tmp_path_factory: pytest.TempPathFactory, backend: str,
            capsys: pytest.CaptureFixture[str]) -> Path:
    need(backend)
    out = tmp_path_factory.mktemp(backend)
    argv = ["report", str(DATA), "--label", "author", "--yi", "yi", "--vi", "vi",
            "--measure", "OR", "--method", "REML", "--backend", backend, "--by", "design",
            "--group-label", "design=Study design", "--out", str(out)]
    assert cli.main(argv) == 0
    assert "duplicate study labels made unique as metafor does" in capsys.readouterr().err
    for name in ("report.html", "report.md", "numbers.csv", "studies.csv"):
        assert (out / name).stat().st_size > 0
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert figures == ["baujat.png", "baujat.svg", "forest.png", "forest.svg",
                       "forest_design.png", "forest_design.svg", "funnel.png", "funnel.svg"]
    return out


def _numbers(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "numbers.csv", keep_default_na=False)


def _ours(numbers: pd.DataFrame, analysis: str, detail: str, statistic: str) -> float:
    rows = numbers[(numbers["analysis"] == analysis) & (numbers["detail"] == detail)
                   & (numbers["statistic"] == statistic)]
    assert len(rows) == 1, (analysis, detail, statistic)
    return float(rows["value"].iloc[0])


#: (pin analysis, pin label) -> (numbers.csv analysis, detail); statistic names are shared.
PLACES = {
    ("pooled", ""): ("pooled", ""),
    ("heterogeneity", "tau2"): ("heterogeneity", "tau2"),
    ("heterogeneity", "i2"): ("heterogeneity", "i2"),
    ("subgroup_separate", ""): ("subgroup", "design (separate tau2)"),
    ("subgroup_separate", "cohort"): ("subgroup", "design (separate tau2): cohort"),
    ("subgroup_separate", "case-control"): ("subgroup", "design (separate tau2): case-control"),
    ("subgroup_common", ""): ("subgroup", "design (common tau2)"),
    ("egger_classic", ""): ("egger", "classic"),
    ("egger_metafor-rma", ""): ("egger", "metafor-rma"),
    ("begg", ""): ("begg", ""),
    ("trim_and_fill", ""): ("trim_and_fill", "L0"),
}
#: Per-study pins: pin analysis -> (numbers.csv analysis, detail from the study label).
PER_STUDY = {
    "loo": ("loo", "without {}"),
    "cumulative": ("cumulative", "+ {}"),
    "influence": ("influence", "{}"),
}


def _compare(numbers: pd.DataFrame, pins: pd.DataFrame, rel: float,
             expected: dict[tuple[str, str], float] | None = None,
             cook_abs: float = 1e-12) -> int:
    """Check every pin (``expected`` replaces a pin where a documented convention applies)."""
    checked = 0
    for row in pins.itertuples():
        value = (expected or {}).get((row.analysis, row.statistic), float(row.value))
        if row.analysis in PER_STUDY:
            analysis, detail = PER_STUDY[row.analysis]
            place = (analysis, detail.format(row.label))
        else:
            place = PLACES[(row.analysis, row.label)]
        ours = _ours(numbers, *place, row.statistic)
        absolute = cook_abs if row.statistic == "cook_d" else 1e-12
        assert ours == pytest.approx(value, rel=rel, abs=absolute), (
            row.analysis, row.label, row.statistic)
        checked += 1
    return checked


def test_metafor_engine_report_is_metafor(tmp_path_factory: pytest.TempPathFactory,
                                          pins: pd.DataFrame,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    numbers = _numbers(_report(tmp_path_factory, "metafor", capsys))
    assert _compare(numbers, pins, SAME_ENGINE) == len(pins)  # guard: every pin checked


def test_python_engine_report_matches_metafor(tmp_path_factory: pytest.TempPathFactory,
                                              pins: pd.DataFrame,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """PyMARE pools; what it lacks (metafor's regtest, Begg, the mixed-effects model) runs
    on the first installed engine that has it, and the report names that engine."""
    out = _report(tmp_path_factory, "pymare", capsys)
    numbers = _numbers(out)
    # Convention pymare.i2_from_q: PyMARE gives I^2 and H^2 from Q (Higgins & Thompson
    # 2002), metafor from tau^2; applied to metafor's Q it must give PyMARE's numbers.
    pooled = pins[pins["analysis"] == "pooled"].set_index("statistic")["value"].astype(float)
    df = len(pins[pins["analysis"] == "loo"]) - 1
    q_based = {("pooled", "i2"): 100 * (pooled["q"] - df) / pooled["q"],
               ("pooled", "h2"): pooled["q"] / df}
    assert _compare(numbers, pins, ITERATIVE, q_based, cook_abs=COOK_ABS) == len(pins)
    engines = (out / "report.md").read_text(encoding="utf-8").split("## Engines side by side")[1]
    assert "[pymare.i2_from_q]" in engines
    assert set(numbers.loc[numbers["analysis"] == "pooled", "backend"]) == {"pymare"}


def test_report_says_which_i2_each_table_shows(tmp_path_factory: pytest.TempPathFactory,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """PyMARE's pooled I^2 is from Q, the Q-profile table's from tau^2: the report says
    so beside the table (it showed 24% and 29.6%, both labelled pymare, unreconciled)."""
    out = _report(tmp_path_factory, "pymare", capsys)
    text = (out / "report.md").read_text(encoding="utf-8")
    section = text.split("Heterogeneity with confidence intervals")[1][:3000]
    assert "I² (%) from tau²" in section
    assert "I² = 24% as pymare defines it (from Q, I² = (Q - df) / Q)" in section
