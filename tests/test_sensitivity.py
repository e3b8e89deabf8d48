"""Do the verbs a metafor user reaches for give metafor's numbers on every engine?

Cumulative meta-analysis (``cumul()``), case diagnostics and Baujat's coordinates
(``influence()``, ``baujat()``), trim and fill (``trimfill()``, L0 and R0), Egger's
test with a sample-size predictor (``regtest(predictor=)``) and Q-profile CIs on
an engine without the estimator.  Truths: metafor's values pinned by
validation/metadat_reference.R (tests/reference/metadat_reference.csv), and the
values metafor's own test files print (tests/reference/verbs_published.toml).
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ENGINES, need, pinned

import metabridge as mb
from metabridge.backends import get_backend

DATA = Path(__file__).parent / "data"
PUBLISHED = Path(__file__).parent / "reference" / "verbs_published.toml"
METHODS = ("FE", "DL", "REML")

#: Relative tolerance against metafor's pins, by (engine, method).  Closed forms
#: (FE, DL) and metafor itself: the same arithmetic in another order, measured
#: <= 1e-14 on these data; 1e-10 leaves room for statsmodels' one-pass Q.  REML on
#: pimeta: Fisher scoring on rescaled data (pimeta.scaled_input), measured 5e-11.
#: REML on PyMARE: a bounded likelihood search (pymare.tolerance), measured 1e-8.
CLOSED_FORM = 1e-10
ITERATIVE = {"metafor": 1e-10, "pimeta": 1e-9, "pymare": 1e-7}


def tolerance(engine: str, method: str) -> float:
    return CLOSED_FORM if method != "REML" else ITERATIVE[engine]


def cases() -> list[tuple[str, str]]:
    """(engine, method) for every method of METHODS the engine offers."""
    return [(e, m) for e in ENGINES for m in METHODS if m in get_backend(e).methods]


def close(ours: np.ndarray, theirs: np.ndarray, rel: float) -> None:
    """Equal within ``rel`` relative to max(1, |value|), NaN where both are NaN."""
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    both = ~np.isnan(ours)
    gap = np.abs(ours[both] - theirs[both]) / np.maximum(1.0, np.abs(theirs[both]))
    assert gap.max(initial=0.0) <= rel, f"largest relative gap {gap.max():.2e} > {rel:g}"


@pytest.fixture(scope="module")
def published() -> dict:
    with open(PUBLISHED, "rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="module")
def hackshaw() -> mb.StudySet:
    return mb.StudySet.read_csv(DATA / "hackshaw1998.csv", label=["author", "year"], yi="yi",
                                vi="vi", measure="OR")


@pytest.fixture(scope="module")
def egger2001() -> mb.StudySet:
    return mb.StudySet.read_csv(DATA / "egger2001_or.csv", label=["study", "year"], yi="yi",
                                vi="vi", measure="OR")


# --------------------------------------------------------------- cumulative
@pytest.mark.parametrize(("engine", "method"), cases())
def test_cumulative_matches_metafors_cumul(engine: str, method: str, bcg: mb.StudySet,
                                           metadat_reference: pd.DataFrame) -> None:
    need(engine)
    result = mb.cumulative(bcg, method, engine, order="year")
    key = f"cumul_year_{method}"
    order = pinned(metadat_reference, "bcg", key, "order").astype(int).to_numpy()
    assert list(result.table["study"]) == [bcg.labels[i - 1] for i in order]
    rel = tolerance(engine, method)
    for column in ("estimate", "se"):
        close(result.table[column], pinned(metadat_reference, "bcg", key, column), rel)
    close(result.table["q"], pinned(metadat_reference, "bcg", key, "q"), rel)
    if method != "FE":
        close(result.table["tau2"], pinned(metadat_reference, "bcg", key, "tau2"), rel)
    # Step 1 is one study: its own effect and SE, tau^2 = 0, as rma() fits k = 1.
    first = result.table.iloc[0]
    # sum(w y) / sum(w) with one w: y to the last bit or two
    assert first["estimate"] == pytest.approx(bcg.subset([first["study"]]).yi[0], rel=1e-15)
    assert first["tau2"] == 0.0


def test_cumulative_matches_what_metafors_tests_print(
    bcg: mb.StudySet, published: dict, metadat_reference: pd.DataFrame,
) -> None:
    """metafor's test file prints cumul() at metafor's default stopping rule
    (threshold 1e-5): our pin at that control reproduces it to the printed 6
    decimals, and explains the ~2e-6 gap to metabridge's tighter fits."""
    entry = published["cumul_year_reml"]
    half_unit = 0.5 * 10.0 ** -entry["decimals"]
    default = pinned(metadat_reference, "bcg", "cumul_year_REML_default", "estimate")
    close(default, entry["estimate"], half_unit + 1e-12)  # + the printer's own rounding
    result = mb.cumulative(bcg, "REML", "pimeta" if get_backend("pimeta").status().available
                           else "pymare", order="year")
    gap = np.abs(result.table["estimate"].to_numpy() - np.asarray(entry["estimate"]))
    assert gap.max() < 5e-6  # the default stopping rule's share, not a difference of method


