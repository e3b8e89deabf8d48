"""Does a wrong number ever reach the user?  The sanity layer and checked explanations.

Every engine result is checked before it becomes a PoolResult (backends/sanity.py):
it passes, is repaired by a stable route and says so, or is refused.  These tests
take the failures issue 9 found, inject defects into engines' outputs, and check
that ``Comparison.differences()`` accepts an explanation only when it reproduces
the numbers.  Truths come from exact rational arithmetic or from the estimator's
defining equation, never from the code under test.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from conftest import need

import metabridge as mb
from metabridge.backends import get_backend
from metabridge.backends.sanity import verify
from metabridge.comparison import Comparison
from metabridge.methods import METHODS

#: A physical constant (h, in 1e-34 J s) measured four times: effects ~6.626, SEs ~1e-8.
PLANCK = {"yi": [6.62607015, 6.626070164, 6.626070138, 6.626070157],
          "sei": [1.2e-8, 0.9e-8, 1.5e-8, 1.1e-8]}
#: Issue 9's Paule-Mandel example: statsmodels at atol 1e-12 overshot to tau^2 = 0.
PM_EXAMPLE = {"yi": [0.5, 1.1, 0.1, -0.2], "vi": [0.14, 0.03, 0.3, 0.27]}


def exact_q(studies: mb.StudySet) -> float:
    y = [Fraction(float(x)) for x in studies.yi]
    w = [1 / Fraction(float(x)) for x in studies.vi]
    mu = sum(a * b for a, b in zip(w, y, strict=True)) / sum(w)
    return float(sum(a * (b - mu) ** 2 for a, b in zip(w, y, strict=True)))


# ------------------------------------------------------ 1. Q cancellation
@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (1, 3, 0, 2)])
def test_q_of_a_physical_constant_is_right_in_any_order(engine: str, order: tuple) -> None:
    """statsmodels' one-pass Q gave 4 or 12 (by study order) where the exact Q is ~3.4."""
    studies = mb.StudySet.from_effects([PLANCK["yi"][i] for i in order],
                                       sei=[PLANCK["sei"][i] for i in order])
    truth = exact_q(studies)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mb.EngineWarning)
        for method in ("FE", "DL"):
            result = mb.pool(studies, method, engine)
            assert result.q == pytest.approx(truth, rel=1e-10)  # the oracle's bound


def test_statsmodels_own_q_is_wrong_and_the_repair_says_so() -> None:
    need("statsmodels")
    studies = mb.StudySet.from_effects(**PLANCK)
    engine = get_backend("statsmodels")
    raw = engine.fit(studies, METHODS["DL"], 0.95)
    truth = exact_q(studies)
    assert abs(raw.q - truth) > 1e-3 * truth  # the engine's own number is far off
    assert verify(raw, studies.yi, studies.vi, METHODS["DL"])  # and the check sees it
    fixed = mb.pool(studies, "DL", "statsmodels")
    assert {"statsmodels.q_cancellation", "metabridge.recentred"} <= set(fixed.conventions)
    assert fixed.extra["q_engine"] == raw.q
    assert any("Cochran's Q" in d for d in fixed.extra["defects"])
    assert "cancels" in " ".join(fixed.notes)


def test_offset_data_give_the_same_q_as_centred_data(engine: str) -> None:
    """Q, tau^2 and the SE do not change with a common shift of the effects (1e4)."""
    base = mb.StudySet.from_effects(PM_EXAMPLE["yi"], vi=PM_EXAMPLE["vi"])
    moved = base.shifted(1e4)
    for method in ("FE", "DL"):
        a, b = mb.pool(base, method, engine), mb.pool(moved, method, engine)
        assert b.q == pytest.approx(a.q, rel=1e-10)
        assert b.tau2 == pytest.approx(a.tau2, rel=1e-10)
        assert b.se == pytest.approx(a.se, rel=1e-10)
        assert b.estimate - 1e4 == pytest.approx(a.estimate, abs=1e-10 * a.se + 1e-11)


