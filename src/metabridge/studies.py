"""The study model: one immutable set of studies, vectorised inside.

A :class:`StudySet` holds, per study, the effect ``yi`` on the analysis scale
(log scale for ratio measures), its sampling variance ``vi``, a label, and any
reported inputs and covariates as a pandas DataFrame.  Every constructor checks
its input at the boundary and names the study and the field that is wrong.
"""

from __future__ import annotations

from collections.abc import Container, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from .conversions import SeRule, ci_divisor, log_se_from_ci, log_se_from_p
from .errors import DataFileError, InvalidArgumentError, InvalidStudyError

#: Measures metabridge knows; ratio measures are analysed on the log scale.
MEASURES: dict[str, str] = {
    "HR": "hazard ratio",
    "OR": "odds ratio",
    "RR": "risk ratio",
    "IRR": "incidence rate ratio",
    "MD": "mean difference",
    "SMD": "standardised mean difference",
    "RD": "risk difference",
    "GEN": "generic effect",
}
RATIO_MEASURES = frozenset({"HR", "OR", "RR", "IRR"})
#: Columns a StudySet derives itself; no covariate may take these names.
RESERVED_COLUMNS = frozenset({"label", "yi", "vi", "sei"})
#: Reported inputs kept beside the covariates; ``with_columns`` will not replace them.
REPORTED_COLUMNS = frozenset({"ratio", "lower", "upper", "p"})
#: The column roles from_frame accepts together: generic, ratio with CI, ratio with P.
EFFECT_COLUMNS = (
    {"yi", "sei"}, {"yi", "vi"}, {"ratio", "lower", "upper"}, {"ratio", "p"},
)


def _check_measure(measure: str, *, ratio: bool | None = None) -> str:
    name = str(measure).upper()
    if name not in MEASURES:
        raise InvalidArgumentError(
            f"unknown measure {measure!r}; known: {', '.join(MEASURES)}"
        )
    if ratio is True and name not in RATIO_MEASURES:
        raise InvalidArgumentError(
            f"measure {measure!r} is not a ratio; use one of {', '.join(sorted(RATIO_MEASURES))}"
        )
    return name


_MISSING = "value is missing; a number is needed"


def _is_missing(value: Any) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _first_duplicate(values: Iterable[str]) -> str | None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


def _labels(labels: Iterable[Any] | None, values: Any) -> tuple[str, ...]:
    """Study labels, one per entry of ``values``: as given, or 'Study 1', 'Study 2', ..."""
    shape = np.atleast_1d(np.asarray(values, dtype=object)).shape
    if labels is None:
        return tuple(f"Study {i + 1}" for i in range(shape[0]))
    raw = [labels] if isinstance(labels, str) else list(labels)
    for i, label in enumerate(raw):
        if _is_missing(label) or not str(label).strip():
            raise InvalidStudyError(None, "labels", f"study {i + 1} of {len(raw)} has no label")
    out = tuple(str(label) for label in raw)
    if len(shape) == 1 and len(out) != shape[0]:  # other shapes: _vector names the field
        raise InvalidStudyError(None, "labels", f"{len(out)} labels for {shape[0]} studies")
    duplicate = _first_duplicate(out)
    if duplicate is not None:
        raise InvalidStudyError(duplicate, "labels", "duplicate label; labels must be unique")
    return out