def test_cumulative_orders(bcg: mb.StudySet) -> None:
    by_labels = mb.cumulative(bcg, "DL", "statsmodels", order=list(reversed(bcg.labels)))
    assert list(by_labels.table["study"]) == list(reversed(bcg.labels))
    assert by_labels.order_by == "the labels given"
    with_gap = bcg.with_columns(rank=[3.0, np.nan, 1.0, *range(4, 14)])
    ordered = mb.cumulative(with_gap, "DL", "statsmodels", order="rank")
    assert ordered.table["study"].iloc[0] == bcg.labels[2]
    assert ordered.table["study"].iloc[-1] == bcg.labels[1]  # no value: last, as R's order()
    assert repr(ordered).startswith("Cumulative(DL on statsmodels, 13 steps by column 'rank'")


# ---------------------------------------------------------------- influence
COLUMNS = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "q_del", "hat", "weight",
           "dfbetas")


@pytest.mark.parametrize(("engine", "method"), cases())
def test_influence_matches_metafors_influence_and_baujat(
    engine: str, method: str, bcg: mb.StudySet, metadat_reference: pd.DataFrame,
) -> None:
    need(engine)
    result = mb.influence(bcg, method, engine)
    rel = tolerance(engine, method)
    for column in COLUMNS:
        close(result.table[column], pinned(metadat_reference, "bcg", f"influence_{method}",
                                           column), rel)
    flags = pinned(metadat_reference, "bcg", f"influence_{method}", "influential").astype(bool)
    assert list(result.table["influential"]) == list(flags)
    baujat = result.baujat()
    for axis in ("x", "y"):
        close(baujat[axis], pinned(metadat_reference, "bcg", f"baujat_{method}", axis), rel)


def test_influence_matches_what_metafors_tests_print(
    bcg: mb.StudySet, published: dict, metadat_reference: pd.DataFrame,
) -> None:
    """The first row metafor's test file prints (default stopping rule) is our pin
    at that control to 1e-9 (another metafor version, the same arithmetic)."""
    entry = published["influence_reml_first"]
    for column in COLUMNS:
        pin = float(pinned(metadat_reference, "bcg", "influence_REML_default", column).iloc[0])
        assert pin == pytest.approx(entry[column], rel=1e-9), column


def test_influence_flags_an_outlier_as_metafor_does() -> None:
    """A study five SDs out is flagged by metafor's rule on every engine that runs."""
    y = np.array([0.1, 0.12, 0.08, 0.11, 0.09, 0.1, 1.6])
    studies = mb.StudySet.from_effects(y, vi=np.full(7, 0.01))
    for engine in ("statsmodels", "pymare"):
        result = mb.influence(studies, "DL", engine)
        assert result.influential == ("Study 7",)
        assert result.table.loc["Study 7", "rstudent"] > 5


def test_baujat_plot_draws_every_study(bcg: mb.StudySet) -> None:
    figure = mb.plots.baujat(mb.influence(bcg, "DL", "statsmodels"))
    texts = {t.get_text() for t in figure.axes[0].texts}
    assert texts == set(bcg.labels)


# ------------------------------------------------------------ trim and fill
@pytest.mark.parametrize("dataset", ["bcg", "hackshaw1998"])
@pytest.mark.parametrize("estimator", ["L0", "R0"])
@pytest.mark.parametrize(("engine", "method"), cases())
def test_trim_and_fill_matches_metafors_trimfill(
    engine: str, method: str, estimator: str, dataset: str, bcg: mb.StudySet,
    hackshaw: mb.StudySet, metadat_reference: pd.DataFrame,
) -> None:
    need(engine)
    studies = bcg if dataset == "bcg" else hackshaw
    key = f"trimfill_{estimator}_{method}"

    def pin(statistic: str) -> pd.Series:
        return pinned(metadat_reference, dataset, key, statistic)

    side = pin("side").iloc[0]
    chooses = mb.backends.get_backend(engine).can_choose_side(mb.methods.METHODS[method]) or (
        "trim_and_fill" in get_backend(engine).features)
    result = mb.trim_and_fill(studies, method, engine, estimator=estimator,
                              side=None if chooses else side)
    assert result.side == side
    assert result.k0 == int(pin("k0").iloc[0])
    # k0's SE and R0's P are closed forms of the same ranks: ~1e-15
    assert result.se_k0 == pytest.approx(float(pin("se_k0").iloc[0]), rel=1e-12)
    p_k0 = float(pin("p_k0").iloc[0])
    assert (math.isnan(result.p_k0) and math.isnan(p_k0)) or result.p_k0 == pytest.approx(
        p_k0, rel=1e-12)
    rel = tolerance(engine, method)
    close(result.filled["yi"], pin("filled_yi") if result.k0 else [], rel)
    close(result.filled["vi"], pin("filled_vi") if result.k0 else [], rel)
    for field, statistic in (("estimate", "estimate"), ("se", "se"), ("tau2", "tau2")):
        close([getattr(result.result, field)], [float(pin(statistic).iloc[0])], rel)
    assert result.result.k == studies.k + result.k0