# ---------------------------------------------------- 2. Paule-Mandel
def pm_root(yi: list[float], vi: list[float]) -> float:
    """The PM root Q_gen(tau^2) = k - 1, by bisection in exact rational arithmetic."""
    y = [Fraction(x) for x in yi]
    v = [Fraction(x) for x in vi]

    def q_gen(t: Fraction) -> Fraction:
        w = [1 / (x + t) for x in v]
        mu = sum(a * b for a, b in zip(w, y, strict=True)) / sum(w)
        return sum(a * (b - mu) ** 2 for a, b in zip(w, y, strict=True)) - (len(y) - 1)

    low, high = Fraction(0), Fraction(10)
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if q_gen(mid) > 0 else (low, mid)
    return float((low + high) / 2)


def test_statsmodels_pm_finds_the_root() -> None:
    """Issue 9: tau^2 = 0 (P = 7.5e-9) was reported where the PM root is 0.1915 (P 0.068)."""
    need("statsmodels")
    studies = mb.StudySet.from_effects(PM_EXAMPLE["yi"], vi=PM_EXAMPLE["vi"])
    result = mb.pool(studies, "PM", "statsmodels")
    assert result.tau2 == pytest.approx(pm_root(PM_EXAMPLE["yi"], PM_EXAMPLE["vi"]), rel=1e-9)
    assert result.p == pytest.approx(0.0683, abs=5e-5)  # the value, 0.068
    assert result.converged


