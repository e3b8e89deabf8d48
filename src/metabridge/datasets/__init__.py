"""Data sets shipped with metabridge, each with a ``provenance`` column.

- :func:`ferritin_car_t`: the eight studies of Cheng & Song 2025 (doi
  10.17305/bb.2025.12129).  Study characteristics are extracted from the paper's
  Tables 1-2.  The paper does not publish per-study hazard ratios, so the HRs and
  CIs are RECONSTRUCTED by ``validation/reconstruct_ferritin.py`` to reproduce the
  published summaries; they are not the studies' own numbers.
- :func:`bcg`: the 13 BCG vaccine trials (Colditz et al. 1994), as printed in
  Viechtbauer 2010 (J Stat Softw 36(3)) and shipped in R's metadat as dat.bcg:
  2x2 counts (tuberculosis cases among vaccinated and unvaccinated).
- :func:`li2007`: 22 trials of intravenous magnesium after myocardial infarction,
  deaths as 2x2 counts with zero cells (Li et al. 2007, Cochrane Review
  CD002755), as shipped in R's metadat as dat.li2007.
- :func:`normand1999`: nine trials of specialist stroke care, length of hospital
  stay as means, SDs and group sizes (Normand 1999, Stat Med 18:321), as shipped
  in R's metadat as dat.normand1999.
"""

from __future__ import annotations

import tomllib
from importlib import resources

import numpy as np
import pandas as pd

from ..errors import InvalidArgumentError
from ..prisma import PrismaFlow
from ..studies import StudySet

OUTCOMES = ("PFS", "OS")
#: The study the paper's exclusion analysis drops (the only univariate one).
UNIVARIATE_STUDY = "Moreno 2024"


def _read(name: str) -> pd.DataFrame:
    with resources.files(__package__).joinpath(name).open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle)


def ferritin_studies() -> pd.DataFrame:
    """Characteristics of the eight studies (Cheng & Song 2025, Tables 1 and 2).

    Adds the subgroup columns that reproduce the paper: ``cutoff_group`` (ULN vs
    other rule) and ``followup_group`` (median follow-up >= 12 vs < 12 months).
    """
    studies = _read("ferritin_car_t_studies.csv")
    studies["cutoff_group"] = np.where(studies["cutoff_rule"] == "ULN", "ULN", "other")
    studies["followup_group"] = np.where(
        studies["followup_months"] >= 12, ">=12 months", "<12 months"
    )
    return studies


def ferritin_car_t(outcome: str = "PFS") -> StudySet:
    """Cheng & Song 2025: high vs low pre-infusion ferritin, HR for PFS (k=7) or OS (k=8).

    SEs follow the paper's RevMan convention, (ln U - ln L) / 3.92.  The HRs are
    reconstructed, not extracted: see the ``hr_provenance`` column.
    """
    key = str(outcome).upper()
    if key not in OUTCOMES:
        raise InvalidArgumentError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    effects = _read("ferritin_car_t_effects.csv")
    effects = effects[effects["outcome"] == key].rename(columns={"provenance": "hr_provenance"})
    studies = ferritin_studies().rename(columns={"provenance": "study_provenance"})
    table = effects.merge(studies, on="study", how="left", validate="one_to_one")
    covariates = table.drop(columns=["study", "hr", "ci_lower", "ci_upper"])
    return StudySet.from_ratios(
        table["hr"], table["ci_lower"], table["ci_upper"], labels=table["study"],
        measure="HR", level=0.95, se_rule="revman", covariates=covariates,
    )


def ferritin_prisma() -> PrismaFlow:
    """PRISMA 2020 flow of Cheng & Song 2025, from the counts its Results text gives."""
    with resources.files(__package__).joinpath("ferritin_car_t_prisma.toml").open("rb") as fh:
        return PrismaFlow.from_mapping(tomllib.load(fh))


def bcg(measure: str = "RR") -> StudySet:
    """BCG vaccine trials (vaccinated vs not), k = 13, from their 2x2 counts.

    Events are tuberculosis cases: events_exp = tpos, total_exp = tpos + tneg,
    events_ctrl = cpos, total_ctrl = cpos + cneg.  ``measure`` "RR" (the default,
    as in Viechtbauer 2010), "OR" or "RD"; yi and vi are metafor's escalc() values,
    e.g. for RR yi = ln[(a/n1) / (c/n2)], vi = 1/a - 1/n1 + 1/c - 1/n2.
    """
    data = _read("bcg.csv")
    labels = data["author"] + " " + data["year"].astype(str)
    return StudySet.from_counts(
        data["tpos"], data["tpos"] + data["tneg"], data["cpos"], data["cpos"] + data["cneg"],
        labels=labels, measure=measure,
        covariates=data.drop(columns=["tpos", "tneg", "cpos", "cneg"]),
    )


def li2007(measure: str = "OR") -> StudySet:
    """Intravenous magnesium vs control after myocardial infarction: deaths, k = 22.

    2x2 counts (events = deaths); Urek 1996 and Santoro 2000 have a zero cell.
    ``measure`` "OR" (the default), "RR" or "RD".
    """
    data = _read("li2007.csv")
    labels = data["study"] + " " + data["year"].astype(str)
    return StudySet.from_counts(
        data["ai"], data["n1i"], data["ci"], data["n2i"], labels=labels, measure=measure,
        covariates=data[["id", "study", "year", "provenance"]],
    )


def normand1999(measure: str = "MD") -> StudySet:
    """Specialist vs routine stroke care: length of hospital stay in days, k = 9.

    From means, SDs and group sizes (specialist care = experimental arm); ``measure``
    "MD" (the default) or "SMD".  Labels are the data sources (Edinburgh, ...); the
    ``provenance`` column cites Normand 1999 and metadat.
    """
    data = _read("normand1999.csv")
    return StudySet.from_means(
        data["m1i"], data["sd1i"], data["n1i"], data["m2i"], data["sd2i"], data["n2i"],
        labels=data["source"], measure=measure,
        covariates=data[["study", "provenance"]],
    )


__all__ = [
    "OUTCOMES",
    "UNIVARIATE_STUDY",
    "bcg",
    "ferritin_car_t",
    "ferritin_prisma",
    "ferritin_studies",
    "li2007",
    "normand1999",
]