def test_trim_and_fill_asks_for_the_side_where_it_cannot_choose_it(bcg: mb.StudySet) -> None:
    with pytest.raises(mb.UnsupportedMethodError, match=r"pass side='left' or 'right'.*metafor"):
        mb.trim_and_fill(bcg, "DL", "statsmodels")
    assert mb.trim_and_fill(bcg, "DL", "statsmodels", side="right").k0 == 1


# ---------------------------------------------------- Egger on the sample size
PREDICTORS = ("vi", "ni", "ninv", "sqrtninv")


@pytest.mark.parametrize("predictor", PREDICTORS)
@pytest.mark.parametrize("engine", ENGINES)
def test_egger_with_a_sample_size_predictor_matches_regtest(
    engine: str, predictor: str, egger2001: mb.StudySet, metadat_reference: pd.DataFrame,
) -> None:
    need(engine)
    backend = get_backend(engine)
    if "egger_sample_size" not in backend.features:
        with pytest.raises(mb.UnsupportedMethodError, match=r"predictor"):
            mb.egger(egger2001, engine, predictor=predictor, n="ni")
        return
    variants = [v for v in ("classic", "metafor-rma") if f"egger_{v}" in backend.features]
    for variant in variants:
        model = "lm" if variant == "classic" else "rma"
        key = f"regtest_{model}_{predictor}_REML"  # "lm" does not depend on the estimator
        test = mb.egger(egger2001, engine, variant, predictor=predictor, n="ni")
        assert test.predictor == predictor
        # a weighted least-squares fit (lm) or metafor's REML meta-regression
        # (rma, on pimeta: rescaled Fisher scoring, ~1e-9): 1e-8
        for field, statistic in (("statistic", "statistic"), ("p", "p"), ("bias", "coef"),
                                 ("bias_se", "coef_se")):
            expected = float(pinned(metadat_reference, "egger2001_or", key, statistic).iloc[0])
            assert getattr(test, field) == pytest.approx(expected, rel=1e-8), (variant, field)


def test_egger_sample_size_matches_what_metafors_tests_print(
    egger2001: mb.StudySet, published: dict,
) -> None:
    entry = published["regtest_lm_sqrtninv"]
    test = mb.egger(egger2001, "statsmodels", predictor="sqrtninv", n="ni")
    assert abs(test.statistic - entry["statistic"]) <= 0.5 * 10.0 ** -entry["decimals"] + 1e-12


# ------------------------------------------------ Q-profile CI without the estimator
def test_heterogeneity_ci_on_an_engine_without_the_estimator(
    bcg: mb.StudySet, metadat_reference: pd.DataFrame,
) -> None:
    """statsmodels has no REML; the Q-profile bounds do not depend on the estimator,
    so it gives them (metafor's confint() bounds) and no point estimate."""
    result = mb.heterogeneity_ci(bcg, "REML", "statsmodels")
    assert result.table["estimate"].isna().all()
    assert "statsmodels has no REML" in result.how
    for row, bound in (("tau2", "ci_lb"), ("tau2", "ci_ub")):
        expected = float(pinned(metadat_reference, "bcg", "confint_REML", bound).iloc[0])
        column = "ci_low" if bound == "ci_lb" else "ci_high"
        # brentq to 1e-12 vs metafor's uniroot to 1e-12 on the same equation
        assert result.table.loc[row, column] == pytest.approx(expected, rel=1e-9)
    assert mb.heterogeneity_ci(bcg, "DL", "statsmodels").table.loc["tau2", "estimate"] == \
        pytest.approx(float(pinned(metadat_reference, "bcg", "confint_DL", "estimate").iloc[0]),
                      rel=CLOSED_FORM)


def test_cumulative_first_step_has_metafors_one_study_heterogeneity(
    engine: str, metafor: str
) -> None:
    """Step 1 (one study): Q = 0, P = 1, I^2 = 0, H^2 = 1 as metafor's cumul() prints
    them (was NaN on the engines without a native cumulative)."""
    need(engine)
    studies = mb.StudySet.from_effects([0.1, 0.5, 0.3, 0.9], vi=[0.04, 0.05, 0.03, 0.06])
    if "cumulative" not in get_backend(engine).features:
        pytest.skip(f"{engine} has no cumulative")
    mine = mb.cumulative(studies, "DL", engine).table.iloc[0]
    native = mb.cumulative(studies, "DL", metafor).table.iloc[0]
    for column in ("q", "q_p", "i2", "h2", "tau2", "estimate", "se"):
        assert mine[column] == pytest.approx(native[column], rel=1e-12, abs=1e-15), column
