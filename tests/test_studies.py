"""Does the study model turn reported numbers into (yi, vi) correctly, and stay immutable?"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import metabridge as mb
from metabridge.conversions import REVMAN_DIVISORS, ci_divisor


def test_from_ratios_exact_and_revman_rules() -> None:
    exact = mb.StudySet.from_ratios([2.0], [1.0], [4.0], se_rule="exact")
    revman = mb.StudySet.from_ratios([2.0], [1.0], [4.0], se_rule="revman")
    assert exact.yi[0] == pytest.approx(math.log(2.0), abs=1e-15)
    assert exact.sei[0] == pytest.approx(math.log(4.0) / (2 * 1.959963984540054), rel=1e-12)
    assert revman.sei[0] == pytest.approx(math.log(4.0) / 3.92, rel=1e-12)


def test_revman_divisors_are_the_rounded_exact_ones() -> None:
    for level, divisor in REVMAN_DIVISORS.items():
        assert round(ci_divisor(level, "exact"), 2) == divisor


def test_from_ratio_p_follows_the_handbook() -> None:
    # Cochrane Handbook 6.3.2: z = Phi^-1(1 - p/2); SE = |ln ratio| / z
    studies = mb.StudySet.from_ratio_p([0.5], [0.05])
    assert studies.sei[0] == pytest.approx(abs(math.log(0.5)) / 1.959963984540054, rel=1e-12)


def test_from_effects_accepts_sei_or_vi() -> None:
    a = mb.StudySet.from_effects([0.1, 0.2], sei=[0.1, 0.2])
    b = mb.StudySet.from_effects([0.1, 0.2], vi=[0.01, 0.04])
    np.testing.assert_allclose(a.vi, b.vi, rtol=1e-15)
    assert a.labels == ("Study 1", "Study 2")


def test_arrays_are_read_only_and_covariates_are_copies() -> None:
    studies = mb.StudySet.from_effects([0.1, 0.2], sei=[0.1, 0.2], group=["a", "b"])
    with pytest.raises(ValueError, match="read-only"):
        studies.yi[0] = 1.0
    copy = studies.covariates
    copy.loc["Study 1", "group"] = "changed"
    assert studies.covariates.loc["Study 1", "group"] == "a"
    with pytest.raises(AttributeError):
        studies.measure = "OR"  # type: ignore[misc]


def test_subset_drop_groupby_keep_data_aligned() -> None:
    studies = mb.datasets.ferritin_car_t("PFS")
    without = studies.drop("Moreno 2024")
    assert without.k == studies.k - 1
    assert "Moreno 2024" not in without.labels
    picked = studies.subset(["Sidana 2025", "Liu 2023"])
    assert picked.labels == ("Sidana 2025", "Liu 2023")
    assert picked.covariates.loc["Liu 2023", "n"] == 109
    groups = studies.groupby("cart_source")
    assert set(groups) == {"academic", "commercial"}
    assert set(groups["academic"].labels) == {"Liu 2023", "Gagelmann 2024"}
    assert sum(g.k for g in groups.values()) == studies.k
    mask = studies.covariates["n"].to_numpy() > 150
    assert set(studies.subset(mask).labels) == {"Dima 2024", "Hashmi 2024", "Sidana 2025"}


def test_from_frame_and_read_csv_round_trip(tmp_path) -> None:
    frame = pd.DataFrame({"study": ["A", "B", "C"], "hr": [1.5, 2.0, 0.8],
                          "lo": [1.0, 1.2, 0.5], "hi": [2.25, 3.3, 1.3], "arm": ["x", "y", "x"]})
    path = tmp_path / "studies.csv"
    frame.to_csv(path, index=False)
    studies = mb.StudySet.read_csv(path, label="study", ratio="hr", lower="lo", upper="hi")
    assert studies.labels == ("A", "B", "C")
    assert list(studies.covariates["arm"]) == ["x", "y", "x"]
    back = studies.to_frame()
    assert list(back.columns[:4]) == ["label", "yi", "sei", "vi"]
    np.testing.assert_allclose(back["ratio"], frame["hr"])


def test_ferritin_data_says_it_is_reconstructed() -> None:
    for outcome, k in (("PFS", 7), ("OS", 8)):
        studies = mb.datasets.ferritin_car_t(outcome)
        assert studies.k == k
        provenance = studies.covariates["hr_provenance"]
        assert provenance.str.startswith("reconstructed").all()
        assert studies.covariates["study_provenance"].str.startswith("extracted").all()
    assert "Mohty 2023" not in mb.datasets.ferritin_car_t("PFS").labels


def test_ferritin_subgroup_columns_follow_the_paper() -> None:
    studies = mb.datasets.ferritin_car_t("OS").covariates
    assert set(studies.index[studies["cutoff_group"] == "ULN"]) == {
        "Davis 2024", "Dima 2024", "Gagelmann 2024", "Hashmi 2024", "Sidana 2025"}
    assert set(studies.index[studies["followup_group"] == ">=12 months"]) == {
        "Liu 2023", "Dima 2024", "Moreno 2024", "Sidana 2025"}
    assert set(studies.index[studies["cart_source"] == "academic"]) == {
        "Liu 2023", "Gagelmann 2024"}


def test_prisma_counts_add_up() -> None:
    from metabridge.plots import check_prisma

    flow = check_prisma(mb.datasets.ferritin_prisma())
    assert flow.included_studies == len(mb.datasets.ferritin_studies())
