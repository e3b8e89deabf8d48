"""Does `metabridge reproduce SOURCE` recompute RevMan's stored numbers, and only those?

Truths: RevMan's own numbers in the public Fleiss 1993 files (meta; see
validation/revman/README.md) and, for what those lack (subgroups, random effects,
generic inverse variance, O - E), metabridge's fixtures whose stored numbers metafor
computed (validation/revman/make_fixtures.R) -- not RevMan's, so they test the
reading and re-running, not RevMan's arithmetic.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest
from conftest import ENGINES, need

import metabridge as mb
from metabridge import cli
from metabridge.backends import supporting
from metabridge.conventions import convention
from metabridge.revman.reproduce import (
    FULL_ATOL,
    FULL_RTOL,
    checks_of,
    reproduce_review,
    tolerance,
)
from metabridge.revman.statistics import revman5_chi2_p, revman5_smd

REVMAN = Path(__file__).resolve().parents[1] / "validation" / "revman"
EXAMPLES = ("metabridge_examples.rm5", "metabridge_examples_CR.csv", "metabridge_examples.zip")


@pytest.fixture(scope="module", params=EXAMPLES)
def example(request: pytest.FixtureRequest) -> mb.revman.Review:
    return mb.read_revman(REVMAN / request.param)


@pytest.fixture(scope="module")
def example_runs() -> dict[str, object]:
    for engine in ENGINES:
        need(engine)
    return {name: reproduce_review(mb.read_revman(REVMAN / name)) for name in EXAMPLES}


def test_revman5_chi2_rule_reproduces_revmans_stored_p_values() -> None:
    # The .rm5 holds RevMan 5's double; the exact tail differs by 7.4e-8 (scipy: 0.12694218).
    rm5 = mb.read_revman(REVMAN / "Fleiss1993.rm5")["1.1"].overall
    q, df, stored = rm5["chi2"].value, rm5["df"].value, rm5["chi2_p"].value
    assert revman5_chi2_p(q, df) == pytest.approx(stored, rel=1e-14, abs=0)  # same arithmetic
    assert abs(mb.heterogeneity.q_pvalue(q, int(df)) - stored) > 1e-8  # the exact one is not
    # The CSV export (8 decimals) of a second analysis pins the series' stopping rule.
    csv = mb.read_revman(REVMAN / "Fleiss1993_CR.csv")["1.2"].overall
    assert f"{revman5_chi2_p(csv['chi2'].value, csv['df'].value):.8f}" == csv["chi2_p"].text


def test_tolerance_is_set_by_the_format() -> None:
    rm5 = mb.read_revman(REVMAN / "Fleiss1993.rm5")["1.1"].overall["effect"]
    csv = mb.read_revman(REVMAN / "Fleiss1993_CR.csv")["1.1"].overall["effect"]
    web = mb.read_revman(REVMAN / "Fleiss1993.zip")["1.1"].overall["effect"]
    full = tolerance(rm5)  # how far a recomputed double may be from RevMan's double
    assert full == FULL_RTOL * rm5.value + FULL_ATOL
    # A rounded text is within half a unit of RevMan's double: the two add up (rel=1e-12:
    # the same sum in another order).
    assert tolerance(csv) == pytest.approx(0.5e-8 + FULL_RTOL * csv.value + FULL_ATOL, rel=1e-12)
    assert tolerance(web) == pytest.approx(0.5e-6 + FULL_RTOL * web.value + FULL_ATOL, rel=1e-12)


def expected_differences() -> list[tuple[str, str]]:
    """(analysis, engine) FAILs documented in validation/revman/expected_differences.toml."""
    with open(REVMAN / "expected_differences.toml", "rb") as handle:
        entries = tomllib.load(handle)["difference"]
    for entry in entries:
        assert convention(entry["convention"]).check, entry  # explained, and checked
    return [(e["analysis"], engine) for e in entries for engine in e["engines"]]


@pytest.fixture(scope="module")
def fleiss_runs() -> dict[str, object]:
    for engine in ENGINES:
        need(engine)
    return {name: reproduce_review(mb.read_revman(REVMAN / name))
            for name in ("Fleiss1993.rm5", "Fleiss1993_CR.csv", "Fleiss1993.zip")}


def test_revmans_own_numbers_pass_on_every_engine_with_the_method(fleiss_runs: dict) -> None:
    """The public files: RevMan's stored numbers, no expected difference allowed."""
    for name, run in fleiss_runs.items():
        assert run.backends == ENGINES, name
        assert not run.failures, (name, run.summary())
        assert not run.not_reproduced
        ran = run.engines_for("1.1")  # Mantel-Haenszel odds ratio
        assert set(ran) == set(supporting("MH")), name  # every engine that has MH
        assert set(ran) >= {"statsmodels", "pythonmeta", "metafor", "pimeta"}
        counts = run.counts().set_index("backend")
        assert (counts.loc[list(ran), "PASS"] >= sum(c.analysis == "1.1"
                                                     for c in run.checks)).all()
    # guard: every stored number of analysis 1.1 is checked (9 pooled, 7 x 5 or 4 per study)
    assert [len(run.checks) for run in fleiss_runs.values()] == [44, 78, 37]


