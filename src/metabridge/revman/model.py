"""What a Cochrane review file holds: analyses, RevMan's settings and RevMan's numbers.

A :class:`Review` is one file; each :class:`Analysis` is one RevMan analysis (an
outcome of a comparison, numbered like "1.2") with the study data it pools, the
settings RevMan pooled it with, and the numbers RevMan stored for it.  RevMan's
numbers are kept as :class:`Stored` values together with the text they were read
from and their precision, so a check can say how close a recomputed number must be.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidStudyError, ReviewFileError
from ..studies import StudySet
from .statistics import revman5_smd
from .vocabulary import DATA_TYPES, METHODS

#: The study inputs of each data type: the columns of :attr:`Analysis.data` besides
#: ``label``, ``subgroup`` and ``year``.
INPUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "dichotomous": ("events_exp", "total_exp", "events_ctrl", "total_ctrl"),
    "continuous": ("mean_exp", "sd_exp", "n_exp", "mean_ctrl", "sd_ctrl", "n_ctrl"),
    "generic": ("yi", "sei"),
    "oe": ("o_minus_e", "variance"),
}
#: Numbers RevMan stores for a pooled estimate (the whole analysis or one subgroup).
POOLED_FIELDS: dict[str, str] = {
    "effect": "pooled effect (ratio scale for ratio measures)",
    "ci_low": "lower CI bound of the pooled effect",
    "ci_high": "upper CI bound of the pooled effect",
    "z": "|Z| of the test for the overall effect",
    "p": "P of the test for the overall effect",
    "chi2": "heterogeneity Chi^2 (Cochran's Q)",
    "df": "heterogeneity degrees of freedom",
    "chi2_p": "P of the heterogeneity Chi^2",
    "i2": "I^2 in percent",
    "tau2": "Tau^2 (random effects)",
}
#: Numbers RevMan stores for each study.
STUDY_FIELDS: dict[str, str] = {
    "effect": "study effect (ratio scale for ratio measures)",
    "se": "SE of the study effect (log scale for ratio measures)",
    "ci_low": "lower CI bound of the study effect",
    "ci_high": "upper CI bound of the study effect",
    "weight": "weight in percent",
}
#: Numbers RevMan stores for the test for subgroup differences.
TEST_FIELDS: dict[str, str] = {
    "chi2": "Chi^2 for subgroup differences",
    "df": "its degrees of freedom",
    "p": "its P",
    "i2": "its I^2 in percent",
}


@dataclass(frozen=True)
class Stored:
    """A number RevMan stored: its value, the text it was read from, its precision.

    ``decimals`` is the number of decimals the format rounds to (``None``: the file
    holds the full double, as a .rm5 file does).  ``cut`` says the text shows all the
    decimals the format writes, so the number it stands for may have had more.
    """

    value: float
    text: str
    decimals: int | None
    cut: bool = False

    @property
    def input_rounding(self) -> float:
        """How far an entered number may be from this text: half a unit in the last
        decimal if the text may have been cut, else 0.  A text with fewer decimals than
        the format writes is taken as the number entered (a review author's 1.71 or
        0.5706); an entered number longer than the format whose rounding happens to
        end in 0 would be taken as exact too, and its checks could miss by a hair."""
        return 0.5 * 10.0 ** -self.decimals if self.cut and self.decimals is not None else 0.0

    @classmethod
    def parse(
        cls, text: Any, decimals: int | None, fail: Callable[[str], Exception]
    ) -> Stored | None:
        """The stored number in ``text``; ``None`` if the text is empty (nothing stored).

        With a rounding format (``decimals`` given), the precision is the finer of the
        format's and the text's own (a trailing zero may have been dropped, "0.84051440"
        written "0.8405144").
        """
        raw = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
        raw = raw.strip().replace(",", "")  # thousands separators in CSV exports
        if not raw:
            return None
        try:
            number = Decimal(raw)
        except InvalidOperation:
            raise fail(f"{raw!r} is not a number") from None
        cut = False
        if decimals is not None and number.is_finite():
            shown = -int(number.as_tuple().exponent)
            cut = shown >= decimals
            decimals = max(decimals, shown)
        return cls(float(number), raw, decimals, cut)


StoredNumbers = Mapping[str, Stored]


@dataclass(frozen=True)
class Settings:
    """How RevMan pooled an analysis.

    ``measure`` is metabridge's name (``OR``, ``RR``, ``RD``, ``MD``, ``SMD``, ``HR``,
    ``GEN``), ``measure_name`` RevMan's words.  ``log_scale``: effects are pooled on
    the log scale and shown as ratios.  ``assumed`` lists settings the file does not
    state and what metabridge took instead.
    """

    data_type: str
    method: str
    measure: str
    measure_name: str
    random_effects: bool
    study_level: float
    total_level: float
    log_scale: bool
    swap_events: bool = False
    totals: bool = True
    subgroup_test: bool = True
    assumed: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.data_type not in DATA_TYPES or self.method not in METHODS:
            raise ValueError(f"bad settings {self.data_type!r}/{self.method!r}")

    @property
    def model(self) -> str:
        return "random effects" if self.random_effects else "fixed effect"

    def describe(self) -> str:
        """RevMan's column heading, e.g. 'Odds Ratio, M-H, Fixed, 95% CI'."""
        return (f"{self.measure_name} ({self.measure}), {METHODS[self.method]}, {self.model}, "
                f"{self.total_level * 100:g}% CI")


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Analysis:
    """One RevMan analysis: study data, settings and RevMan's stored numbers.

    ``data`` has one row per study (``label``, ``subgroup``, ``year`` and the inputs
    of :data:`INPUT_COLUMNS`); ``overall``, ``subgroups`` (by name) and
    ``subgroup_test`` hold the pooled numbers RevMan stored, ``study_results`` the
    per-study ones (by label) -- each a mapping of :data:`POOLED_FIELDS`,
    :data:`TEST_FIELDS` or :data:`STUDY_FIELDS` to :class:`Stored`, empty where
    RevMan stored nothing.  ``not_estimable`` names studies RevMan left out.
    ``rounding`` holds, per study and input column, how far the entered value may be
    from the one read (the format rounded it; 0 where the file holds it exactly).
    ``favours`` are the labels of RevMan's forest plot axis (left, right);
    ``input_fields`` names the file's field of each input column (``EVENTS_1``, ...).
    """

    id: str
    name: str
    comparison: str
    settings: Settings
    data: pd.DataFrame
    overall: StoredNumbers = field(default_factory=dict)
    subgroups: Mapping[str, StoredNumbers] = field(default_factory=dict)
    subgroup_test: StoredNumbers = field(default_factory=dict)
    study_results: Mapping[str, StoredNumbers] = field(default_factory=dict)
    not_estimable: tuple[str, ...] = ()
    path: str = ""
    rounding: pd.DataFrame | None = None
    favours: tuple[str, str] = ("Favours experimental", "Favours control")
    input_fields: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "overall", _frozen(self.overall))
        object.__setattr__(self, "subgroup_test", _frozen(self.subgroup_test))
        object.__setattr__(self, "subgroups",
                           _frozen({g: _frozen(v) for g, v in self.subgroups.items()}))
        object.__setattr__(self, "study_results",
                           _frozen({s: _frozen(v) for s, v in self.study_results.items()}))

    @property
    def title(self) -> str:
        return f"{self.id} {self.name}"

    @property
    def k(self) -> int:
        return len(self.data)

    @property
    def has_subgroups(self) -> bool:
        return bool(self.data["subgroup"].notna().any())

    @property
    def has_results(self) -> bool:
        """True if RevMan stored a pooled result (overall or for a subgroup)."""
        return bool(self.overall) or any(bool(v) for v in self.subgroups.values())

    @property
    def rounded_inputs(self) -> list[tuple[int, str, float]]:
        """(row, input column, half-unit) of every input the file may have rounded."""
        if self.rounding is None:
            return []
        return [(i, column, float(value)) for column in self.rounding.columns
                for i, value in enumerate(self.rounding[column]) if value > 0
                and self.data["label"].iloc[i] not in self.not_estimable]

    def studies(self) -> StudySet:
        """The studies RevMan pooled, as a :class:`StudySet` (covariates subgroup, year).

        Studies RevMan marked not estimable are left out (see ``not_estimable``).
        """
        rows = self.data[~self.data["label"].isin(self.not_estimable)].reset_index(drop=True)
        where = f"{self.id} {self.name!r}"
        if rows.empty:
            raise ReviewFileError(self.path, "no estimable study to pool", analysis=where)
        try:
            return _BUILDERS[self.settings.data_type](rows, self.settings)
        except InvalidStudyError as exc:  # say where in the file the bad number is
            study = f"study {exc.study!r}: " if exc.study is not None else ""
            raise ReviewFileError(self.path, study + exc.problem, analysis=where,
                                  field=self.input_fields.get(exc.field, exc.field)) from exc

    def __repr__(self) -> str:
        stored = "stored results" if self.has_results else "no stored result"
        return (f"Analysis({self.id} {self.name!r}, k={self.k}, {self.settings.describe()}, "
                f"{stored})")


