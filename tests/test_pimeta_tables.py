"""Do pimeta's Mantel-Haenszel and Peto poolings, as metabridge calls them, give metafor's
rma.mh / rma.peto numbers, and do pimeta's API traps stay inside the adapter?

Truths: metafor's values pinned by validation/metafor_tables_reference.R
(tests/reference/metafor_tables_reference.csv) on the BCG trials and on five
constructed tables with zero cells of every kind (tests/reference/zero_cell_tables.csv),
and RevMan 5's stored results in the public Fleiss 1993 review (validation/revman/).
Each trap is shown to exist in pimeta 1.1 (so a test fails when pimeta changes it) and
shown not to reach a metabridge user.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, need
from scipy import stats

import metabridge as mb
from metabridge.backends.pimeta import OR_TESTS, TablesFit, _mantel_haenszel, _peto

ROOT = Path(__file__).resolve().parents[1]
#: Closed-form sums over the tables in another order than metafor's: measured <= 2e-15
#: relative (bcg); 1e-12 leaves a 500-fold margin.
EXACT = 1e-12
STATISTICS = {"estimate": "estimate", "se": "se", "zval": "z", "pval": "p", "q": "q",
              "q_df": "q_df", "q_p": "q_p", "i2": "i2", "h2": "h2"}
CASES = [(m, measure, level) for m, measures in (("MH", ("OR", "RR", "RD")), ("PETO", ("OR",)))
         for measure in measures for level in (0.95, 0.9)]


@pytest.fixture(scope="module", autouse=True)
def pimeta() -> None:
    need("pimeta")


@pytest.fixture(scope="module")
def reference() -> pd.Series:
    frame = pd.read_csv(REFERENCE / "metafor_tables_reference.csv", comment="#")
    index = ["dataset", "method", "measure", "level", "statistic"]
    return frame.set_index(index)["value"].sort_index()


def tables(dataset: str) -> tuple[np.ndarray, ...]:
    """(ai, bi, ci, di): events and non-events, experimental then control arm."""
    if dataset == "bcg":
        frame = pd.read_csv(ROOT / "src/metabridge/datasets/bcg.csv")
        return tuple(frame[c].to_numpy(float) for c in ("tpos", "tneg", "cpos", "cneg"))
    frame = pd.read_csv(REFERENCE / "zero_cell_tables.csv")
    a, n1, c, n2 = (frame[col].to_numpy(float) for col in ("ai", "n1i", "ci", "n2i"))
    return a, n1 - a, c, n2 - c


def fit(dataset: str, method: str, measure: str, level: float) -> TablesFit:
    counts = tables(dataset)
    return _mantel_haenszel(*counts, measure, level) if method == "MH" else _peto(*counts,
                                                                                  level)


def close(a: float, b: float, rtol: float = EXACT) -> bool:
    return abs(a - b) <= rtol * max(1.0, abs(b))


def test_reference_grid_is_complete(reference: pd.Series) -> None:
    """Guard: both data sets x every (method, measure, level) are pinned."""
    keys = set(reference.index.droplevel("statistic"))
    assert keys == {(d, m, measure, level) for d in ("bcg", "zero_cells")
                    for m, measure, level in CASES}


@pytest.mark.parametrize("dataset", ["bcg", "zero_cells"])
@pytest.mark.parametrize(("method", "measure", "level"), CASES)
def test_matches_metafor(reference: pd.Series, dataset: str, method: str, measure: str,
                         level: float) -> None:
    ours = fit(dataset, method, measure, level)
    pinned = reference.loc[(dataset, method, measure, level)]
    for column, name in STATISTICS.items():
        assert close(getattr(ours, name), pinned[column]), name
    assert close(ours.ci[0], pinned["ci_lb"])
    assert close(ours.ci[1], pinned["ci_ub"])
    assert pinned.index.str.startswith("weight_").sum() == len(ours.weights)
    weights = [pinned[f"weight_{i + 1}"] for i in range(len(ours.weights))]
    assert np.allclose(ours.weights, weights, rtol=EXACT, atol=0.0)
    if measure == "OR" and method == "MH":
        for key in OR_TESTS.values():
            for suffix in ("", "_p"):
                column = {"cmh": "cmh", "breslow_day": "breslow_day", "tarone": "tarone"}[key]
                assert close(ours.extra[key + suffix], pinned[column + suffix]), key + suffix


@pytest.mark.parametrize("method", ["MH", "PETO"])
def test_level_is_a_confidence_level(method: str) -> None:
    """The trap: rma_mh/rma_peto(level=0.95) is a 5% CI.  Ours is 95%."""
    pimeta = __import__("pimeta")
    counts = tables("bcg")
    raw = (pimeta.rma_mh(*counts, measure="OR", level=0.95) if method == "MH"
           else pimeta.rma_peto(*counts, level=0.95))
    half_width = (raw.ci_ub - raw.ci_lb) / 2
    assert close(half_width, stats.norm.ppf(1 - 0.95 / 2) * raw.se)  # 5%: z = 0.063
    ours = fit("bcg", method, "OR", 0.95)
    assert close((ours.ci[1] - ours.ci[0]) / 2, stats.norm.ppf(0.975) * ours.se)


@pytest.mark.parametrize("method", ["MH", "PETO"])
def test_weights_are_one_percent_weight_per_table(method: str) -> None:
    """The trap: weights() of an rma_mh/rma_peto fit is the k x k matrix."""
    pimeta = __import__("pimeta")
    counts = tables("bcg")
    raw = (pimeta.rma_mh(*counts, measure="OR") if method == "MH"
           else pimeta.rma_peto(*counts))
    k = len(counts[0])
    assert np.shape(pimeta.weights(raw)) == (k, k)
    ours = fit("bcg", method, "OR", 0.95)
    assert len(ours.weights) == k
    assert sum(ours.weights) == pytest.approx(100.0, rel=1e-14)  # k roundings of a sum


def test_peto_q_is_referred_to_the_informative_tables(reference: pd.Series) -> None:
    """pimeta.peto_q_df: with a double-zero table pimeta's own P, I^2, H^2 use k - 1 df."""
    raw = __import__("pimeta").rma_peto(*tables("zero_cells"))
    pinned = reference.loc[("zero_cells", "PETO", "OR", 0.95)]
    assert close(raw.QE, pinned["q"])  # the same Q ...
    assert abs(raw.QEp - pinned["q_p"]) > 0.05  # ... on the wrong df (4, metafor 3)
    ours = fit("zero_cells", "PETO", "OR", 0.95)
    assert ours.q_df == 3
    assert close(ours.q_p, pinned["q_p"])
    assert {"q_p", "i2", "h2"} == set(ours.computed_here)
    assert "pimeta.peto_q_df" in ours.conventions


