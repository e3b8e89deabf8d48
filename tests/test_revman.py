"""Does read_revman read the three Cochrane formats the way RevMan wrote them?

The truth is the public Fleiss 1993 review (R package meta; see
validation/revman/README.md) in its three formats: the same studies must come out of
each, with RevMan's settings, and RevMan's stored numbers must agree across formats
at the coarser format's rounding (RevMan 5 wrote the .rm5 and the CSV export; RevMan
Web the zip).
"""

from __future__ import annotations

import shutil
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pandas as pd
import pytest

import metabridge as mb
from metabridge.revman import FORMATS

REVMAN = Path(__file__).resolve().parents[1] / "validation" / "revman"
FLEISS = {"rm5": REVMAN / "Fleiss1993.rm5", "csv": REVMAN / "Fleiss1993_CR.csv",
          "zip": REVMAN / "Fleiss1993.zip"}


@pytest.fixture(scope="module")
def fleiss() -> dict[str, mb.revman.Review]:
    return {kind: mb.read_revman(path) for kind, path in FLEISS.items()}


def test_each_format_is_recognised(fleiss: dict) -> None:
    assert [review.format for review in fleiss.values()] == list(FORMATS)
    assert [[a.id for a in review] for review in fleiss.values()] == [["1.1", "1.2"]] * 3
    assert fleiss["rm5"].title == "Examples from Fleiss 1993"


def test_format_comes_from_the_content_not_the_name(tmp_path: Path) -> None:
    renamed = tmp_path / "export.txt"
    shutil.copy(FLEISS["csv"], renamed)
    assert mb.read_revman(renamed).format == "RevMan 5 CSV export"


@pytest.mark.parametrize("number", ["1.1", "1.2"])
def test_the_three_formats_hold_the_same_studies(fleiss: dict, number: str) -> None:
    frames = [review[number].data.sort_values("label").reset_index(drop=True)
              for review in fleiss.values()]
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0])
    assert len(frames[0]) == (7 if number == "1.1" else 5)


def test_settings_are_revmans(fleiss: dict) -> None:
    for review in fleiss.values():
        aspirin = review["1.1"].settings
        assert (aspirin.data_type, aspirin.method, aspirin.measure) == ("dichotomous", "MH", "OR")
        assert (aspirin.random_effects, aspirin.log_scale) == (False, True)
        assert (aspirin.study_level, aspirin.total_level) == (0.95, 0.95)
    # The .rm5 and the zip analyse 1.2 as an SMD; the CSV export (made separately by the
    # meta author) holds it as a mean difference with results.
    assert [r["1.2"].settings.measure for r in fleiss.values()] == ["SMD", "MD", "SMD"]
    assert {r["1.2"].settings.method for r in fleiss.values()} == {"IV"}
    # The CSV export has no CI-level columns: the assumption is stated, not hidden.
    assert any("95% assumed" in note for note in fleiss["csv"]["1.1"].settings.assumed)
    assert fleiss["rm5"]["1.1"].settings.assumed == ()


def test_analyses_without_stored_results_are_marked(fleiss: dict) -> None:
    assert [r["1.2"].has_results for r in fleiss.values()] == [False, True, False]
    assert all(r["1.1"].has_results for r in fleiss.values())
    assert not fleiss["zip"]["1.2"].study_results  # RevMan Web's zeros are not results


def test_fixed_effect_analyses_store_no_tau2(fleiss: dict) -> None:
    # RevMan writes TAU2="0.0" / Tau² 0 under a fixed effect: a placeholder, not a result.
    for review in fleiss.values():
        assert "tau2" not in review["1.1"].overall


def test_precision_of_each_format(fleiss: dict) -> None:
    """The .rm5 holds full doubles; the CSV export 8 decimals, the zip 6 (never more)."""
    for kind, most in (("rm5", None), ("csv", 8), ("zip", 6)):
        numbers = [s for a in fleiss[kind] for s in _all_stored(a)]
        assert numbers
        assert {s.decimals for s in numbers} == {most}
        if most is not None:
            assert max(-Decimal(s.text).as_tuple().exponent for s in numbers) <= most


@pytest.mark.parametrize(("kind", "decimals"), [("csv", 8), ("zip", 6)])
def test_rm5_numbers_rounded_are_the_exported_ones(fleiss: dict, kind: str,
                                                   decimals: int) -> None:
    full, rounded = fleiss["rm5"]["1.1"], fleiss[kind]["1.1"]
    pairs = [(full.overall[f], rounded.overall[f]) for f in rounded.overall]
    pairs += [(full.study_results[s][f], rounded.study_results[s][f])
              for s in rounded.study_results for f in rounded.study_results[s]]
    assert len(pairs) >= 9 + 7 * 4
    quantum = Decimal(1).scaleb(-decimals)
    for exact, shown in pairs:
        # Ties do not occur in these numbers; half-even is Java's DecimalFormat default.
        assert Decimal(exact.text).quantize(quantum, ROUND_HALF_EVEN) == Decimal(shown.text)


def _all_stored(analysis: mb.revman.Analysis) -> list[mb.revman.Stored]:
    out = [*analysis.overall.values(), *analysis.subgroup_test.values()]
    for group in analysis.subgroups.values():
        out += group.values()
    for study in analysis.study_results.values():
        out += study.values()
    return out
