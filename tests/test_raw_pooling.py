"""Do the engines pool raw data as metafor's escalc() + rma() do, or as the named convention says?

Each engine computes its own effect sizes from the raw data (backends/base.py).  Where
its convention is metafor's, its FE, DL and REML results equal metafor's pinned
escalc() + rma() (reference/metafor_raw_reference.csv, validation/metafor_raw_reference.R);
where it is not, they equal metafor's rma() on metafor's effect sizes with the named
convention applied (RevMan's SMD, tables left out), pinned by the same script.  And
compare(harmonise=True) closes every gap.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from conftest import check_pythonmeta_ci, need, zero_cells

import metabridge as mb
from metabridge.backends import offers

ENGINES = ("statsmodels", "pythonmeta", "metafor", "pymare", "pimeta")
DATASETS = {"bcg": mb.datasets.bcg, "li2007": mb.datasets.li2007, "zero_cells": zero_cells,
            "normand1999": mb.datasets.normand1999}
MEASURES = {"bcg": ("OR", "RR", "RD"), "li2007": ("OR", "RR", "RD"),
            "zero_cells": ("OR", "RR", "RD"), "normand1999": ("MD", "SMD")}
CASES = [(name, measure) for name, measures in MEASURES.items() for measure in measures]
FIELDS = {"estimate": "estimate", "se": "se", "ci_low": "ci_lb", "ci_high": "ci_ub",
          "z": "zval", "p": "pval", "tau2": "tau2", "q": "q", "q_p": "q_p"}
#: FE and DL are closed forms (another order of the same arithmetic: ~1e-14); REML is
#: iterative, and PyMARE's search stops at ~1e-8 relative (convention pymare.tolerance).
RTOL = {"FE": 1e-10, "DL": 1e-10, "REML": 1e-6}
#: The synthetic zero-cell tables are ill-conditioned on purpose: the 'near one' table's
#: RR variance 1/a - 1/n1 + ... = 1.1e-7 is a difference that keeps only ~12 of its
#: digits, and its weight is 1e6 times the others', so DL's c = sum w - sum w^2 / sum w
#: cancels (sum w / c = 3e4): ~1e-12 * 3e4 ~ 3e-8 is the agreement to expect for DL.
ILL_CONDITIONED_RTOL = 1e-7
#: The convention a result names -> the pinned metafor fit that applies it.
VARIANTS = {"pythonmeta.smd_revman": "revman_smd", "statsmodels.smd_revman": "revman_smd",
            "pythonmeta.double_zero": "without_double_zero",
            "pimeta.escalc_drop00": "without_no_events"}


def pooled(engine: str, dataset: str, measure: str, method: str) -> mb.PoolResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mb.EngineWarning)
        result = mb.pool(DATASETS[dataset](measure), method, engine)
    return result


@pytest.mark.parametrize(("dataset", "measure"), CASES)
@pytest.mark.parametrize("method", ["FE", "DL", "REML"])
@pytest.mark.parametrize("engine", ENGINES)
def test_engines_pool_raw_data_as_metafor_or_the_named_convention(
    engine: str, method: str, dataset: str, measure: str, raw_reference: pd.Series,
    request: pytest.FixtureRequest,
) -> None:
    if not offers(engine, method):
        return
    need(engine)
    rtol = ILL_CONDITIONED_RTOL if dataset == "zero_cells" else RTOL[method]
    if (engine, method, dataset, measure) == ("pythonmeta", "DL", "zero_cells", "RR"):
        # One table's variance is 1e-7: DL's c = sum w - sum w^2 / sum w cancels in
        # PythonMeta's arithmetic (tau^2 1.05e-10 relative off the exact value from its
        # own effect sizes), and PythonMeta cannot pool at a given tau^2: refused.
        with pytest.raises(mb.EngineError, match=r"tau2 = .*closed form of DL"):
            pooled(engine, dataset, measure, method)
        return
    result = pooled(engine, dataset, measure, method)
    own_ci = check_pythonmeta_ci(result)
    variants = {VARIANTS[key] for key in result.conventions if key in VARIANTS}
    assert len(variants) <= 1, variants
    analysis = ".".join([f"rma.{method}", *variants])
    if (method, dataset, measure) == ("REML", "zero_cells", "RR"):
        # The REML root is the boundary tau^2 = 0 (mpmath: the score at 0 is about -210,
        # with or without the no-event table); metafor stops at ~5e-13 and pimeta at
        # ~4e-11, which move the 1e-7 table's weight by 5e-6 and 3e-4: the sanity layer
        # repairs them (metabridge.stable_tau2), keeping the engine's value.  The truth
        # is the fit at tau^2 = 0, i.e. metafor's FE fit on the same effect sizes.
        assert result.tau2 == 0.0
        if "metabridge.stable_tau2" in result.conventions and engine == "metafor":
            pinned = float(raw_reference.loc[(dataset, measure, analysis, "tau2", "")])
            assert result.extra["tau2_engine"] == pytest.approx(pinned, rel=1e-6)
        analysis = analysis.replace("rma.REML", "rma.FE")
    for field, statistic in FIELDS.items():
        if field in own_ci:
            continue
        expected = float(raw_reference.loc[(dataset, measure, analysis, statistic, "")])
        assert getattr(result, field) == pytest.approx(
            expected, rel=rtol, abs=rtol * 1e-3), (field, analysis)


@pytest.mark.parametrize(("dataset", "measure"), CASES)
def test_compare_names_the_conventions_and_harmonise_closes_the_gap(
    dataset: str, measure: str
) -> None:
    studies = DATASETS[dataset](measure)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mb.EngineWarning)
        plain = mb.compare(studies, ("FE", "DL"))
        harmonised = mb.compare(studies, ("FE", "DL"), harmonise=True)
    assert "UNEXPLAINED" not in set(plain.discrepancies()["explained_by"])
    assert harmonised.differences()["agree"].all(), harmonised.discrepancies()
