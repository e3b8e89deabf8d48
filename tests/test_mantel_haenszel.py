"""Do the engines pool 2x2 tables with Mantel-Haenszel and Peto as the formulas say?

Truths that do not come from the code under test: exact rational arithmetic
(``fractions``) of the defining formulas on small integer tables (estimates on the
ratio scale and variances are rational), and metafor's rma.mh()/rma.peto() pinned in
reference/metafor_raw_reference.csv by validation/metafor_raw_reference.R.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from conftest import check_pythonmeta_ci, need, per_study, zero_cells
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import metabridge as mb
from metabridge import mantel_haenszel as mh
from metabridge.backends import get_backend, offers

ENGINES = ("statsmodels", "pythonmeta", "metafor", "pimeta")
CASES = [("MH", "OR"), ("MH", "RR"), ("MH", "RD"), ("PETO", "OR")]
#: Small integer tables (a, n1, c, n2), no zero cells: k = 2, k = 3, and sizes spread
#: over three orders of magnitude with proportions from 0.006 to 0.67.
TABLES = {
    "k2": [(1, 4, 3, 5), (6, 9, 2, 8)],
    "k3": [(3, 10, 5, 12), (7, 20, 9, 18), (2, 15, 6, 14)],
    "spread": [(1, 3, 2, 3), (450, 1000, 520, 1000), (12, 2000, 30, 1900)],
}
#: An engine sums k terms of products and quotients in its own order: ~k ulp apart
#: from the exact value; 1e-12 relative is far below any convention difference (>1e-6)
#: and far above rounding.
EXACT_RTOL = 1e-12


def studies_of(tables: list[tuple[int, int, int, int]], measure: str) -> mb.StudySet:
    a, n1, c, n2 = zip(*tables, strict=True)
    return mb.StudySet.from_counts(a, n1, c, n2, measure=measure)


def exact_cells(tables: list[tuple[int, int, int, int]]) -> list[tuple[Fraction, ...]]:
    """(a, b, c, d) of each (a, n1, c, n2) as fractions."""
    return [(Fraction(a), Fraction(n1 - a), Fraction(c), Fraction(n2 - c))
            for a, n1, c, n2 in tables]


def exact(tables: list[tuple[int, int, int, int]], method: str, measure: str,
          rd_variance: str = "sato") -> tuple[Fraction, Fraction]:
    """(estimate on the ratio scale for OR/RR, variance of the analysis-scale estimate)."""
    cells = exact_cells(tables)
    if method == "PETO":
        oe = [a - (a + b) * (a + c) / (a + b + c + d) for a, b, c, d in cells]
        v = [(a + b) * (c + d) * (a + c) * (b + d) / ((a + b + c + d) ** 2 * (a + b + c + d - 1))
             for a, b, c, d in cells]
        return sum(oe) / sum(v), 1 / sum(v)  # ln OR itself is rational here
    n = [sum(t) for t in cells]
    if measure == "OR":
        r = [a * d / m for (a, b, c, d), m in zip(cells, n, strict=True)]
        s = [b * c / m for (a, b, c, d), m in zip(cells, n, strict=True)]
        p = [(a + d) / m for (a, b, c, d), m in zip(cells, n, strict=True)]
        q = [(b + c) / m for (a, b, c, d), m in zip(cells, n, strict=True)]
        sr, ss = sum(r), sum(s)
        var = (sum(pi * ri for pi, ri in zip(p, r, strict=True)) / sr**2
               + sum(pi * si + qi * ri for pi, si, qi, ri in zip(p, s, q, r, strict=True))
               / (sr * ss) + sum(qi * si for qi, si in zip(q, s, strict=True)) / ss**2) / 2
        return sr / ss, var
    if measure == "RR":
        r = sum(a * (c + d) / m for (a, b, c, d), m in zip(cells, n, strict=True))
        s = sum(c * (a + b) / m for (a, b, c, d), m in zip(cells, n, strict=True))
        top = sum((a + b) * (c + d) * (a + c) / m**2 - a * c / m
                  for (a, b, c, d), m in zip(cells, n, strict=True))
        return r / s, top / (r * s)
    w = sum((a + b) * (c + d) / m for (a, b, c, d), m in zip(cells, n, strict=True))
    rd = sum((a * (c + d) - c * (a + b)) / m for (a, b, c, d), m in zip(cells, n, strict=True)) / w
    if rd_variance == "greenland-robins":
        top = sum((a * b * (c + d) ** 3 + c * d * (a + b) ** 3) / ((a + b) * (c + d) * m**2)
                  for (a, b, c, d), m in zip(cells, n, strict=True))
        return rd, top / w**2
    first = sum(c * ((a + b) / m) ** 2 - a * ((c + d) / m) ** 2
                + (a + b) * (c + d) * ((c + d) - (a + b)) / (2 * m**2)
                for (a, b, c, d), m in zip(cells, n, strict=True))
    second = sum((a * d + c * b) / (2 * m) for (a, b, c, d), m in zip(cells, n, strict=True))
    return rd, (rd * first + second) / w**2


def offered(engine: str, method: str, measure: str) -> bool:
    return engine in mb.backends.REGISTRY and offers(engine, method, measure)


@pytest.mark.parametrize("tables", sorted(TABLES))
@pytest.mark.parametrize(("method", "measure"), CASES)
@pytest.mark.parametrize("engine", ENGINES)
def test_engines_match_exact_rational_arithmetic(
    engine: str, method: str, measure: str, tables: str
) -> None:
    if not offered(engine, method, measure):
        with pytest.raises(mb.UnsupportedMethodError, match="metafor"):
            mb.pool(studies_of(TABLES[tables], measure), method, engine)
        return
    need(engine)
    result = mb.pool(studies_of(TABLES[tables], measure), method, engine)
    rd_variance = ("greenland-robins" if "pythonmeta.mh_rd_variance" in result.conventions
                   else "sato")
    estimate, variance = exact(TABLES[tables], method, measure, rd_variance)
    if method == "MH" and measure in ("OR", "RR"):
        assert math.exp(result.estimate) == pytest.approx(float(estimate), rel=EXACT_RTOL)
    else:
        assert result.estimate == pytest.approx(float(estimate), rel=EXACT_RTOL, abs=1e-300)
    assert result.se**2 == pytest.approx(float(variance), rel=EXACT_RTOL)
    assert result.tau2 == 0.0
    assert result.q_df == len(TABLES[tables]) - 1


def test_the_two_rd_variances_differ_where_the_engines_differ() -> None:
    """Guard: the GR-vs-Sato test above compares numbers that are not the same anyway."""
    for tables in TABLES.values():
        gr = exact(tables, "MH", "RD", "greenland-robins")[1]
        sato = exact(tables, "MH", "RD", "sato")[1]
        assert abs(gr - sato) / sato > 1e-4


# ------------------------------------------------------------------ metafor's pins
DATASETS = {"bcg": mb.datasets.bcg, "li2007": mb.datasets.li2007, "zero_cells": zero_cells}
#: PoolResult field -> metafor's statistic in the pins.
FIELDS = {"estimate": "estimate", "se": "se", "ci_low": "ci_lb", "ci_high": "ci_ub",
          "z": "zval", "p": "pval", "q": "q", "q_p": "q_p", "i2": "i2", "h2": "h2"}
#: Closed forms evaluated in another order: ~1e-15; 1e-10 relative (to max(1, |x|))
#: leaves room for sums over k = 22 tables and the P values' tails, nothing more.
PIN_RTOL = 1e-10


def pinned(reference: pd.Series, dataset: str, measure: str, analysis: str,
           statistic: str) -> float:
    return float(reference.loc[(dataset, measure, analysis, statistic, "")])


def add_only_events_tables(
    expected: dict[str, float], q_df: int, reference: pd.Series, dataset: str, measure: str
) -> int:
    """Convention pimeta.only_events_tables applied to metafor's numbers: Q gains the term
    (y - theta)^2 / v of each table with only events in both arms (escalc's y, v), on one
    more degree of freedom each; Q's P, I^2 and H^2 follow (Cochran; Higgins & Thompson)."""
    _, b, _, d = DATASETS[dataset](measure).counts.cells()
    only_events = (b == 0) & (d == 0)
    yi, vi = (per_study(reference, dataset, measure, "escalc", s)[only_events]
              for s in ("yi", "vi"))
    q = expected["q"] + float(((yi - expected["estimate"]) ** 2 / vi).sum())
    q_df += int(only_events.sum())
    expected |= {"q": q, "q_p": float(stats.chi2.sf(q, q_df)),
                 "i2": max(0.0, 100 * (q - q_df) / q), "h2": q / q_df}
    return q_df


def analysis_for(result: mb.PoolResult, method: str) -> str:
    """Which pinned metafor fit the result must equal: metafor's defaults, or metafor with
    RevMan's zero-cell rule applied to the tables (the conventions that say so)."""
    revman = {"pythonmeta.mh_zero_cells", "pythonmeta.peto_zero_cells",
              "pythonmeta.double_zero"} & set(result.conventions)
    return f"rma.{method.lower()}" + (".revman" if revman else "")


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize(("method", "measure"), CASES)
@pytest.mark.parametrize("engine", ENGINES)
def test_engines_reproduce_metafor_or_the_named_convention(
    engine: str, method: str, measure: str, dataset: str, raw_reference: pd.Series
) -> None:
    """Each engine equals rma.mh()/rma.peto(), or rma.mh()/rma.peto() with the zero-cell
    convention the result names applied to the tables; a different RD variance is the
    one convention left, and the estimate still agrees."""
    if not offered(engine, method, measure):
        return
    need(engine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mb.EngineWarning)  # rma.mh: 'Some yi/vi are NA'
        result = mb.pool(DATASETS[dataset](measure), method, engine)
    own_ci = check_pythonmeta_ci(result)
    analysis = analysis_for(result, method)
    variance_differs = "pythonmeta.mh_rd_variance" in result.conventions
    expected = {field: pinned(raw_reference, dataset, measure, analysis, statistic)
                for field, statistic in FIELDS.items()}
    q_df = pinned(raw_reference, dataset, measure, analysis, "k_yi") - 1
    if "pimeta.only_events_tables" in result.conventions:
        q_df = add_only_events_tables(expected, q_df, raw_reference, dataset, measure)
    for field, value in expected.items():
        if field in own_ci or (variance_differs and field in ("se", "ci_low", "ci_high", "z",
                                                               "p")):
            continue
        assert getattr(result, field) == pytest.approx(
            value, rel=PIN_RTOL, abs=PIN_RTOL * 1e-3), (field, analysis)
    assert result.q_df == q_df
    weights = np.asarray(result.weights)
    expected_weights = per_study(raw_reference, dataset, measure, analysis, "weights")
    if len(expected_weights) < len(weights):  # rma.mh dropped the double-zero tables
        dropped = DATASETS[dataset](measure).counts.double_zero()
        assert np.all(weights[dropped] == 0)
        weights = weights[~dropped]
    np.testing.assert_allclose(weights, expected_weights, rtol=PIN_RTOL, atol=1e-12)
    if variance_differs:  # the Greenland-Robins variance at the same tables
        cells = [np.asarray(x, dtype=float) for x in DATASETS[dataset](measure).counts.cells()]
        if "pythonmeta.double_zero" in result.conventions:
            keep = ~DATASETS[dataset](measure).counts.double_zero()
            cells = [x[keep] for x in cells]
        if "pythonmeta.mh_zero_cells" in result.conventions:
            shift = 0.5 * np.any(np.vstack(cells) == 0, axis=0)
            cells = [x + shift for x in cells]
        gr = mh.mh_risk_difference(*cells, variance="greenland-robins")
        assert result.se**2 == pytest.approx(gr.variance, rel=PIN_RTOL)


def test_pinned_grid_is_complete(raw_reference: pd.Series) -> None:
    """Guard: every data set has both analyses, both zero-cell rules, every measure."""
    for dataset in DATASETS:
        for variant in ("", ".revman"):
            for measure in ("OR", "RR", "RD"):
                assert pinned(raw_reference, dataset, measure, f"rma.mh{variant}", "estimate")
            assert pinned(raw_reference, dataset, "OR", f"rma.peto{variant}", "estimate")


def test_capabilities_show_mh_and_peto_per_engine() -> None:
    table = mb.capabilities()
    assert {"MH:OR", "MH:RR", "MH:RD", "PETO:OR"} <= set(table.columns)
    assert table.loc["metafor", ["MH:OR", "MH:RR", "MH:RD", "PETO:OR"]].all()
    assert table.loc["statsmodels", "MH:OR"]
    assert not table.loc["statsmodels", ["MH:RR", "MH:RD", "PETO:OR"]].any()
    assert not table.loc["pymare", ["MH:OR", "PETO:OR"]].any()


def test_a_missing_method_names_the_engines_that_have_it() -> None:
    with pytest.raises(mb.UnsupportedMethodError, match=r"'MH \(RD\)'.*pythonmeta, metafor"):
        mb.pool(mb.datasets.bcg("RD"), "MH", "statsmodels")
    with pytest.raises(mb.UnsupportedMethodError, match=r"'PETO \(OR\)'.*pythonmeta, metafor"):
        mb.pool(mb.datasets.bcg("OR"), "PETO", "pymare")


def test_compare_runs_mh_and_peto_only_when_named(metafor: str) -> None:
    studies = mb.datasets.bcg("OR")
    assert set(mb.compare(studies, methods=None, backends=[metafor]).table["method"]) == set(
        mb.methods.IV_METHODS)
    both = mb.compare(studies, methods=("MH", "PETO"), backends=["statsmodels", metafor])
    assert set(zip(both.table["backend"], both.table["method"], strict=True)) == {
        ("statsmodels", "MH"), (metafor, "MH"), (metafor, "PETO")}
    assert [s[:2] for s in both.skipped] == [("statsmodels", "PETO/z")]


def test_a_cancelling_engine_q_is_replaced_by_the_stable_one(metafor: str) -> None:
    """Ill-conditioned tables: three huge, nearly identical 2x2 tables (z ~ 2e4 each).

    rma.peto's one-pass Q = sum (O - E)^2 / V - (sum (O - E))^2 / sum V subtracts numbers
    of ~1e9 to get ~3e-3: it is off in the 5th digit.  metabridge reports the two-pass Q,
    which matches exact rational arithmetic; the per-table effects (~1.9, differing by
    ~1e-5) carry ~1e-16 * 1.9 / 1e-5 ~ 2e-11 relative error into it, hence 1e-9.
    """
    a, n1 = [400000000, 400001000, 399999000], [500000000] * 3
    c, n2 = [100000000, 100000500, 99999700], [500000000] * 3
    cells = exact_cells(list(zip(a, n1, c, n2, strict=True)))
    oe = [a_ - (a_ + b_) * (a_ + c_) / (a_ + b_ + c_ + d_) for a_, b_, c_, d_ in cells]
    v = [(a_ + b_) * (c_ + d_) * (a_ + c_) * (b_ + d_)
         / ((a_ + b_ + c_ + d_) ** 2 * (a_ + b_ + c_ + d_ - 1)) for a_, b_, c_, d_ in cells]
    exact_q = float(sum(o * o / w for o, w in zip(oe, v, strict=True)) - sum(oe) ** 2 / sum(v))
    studies = mb.StudySet.from_counts(a, n1, c, n2, measure="OR")
    for engine in ("metafor", "pythonmeta"):
        need(engine)
        result = mb.pool(studies, "PETO", engine)
        assert "metabridge.stable_q" in result.conventions
        assert result.q == pytest.approx(exact_q, rel=1e-9)
        assert abs(result.extra["q_engine"] - exact_q) > 1e-6 * exact_q  # the engine's Q
        assert {"q", "q_p", "i2", "h2"} <= result.derived


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_compare_names_mh_conventions_and_harmonise_closes_the_gap(
    dataset: str, measure: str
) -> None:
    """Differences between engines' MH/Peto results are named conventions; under
    harmonise every engine's result is recomputed under metafor's conventions for the
    data (metabridge.realign) and the presentation made one (CI quantile, P, I^2)."""
    studies = DATASETS[dataset](measure)
    methods = ("MH", "DL-MH", "PETO") if measure == "OR" else ("MH", "DL-MH")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mb.EngineWarning)
        plain = mb.compare(studies, methods)
        harmonised = mb.compare(studies, methods, harmonise=True)
    assert "UNEXPLAINED" not in set(plain.discrepancies()["explained_by"])
    assert harmonised.differences()["agree"].all(), harmonised.discrepancies()
    for result in harmonised.results:  # the engine's own numbers are kept
        if "pythonmeta.mh_rd_variance" in result.conventions:
            assert result.extra["se_engine"] != result.se


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
@pytest.mark.parametrize("engine", ["pythonmeta", "metafor"])
def test_revman_random_effects_is_dl_on_the_mh_q(
    engine: str, dataset: str, measure: str, raw_reference: pd.Series
) -> None:
    """RevMan's 'M-H, Random' from metafor's pinned rma.mh() numbers: tau^2 =
    max(0, (Q - df) / (sum w - sum w^2 / sum w)), w = 1 / v over the tables in Q, then
    the inverse-variance pooling with 1 / (v + tau^2) (DerSimonian & Laird 1986; RevMan 5
    statistical algorithms).  PythonMeta computes it natively, metafor through
    rma.mh() + rma(tau2 = ...) (convention metafor.dl_mh); with zero cells PythonMeta's
    MH analysis is metafor's with RevMan's zero-cell rule (the .revman pins)."""
    need(engine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mb.EngineWarning)
        result = mb.pool(DATASETS[dataset](measure), "DL-MH", engine)
    analysis = "rma.mh" + (".revman" if {"pythonmeta.mh_zero_cells", "pythonmeta.double_zero"}
                           & set(result.conventions) else "")
    q = pinned(raw_reference, dataset, measure, analysis, "q")
    yi, vi = (per_study(raw_reference, dataset, measure, analysis, s) for s in ("yi", "vi"))
    yi, vi = yi[np.isfinite(yi)], vi[np.isfinite(vi)]
    w = 1 / vi
    tau2 = max(0.0, (q - (len(w) - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    w_re = 1 / (vi + tau2)
    # closed forms; the zero-cell tables' tau^2 cancels less well: 1e-9 relative
    assert result.tau2 == pytest.approx(tau2, rel=1e-9, abs=1e-15)
    assert result.estimate == pytest.approx((w_re * yi).sum() / w_re.sum(), rel=1e-9)
    assert result.se == pytest.approx(1 / np.sqrt(w_re.sum()), rel=1e-9)
    assert result.q == pytest.approx(q, rel=1e-10)
    assert result.q_df == len(w) - 1


#: Random small tables without zero cells: k = 2..6, arms of 2..300 participants.
TABLE_SETS = st.lists(
    st.tuples(st.integers(2, 300), st.integers(2, 300)).flatmap(
        lambda n: st.tuples(st.integers(1, n[0] - 1), st.just(n[0]),
                            st.integers(1, n[1] - 1), st.just(n[1]))),
    min_size=2, max_size=6,
)


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tables=TABLE_SETS)
def test_random_tables_match_exact_rational_arithmetic(
    tables: list[tuple[int, int, int, int]]
) -> None:
    """Property: on any such tables every engine's MH (OR, RR, RD) and Peto estimate and
    variance equal the exact rational values (EXACT_RTOL, as above)."""
    for method, measure in CASES:
        studies = studies_of(tables, measure)
        for engine in ENGINES:
            if not offered(engine, method, measure) or not get_backend(engine).status().available:
                continue
            if engine == "pimeta" and q_is_zero(tables, method, measure):
                continue  # pimeta.zero_q: test_pimeta_refuses_tables_with_q_zero
            result = mb.pool(studies, method, engine)
            rd_variance = ("greenland-robins" if "pythonmeta.mh_rd_variance" in result.conventions
                           else "sato")
            estimate, variance = exact(tables, method, measure, rd_variance)
            value = math.exp(result.estimate) if method == "MH" and measure != "RD" else (
                result.estimate)
            assert value == pytest.approx(float(estimate), rel=EXACT_RTOL, abs=1e-15), (
                engine, method, measure)
            assert result.se**2 == pytest.approx(float(variance), rel=EXACT_RTOL), (
                engine, method, measure)


def q_is_zero(tables: list[tuple[int, int, int, int]], method: str, measure: str) -> bool:
    """True if every table has exactly the same effect (so Q = 0), in fractions: equal
    odds ratios, risk ratios or risk differences, or (Peto) O - E proportional to V."""
    cells = exact_cells(tables)
    if method == "PETO":
        ratios = {(a - (a + b) * (a + c) / (a + b + c + d)) / ((a + b) * (c + d) * (a + c) * (b + d)
                  / ((a + b + c + d) ** 2 * (a + b + c + d - 1))) for a, b, c, d in cells}
    elif measure == "OR":
        ratios = {a * d / (b * c) for a, b, c, d in cells}
    elif measure == "RR":
        ratios = {a / (a + b) / (c / (c + d)) for a, b, c, d in cells}
    else:
        ratios = {a / (a + b) - c / (c + d) for a, b, c, d in cells}
    return len(ratios) == 1


def test_pimeta_refuses_tables_with_q_zero(metafor: str) -> None:
    """Two tables with odds ratio 1: Q = 0.  pimeta divides by it (pimeta.zero_q) and
    metabridge says so; metafor pools them, with I^2 = 0."""
    need("pimeta")
    studies = studies_of([(1, 2, 1, 2), (2, 4, 2, 4)], "OR")
    with pytest.raises(mb.EngineError, match="pimeta divides by Q to get I\\^2 and fails"):
        mb.pool(studies, "MH", "pimeta")
    result = mb.pool(studies, "MH", metafor)
    assert result.q == 0.0
    assert result.i2 == 0.0


@pytest.mark.parametrize("level", [0.3, 0.005, 0.999])
@pytest.mark.parametrize("method", ["MH", "PETO", "DL-MH"])
def test_any_confidence_level_gives_the_normal_interval(method: str, level: float) -> None:
    """CI = estimate -/+ z_{(1 + level)/2} SE at any level, on every engine (metafor reads
    a level <= 0.5 as alpha and cannot take one below 0.01: r/metabridge.R passes it as
    a proportion or a percentage, or computes the CI itself)."""
    studies = mb.datasets.bcg("OR")
    z = stats.norm.ppf((1 + level) / 2)
    for engine in ENGINES:
        if not offered(engine, method, "OR") or not get_backend(engine).status().available:
            continue
        result = mb.pool(studies, method, engine, level=level)
        # one multiplication and one addition on numbers of order 1: ~1e-15
        assert result.ci_low == pytest.approx(result.estimate - z * result.se, rel=1e-12)
        assert result.ci_high == pytest.approx(result.estimate + z * result.se, rel=1e-12)


def test_an_engine_estimate_off_its_formula_is_refused(
    metafor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sanity check of MH/Peto results: an engine whose MH estimate (or variance) is
    not the formula's on the tables it pooled is refused, not passed on.  Simulated by
    nudging rma.mh()'s estimate by 1e-6 on its way from R."""
    from metabridge.backends import metafor as adapter

    real = adapter.call_r

    def nudged(function: str, *args: object) -> dict:
        out = real(function, *args)
        if function == "mb_rma_mh":
            out["estimate"] += 1e-6
        return out

    monkeypatch.setattr(adapter, "call_r", nudged)
    with pytest.raises(mb.EngineError, match=r"is not the MH formula's .* on the tables it"):
        mb.pool(mb.datasets.bcg("OR"), "MH", metafor)


def test_an_explanation_names_only_the_conventions_at_play(metafor: str) -> None:
    """Li 2007, MH: statsmodels' MH odds ratio equals metafor's to the last bit (its
    zero-cell correction changes only the per-study log ORs it shows), so the gap to
    PythonMeta is PythonMeta's correction alone (was: both named; found by review)."""
    need("statsmodels")
    need("pythonmeta")
    studies = DATASETS["li2007"]("OR")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mb.EngineWarning)
        cmp = mb.compare(studies, ("MH",), backends=("statsmodels", "pythonmeta", metafor))
    results = {r.backend: r for r in cmp.results}
    assert results["statsmodels"].estimate == results["metafor"].estimate
    gaps = cmp.differences()
    causes = set(gaps.loc[gaps["quantity"] == "estimate", "explained_by"])
    assert causes == {"pythonmeta.mh_zero_cells"}