def test_examples_pass_except_the_documented_differences(example_runs: dict) -> None:
    expected = expected_differences()
    for name, run in example_runs.items():
        assert run.backends == ENGINES, name
        unexpected, stale = run.against(expected)
        assert not unexpected, (name, [(c.name, b) for c, b, _ in unexpected])
        assert not stale, (name, stale)
        assert not run.not_reproduced
        assert not run.without_results
        # guard: the grid of checks cannot shrink to the ones that pass
        assert len(run.checks) >= 750, name


def test_revman5_smd_is_revmans_formula() -> None:
    """statsmodels' effectsize_smd gives RevMan's SMD (computed in R from the formula by
    make_fixtures.R); metafor's exact-correction SMD does not."""
    analysis = mb.read_revman(REVMAN / "metabridge_examples.rm5")["4.2"]
    d = analysis.data
    columns = [d[c].to_numpy(dtype=float) for c in ("mean_exp", "sd_exp", "n_exp",
                                                     "mean_ctrl", "sd_ctrl", "n_ctrl")]
    smd, variance = revman5_smd(*columns)
    stored = [analysis.study_results[label] for label in d["label"]]
    # 1e-12: the same formula evaluated in R and in numpy, in another order
    assert smd == pytest.approx([s["effect"].value for s in stored], rel=1e-12)
    assert variance == pytest.approx([s["se"].value ** 2 for s in stored], rel=1e-12)
    exact = mb.StudySet.from_means(*columns, labels=d["label"], measure="SMD")
    relative = abs(exact.vi / variance - 1)  # metafor's variance, 2N not 2(N - 3.94)
    assert relative.max() > 1e-3  # a different convention, not a rounding


def test_examples_cover_what_the_public_files_lack(example: mb.revman.Review) -> None:
    kinds = {(a.settings.data_type, a.settings.method, a.settings.random_effects)
             for a in example}
    assert kinds == {("generic", "IV", True), ("generic", "IV", False), ("oe", "OE", True),
                     ("oe", "OE", False), ("dichotomous", "MH", True),
                     ("dichotomous", "MH", False), ("dichotomous", "PETO", False),
                     ("dichotomous", "IV", True), ("continuous", "IV", True),
                     ("continuous", "IV", False)}
    grouped = example["1.1"]
    assert list(grouped.subgroups) == ["Random allocation", "Alternate allocation",
                                       "Systematic allocation"]
    assert set(grouped.subgroup_test) >= {"chi2", "p", "i2"}
    assert all("tau2" in numbers for numbers in grouped.subgroups.values())
    assert (example["1.2"].settings.study_level, example["1.2"].settings.total_level) == (
        0.90, 0.99)
    # O - E trials with V = 0 (no events) are not estimable, as in RevMan.
    assert set(example["2.1"].not_estimable) == {"Pitt", "Hutton", "Yusuf"}


def test_rounded_study_data_get_an_allowance_only_where_rounded(example_runs: dict) -> None:
    allowances = {name: max(run.allowances.values(), default=0.0)
                  for name, run in example_runs.items()}
    assert allowances["metabridge_examples.rm5"] == 0.0  # full doubles
    assert allowances["metabridge_examples.zip"] == 0.0  # log effects entered to 4 decimals
    # The CSV export holds each generic-IV ratio (exp of the entered log) to 8 decimals; the
    # largest allowance (Chi^2 = 152 of analysis 1.2) is still far below a printed digit.
    assert 0 < allowances["metabridge_examples_CR.csv"] < 1e-5


