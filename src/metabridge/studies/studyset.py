"""The study model: one immutable set of studies, vectorised inside.

A :class:`StudySet` holds, per study, the effect ``yi`` on the analysis scale
(log scale for ratio measures), its sampling variance ``vi``, a label, and any
reported inputs and covariates as a pandas DataFrame.  Every constructor checks
its input at the boundary and names the study and the field that is wrong; each
kind of input (generic, ratios, ...) is read by its own module of this package.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from ..conversions import SeRule
from ..errors import DataFileError, InvalidArgumentError, InvalidStudyError
from . import generic, ratios
from .checks import first_duplicate, require, study_labels
from .columns import REPORTED_COLUMNS, check_names, covariate_frame, merge
from .measures import RATIO_MEASURES, check_measure

#: The column roles from_frame accepts together -> (constructor, default measure).
FRAME_KINDS: dict[frozenset[str], tuple[str, str]] = {
    frozenset({"yi", "sei"}): ("from_effects", "GEN"),
    frozenset({"yi", "vi"}): ("from_effects", "GEN"),
    frozenset({"ratio", "lower", "upper"}): ("from_ratios", "HR"),
    frozenset({"ratio", "p"}): ("from_ratio_p", "HR"),
}


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr, dtype=float)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False, repr=False)
class StudySet:
    """An immutable set of k studies: effects ``yi``, variances ``vi``, labels, data.

    Build one with :meth:`from_ratios`, :meth:`from_ratio_p`, :meth:`from_effects`,
    :meth:`from_frame` or :meth:`read_csv`; never by hand.
    """

    yi: np.ndarray
    vi: np.ndarray
    labels: tuple[str, ...]
    measure: str
    _data: pd.DataFrame

    # ------------------------------------------------------------ constructors
    @classmethod
    def _build(
        cls,
        yi: np.ndarray,
        vi: np.ndarray,
        labels: tuple[str, ...],
        measure: str,
        data: pd.DataFrame,
    ) -> StudySet:
        if len(labels) == 0:
            raise InvalidStudyError(None, "studies", "no studies; a StudySet needs at least one")
        # Last guard: a variance that over- or underflowed (e.g. a CI too narrow for the
        # log scale) would give a study infinite or zero weight without a word.
        require(
            ~(np.isfinite(vi) & (vi > 0)), labels, "vi",
            lambda i: f"the variance derived from the input is {float(vi[i])}; it must be finite "
            "and > 0",
        )
        return cls(_readonly(yi), _readonly(vi), labels, measure, data)

    @classmethod
    def _from_parts(
        cls,
        effects: tuple[np.ndarray, np.ndarray, Mapping[str, Any]],
        labels: tuple[str, ...],
        measure: str,
        *covariates: Mapping[str, Any] | pd.DataFrame | None,
    ) -> StudySet:
        """A StudySet from (yi, vi, reported inputs) of one input kind, plus covariates."""
        yi, vi, reported = effects
        data = covariate_frame(merge(reported, *covariates), labels)
        return cls._build(yi, vi, labels, measure, data)

    @classmethod
    def from_effects(
        cls,
        yi: Any,
        sei: Any = None,
        vi: Any = None,
        labels: Iterable[Any] | None = None,
        measure: str = "GEN",
        covariates: Mapping[str, Any] | pd.DataFrame | None = None,
        **more_covariates: Any,
    ) -> StudySet:
        """Generic inverse-variance data: effects ``yi`` with either ``sei`` or ``vi``.

        For a ratio measure, ``yi`` must already be on the log scale.
        """
        measure = check_measure(measure)
        names = study_labels(labels, yi)
        y, var = generic.effects_and_variances(yi, sei, vi, names)
        return cls._from_parts((y, var, {}), names, measure, covariates, more_covariates)

    @classmethod
    def from_ratios(
        cls,
        ratio: Any,
        lower: Any,
        upper: Any,
        labels: Iterable[Any] | None = None,
        measure: str = "HR",
        level: float = 0.95,
        se_rule: SeRule = "exact",
        covariates: Mapping[str, Any] | pd.DataFrame | None = None,
        **more_covariates: Any,
    ) -> StudySet:
        """Ratios with CIs: ``yi = ln(ratio)``, ``sei = (ln U - ln L) / divisor``.

        ``se_rule="exact"`` divides by 2 z_{1-alpha/2} (3.919928 at 95%);
        ``se_rule="revman"`` by RevMan's rounded constant (3.92 at 95%).
        """
        measure = check_measure(measure, ratio=True)
        names = study_labels(labels, ratio)
        effects = ratios.from_ci(ratio, lower, upper, names, level, se_rule)
        return cls._from_parts(effects, names, measure, covariates, more_covariates)

    @classmethod
    def from_ratio_p(
        cls,
        ratio: Any,
        p: Any,
        labels: Iterable[Any] | None = None,
        measure: str = "HR",
        covariates: Mapping[str, Any] | pd.DataFrame | None = None,
        **more_covariates: Any,
    ) -> StudySet:
        """Ratios with two-sided P values: ``sei = |ln ratio| / z_{1-p/2}``.

        Cochrane Handbook v6.4, section 6.3.2.  P must be an exact value in (0, 1);
        a ratio of exactly 1 carries no information about its SE.
        """
        measure = check_measure(measure, ratio=True)
        names = study_labels(labels, ratio)
        effects = ratios.from_p(ratio, p, names)
        return cls._from_parts(effects, names, measure, covariates, more_covariates)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        label: str | None = None,
        yi: str | None = None,
        sei: str | None = None,
        vi: str | None = None,
        ratio: str | None = None,
        lower: str | None = None,
        upper: str | None = None,
        p: str | None = None,
        measure: str | None = None,
        level: float = 0.95,
        se_rule: SeRule = "exact",
    ) -> StudySet:
        """Build from a DataFrame by naming its columns; other columns become covariates.

        Give ``yi`` with ``sei`` or ``vi`` (generic), ``ratio`` with ``lower`` and
        ``upper`` (CI), or ``ratio`` with ``p``.  Errors in the data name the role
        the column was given for (``ratio``, ``lower``, ..., ``labels``).
        """
        if not isinstance(frame, pd.DataFrame):
            raise InvalidArgumentError(
                f"frame must be a pandas DataFrame, got {type(frame).__name__}"
            )
        roles = {"labels": label, "yi": yi, "sei": sei, "vi": vi, "ratio": ratio,
                 "lower": lower, "upper": upper, "p": p}
        named = {role: column for role, column in roles.items() if column is not None}
        missing = [column for column in named.values() if column not in frame.columns]
        if missing:
            raise InvalidArgumentError(
                f"columns not in the frame: {missing}; it has {list(frame.columns)}"
            )
        kind = FRAME_KINDS.get(frozenset(named) - {"labels"})
        if kind is None:
            given = ", ".join(f"{role}={column!r}" for role, column in roles.items()
                              if column is not None and role != "labels") or "none"
            raise InvalidArgumentError(
                "name the effect columns: yi= with sei= or vi=, ratio= with lower= and upper=, "
                f"or ratio= with p= (got {given})"
            )
        constructor, default_measure = kind
        columns = {role: frame[column] for role, column in named.items()}
        rest = frame.drop(columns=list(dict.fromkeys(named.values()))).reset_index(drop=True)
        options: dict[str, Any] = {"level": level, "se_rule": se_rule} if constructor == (
            "from_ratios") else {}
        return getattr(cls, constructor)(
            **columns, measure=measure or default_measure, covariates=rest, **options
        )

    @classmethod
    def read_csv(cls, path: str | PathLike[str], **columns: Any) -> StudySet:
        """Read a CSV file and pass it to :meth:`from_frame` with the same keywords."""
        try:
            frame = pd.read_csv(path)
        except (OSError, ValueError) as exc:  # missing, unreadable, empty or not CSV
            raise DataFileError(f"cannot read {str(path)!r} as a CSV table: {exc}") from exc
        return cls.from_frame(frame, **columns)

    # ---------------------------------------------------------------- views
    @property
    def k(self) -> int:
        """Number of studies."""
        return len(self.labels)

    @property
    def sei(self) -> np.ndarray:
        """Standard errors, sqrt(vi)."""
        return np.sqrt(self.vi)

    @property
    def is_ratio(self) -> bool:
        """True for ratio measures (analysed on the log scale)."""
        return self.measure in RATIO_MEASURES

    @property
    def covariates(self) -> pd.DataFrame:
        """A copy of the per-study columns (reported inputs and covariates)."""
        return self._data.copy()

    def to_frame(self) -> pd.DataFrame:
        """One row per study: label, yi, sei, vi, then the reported inputs and covariates."""
        core = pd.DataFrame(
            {"label": self.labels, "yi": self.yi, "sei": self.sei, "vi": self.vi}
        )
        return pd.concat([core, self._data.reset_index(drop=True)], axis=1)

    def __len__(self) -> int:
        return self.k

    def __iter__(self) -> Iterator[str]:
        return iter(self.labels)

    def __repr__(self) -> str:
        shown = ", ".join(self.labels[:4]) + (", ..." if self.k > 4 else "")
        return f"StudySet(k={self.k}, measure={self.measure!r}, labels=[{shown}])"

    def _repr_html_(self) -> str:
        return self.to_frame()._repr_html_()

    # ----------------------------------------------------------- selections
    def _take(self, index: np.ndarray) -> StudySet:
        labels = tuple(self.labels[i] for i in index)
        data = self._data.iloc[index].copy()
        return StudySet._build(self.yi[index], self.vi[index], labels, self.measure, data)

    def subset(self, selection: Any) -> StudySet:
        """Studies picked by a boolean mask (length k) or by an iterable of labels."""
        if isinstance(selection, str):
            selection = [selection]
        if not pd.api.types.is_list_like(selection):
            raise InvalidArgumentError(
                f"select studies by labels or a boolean mask of {self.k} entries, "
                f"got {selection!r}"
            )
        arr = np.asarray(selection if isinstance(selection, np.ndarray) else list(selection))
        if arr.dtype == bool:
            if arr.shape != (self.k,):
                raise InvalidArgumentError(
                    f"a boolean mask needs {self.k} entries, got shape {arr.shape}"
                )
            return self._take(np.flatnonzero(arr))
        wanted = [str(v) for v in arr.ravel()]
        _check_known(wanted, self.labels)
        duplicate = first_duplicate(wanted)
        if duplicate is not None:
            raise InvalidStudyError(duplicate, "selection", "selected more than once")
        position = {label: i for i, label in enumerate(self.labels)}
        return self._take(np.array([position[label] for label in wanted], dtype=int))

    def drop(self, *labels: str) -> StudySet:
        """The set without the named studies."""
        _check_known(labels, self.labels)
        return self.subset(np.array([label not in labels for label in self.labels]))

    def groupby(self, column: str) -> dict[Hashable, StudySet]:
        """Split by a covariate column: {value: StudySet}, in order of first appearance."""
        if column not in self._data.columns:
            raise InvalidArgumentError(
                f"no column {column!r}; columns are {list(self._data.columns)}"
            )
        values = self._data[column]
        if values.isna().any():
            label = self.labels[int(np.flatnonzero(values.isna().to_numpy())[0])]
            raise InvalidStudyError(label, column, "missing value; every study needs a group")
        return {
            value: self.subset((values == value).to_numpy())
            for value in pd.unique(values.to_numpy())
        }

    def with_columns(self, **columns: Any) -> StudySet:
        """A copy with covariate columns added or replaced (one value, or one per study).

        The reported inputs the effects were computed from (ratio, lower, upper, p)
        cannot be replaced: build a new StudySet instead.
        """
        check_names(
            columns, REPORTED_COLUMNS & set(self._data.columns),
            "a reported input the effect was computed from; build a new StudySet to change it",
        )
        new = covariate_frame(columns, self.labels)
        data = self._data.assign(**{name: new[name] for name in new.columns})
        return StudySet._build(self.yi, self.vi, self.labels, self.measure, data)


def _check_known(wanted: Iterable[str], labels: tuple[str, ...]) -> None:
    unknown = [label for label in wanted if label not in labels]
    if unknown:
        raise InvalidArgumentError(f"no study labelled {unknown}; labels are {list(labels)}")