def _covariates(rows: pd.DataFrame) -> dict[str, Any]:
    return {"subgroup": rows["subgroup"].tolist(), "year": rows["year"].tolist()}


def _generic(rows: pd.DataFrame, settings: Settings) -> StudySet:
    return StudySet.from_effects(rows["yi"], sei=rows["sei"], labels=rows["label"],
                                 measure=settings.measure, covariates=_covariates(rows),
                                 na="raise")


def _oe(rows: pd.DataFrame, settings: Settings) -> StudySet:
    """Peto's one-step estimate per study: y = (O - E) / V, var = 1 / V."""
    variance = rows["variance"].to_numpy(dtype=float)
    return StudySet.from_effects(
        rows["o_minus_e"].to_numpy(dtype=float) / variance, vi=1.0 / variance,
        labels=rows["label"], measure=settings.measure, na="raise",
        covariates={**_covariates(rows), "o_minus_e": rows["o_minus_e"].tolist(),
                    "variance": rows["variance"].tolist()},
    )


def _dichotomous(rows: pd.DataFrame, settings: Settings) -> StudySet:
    """The 2x2 tables; with RevMan's "swap event and non-event" the non-events are pooled."""
    events_exp, events_ctrl = rows["events_exp"], rows["events_ctrl"]
    if settings.swap_events:
        events_exp = rows["total_exp"] - events_exp
        events_ctrl = rows["total_ctrl"] - events_ctrl
    return StudySet.from_counts(events_exp, rows["total_exp"], events_ctrl, rows["total_ctrl"],
                                labels=rows["label"], measure=settings.measure,
                                covariates=_covariates(rows), na="raise")