def test_a_wrong_stored_number_fails_on_every_engine(tmp_path: Path) -> None:
    for engine in ENGINES:
        need(engine)
    text = (REVMAN / "metabridge_examples.rm5").read_text(encoding="utf-8")
    review = mb.read_revman(REVMAN / "metabridge_examples.rm5")
    stored = review["1.1"].overall["effect"].text
    wrong = repr(float(stored) * (1 + 100 * FULL_RTOL))  # 100x the tolerance off
    changed = tmp_path / "wrong.rm5"
    changed.write_text(text.replace(f'EFFECT_SIZE="{stored}"', f'EFFECT_SIZE="{wrong}"', 1),
                       encoding="utf-8")
    run = reproduce_review(mb.read_revman(changed))
    unexpected, _ = run.against(expected_differences())
    assert {(c.name, b) for c, b, _ in unexpected} == {("1.1 overall effect", engine)
                                                      for engine in ENGINES}


def test_analyses_without_stored_results_are_listed_not_failed() -> None:
    review = mb.read_revman(REVMAN / "Fleiss1993.rm5")
    assert checks_of(review["1.2"]) == []
    run = reproduce_review(review, ["statsmodels"])
    assert [a.id for a in run.without_results] == ["1.2"]
    assert "NO STORED RESULT 1.2 Mental Health Treatment versus Control" in run.summary()


def test_cli_reproduces_a_review_file_and_writes_the_report(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "report"
    argv = ["reproduce", str(REVMAN / "Fleiss1993.zip"), "--backend", "metafor", "--out",
            str(out)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "metafor: 37 PASS, 0 FAIL" in printed
    assert "NO STORED RESULT 1.2" in printed
    assert "0.8968655609130" in printed  # full precision, not the stored 0.896866
    assert {p.name for p in out.iterdir()} >= {"report.md", "report.html", "checks.csv",
                                               "analyses.csv", "numbers.csv", "figures"}
    figures = {p.name for p in (out / "figures").iterdir()}
    assert {"analysis_1_1.png", "analysis_1_2.png"} <= figures  # a forest plot per analysis


def test_cli_exits_1_when_a_stored_number_fails(capsys: pytest.CaptureFixture) -> None:
    argv = ["reproduce", str(REVMAN / "metabridge_examples.rm5"), "--backend", "metafor",
            "--no-report"]
    assert cli.main(argv) == 1  # the documented zero-cell difference of analysis 3.2
    assert "FAIL 3.2 overall effect on metafor" in capsys.readouterr().out


def test_cli_names_the_file_when_it_is_not_revman(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "notes.rm5"
    bad.write_text("Dear editor,\n")
    assert cli.main(["reproduce", str(bad), "--no-report"]) == 2
    assert f"file '{bad}': not a RevMan file" in capsys.readouterr().err


def test_study_numbers_use_revmans_study_level() -> None:
    # Analysis 1.2 shows study CIs at 90% and pools at 99%: both levels are used.
    review = mb.read_revman(REVMAN / "metabridge_examples.rm5")
    run = reproduce_review(review, ["statsmodels"])
    rerun = run.reruns[("1.2", "statsmodels")]
    assert rerun.overall is not None
    assert rerun.overall.level == 0.99
    data = review["1.2"].data.set_index("label").loc["Aronson 1948"]
    stored = review["1.2"].study_results["Aronson 1948"]["ci_low"].value
    z90 = 1.6448536269514722  # qnorm(0.95)
    assert math.exp(data["yi"] - z90 * data["sei"]) == pytest.approx(stored, rel=1e-12)


def test_a_fail_names_the_engines_conventions_of_the_data(example_runs: dict) -> None:
    """A user reproducing a file sees why an engine differs from RevMan where the
    engine applied a convention of the data (here statsmodels' zero-cell correction)."""
    summary = example_runs["metabridge_examples.rm5"].summary()
    fails = [line for line in summary.splitlines() if line.startswith("FAIL 3.2 overall effect")]
    by_engine = {line.split(" on ")[1].split(":")[0]: line for line in fails}
    assert "statsmodels.zero_correction" in by_engine["statsmodels"]
    assert "conventions of the data" not in by_engine["metafor"]  # it pools the counts as given