def _number(value: Any, label: str, field: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        problem = _MISSING if _is_missing(value) else f"{value!r} is not a number"
        raise InvalidStudyError(label, field, problem) from None


def _vector(values: Any, field: str, labels: tuple[str, ...]) -> np.ndarray:
    """Float vector of length k with every entry finite, or an error naming the study."""
    raw = np.atleast_1d(np.asarray(values, dtype=object))
    if raw.ndim != 1 or raw.shape[0] != len(labels):
        raise InvalidStudyError(
            None, field,
            f"expected one value per study ({len(labels)}), got an array of shape {raw.shape}",
        )
    try:
        arr = raw.astype(float)
    except (TypeError, ValueError):  # find the entry that is not a number, and name its study
        arr = np.array([_number(v, label, field) for v, label in zip(raw, labels, strict=True)])
    _require(np.isnan(arr), labels, field, lambda i: _MISSING)
    _require(
        np.isinf(arr), labels, field,
        lambda i: f"value is {float(arr[i])}; a finite number is needed",
    )
    return arr


def _require(bad: np.ndarray, labels: tuple[str, ...], field: str, problem: Any) -> None:
    """Raise for the first study flagged in ``bad``; ``problem(i)`` words the message."""
    for i in np.flatnonzero(bad):
        raise InvalidStudyError(labels[i], field, problem(i))


def _column(name: str, values: Any, k: int) -> list[Any]:
    """One value per study for a covariate; a single value is repeated for every study."""
    if not pd.api.types.is_list_like(values):
        return [values] * k
    out = list(values)
    if len(out) != k:
        raise InvalidStudyError(None, name, f"{len(out)} values for {k} studies")
    return out


def _check_names(names: Iterable[str], taken: Container[str], problem: str) -> None:
    for name in names:
        if name in taken:
            raise InvalidStudyError(None, name, problem)


def _covariate_frame(columns: Mapping[str, Any], labels: tuple[str, ...]) -> pd.DataFrame:
    """Covariates (and reported inputs) as a frame indexed by label, one row per study."""
    _check_names(
        columns, RESERVED_COLUMNS,
        f"reserved column name (metabridge derives {', '.join(sorted(RESERVED_COLUMNS))}); "
        "rename it",
    )
    data = {name: _column(name, values, len(labels)) for name, values in columns.items()}
    return pd.DataFrame(data, index=pd.Index(labels, name="label"))


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
        _require(
            ~(np.isfinite(vi) & (vi > 0)), labels, "vi",
            lambda i: f"the variance derived from the input is {float(vi[i])}; it must be finite "
            "and > 0",
        )
        return cls(_readonly(yi), _readonly(vi), labels, measure, data)

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
        measure = _check_measure(measure)
        if (sei is None) == (vi is None):
            raise InvalidStudyError(None, "sei/vi", "give exactly one of sei (SE) or vi (variance)")
        names = _labels(labels, yi)
        y = _vector(yi, "yi", names)
        if sei is not None:
            se = _vector(sei, "sei", names)
            _require(se <= 0, names, "sei", lambda i: f"SE must be > 0, got {float(se[i])}")
            with np.errstate(over="ignore"):  # an overflow is caught by _build
                var = se**2
        else:
            var = _vector(vi, "vi", names)
            _require(var <= 0, names, "vi", lambda i: f"variance must be > 0, got {float(var[i])}")
        data = _covariate_frame(_merge(covariates, more_covariates), names)
        return cls._build(y, var, names, measure, data)

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
        measure = _check_measure(measure, ratio=True)
        ci_divisor(level, se_rule)  # level and se_rule are checked before the data
        names = _labels(labels, ratio)
        est = _vector(ratio, "ratio", names)
        lo = _vector(lower, "lower", names)
        hi = _vector(upper, "upper", names)
        for field, arr in (("ratio", est), ("lower", lo), ("upper", hi)):
            _require(
                arr <= 0, names, field, lambda i, a=arr: f"a ratio must be > 0, got {float(a[i])}"
            )

        def ci(i: int) -> str:
            return f"({float(lo[i])} to {float(hi[i])})"

        _require(
            lo > hi, names, "lower",
            lambda i: f"lower CI bound {float(lo[i])} is above the upper bound {float(hi[i])}",
        )
        _require(
            lo == hi, names, "upper",
            lambda i: f"the CI has zero width {ci(i)}; no SE can be derived",
        )
        _require(
            (est < lo) | (est > hi), names, "ratio",
            lambda i: f"estimate {float(est[i])} lies outside its CI {ci(i)}",
        )
        se = log_se_from_ci(lo, hi, level, se_rule)
        reported = {"ratio": est, "lower": lo, "upper": hi}
        data = _covariate_frame(_merge(reported, covariates, more_covariates), names)
        return cls._build(np.log(est), se**2, names, measure, data)

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
        measure = _check_measure(measure, ratio=True)
        names = _labels(labels, ratio)
        est = _vector(ratio, "ratio", names)
        pv = _vector(p, "p", names)
        _require(est <= 0, names, "ratio", lambda i: f"a ratio must be > 0, got {float(est[i])}")
        _require(
            (pv <= 0) | (pv >= 1), names, "p",
            lambda i: f"P must be strictly between 0 and 1 to give an SE, got {float(pv[i])}",
        )
        _require(
            est == 1, names, "ratio",
            lambda i: "a ratio of exactly 1 gives SE = 0 from its P value; report a CI instead",
        )
        se = log_se_from_p(est, pv)
        reported = {"ratio": est, "p": pv}
        data = _covariate_frame(_merge(reported, covariates, more_covariates), names)
        return cls._build(np.log(est), se**2, names, measure, data)

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
        if set(named) - {"labels"} not in EFFECT_COLUMNS:
            given = ", ".join(f"{role}={column!r}" for role, column in roles.items()
                              if column is not None and role != "labels") or "none"
            raise InvalidArgumentError(
                "name the effect columns: yi= with sei= or vi=, ratio= with lower= and upper=, "
                f"or ratio= with p= (got {given})"
            )
        columns = {role: frame[column] for role, column in named.items()}
        rest = frame.drop(columns=list(dict.fromkeys(named.values()))).reset_index(drop=True)
        if "yi" in columns:
            return cls.from_effects(
                columns["yi"], sei=columns.get("sei"), vi=columns.get("vi"),
                labels=columns.get("labels"), measure=measure or "GEN", covariates=rest,
            )
        if "p" in columns:
            return cls.from_ratio_p(
                columns["ratio"], columns["p"], labels=columns.get("labels"),
                measure=measure or "HR", covariates=rest,
            )
        return cls.from_ratios(
            columns["ratio"], columns["lower"], columns["upper"], labels=columns.get("labels"),
            measure=measure or "HR", level=level, se_rule=se_rule, covariates=rest,
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
        duplicate = _first_duplicate(wanted)
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
        _check_names(
            columns, REPORTED_COLUMNS & set(self._data.columns),
            "a reported input the effect was computed from; build a new StudySet to change it",
        )
        new = _covariate_frame(columns, self.labels)
        data = self._data.assign(**{name: new[name] for name in new.columns})
        return StudySet._build(self.yi, self.vi, self.labels, self.measure, data)


def _check_known(wanted: Iterable[str], labels: tuple[str, ...]) -> None:
    unknown = [label for label in wanted if label not in labels]
    if unknown:
        raise InvalidArgumentError(f"no study labelled {unknown}; labels are {list(labels)}")


def _merge(*parts: Mapping[str, Any] | pd.DataFrame | None) -> dict[str, Any]:
    """Reported inputs and covariates as one {column: values}; a name may appear once."""
    merged: dict[str, Any] = {}
    for part in parts:
        for name, values in (part if part is not None else {}).items():
            _check_names([str(name)], merged, "column given twice (as a reported input "
                         "or a covariate); rename one")
            merged[str(name)] = values
    return merged
