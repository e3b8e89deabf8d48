"""Does `metabridge reproduce SOURCE` recompute RevMan's stored numbers, and only those?

Truths: RevMan's own numbers in the public Fleiss 1993 files (meta; see
validation/revman/README.md) and, for what those lack (subgroups, random effects,
generic inverse variance, O - E), metabridge's fixtures whose stored numbers metafor
computed (validation/revman/make_fixtures.R) -- not RevMan's, so they test the
reading and re-running, not RevMan's arithmetic.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from conftest import ENGINES, need

import metabridge as mb
from metabridge import cli
from metabridge.revman.reproduce import (
    FULL_ATOL,
    FULL_RTOL,
    checks_of,
    reproduce_review,
    tolerance,
)
from metabridge.revman.statistics import revman5_chi2_p

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


def test_every_engine_passes_every_number_of_the_examples(example_runs: dict) -> None:
    for name, run in example_runs.items():
        assert run.backends == ENGINES, name
        assert not run.failures, (name, run.summary())
        assert not run.without_results
        counts = run.counts().set_index("backend")
        assert (counts["PASS"] == len(run.checks)).all()
        # guard: the grid of checks cannot shrink to the ones that pass
        assert len(run.checks) >= 320, name


def test_examples_cover_what_the_public_files_lack(example: mb.revman.Review) -> None:
    kinds = {(a.settings.data_type, a.settings.random_effects) for a in example}
    assert kinds == {("generic", True), ("generic", False), ("oe", True), ("oe", False)}
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
    failed = {(c.name, b) for c, b, _ in run.failures}
    assert failed == {("1.1 overall effect", engine) for engine in ENGINES}


def test_analyses_without_stored_results_are_listed_not_failed() -> None:
    review = mb.read_revman(REVMAN / "Fleiss1993.rm5")
    assert checks_of(review["1.2"]) == []
    run = reproduce_review(review, ["statsmodels"])
    assert [a.id for a in run.without_results] == ["1.2"]
    assert "NO STORED RESULT 1.2 Mental Health Treatment versus Control" in run.summary()


def test_cli_reproduces_a_review_file_and_writes_the_report(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "report"
    argv = ["reproduce", str(REVMAN / "metabridge_examples.zip"), "--backend", "statsmodels",
            "--out", str(out)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "328 PASS, 0 FAIL" in printed
    assert "0.4896252029014429 PASS" in printed  # full precision, not the stored 0.489625
    assert {p.name for p in out.iterdir()} >= {"report.md", "report.html", "checks.csv",
                                               "analyses.csv", "numbers.csv", "figures"}
    forests = {"analysis_1_1.png", "analysis_1_2.png", "analysis_2_1.png", "analysis_2_2.png"}
    assert forests <= {p.name for p in (out / "figures").iterdir()}  # one per analysis
    assert "analysis_1_1_subgroups.png" in {p.name for p in (out / "figures").iterdir()}


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
