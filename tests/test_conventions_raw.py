"""Is every convention about raw data checked: does it explain what it claims?

A convention row names its check (``Convention.check``); the check applies the
convention to one engine's numbers or data and must reproduce the other engine's.
The checks of the Mantel-Haenszel and Peto rows live in test_mantel_haenszel.py;
the others are here.
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest
from conftest import REFERENCE, per_study, zero_cells

import metabridge as mb
from metabridge.conventions import CONVENTIONS

#: Rows that must name their check: the conventions of raw data and their methods.
RAW_DATA_CONVENTIONS = {
    "metafor.mh_tables", "metafor.peto_tables", "metabridge.stable_q",
    "pythonmeta.double_zero", "pythonmeta.mh_zero_cells", "pythonmeta.peto_zero_cells",
    "pythonmeta.mh_rd_variance", "statsmodels.mh_or_only", "statsmodels.zero_correction",
    "pimeta.only_events_tables", "pimeta.escalc_drop00", "pythonmeta.smd_revman",
    "statsmodels.smd_revman", "metafor.dl_mh", "pimeta.zero_q",
}


def test_every_raw_data_convention_names_a_check_that_exists() -> None:
    by_key = {c.key: c for c in CONVENTIONS}
    assert set(by_key) >= RAW_DATA_CONVENTIONS
    for key in RAW_DATA_CONVENTIONS:
        assert by_key[key].check, key
    for convention in CONVENTIONS:
        if not convention.check:
            continue
        path, name = convention.check.split("::")
        module = importlib.import_module(path.removeprefix("tests/").removesuffix(".py"))
        assert callable(getattr(module, name, None)), convention.check


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_statsmodels_zero_correction_moves_every_table(
    measure: str, raw_reference: pd.Series
) -> None:
    """statsmodels' own zero_correction = 1/2 equals 'add 1/2 to the events of every table,
    1 to the totals of zero-cell tables' -- not escalc's; metabridge's use of it (1/2 added
    to every cell of zero-cell tables, no zero_correction) equals escalc's values."""
    from statsmodels.stats.meta_analysis import effectsize_2proportions

    from metabridge.backends.statsmodels import _STATISTIC, _table_effects

    studies = zero_cells(measure)
    counts = studies.counts
    zero = counts.zero_cell()
    theirs = effectsize_2proportions(*counts, statistic=_STATISTIC[measure], zero_correction=0.5)
    described = effectsize_2proportions(
        counts.events_exp + 0.5, counts.total_exp + zero, counts.events_ctrl + 0.5,
        counts.total_ctrl + zero, statistic=_STATISTIC[measure])
    for got, expected in zip(theirs, described, strict=True):  # same arithmetic: exact
        np.testing.assert_array_equal(got, expected)
    yi, vi = _table_effects(counts, measure)
    # escalc's ln(p / (1 - p)) for the table with p = 0.9999 carries ~1e-12 relative error
    np.testing.assert_allclose(yi, per_study(raw_reference, "zero_cells", measure, "escalc", "yi"),
                               rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(vi, per_study(raw_reference, "zero_cells", measure, "escalc", "vi"),
                               rtol=1e-10)
    assert not np.allclose(theirs[0][~zero], yi[~zero], rtol=1e-3)  # it moves clean tables


def test_statsmodels_has_the_mh_odds_ratio_only() -> None:
    """StratifiedTable's MH odds ratio and SE are rma.mh()'s (the pins test checks every
    field); its pooled risk ratio is rma.mh()'s estimate but comes without a SE, so
    metabridge cannot offer MH RR (nor RD, nor Peto) on statsmodels."""
    from statsmodels.stats.contingency_tables import StratifiedTable

    frame = pd.read_csv(REFERENCE / "metafor_raw_reference.csv", comment="#")
    rr = frame.query("dataset == 'li2007' and measure == 'RR' and analysis == 'rma.mh' "
                     "and statistic == 'estimate'")["value"].item()
    a, b, c, d = mb.datasets.li2007("RR").counts.cells()
    table = StratifiedTable(np.array([[a, b], [c, d]]))
    assert np.log(table.riskratio_pooled) == pytest.approx(rr, rel=1e-12)  # same sums
    assert not [name for name in dir(table) if name.startswith("riskratio") and "se" in name]
    assert not [name for name in dir(table) if "diff" in name or "peto" in name.lower()]
    with pytest.raises(mb.UnsupportedMethodError, match="metafor"):
        mb.pool(mb.datasets.li2007("RR"), "MH", "statsmodels")
    result = mb.pool(mb.datasets.li2007("OR"), "MH", "statsmodels")
    assert {"q", "weights", "z", "p"} <= result.derived
