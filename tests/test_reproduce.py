"""Does the reproduction compute every published number, and judge it honestly?"""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import ENGINES, need

import metabridge as mb
from metabridge import cli
from metabridge.reproduce import Target, load_targets, reproduce, round_half_up


def test_targets_cover_every_published_number() -> None:
    """Guard: 2 outcomes x (pooled 5, LOO 2, exclusion 4, subgroups 3, Egger 1)."""
    source, targets = load_targets()
    assert "10.17305/bb.2025.12129" in source["citation"]
    assert len(targets) == 30
    for outcome in ("PFS", "OS"):
        mine = [t for t in targets if t.outcome == outcome]
        kinds = sorted((t.analysis, t.quantity, t.by or "") for t in mine)
        assert kinds == sorted([
            ("pooled", "hr", ""), ("pooled", "ci_low", ""), ("pooled", "ci_high", ""),
            ("pooled", "i2", ""), ("pooled", "p", ""), ("loo", "hr_min", ""),
            ("loo", "hr_max", ""), ("exclusion", "hr", ""), ("exclusion", "ci_low", ""),
            ("exclusion", "ci_high", ""), ("exclusion", "i2", ""),
            ("subgroup", "p_between", "cart_source"), ("subgroup", "p_between", "cutoff_group"),
            ("subgroup", "p_between", "followup_group"), ("egger", "p", ""),
        ])
        assert all(t.where for t in mine)


@pytest.mark.parametrize(("value", "decimals", "expected"), [
    (2.145, 2, "2.15"), (2.1449999, 2, "2.14"), (8.5, 0, "9"), (0.515, 2, "0.52"),
    (-1.0644452, 4, "-1.0644"),
])
def test_rounding_is_half_away_from_zero(value: float, decimals: int, expected: str) -> None:
    assert round_half_up(value, decimals) == Decimal(expected)


def test_target_check() -> None:
    hr = Target("PFS", "pooled", "hr", 2.15, 2, "x")
    assert hr.check(2.1499)
    assert hr.check(2.154)
    assert not hr.check(2.156)
    p = Target("PFS", "pooled", "p", 0.001, 3, "x", bound="below")
    assert p.check(1e-12)
    assert not p.check(0.001)
    assert not hr.check(float("nan"))


def test_every_engine_reproduces_every_published_number() -> None:
    for engine in ENGINES:
        need(engine)
    run = reproduce()
    assert run.backends == ENGINES
    assert run.failures == [], run.summary()
    frame = run.frame()
    assert len(frame) == 30 * len(ENGINES)
    assert (frame["status"] == "PASS").all()


def test_values_are_computed_from_the_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shift every study's HR by 10%: the pooled targets must now FAIL."""
    original = mb.datasets.ferritin_car_t

    def shifted(outcome: str = "PFS") -> mb.StudySet:
        studies = original(outcome)
        return mb.StudySet.from_effects(studies.yi + 0.1, vi=studies.vi, labels=studies.labels,
                                        measure="HR", covariates=studies.covariates)

    monkeypatch.setattr(mb.datasets, "ferritin_car_t", shifted)
    run = reproduce(["statsmodels"])
    failed = {(t.outcome, t.analysis, t.quantity) for t, _, _ in run.failures}
    assert ("PFS", "pooled", "hr") in failed
    assert ("OS", "pooled", "hr") in failed
    assert not run.passed
    assert cli.main(["reproduce", "--backend", "statsmodels", "--no-report"]) == 1


def test_missing_engine_is_reported_and_fails_with_require_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from metabridge.backends import base

    unavailable = base.BackendStatus("pythonmeta", False, reason="not installed (test)")
    monkeypatch.setattr(type(mb.backends.get_backend("pythonmeta")), "status",
                        lambda self: unavailable)
    run = reproduce(["statsmodels", "pythonmeta"])
    assert run.backends == ("statsmodels",)
    assert run.missing == {"pythonmeta": "not installed (test)"}
    assert "MISSING engine pythonmeta" in run.summary()
    argv = ["reproduce", "--backend", "statsmodels", "--backend", "pythonmeta", "--no-report"]
    assert cli.main(argv) == 0
    assert cli.main([*argv, "--require-all"]) == 1
