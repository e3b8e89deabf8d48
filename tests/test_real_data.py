"""Does a metadat/escalc file read the way a metafor user expects?

Real files carry their own ``yi``/``vi`` columns, repeat study labels ("Shechter"
three times in Li 2007) and have studies with missing values (escalc's NA for a
zero cell).  metafor keeps going: ``rma()`` makes labels unique
(``.make.unique``: 'Shechter.1', ...) and drops studies with NA (``na.omit``,
with a warning).  The truths are metafor's own results on the same files,
pinned by ``validation/metadat_reference.R`` (tests/reference/metadat_reference.csv);
the files in tests/data/ are written by the same script from R's metadat.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import need, pinned

import metabridge as mb
from metabridge import cli

DATA = Path(__file__).parent / "data"
LI2007 = DATA / "li2007_or.csv"
HACKSHAW = DATA / "hackshaw1998.csv"


@pytest.fixture(scope="module")
def pins(metadat_reference: pd.DataFrame) -> pd.DataFrame:
    return metadat_reference


def read_li2007(**options: object) -> mb.StudySet:
    with pytest.warns(mb.DataWarning) as caught:
        studies = mb.StudySet.read_csv(LI2007, label="study", yi="yi", vi="vi", measure="OR",
                                       **options)
    read_li2007.warnings = [str(w.message) for w in caught]  # type: ignore[attr-defined]
    return studies


def test_fixtures_carry_their_provenance() -> None:
    for path in (LI2007, HACKSHAW):
        provenance = pd.read_csv(path)["provenance"]
        assert provenance.str.startswith("metadat ").all()
        assert provenance.str.endswith("GPL >= 2").all()


# ------------------------------------------------ 1. columns not named do not matter
def test_a_files_own_yi_vi_do_not_block_reading_by_ratio_and_ci() -> None:
    frame = pd.read_csv(HACKSHAW)
    with pytest.warns(mb.DataWarning, match=r"'yi' -> 'yi_column', 'vi' -> 'vi_column'"):
        studies = mb.StudySet.read_csv(HACKSHAW, label=["author", "year"], ratio="or",
                                       lower="or.lb", upper="or.ub", measure="OR")
    assert studies.k == len(frame)
    np.testing.assert_array_equal(studies.yi, np.log(frame["or"]))
    # The file's columns are kept, untouched, under the new names.
    np.testing.assert_array_equal(studies.covariates["yi_column"], frame["yi"])
    np.testing.assert_array_equal(studies.covariates["vi_column"], frame["vi"])
    assert "yi" not in studies.covariates.columns


def test_an_unused_column_named_like_an_input_is_kept_apart() -> None:
    frame = pd.DataFrame({"study": ["A", "B"], "hr": [2.0, 1.5], "lo": [1.0, 1.0],
                          "hi": [4.0, 2.25], "ratio": ["x", "y"], "ratio_column": [1, 2]})
    with pytest.warns(mb.DataWarning, match=r"'ratio' -> 'ratio_column_2'"):
        studies = mb.StudySet.from_frame(frame, label="study", ratio="hr", lower="lo",
                                         upper="hi")
    assert list(studies.covariates["ratio"]) == [2.0, 1.5]  # the reported input
    assert list(studies.covariates["ratio_column_2"]) == ["x", "y"]
    assert list(studies.covariates["ratio_column"]) == [1, 2]


def test_reading_by_the_files_yi_vi_keeps_its_other_columns_silently() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", mb.DataWarning)
        studies = mb.StudySet.read_csv(HACKSHAW, label=["author", "year"], yi="yi", vi="vi",
                                       measure="OR")
    assert {"or", "or.lb", "or.ub", "provenance"} <= set(studies.covariates.columns)


def test_a_covariate_typed_as_a_keyword_may_not_take_a_derived_name() -> None:
    with pytest.raises(mb.InvalidStudyError, match=r"^field 'vi': reserved column name"):
        mb.StudySet.from_ratios([2.0, 1.5], [1.0, 1.0], [4.0, 2.25], vi=[1, 2])


# ------------------------------------------------------------------ 2. labels
def test_repeated_labels_are_made_unique_exactly_as_metafor_does(pins: pd.DataFrame) -> None:
    expected = pinned(pins, "hackshaw1998", "slab", "label")
    with pytest.warns(mb.DataWarning, match="made unique") as caught:
        studies = mb.StudySet.read_csv(HACKSHAW, label="author", yi="yi", vi="vi")
    assert list(studies.labels) == list(expected.to_numpy())
    message = str(caught[0].message)
    counts = pd.read_csv(HACKSHAW)["author"].value_counts()
    assert sorted(counts[counts > 1].index) == ["Brownson", "Garfinkel", "Kabat", "Lam", "Liu"]
    for author in counts[counts > 1].index:
        assert f"{author!r} x2 -> {author + '.1'!r}, {author + '.2'!r}" in message
    assert "'Hirayama'" not in message  # only the repeated ones are listed


def test_three_shechters_and_a_composed_label() -> None:
    studies = read_li2007()
    assert [label for label in studies.labels if label.startswith("Shechter")] == [
        "Shechter.1", "Shechter.2", "Shechter.3"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mb.DataWarning)  # the two NA studies are dropped
        by_year = mb.StudySet.read_csv(LI2007, label=["study", "year"], yi="yi", vi="vi")
    assert "Shechter 1991" in by_year.labels
    assert len(set(by_year.labels)) == by_year.k
    assert by_year.covariates["year"].iloc[0] == 1984  # the parts stay covariates


def test_unique_labels_never_collide_with_an_existing_one() -> None:
    with pytest.warns(mb.DataWarning):
        studies = mb.StudySet.from_effects([1, 2, 3], vi=[1, 1, 1], labels=["A", "A", "A.1"])
    assert len(set(studies.labels)) == 3
    assert studies.labels[1] == "A.2"  # metafor's first pass, kept where it is unique


def test_errors_name_the_label_keyword_and_column(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "gap.csv"
    pd.DataFrame({"author": ["A", None], "year": [2001, 2002], "yi": [0.1, 0.2],
                  "vi": [0.01, 0.02]}).to_csv(path, index=False)
    code = cli.main(["compare", str(path), "--label", "author", "year", "--yi", "yi", "--vi",
                     "vi", "--backend", "statsmodels"])
    assert code == 2
    assert capsys.readouterr().err.startswith(
        "metabridge: error: field 'label' (column 'author, year'): study 2 of 2 has no label")


def test_cli_composes_labels_and_reports_warnings_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = cli.main(["compare", str(HACKSHAW), "--label", "author", "year", "--ratio", "or",
                     "--lower", "or.lb", "--upper", "or.ub", "--measure", "OR",
                     "--backend", "statsmodels", "--methods", "FE"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.err.startswith("metabridge: warning (DataWarning): columns not used")
    assert "yi_column" in captured.err


# ------------------------------------------------------------ 3. missing values
def test_missing_values_are_dropped_as_metafor_drops_them(pins: pd.DataFrame) -> None:
    studies = read_li2007()
    dropped = [m for m in read_li2007.warnings if "dropped" in m]  # type: ignore[attr-defined]
    assert dropped == ["2 of 22 studies dropped for missing values (na='drop', as metafor's "
                       "default na.omit): 'Urek' (yi, vi); 'Santoro' (yi, vi); pass na='raise' "
                       "to stop instead"]
    weights = pinned(pins, "li2007_or", "rma", "weight").astype(float)
    assert studies.k == int(pinned(pins, "li2007_or", "rma", "k").iloc[0])
    assert list(studies.labels) == list(weights.index)
    # The kept studies' covariates stay with them.
    assert studies.covariates.loc["ISIS-4", "n1i"] == 29011


def test_dropped_studies_pool_as_in_metafor(pins: pd.DataFrame) -> None:
    need("metafor")
    studies = read_li2007()
    result = mb.pool(studies, "REML", "metafor")
    weights = pinned(pins, "li2007_or", "rma", "weight").astype(float)
    # Same engine, same data, same control: only the printing of 17 digits separates them.
    np.testing.assert_allclose(result.weights, weights.to_numpy(), rtol=1e-12)
    for field in ("estimate", "se", "tau2"):
        assert getattr(result, field) == pytest.approx(
            float(pinned(pins, "li2007_or", "rma", field).iloc[0]), rel=1e-12)


def test_na_raise_stops_at_the_first_missing_value() -> None:
    with pytest.warns(mb.DataWarning, match="Shechter"), pytest.raises(
        mb.InvalidStudyError,
        match=r"^study 'Urek', field 'yi' \(column 'yi'\): value is missing; a number is needed",
    ):
        mb.StudySet.read_csv(LI2007, label="study", yi="yi", vi="vi", na="raise")


def test_missing_covariates_do_not_drop_a_study() -> None:
    studies = mb.StudySet.from_effects([0.1, 0.2], vi=[0.01, 0.02], minutes=[None, 30])
    assert studies.k == 2


def test_cli_na_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["compare", str(LI2007), "--label", "study", "--yi", "yi", "--vi", "vi",
                     "--na", "raise", "--backend", "statsmodels"])
    assert code == 2
    assert "study 'Urek', field 'yi' (column 'yi')" in capsys.readouterr().err