def _continuous(rows: pd.DataFrame, settings: Settings) -> StudySet:
    """Means and SDs.  A mean difference from the raw columns (each engine computes it);
    RevMan's standardised mean difference as RevMan defines it (convention revman5.smd)."""
    columns = [rows[c].to_numpy(dtype=float) for c in INPUT_COLUMNS["continuous"]]
    if settings.measure != "SMD":
        return StudySet.from_means(*columns, labels=rows["label"], measure=settings.measure,
                                   covariates=_covariates(rows), na="raise")
    mean_exp, sd_exp, n_exp, mean_ctrl, sd_ctrl, n_ctrl = columns
    smd, variance = revman5_smd(mean_exp, sd_exp, n_exp, mean_ctrl, sd_ctrl, n_ctrl)
    return StudySet.from_effects(smd, vi=variance, labels=rows["label"], measure="SMD",
                                 covariates=_covariates(rows), na="raise")


_BUILDERS: dict[str, Callable[[pd.DataFrame, Settings], StudySet]] = {
    "generic": _generic,
    "oe": _oe,
    "dichotomous": _dichotomous,
    "continuous": _continuous,
}


@dataclass(frozen=True)
class Review:
    """The analyses of one Cochrane review file, in the review's order."""

    path: str
    format: str
    title: str
    analyses: tuple[Analysis, ...]

    def __iter__(self) -> Iterator[Analysis]:
        return iter(self.analyses)

    def __len__(self) -> int:
        return len(self.analyses)

    def __getitem__(self, key: str | int) -> Analysis:
        if isinstance(key, int):
            return self.analyses[key]
        for analysis in self.analyses:
            if analysis.id == str(key):
                return analysis
        raise KeyError(f"no analysis {key!r}; analyses: {[a.id for a in self.analyses]}")

    def to_frame(self) -> pd.DataFrame:
        """One row per analysis: id, name, settings, k, whether RevMan stored results."""
        return pd.DataFrame([{
            "id": a.id, "comparison": a.comparison, "analysis": a.name,
            "data_type": a.settings.data_type, "method": a.settings.method,
            "measure": a.settings.measure, "model": a.settings.model,
            "level": a.settings.total_level, "k": a.k, "subgroups": len(a.subgroups),
            "stored_results": a.has_results,
        } for a in self.analyses])

    def __repr__(self) -> str:
        return f"Review({self.title!r}, {self.format}, {len(self)} analyses)"
