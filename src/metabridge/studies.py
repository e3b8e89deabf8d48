"""The study model: one immutable set of studies, vectorised inside.

A :class:`StudySet` holds, per study, the effect ``yi`` on the analysis scale
(log scale for ratio measures), its sampling variance ``vi``, a label, and any
reported inputs and covariates as a pandas DataFrame.  Every constructor checks
its input at the boundary and names the study and the field that is wrong.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from .conversions import SeRule, check_level, log_se_from_ci, log_se_from_p
from .errors import InvalidArgumentError, InvalidStudyError

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


def _labels(labels: Iterable[Any] | None, k: int) -> tuple[str, ...]:
    if labels is None:
        return tuple(f"Study {i + 1}" for i in range(k))
    out = tuple(str(label) for label in labels)
    if len(out) != k:
        raise InvalidStudyError(None, "labels", f"{len(out)} labels for {k} studies")
    seen: set[str] = set()
    for label in out:
        if label in seen:
            raise InvalidStudyError(label, "labels", "duplicate label; labels must be unique")
        seen.add(label)
    return out


def _vector(values: Any, field: str, labels: tuple[str, ...]) -> np.ndarray:
    """Float vector of length k with every entry finite, or an error naming the study."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InvalidStudyError(None, field, f"values must be numbers, got {values!r}") from None
    arr = np.atleast_1d(arr)
    if arr.ndim != 1 or arr.shape[0] != len(labels):
        raise InvalidStudyError(
            None, field, f"expected {len(labels)} values (one per study), got shape {arr.shape}"
        )
    for i in np.flatnonzero(~np.isfinite(arr)):
        raise InvalidStudyError(labels[i], field, f"value is {arr[i]!r}; a finite number is needed")
    return arr


def _require(bad: np.ndarray, labels: tuple[str, ...], field: str, problem: Any) -> None:
    """Raise for the first study flagged in ``bad``; ``problem(i)`` words the message."""
    for i in np.flatnonzero(bad):
        raise InvalidStudyError(labels[i], field, problem(i))


