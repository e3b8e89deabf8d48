"""Is every P value printed by one rule (RevMan's floor, two significant digits), never as 0?

The expected strings are written out by hand from the rule, not produced by the
code under test; the sweep checks the two properties over many magnitudes.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import metabridge as mb
from metabridge.analyses.types import BeggTest, EggerTest, SubgroupAnalysis
from metabridge.formatting import format_p, p_value
from metabridge.plots import forest_plot


@pytest.mark.parametrize(("p", "text"), [
    (0.52, "0.52"), (0.999, "1.00"), (1.0, "1.00"), (0.06, "0.060"), (0.0621, "0.062"),
    (0.00031, "0.00031"), (0.000312, "0.00031"), (4.2e-5, "0.000042"), (1e-5, "0.000010"),
    (9.99e-6, "< 0.00001"), (1e-300, "< 0.00001"), (0.0, "< 0.00001"), (math.nan, "NA"),
])
def test_p_value_rule(p: float, text: str) -> None:
    assert p_value(p) == text


def test_format_p_words() -> None:
    assert format_p(0.52) == "P = 0.52"
    assert format_p(3e-9) == "P < 0.00001"
    assert format_p(0.0123, "p-val") == "p-val = 0.012"


def test_never_a_zero_and_two_significant_digits() -> None:
    for p in np.geomspace(1e-5, 1.0, 500):
        text = p_value(float(p))
        assert float(text) > 0, text
        # the printed value is within half a unit of its second significant digit
        assert abs(float(text) - p) <= 0.5 * 10 ** (math.floor(math.log10(p)) - 1) + 1e-15


def _p_texts(text: str) -> list[str]:
    return re.findall(r"\b[Pp](?:-val)?\s*(=|<)\s*([0-9.]+)", text)


def _assert_rule(text: str) -> None:
    found = _p_texts(text)
    assert found, text
    for sign, number in found:
        assert float(number) > 0, text
        if sign == "<":
            assert number == "0.00001", text


def test_summaries_and_tests_use_the_rule(bcg: mb.StudySet) -> None:
    res = mb.pool(bcg, "DL", "statsmodels")
    assert res.q_p < 1e-5  # BCG: Q = 152.2 on 12 df
    assert "p-val < 0.00001" in res.summary()
    egger = EggerTest("classic", 1.0, 0.5, 2.0, 10, 2.3e-5, "x", "test")
    assert str(egger).endswith("P = 0.000023")
    assert str(BeggTest(0.1, 4e-7, "x", "test")).endswith("P < 0.00001")
    sub = SubgroupAnalysis("arm", "separate", "DL", "x", {}, 30.0, 1, 3.1e-8, "test")
    assert "P < 0.00001" in str(sub)
    loo = str(mb.leave_one_out(bcg, "DL", "statsmodels"))
    assert "< 0.00001" in loo  # q_p column
    assert not re.search(r"\s0\.0+(\s|$)", loo), loo  # a P printed as 0.0000 (was 4 decimals)


def test_forest_footer_has_no_zero_p() -> None:
    """Report Fig 5A printed 'Z = 4.18 (P = 0.000)' for 1e-5 <= p < 0.0005."""
    studies = mb.StudySet.from_effects([0.5, 0.6, 0.55], sei=[0.25, 0.3, 0.2])
    res = mb.pool(studies, "FE", "statsmodels")
    assert 1e-5 < res.p < 5e-4
    line = forest_plot._overall_line(res)
    assert "P = 0.000)" not in line
    _assert_rule(line)
