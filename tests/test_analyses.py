"""Do the analysis verbs give the same answers on every engine?

Leave-one-out, subgroups and Egger are computed natively by metafor and from
each engine's own pooling calls elsewhere; closed-form arithmetic, so the
engines agree to 1e-8 (relative), PythonMeta's 1.96 CIs aside.
"""

from __future__ import annotations

import math

import pytest
from conftest import ENGINES, need

import metabridge as mb
from metabridge.datasets import UNIVARIATE_STUDY

RTOL = 1e-8
SUBGROUP_COLUMNS = ("cart_source", "cutoff_group", "followup_group")


def _available() -> list[str]:
    for name in ENGINES:
        need(name)
    return list(ENGINES)


@pytest.mark.parametrize("outcome", ["PFS", "OS"])
def test_leave_one_out_agrees_across_engines(outcome: str) -> None:
    studies = mb.datasets.ferritin_car_t(outcome)
    runs = {e: mb.leave_one_out(studies, "DL", e) for e in _available()}
    reference = runs["metafor"]
    assert reference.how.endswith("one R call")
    for engine, loo in runs.items():
        assert loo.omitted == studies.labels
        assert all(r.k == studies.k - 1 for r in loo.results)
        for mine, theirs in zip(loo.results, reference.results, strict=True):
            assert mine.estimate == pytest.approx(theirs.estimate, rel=RTOL), engine
            assert mine.tau2 == pytest.approx(theirs.tau2, rel=RTOL, abs=1e-12), engine


def test_leave_one_out_equals_dropping_each_study(engine: str) -> None:
    studies = mb.datasets.ferritin_car_t("PFS")
    loo = mb.leave_one_out(studies, "DL", engine)
    for label, result in zip(loo.omitted, loo.results, strict=True):
        direct = mb.pool(studies.drop(label), "DL", engine)
        assert result.estimate == pytest.approx(direct.estimate, rel=1e-12)


def test_exclusion_drops_the_named_study(engine: str) -> None:
    studies = mb.datasets.ferritin_car_t("OS")
    result = mb.exclude(studies, UNIVARIATE_STUDY, "DL", engine)
    assert UNIVARIATE_STUDY not in result.labels
    assert result.k == studies.k - 1


@pytest.mark.parametrize("outcome", ["PFS", "OS"])
@pytest.mark.parametrize("by", SUBGROUP_COLUMNS)
@pytest.mark.parametrize("tau2", ["separate", "common"])
def test_subgroup_tests_agree_across_engines(outcome: str, by: str, tau2: str) -> None:
    studies = mb.datasets.ferritin_car_t(outcome)
    runs = {e: mb.subgroups(studies, by, "DL", e, tau2=tau2) for e in _available()}
    reference = runs["metafor"]
    for engine, analysis in runs.items():
        assert analysis.df == reference.df == len(studies.groupby(by)) - 1
        assert analysis.q_between == pytest.approx(reference.q_between, rel=RTOL, abs=1e-12)
        assert analysis.p == pytest.approx(reference.p, rel=RTOL), engine
        for group, result in analysis.groups.items():
            assert result.estimate == pytest.approx(
                reference.groups[group].estimate, rel=RTOL), (engine, group)


def test_separate_subgroup_test_is_q_of_the_subgroup_estimates(engine: str) -> None:
    """RevMan's test: chi-square on the subgroup estimates, G - 1 df."""
    studies = mb.datasets.ferritin_car_t("PFS")
    analysis = mb.subgroups(studies, "followup_group", "DL", engine)
    est = [r.estimate for r in analysis.groups.values()]
    w = [1 / r.se**2 for r in analysis.groups.values()]
    mean = sum(wi * e for wi, e in zip(w, est, strict=True)) / sum(w)
    q = sum(wi * (e - mean) ** 2 for wi, e in zip(w, est, strict=True))
    assert analysis.q_between == pytest.approx(q, rel=1e-10)


def test_one_study_subgroup_is_its_own_estimate(engine: str) -> None:
    studies = mb.datasets.ferritin_car_t("PFS").with_columns(
        single=["a", "b", "b", "b", "b", "b", "b"])
    analysis = mb.subgroups(studies, "single", "DL", engine)
    alone = analysis.groups["a"]
    assert alone.k == 1
    assert alone.estimate == pytest.approx(studies.yi[0], rel=1e-12)
    assert any("one study" in note for note in analysis.notes)


@pytest.mark.parametrize("outcome", ["PFS", "OS"])
def test_egger_agrees_across_engines(outcome: str) -> None:
    studies = mb.datasets.ferritin_car_t(outcome)
    runs = {e: mb.egger(studies, e, "classic") for e in _available()}
    for engine, test in runs.items():
        assert test.df == studies.k - 2
        assert test.statistic == pytest.approx(runs["metafor"].statistic, rel=1e-8), engine
        assert test.p == pytest.approx(runs["metafor"].p, rel=1e-8), engine


def test_metafor_default_regtest_is_labelled_and_differs(metafor: str) -> None:
    studies = mb.datasets.bcg()
    classic = mb.egger(studies, metafor, "classic")
    default = mb.egger(studies, metafor, "metafor-rma")
    assert default.variant == "metafor-rma"
    assert math.isnan(default.df)
    assert default.p != pytest.approx(classic.p, rel=1e-3)


def test_begg_only_where_an_engine_has_it() -> None:
    with pytest.raises(mb.UnsupportedMethodError, match="engines that do: metafor"):
        mb.begg(mb.datasets.bcg(), "statsmodels")
    with pytest.raises(mb.UnsupportedMethodError, match="engines that do: metafor"):
        mb.egger(mb.datasets.bcg(), "pythonmeta", "metafor-rma")


def test_common_tau2_with_other_estimators_needs_metafor() -> None:
    with pytest.raises(mb.UnsupportedMethodError, match="metafor"):
        mb.subgroups(mb.datasets.bcg(), "alloc", "PM", "statsmodels", tau2="common")