def _covariate_frame(
    covariates: Mapping[str, Any] | pd.DataFrame | None, labels: tuple[str, ...]
) -> pd.DataFrame:
    if covariates is None:
        return pd.DataFrame(index=pd.Index(labels, name="label"))
    if not isinstance(covariates, pd.DataFrame):
        for name, values in covariates.items():
            n = 1 if np.isscalar(values) else len(values)
            if n != len(labels):
                raise InvalidStudyError(None, str(name), f"{n} values for {len(labels)} studies")
    frame = pd.DataFrame(covariates).reset_index(drop=True)
    if len(frame) != len(labels):
        raise InvalidStudyError(
            None, "covariates", f"{len(frame)} rows of covariates for {len(labels)} studies"
        )
    reserved = {"label", "yi", "vi", "sei"} & set(frame.columns)
    if reserved:
        raise InvalidStudyError(None, "covariates", f"reserved column names {sorted(reserved)}")
    frame.index = pd.Index(labels, name="label")
    return frame


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
            raise InvalidStudyError(None, "studies", "the study set is empty")
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
        k = np.atleast_1d(np.asarray(yi, dtype=object)).shape[0]
        names = _labels(labels, k)
        y = _vector(yi, "yi", names)
        if (sei is None) == (vi is None):
            raise InvalidStudyError(None, "sei/vi", "give exactly one of sei (SE) or vi (variance)")
        if sei is not None:
            se = _vector(sei, "sei", names)
            _require(se <= 0, names, "sei", lambda i: f"SE must be > 0, got {se[i]!r}")
            var = se**2
        else:
            var = _vector(vi, "vi", names)
            _require(var <= 0, names, "vi", lambda i: f"variance must be > 0, got {var[i]!r}")
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
        level = check_level(level)
        k = np.atleast_1d(np.asarray(ratio, dtype=object)).shape[0]
        names = _labels(labels, k)
        est = _vector(ratio, "ratio", names)
        lo = _vector(lower, "lower", names)
        hi = _vector(upper, "upper", names)
        for field, arr in (("ratio", est), ("lower", lo), ("upper", hi)):
            _require(arr <= 0, names, field, lambda i, a=arr: f"a ratio must be > 0, got {a[i]!r}")
        _require(
            lo > hi, names, "lower",
            lambda i: f"lower CI bound {lo[i]!r} is above the upper bound {hi[i]!r}",
        )
        _require(
            lo == hi, names, "upper",
            lambda i: f"the CI has zero width ({lo[i]!r} to {hi[i]!r}); no SE can be derived",
        )
        _require(
            (est < lo) | (est > hi), names, "ratio",
            lambda i: f"estimate {est[i]!r} lies outside its CI ({lo[i]!r} to {hi[i]!r})",
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
        k = np.atleast_1d(np.asarray(ratio, dtype=object)).shape[0]
        names = _labels(labels, k)
        est = _vector(ratio, "ratio", names)
        pv = _vector(p, "p", names)
        _require(est <= 0, names, "ratio", lambda i: f"a ratio must be > 0, got {est[i]!r}")
        _require(
            (pv <= 0) | (pv >= 1), names, "p",
            lambda i: f"P must be strictly between 0 and 1 to give an SE, got {pv[i]!r}",
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
        ``upper`` (CI), or ``ratio`` with ``p``.
        """
        used = {c for c in (label, yi, sei, vi, ratio, lower, upper, p) if c is not None}
        missing = sorted(c for c in used if c not in frame.columns)
        if missing:
            raise InvalidArgumentError(
                f"columns not in the frame: {missing}; it has {list(frame.columns)}"
            )
        labels = frame[label] if label is not None else None
        rest = frame.drop(columns=sorted(used)).reset_index(drop=True)
        if yi is not None:
            return cls.from_effects(
                frame[yi], sei=None if sei is None else frame[sei],
                vi=None if vi is None else frame[vi], labels=labels,
                measure=measure or "GEN", covariates=rest,
            )
        if ratio is not None and lower is not None and upper is not None:
            return cls.from_ratios(
                frame[ratio], frame[lower], frame[upper], labels=labels,
                measure=measure or "HR", level=level, se_rule=se_rule, covariates=rest,
            )
        if ratio is not None and p is not None:
            return cls.from_ratio_p(
                frame[ratio], frame[p], labels=labels, measure=measure or "HR", covariates=rest
            )
        raise InvalidArgumentError(
            "name the effect columns: yi= with sei= or vi=, ratio= with lower= and upper=, "
            "or ratio= with p="
        )

    @classmethod
    def read_csv(cls, path: str | PathLike[str], **columns: Any) -> StudySet:
        """Read a CSV file and pass it to :meth:`from_frame` with the same keywords."""
        return cls.from_frame(pd.read_csv(path), **columns)

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
        values = list(selection) if not isinstance(selection, np.ndarray) else selection
        arr = np.asarray(values)
        if arr.dtype == bool:
            if arr.shape != (self.k,):
                raise InvalidArgumentError(
                    f"a boolean mask needs {self.k} entries, got shape {arr.shape}"
                )
            return self._take(np.flatnonzero(arr))
        position = {label: i for i, label in enumerate(self.labels)}
        _check_known([str(v) for v in values], self.labels)
        return self._take(np.array([position[str(v)] for v in values], dtype=int))

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
        """A copy with covariate columns added or replaced (one value per study)."""
        data = self._data.copy()
        for name, values in columns.items():
            arr = list(values) if not np.isscalar(values) else [values] * self.k
            if len(arr) != self.k:
                raise InvalidStudyError(None, name, f"{len(arr)} values for {self.k} studies")
            data[name] = arr
        return StudySet._build(self.yi, self.vi, self.labels, self.measure, data)


def _check_known(wanted: Iterable[str], labels: tuple[str, ...]) -> None:
    unknown = [label for label in wanted if label not in labels]
    if unknown:
        raise InvalidArgumentError(f"no study labelled {unknown}; labels are {list(labels)}")


def _merge(*parts: Mapping[str, Any] | pd.DataFrame | None) -> dict[str, Any] | None:
    merged: dict[str, Any] = {}
    for part in parts:
        if part is None:
            continue
        if isinstance(part, pd.DataFrame):
            merged.update({str(c): part[c].to_numpy() for c in part.columns})
        else:
            merged.update(part)
    return merged or None