def test_mantel_haenszel_reproduces_revman_fleiss_1993() -> None:
    """RevMan 5's stored M-H OR (full doubles in the .rm5 file) for the aspirin trials."""
    review = mb.read_revman(ROOT / "validation/revman/Fleiss1993.rm5")
    analysis = next(a for a in review.analyses if a.settings.method == "MH")
    data, stored = analysis.data, {k: v.value for k, v in analysis.overall.items()}
    a, n1, c, n2 = (data[col].to_numpy(float)
                    for col in ("events_exp", "total_exp", "events_ctrl", "total_ctrl"))
    ours = _mantel_haenszel(a, n1 - a, c, n2 - c, "OR", analysis.settings.total_level)
    assert close(np.exp(ours.estimate), stored["effect"])
    assert close(np.exp(ours.ci[0]), stored["ci_low"])
    assert close(np.exp(ours.ci[1]), stored["ci_high"])
    assert close(abs(ours.z), stored["z"])
    assert close(ours.q, stored["chi2"])
    assert ours.q_df == stored["df"]
    assert close(ours.i2, stored["i2"])
    # RevMan's own chi-square P is 7.4e-8 off the exact tail (R's pchisq and scipy agree
    # to 1e-16): compared at 1e-6, its precision, not ours.
    assert ours.q_p == pytest.approx(stored["chi2_p"], abs=1e-6)
    revman_weights = [analysis.study_results[label]["weight"].value for label in data["label"]]
    assert np.allclose(ours.weights, revman_weights, rtol=EXACT, atol=0.0)


def test_engine_failures_are_metabridge_errors() -> None:
    none = np.zeros(3)
    with pytest.raises(mb.EngineError, match="rma_peto failed"):
        _peto(none, np.full(3, 10.0), none, np.full(3, 10.0), 0.95)
    with pytest.raises(mb.EngineError, match="rma_mh"):
        _mantel_haenszel(none, np.full(3, 10.0), none, np.full(3, 10.0), "OR", 0.95)


# ------------------------------------------------------------------- not called
NEVER_CALLED = ("read_rm5", "metabin", "metacont")


def test_read_rm5_finds_nothing_in_a_real_revman_file() -> None:
    """The trap: 0 rows, no error, on RevMan 5's Fleiss 1993 (metabridge's reader: 7 + 5)."""
    path = ROOT / "validation/revman/Fleiss1993.rm5"
    assert len(__import__("pimeta").read_rm5(str(path)).data) == 0
    assert [a.k for a in mb.read_revman(path).analyses] == [7, 5]


def test_metabin_and_metacont_estimate_tau2_by_reml_whatever_they_say() -> None:
    pimeta = __import__("pimeta")
    for function in (pimeta.metabin, pimeta.metacont):
        assert inspect.signature(function).parameters["method_tau"].default == "REML"
        assert "default DL" in function.__doc__


def test_only_the_adapter_imports_pimeta_and_it_names_no_trapped_function() -> None:
    adapter = ROOT / "src/metabridge/backends/pimeta.py"
    importers = []
    for path in sorted((ROOT / "src/metabridge").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(m.split(".")[0] == "pimeta" for m in modules):
                importers.append(path)
    assert importers == [adapter]
    names = {getattr(node, "attr", None) or getattr(node, "id", None)
             or getattr(node, "value", None)
             for node in ast.walk(ast.parse(adapter.read_text(encoding="utf-8")))}
    assert not names & set(NEVER_CALLED)


def test_no_verb_reaches_the_trapped_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every pimeta verb metabridge has, with the three functions made to fail loudly."""
    pimeta = __import__("pimeta")
    for name in NEVER_CALLED:
        monkeypatch.setattr(pimeta, name, lambda *a, _name=name, **k: pytest.fail(_name))
    bcg = mb.datasets.bcg().with_columns(group=["a", "b"] * 6 + ["a"])
    for method in sorted(mb.backends.get_backend("pimeta").methods):
        for test in ("z", "knha", "adhoc"):
            mb.pool(bcg, method, "pimeta", test=test)
        mb.leave_one_out(bcg, method, "pimeta")
        mb.subgroups(bcg, "group", method, "pimeta", tau2="common")
        mb.subgroups(bcg, "group", method, "pimeta")
    for variant in ("classic", "metafor-rma"):
        mb.egger(bcg, "pimeta", variant)
    mb.begg(bcg, "pimeta")
    mb.simulate(k=5, reps=3, methods=("REML",), backends=("pimeta",), seed=1, progress=False,
                cross_check=0)
    for method, measure, level in CASES:
        fit("bcg", method, measure, level)