def test_compare_on_the_pm_example_shows_agreement(metafor: str) -> None:
    """Agreement on every core statistic; the only gaps are I^2/H^2 recipes, checked."""
    need("statsmodels")
    studies = mb.StudySet.from_effects(PM_EXAMPLE["yi"], vi=PM_EXAMPLE["vi"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", mb.UnexplainedDifferenceWarning)
        cmp = mb.compare(studies, ("PM",), backends=("statsmodels", metafor))
        diffs = cmp.differences()
    gaps = diffs[~diffs["agree"]]
    assert set(gaps["quantity"]) <= {"i2", "h2"}
    assert set(gaps["explained_by"]) == {"metafor.i2_from_tau2"}
    assert not any("tolerance" in cause for cause in diffs["explained_by"])


def test_simulated_pm_coverage_is_the_same_on_statsmodels_and_metafor(metafor: str) -> None:
    """The PM overshoot skewed simulate() coverage (0.839 vs 0.892); now replicate by
    replicate the two engines agree."""
    sim = mb.simulate(k=4, tau2=0.2, reps=300, methods=("PM",),
                      backends=("statsmodels", metafor), seed=11, progress=False,
                      cross_check=0)
    table = sim.replicates.pivot(index="replicate", columns="backend", values="tau2")
    assert np.allclose(table["statsmodels"], table["metafor"], rtol=1e-8, atol=1e-12)
    summary = sim.summary().set_index("backend")
    assert summary.loc["statsmodels", "coverage"] == summary.loc["metafor", "coverage"]


# ------------------------- 3. a one-study subgroup with a common tau^2 (PyMARE)
def test_common_tau2_subgroups_with_a_single_study_subgroup(engine: str) -> None:
    """PyMARE's Q for k = 1 was NaN and max(0, NaN) silently made tau^2 = 0."""
    need("metafor")
    studies = mb.datasets.bcg().with_columns(
        region=["a"] * 6 + ["b"] * 6 + ["c"])  # the last subgroup has one study
    reference = mb.subgroups(studies, "region", "DL", "metafor", tau2="common")
    mine = mb.subgroups(studies, "region", "DL", engine, tau2="common")
    assert mine.tau2_common == pytest.approx(reference.tau2_common, rel=1e-8)
    assert mine.q_between == pytest.approx(reference.q_between, rel=1e-8)


def test_single_study_q_is_zero_on_every_engine(engine: str) -> None:
    single = mb.StudySet.from_effects([0.3], vi=[0.01])
    result = mb.pool(single, "FE", engine)
    assert result.q == 0.0
    assert math.isnan(result.q_p)


# ----------------------------------------------------- injected defects
class Tampered:
    """Wraps an adapter's fit() to corrupt one field of its output."""

    def __init__(self, engine: object, field: str, change: float) -> None:
        self.engine, self.field, self.change = engine, field, change

    def __call__(self, *args: object, **kwargs: object) -> mb.PoolResult:
        result = type(self.engine).fit(self.engine, *args, **kwargs)
        return replace(result, **{self.field: getattr(result, self.field) + self.change})


@pytest.mark.parametrize("field", ["estimate", "se", "tau2", "q", "ci_low", "p", "i2"])
def test_an_injected_defect_never_reaches_the_user(
    monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    """A wrong engine number is repaired (and listed) or refused, never passed on."""
    need("statsmodels")
    engine = get_backend("statsmodels")
    monkeypatch.setattr(engine, "fit", Tampered(engine, field, 1e-6))
    studies = mb.datasets.bcg()
    truth = get_backend("pymare").pool(studies, METHODS["DL"], 0.95)
    result: mb.PoolResult | mb.EngineError
    try:
        result = mb.pool(studies, "DL", "statsmodels")
    except mb.EngineError as exc:
        result = exc
    if isinstance(result, mb.EngineError):
        assert field in str(result)  # refused, naming the defect
        return
    assert any(k.startswith("metabridge.") for k in result.conventions)
    assert getattr(result, field) == pytest.approx(getattr(truth, field), rel=1e-9, abs=1e-12)


def test_a_convergence_flag_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    need("pymare")
    engine = get_backend("pymare")

    def unconverged(*args: object, **kwargs: object) -> mb.PoolResult:
        return replace(type(engine).fit(engine, *args, **kwargs), converged=False)

    monkeypatch.setattr(engine, "fit", unconverged)
    result = mb.pool(mb.datasets.bcg(), "REML", "pymare")  # PyMARE can pool at a tau^2
    assert result.converged
    assert "metabridge.stable_tau2" in result.conventions
    assert "tau2" in result.derived


def test_a_tampered_result_in_a_comparison_is_unexplained() -> None:
    """differences() re-checks: a convention is not an excuse for a wrong number."""
    need("pythonmeta")
    studies = mb.datasets.bcg()
    honest = mb.compare(studies, ("DL",), backends=("statsmodels", "pythonmeta"))
    diffs = honest.differences()
    ci = diffs[(diffs["quantity"] == "ci_low") & ~diffs["agree"]]
    assert list(ci["explained_by"]) == ["pythonmeta.ci_196"]  # checked: 1.96 vs 1.959964
    bad = replace(honest.results[1], ci_low=honest.results[1].ci_low - 1e-4)
    tampered = Comparison((honest.results[0], bad), studies=studies)
    with pytest.warns(mb.UnexplainedDifferenceWarning, match="ci_low"):
        diffs = tampered.differences()
    row = diffs[diffs["quantity"] == "ci_low"].iloc[0]
    assert row["explained_by"].startswith("UNEXPLAINED")
    assert "pythonmeta's numbers do not follow" in row["check"]


def test_a_tau2_gap_beyond_the_stopping_rules_is_unexplained(metafor: str) -> None:
    studies = mb.datasets.bcg()
    cmp = mb.compare(studies, ("REML",), backends=(metafor, "pymare"))
    fine = cmp.differences()
    assert not fine["explained_by"].str.startswith("UNEXPLAINED").any()
    moved = [replace(r, tau2=r.tau2 * 1.001) if r.backend == "pymare" else r
             for r in cmp.results]
    with pytest.warns(mb.UnexplainedDifferenceWarning):
        diffs = Comparison(tuple(moved), studies=studies).differences()
    assert diffs[diffs["quantity"] == "tau2"]["explained_by"].iloc[0].startswith("UNEXPLAINED")


# ------------------------------------------------------------- batches
def test_batches_are_checked_replicate_by_replicate() -> None:
    """A replicate the engine gets wrong is re-pooled alone (checked); the batch says so."""
    need("statsmodels")
    engine = get_backend("statsmodels")
    yi = np.array([PLANCK["yi"], PM_EXAMPLE["yi"]])
    vi = np.array([np.square(PLANCK["sei"]), PM_EXAMPLE["vi"]])
    batch = engine.pool_batch(yi, vi, METHODS["DL"], 0.95)
    assert batch.repaired == 1  # the physical constant: one-pass Q cancels
    single = mb.pool(mb.StudySet.from_effects(yi[0], vi=vi[0]), "DL", "statsmodels")
    assert batch.tau2[0] == single.tau2
    assert batch.estimate[0] == single.estimate


def test_adapters_cannot_bypass_the_checks() -> None:
    from metabridge.backends.engine_base import EngineBase

    with pytest.raises(TypeError, match="implement fit"):
        type("Sneaky", (EngineBase,), {"pool": lambda self, *a: None})


# ------------------------------------------- ML/REML: the global maximum, not a local one
#: Found by an independent review (variances over 10 orders): REML's restricted
#: likelihood has two maxima; every engine stopped at the lower one (tau^2 9.4e-7,
#: P 8e-57) where the global maximum is at tau^2 0.0042 (P 0.73).
REML_TWO_PEAKS = {"yi": [0.134328, -0.0969779, -0.0408701, -0.0113915, 0.0640697, -0.0129741,
                         -0.0435298],
                  "vi": [0.00141011, 0.355042, 0.00106337, 7.55442e-07, 32.8289, 6.69281e-09,
                         0.270094]}
#: ML stops at the boundary tau^2 = 0 on metafor and pimeta; the maximum is at 3.16.
ML_TWO_PEAKS = {"yi": [-3.52, -2.35, 0.23], "vi": [1.85e-4, 20.1, 0.234]}
ML_TWO_PEAKS_K8 = {"yi": [-0.0423, -0.1354, -0.0082, 0.1067, -0.0479, -0.0277, -0.0270, 0.0134],
                   "vi": [12.37, 4.524, 0.002176, 0.0003453, 0.00109, 2.51e-08, 135.5, 0.03224]}


def brute_force_maximum(method: str, yi: list[float], vi: list[float]) -> tuple[float, float]:
    """(tau^2, log-likelihood) of the global maximum, by the textbook likelihood in
    50-digit arithmetic (Viechtbauer 2005, eqs. 5 and 9) over a fine log grid of
    tau^2 in [1e-14, 1e4] and 0, refined by golden-section search around the best point."""
    import mpmath

    mpmath.mp.dps = 50
    y = [mpmath.mpf(x) for x in yi]
    v = [mpmath.mpf(x) for x in vi]

    def loglik(t: mpmath.mpf) -> mpmath.mpf:
        w = [1 / (x + t) for x in v]
        mu = mpmath.fsum(a * b for a, b in zip(w, y, strict=True)) / mpmath.fsum(w)
        ll = -(mpmath.fsum(mpmath.log(x + t) for x in v)
               + mpmath.fsum(a * (b - mu) ** 2 for a, b in zip(w, y, strict=True))) / 2
        return ll - mpmath.log(mpmath.fsum(w)) / 2 if method == "REML" else ll

    grid = [mpmath.mpf(0)] + [mpmath.mpf(10) ** (e / 40) for e in range(-560, 161)]
    values = [loglik(t) for t in grid]
    best = max(range(len(grid)), key=values.__getitem__)
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    ratio = (mpmath.sqrt(5) - 1) / 2
    for _ in range(200):  # golden section on a unimodal bracket
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        low, high = (low, b) if loglik(a) > loglik(b) else (a, high)
    top = (low + high) / 2
    return float(top), float(loglik(top))


@pytest.mark.parametrize(("method", "data"), [("REML", REML_TWO_PEAKS), ("ML", ML_TWO_PEAKS),
                                              ("ML", ML_TWO_PEAKS_K8)])
def test_ml_and_reml_report_the_global_maximum_or_refuse(
    method: str, data: dict, engine: str
) -> None:
    need(engine)
    if method not in get_backend(engine).methods:
        pytest.skip(f"{engine} has no {method}")
    truth, _ = brute_force_maximum(method, data["yi"], data["vi"])
    studies = mb.StudySet.from_effects(data["yi"], vi=data["vi"])
    try:
        result, refusal = mb.pool(studies, method, engine), ""
    except mb.EngineError as exc:  # an engine that cannot pool at a given tau^2
        result, refusal = None, str(exc)
    if result is None:
        assert "global maximum" in refusal
        return
    assert result.tau2 == pytest.approx(truth, rel=1e-6)
    w = 1.0 / (np.asarray(data["vi"]) + truth)
    assert result.estimate == pytest.approx(float(w @ data["yi"] / w.sum()), rel=1e-6)


def test_a_local_maximum_is_repaired_and_says_so() -> None:
    need("pymare")
    studies = mb.StudySet.from_effects(REML_TWO_PEAKS["yi"], vi=REML_TWO_PEAKS["vi"])
    result = mb.pool(studies, "REML", "pymare")
    assert "metabridge.stable_tau2" in result.conventions
    assert "local maximum" in " ".join(result.extra["defects"])
    assert result.extra["tau2_engine"] < 1e-5 < result.tau2  # the engine's own, kept
    assert result.p > 0.5  # P 0.73 at the global maximum (8e-57 at the local one)


def test_batches_find_the_global_maximum_too() -> None:
    need("pymare")
    truth, _ = brute_force_maximum("REML", REML_TWO_PEAKS["yi"], REML_TWO_PEAKS["vi"])
    yi = np.array([REML_TWO_PEAKS["yi"], REML_TWO_PEAKS["yi"][::-1], [0.1] * 6 + [0.2]])
    vi = np.array([REML_TWO_PEAKS["vi"], REML_TWO_PEAKS["vi"][::-1], [0.05] * 7])
    batch = get_backend("pymare").pool_batch(yi, vi, METHODS["REML"], 0.95)
    assert batch.tau2[:2] == pytest.approx([truth, truth], rel=1e-6)
    assert batch.repaired == 2


def test_compare_agrees_once_every_engine_is_at_the_global_maximum(metafor: str) -> None:
    need("pymare")
    studies = mb.StudySet.from_effects(REML_TWO_PEAKS["yi"], vi=REML_TWO_PEAKS["vi"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", mb.UnexplainedDifferenceWarning)
        diffs = mb.compare(studies, ("REML",), backends=("pymare", metafor)).differences()
    core = diffs[diffs["quantity"].isin(["estimate", "se", "tau2", "p"])]
    assert core["agree"].all()


def test_a_statistic_moved_by_checked_rounding_is_explained_as_rounding() -> None:
    """Two identical effects: PythonMeta's Q is 4.9e-16 (the exact Q is 0, within the
    checked rounding bound), which moves its P of Q by 1.8e-8 (P moves like sqrt(Q))."""
    need("pythonmeta")
    need("pymare")
    studies = mb.StudySet.from_effects([1.9843766654513435] * 2, sei=[1e-6, 1e-8])
    with warnings.catch_warnings():
        warnings.simplefilter("error", mb.UnexplainedDifferenceWarning)
        diffs = mb.compare(studies, ("FE",), backends=("pythonmeta", "pymare")).differences()
    row = diffs[diffs["quantity"] == "q_p"].iloc[0]
    assert not row["agree"]
    assert row["explained_by"] == "metabridge.rounding"
    assert "q 4.93" in row["check"]
