"""The study model: one immutable set of studies, vectorised inside.

A :class:`StudySet` holds, per study, the effect ``yi`` on the analysis scale
(log scale for ratio measures), its sampling variance ``vi``, a label, and any
reported inputs and covariates as a pandas DataFrame.  Every constructor checks
its input at the boundary and names the study and the field that is wrong; each
kind of input (generic, ratios, counts, means) is read by its own module of this
package.

Raw data (2x2 counts, or means and SDs) stay on the set (``raw`` names the kind,
:attr:`StudySet.counts` / :attr:`StudySet.means` give them back, ``to_frame()``
shows them): engines that compute effect sizes themselves do so from these when
they pool.  ``yi``/``vi`` are filled with metafor's ``escalc()`` defaults (see
:mod:`.counts` and :mod:`.means`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, partial
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from ..conversions import SeRule, ci_divisor
from ..errors import DataFileError, InvalidArgumentError, InvalidStudyError
from . import counts, generic, means, ratios
from .checks import (
    Effects,
    NaRule,
    check_representable,
    complete_rows,
    first_duplicate,
    is_missing,
    require,
    study_labels,
    take,
)
from .columns import (
    REPORTED_COLUMNS,
    RESERVED_COLUMNS,
    check_keyword_covariates,
    check_names,
    covariate_columns,
    covariate_frame,
    frame_of,
    keep_apart,
    merge,
)
from .counts import COUNT_COLUMNS, COUNT_MEASURES, Counts
from .means import MEANS_COLUMNS, MEANS_MEASURES, Means
from .measures import RATIO_MEASURES, check_input_measure, check_measure

#: The column roles from_frame accepts together -> (constructor, default measure).
FRAME_KINDS: dict[frozenset[str], tuple[str, str]] = {
    frozenset({"yi", "sei"}): ("from_effects", "GEN"),
    frozenset({"yi", "vi"}): ("from_effects", "GEN"),
    frozenset({"ratio", "lower", "upper"}): ("from_ratios", "HR"),
    frozenset({"ratio", "p"}): ("from_ratio_p", "HR"),
    frozenset(COUNT_COLUMNS): ("from_counts", "OR"),
    frozenset(MEANS_COLUMNS): ("from_means", "MD"),
}
#: Kinds of raw data a StudySet can carry -> their columns (in ``_data``) and type.
RAW_KINDS: dict[str, tuple[tuple[str, ...], type]] = {
    "counts": (COUNT_COLUMNS, Counts),
    "means": (MEANS_COLUMNS, Means),
}


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr, dtype=float)
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False, repr=False)
class StudySet:
    """An immutable set of k studies: effects ``yi``, variances ``vi``, labels, data.

    Build one with :meth:`from_counts`, :meth:`from_means`, :meth:`from_ratios`,
    :meth:`from_ratio_p`, :meth:`from_effects`, :meth:`from_frame` or
    :meth:`read_csv`; never by hand.  ``raw`` is "counts" or "means" when the set
    carries raw data, else None.
    """

    yi: np.ndarray
    vi: np.ndarray
    labels: tuple[str, ...]
    measure: str
    #: Per-study columns: a frame, or checked columns whose frame is built when first used.
    _table: pd.DataFrame | Mapping[str, list[Any]]
    raw: str | None = None

    @cached_property
    def _data(self) -> pd.DataFrame:
        """The per-study columns (reported inputs and covariates) indexed by label.  Built
        on first use: a pandas frame costs more than the rest of a small set's checks."""
        table = self._table
        return table if isinstance(table, pd.DataFrame) else frame_of(table, self.labels)

    # ------------------------------------------------------------ constructors
    @classmethod
    def _build(
        cls,
        yi: np.ndarray,
        vi: np.ndarray,
        labels: tuple[str, ...],
        measure: str,
        data: pd.DataFrame | Mapping[str, list[Any]],
        raw: str | None = None,
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
        check_representable(yi, vi, labels, derived=True)
        return cls(_readonly(yi), _readonly(vi), labels, measure, data, raw)

    @classmethod
    def _read(
        cls,
        read: Callable[..., Effects],
        inputs: Mapping[str, Any],
        labels: Iterable[Any] | None,
        measure: str,
        na: NaRule,
        covariates: Mapping[str, Any] | pd.DataFrame | None,
        more_covariates: Mapping[str, Any],
        raw: str | None = None,
    ) -> StudySet:
        """A StudySet from one input kind: ``read(**inputs, labels=...)`` gives (yi, vi,
        reported inputs).  Labels are made unique and studies with a missing input
        dropped (``na``) first; covariates follow the studies that are kept."""
        check_keyword_covariates(more_covariates, _constructor_arguments())
        names = study_labels(labels, next(iter(inputs.values())))
        table = keep_apart(covariates, RESERVED_COLUMNS | set(inputs))
        extra = covariate_columns(merge(table, more_covariates), len(names))
        keep = complete_rows(inputs, names, na)
        if keep is not None:
            inputs = {field: take(values, keep) for field, values in inputs.items()}
            names = tuple(names[i] for i in keep)
            extra = {name: [values[i] for i in keep] for name, values in extra.items()}
        yi, vi, reported = read(**inputs, labels=names)
        columns = covariate_columns(merge(reported, extra), len(names))  # checked now
        return cls._build(yi, vi, names, measure, columns, raw)

    @classmethod
    def from_counts(
        cls,
        events_exp: Any,
        total_exp: Any,
        events_ctrl: Any,
        total_ctrl: Any,
        labels: Iterable[Any] | None = None,
        measure: str = "OR",
        covariates: Mapping[str, Any] | pd.DataFrame | None = None,
        na: NaRule = "drop",
        **more_covariates: Any,
    ) -> StudySet:
        """2x2 counts per study: events and totals in the experimental and control arms.

        ``measure`` is "OR", "RR" or "RD"; ``yi`` (log scale for OR and RR) and ``vi``
        follow metafor's ``escalc()`` defaults: 1/2 added to every cell of a table with
        a zero cell, double-zero tables kept (:mod:`metabridge.studies.counts`).  Pool
        with any inverse-variance method, or with ``method="MH"`` / ``"PETO"``.
        ``na``: see :meth:`from_ratios`.
        """
        measure = check_input_measure(measure, COUNT_MEASURES, "2x2 counts")
        inputs = dict(zip(COUNT_COLUMNS, (events_exp, total_exp, events_ctrl, total_ctrl),
                          strict=True))
        return cls._read(partial(counts.from_counts, measure=measure), inputs, labels, measure,
                         na, covariates, more_covariates, raw="counts")

    @classmethod
    def from_means(
        cls,
        mean_exp: Any,
        sd_exp: Any,
        n_exp: Any,
        mean_ctrl: Any,
        sd_ctrl: Any,
        n_ctrl: Any,
        labels: Iterable[Any] | None = None,
        measure: str = "MD",
        covariates: Mapping[str, Any] | pd.DataFrame | None = None,
        na: NaRule = "drop",
        **more_covariates: Any,
    ) -> StudySet:
        """Means, SDs and group sizes per study, experimental then control arm.

        ``measure`` is "MD" or "SMD" (Hedges' g with the exact bias correction, as
        metafor's ``escalc()``; :mod:`metabridge.studies.means`).  ``na``: see
        :meth:`from_ratios`.
        """
        measure = check_input_measure(measure, MEANS_MEASURES, "means and SDs")
        inputs = dict(zip(MEANS_COLUMNS, (mean_exp, sd_exp, n_exp, mean_ctrl, sd_ctrl, n_ctrl),
                          strict=True))
        return cls._read(partial(means.from_means, measure=measure), inputs, labels, measure,
                         na, covariates, more_covariates, raw="means")

    @classmethod
    def from_effects(
        cls,
        yi: Any,
        sei: Any = None,
        vi: Any = None,
        labels: Iterable[Any] | None = None,
        measure: str = "GEN",
        covariates: Mapping[str, Any] | pd.DataFrame | None = None,
        na: NaRule = "drop",
        **more_covariates: Any,
    ) -> StudySet:
        """Generic inverse-variance data: effects ``yi`` with either ``sei`` or ``vi``.

        For a ratio measure, ``yi`` must already be on the log scale.  ``na``: see
        :meth:`from_ratios`.
        """
        measure = check_measure(measure)
        if (sei is None) == (vi is None):
            raise InvalidStudyError(None, "sei/vi", "give exactly one of sei (SE) or vi (variance)")
        inputs = {"yi": yi, "sei": sei} if vi is None else {"yi": yi, "vi": vi}
        return cls._read(generic.effects_and_variances, inputs, labels, measure, na,
                         covariates, more_covariates)

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
        na: NaRule = "drop",
        **more_covariates: Any,
    ) -> StudySet:
        """Ratios with CIs: ``yi = ln(ratio)``, ``sei = (ln U - ln L) / divisor``.

        ``se_rule="exact"`` divides by 2 z_{1-alpha/2} (3.919928 at 95%);
        ``se_rule="revman"`` by RevMan's rounded constant (3.92 at 95%).

        Common to every constructor: ``na="drop"`` (the default, as metafor's
        ``na.action = "na.omit"``) drops a study with a missing effect input and
        warns (:class:`DataWarning`) naming it and the field; ``na="raise"`` stops
        with an error instead.  Repeated labels are made unique as metafor does
        ('A', 'A' -> 'A.1', 'A.2'), with a warning.  Columns of ``covariates``
        named like a derived column or an input (``yi``, ``vi``, ``sei``, ``label``,
        ``ratio``, ...) are kept as ``<name>_column``, with a warning.
        """
        measure = check_measure(measure, ratio=True)
        ci_divisor(level, se_rule)  # level and se_rule are checked before the data
        inputs = {"ratio": ratio, "lower": lower, "upper": upper}
        return cls._read(partial(ratios.from_ci, level=level, se_rule=se_rule), inputs, labels,
                         measure, na, covariates, more_covariates)

    @classmethod
    def from_ratio_p(
        cls,
        ratio: Any,
        p: Any,
        labels: Iterable[Any] | None = None,
        measure: str = "HR",
        covariates: Mapping[str, Any] | pd.DataFrame | None = None,
        na: NaRule = "drop",
        **more_covariates: Any,
    ) -> StudySet:
        """Ratios with two-sided P values: ``sei = |ln ratio| / z_{1-p/2}``.

        Cochrane Handbook v6.4, section 6.3.2.  P must be an exact value in (0, 1);
        a ratio of exactly 1 carries no information about its SE.  ``na``: see
        :meth:`from_ratios`.
        """
        measure = check_measure(measure, ratio=True)
        return cls._read(ratios.from_p, {"ratio": ratio, "p": p}, labels, measure, na,
                         covariates, more_covariates)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        label: str | Sequence[str] | None = None,
        yi: str | None = None,
        sei: str | None = None,
        vi: str | None = None,
        ratio: str | None = None,
        lower: str | None = None,
        upper: str | None = None,
        p: str | None = None,
        events_exp: str | None = None,
        total_exp: str | None = None,
        events_ctrl: str | None = None,
        total_ctrl: str | None = None,
        mean_exp: str | None = None,
        sd_exp: str | None = None,
        n_exp: str | None = None,
        mean_ctrl: str | None = None,
        sd_ctrl: str | None = None,
        n_ctrl: str | None = None,
        measure: str | None = None,
        level: float = 0.95,
        se_rule: SeRule = "exact",
        na: NaRule = "drop",
    ) -> StudySet:
        """Build from a DataFrame by naming its columns; other columns become covariates.

        Give ``yi`` with ``sei`` or ``vi`` (generic), ``ratio`` with ``lower`` and
        ``upper`` (CI), ``ratio`` with ``p``, the four counts ``events_exp``,
        ``total_exp``, ``events_ctrl``, ``total_ctrl`` (2x2 data), or the six
        ``mean_exp``, ``sd_exp``, ``n_exp``, ``mean_ctrl``, ``sd_ctrl``, ``n_ctrl``
        (means data).  ``label`` names one column, or
        several joined with a space (``label=["author", "year"]`` gives
        'Garfinkel 1981'); a single label column becomes the labels, the parts of a
        composed label stay covariates too.  Columns not named here do not matter:
        one called like a derived column (``yi``, ``vi``, ...) is kept as
        ``<name>_column`` (see :meth:`from_ratios` for ``na`` and repeated labels).
        Errors in the data name the keyword and the column (``field 'lower'
        (column 'lo')``).
        """
        if not isinstance(frame, pd.DataFrame):
            raise InvalidArgumentError(
                f"frame must be a pandas DataFrame, got {type(frame).__name__}"
            )
        label_columns = [] if label is None else [label] if isinstance(label, str) else list(label)
        roles = {"yi": yi, "sei": sei, "vi": vi, "ratio": ratio, "lower": lower, "upper": upper,
                 "p": p, "events_exp": events_exp, "total_exp": total_exp,
                 "events_ctrl": events_ctrl, "total_ctrl": total_ctrl, "mean_exp": mean_exp,
                 "sd_exp": sd_exp, "n_exp": n_exp, "mean_ctrl": mean_ctrl, "sd_ctrl": sd_ctrl,
                 "n_ctrl": n_ctrl}
        named = {role: column for role, column in roles.items() if column is not None}
        for role, column in named.items():
            if not pd.api.types.is_hashable(column):
                raise InvalidArgumentError(f"{role} must name one column, got {column!r}")
        missing = [c for c in [*label_columns, *named.values()] if c not in frame.columns]
        if missing:
            raise InvalidArgumentError(
                f"columns not in the frame: {missing}; it has {list(frame.columns)}"
            )
        kind = FRAME_KINDS.get(frozenset(named))
        if kind is None:
            given = ", ".join(f"{role}={column!r}" for role, column in named.items()) or "none"
            kinds = "; ".join(" ".join(f"{role}=" for role in roles if role in kind)
                              for kind in FRAME_KINDS)
            raise InvalidArgumentError(
                f"name the effect columns, one of: {kinds} (got {given})"
            )
        constructor, default_measure = kind
        columns = {role: frame[column] for role, column in named.items()}
        labels = label_text(frame[label_columns]) if label_columns else None
        used = [*named.values(), *label_columns[:1]] if len(label_columns) == 1 else named.values()
        rest = frame.drop(columns=list(dict.fromkeys(used))).reset_index(drop=True)
        options: dict[str, Any] = {"level": level, "se_rule": se_rule} if constructor == (
            "from_ratios") else {}
        try:
            return getattr(cls, constructor)(
                **columns, labels=labels, measure=measure or default_measure, covariates=rest,
                na=na, **options,
            )
        except InvalidStudyError as exc:  # name the keyword and column the user typed
            if exc.field == "labels":
                raise InvalidStudyError(exc.study, "label", exc.problem,
                                        ", ".join(label_columns)) from None
            if exc.field in named:
                raise InvalidStudyError(exc.study, exc.field, exc.problem,
                                        named[exc.field]) from None
            raise

    @classmethod
    def read_csv(cls, path: str | PathLike[str], **columns: Any) -> StudySet:
        """Read a CSV file and pass it to :meth:`from_frame` with the same keywords."""
        try:
            frame = pd.read_csv(path)
        except (OSError, ValueError, TypeError) as exc:  # missing, unreadable, empty, not CSV
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

    @property
    def counts(self) -> Counts | None:
        """The 2x2 counts (events and totals per arm) if the set was built from them."""
        return self._raw_data("counts")

    @property
    def means(self) -> Means | None:
        """Means, SDs and group sizes per arm if the set was built from them."""
        return self._raw_data("means")

    def _raw_data(self, kind: str) -> Any:
        if self.raw != kind:
            return None
        names, container = RAW_KINDS[kind]
        return container(*(_readonly(self._data[name].to_numpy(float)) for name in names))

    def to_frame(self) -> pd.DataFrame:
        """One row per study: label, yi, sei, vi, then raw data, reported inputs, covariates."""
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
        return StudySet._build(self.yi[index], self.vi[index], labels, self.measure, data,
                               self.raw)

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

    def drop(self, *labels: Any) -> StudySet:
        """The set without the named studies (labels compare as text: 1 names study '1')."""
        names = [str(label) for label in labels]
        _check_known(names, self.labels)
        return self.subset(np.array([label not in names for label in self.labels]))

    def groupby(self, column: str) -> dict[Hashable, StudySet]:
        """Split by a covariate column: {value: StudySet}, in order of first appearance."""
        if not isinstance(column, str) or column not in self._data.columns:
            raise InvalidArgumentError(
                f"no column {column!r}; columns are {list(self._data.columns)}"
            )
        values = self._data[column]
        if values.isna().any():
            label = self.labels[int(np.flatnonzero(values.isna().to_numpy())[0])]
            raise InvalidStudyError(label, column, "missing value; every study needs a group")
        _check_group_names(column, values.tolist(), self.labels)
        return {
            value: self.subset((values == value).to_numpy())
            for value in pd.unique(values.to_numpy())
        }

    def effects_only(self) -> StudySet:
        """The same studies as effect sizes only: yi and vi (metafor's escalc() values for
        raw data), without the raw data, so that every engine pools these numbers instead
        of computing its own.  The raw columns stay as reported inputs."""
        return StudySet._build(self.yi, self.vi, self.labels, self.measure, self._data)

    def shifted(self, delta: float) -> StudySet:
        """The same studies with every effect moved by ``delta`` (variances unchanged)."""
        return StudySet._build(self.yi + delta, self.vi, self.labels, self.measure, self._data)

    def with_columns(self, **columns: Any) -> StudySet:
        """A copy with covariate columns added or replaced (one value, or one per study).

        The reported inputs the effects were computed from (ratio, lower, upper, p,
        the counts or the means) cannot be replaced: build a new StudySet instead.
        """
        check_names(
            columns, REPORTED_COLUMNS & set(self._data.columns),
            "a reported input the effect was computed from; build a new StudySet to change it",
        )
        new = covariate_frame(columns, self.labels)
        data = self._data.assign(**{name: new[name] for name in new.columns})
        return StudySet._build(self.yi, self.vi, self.labels, self.measure, data, self.raw)


def label_text(columns: pd.DataFrame) -> list[str | None]:
    """One label per row: the columns' values joined by a space; None if any part is missing.

    Whole-number floats print without '.0' (a year column with a gap is read as float).
    """
    def text(value: Any) -> str:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()

    return [
        None if any(is_missing(v) for v in row) else " ".join(text(v) for v in row)
        for row in columns.itertuples(index=False, name=None)
    ]


def _check_group_names(column: str, values: list[Any], labels: tuple[str, ...]) -> None:
    """Each subgroup must have one printed name, and no two subgroups the same one.

    Engines and reports name a subgroup by ``str(value)``; a column mixing types
    breaks that both ways: ``1`` and ``"1"`` are two subgroups that print alike, and
    ``1`` and ``1.0`` (or ``True``) are one subgroup (equal values) printed two ways.
    """
    by_name: dict[str, int] = {}
    by_value: dict[Hashable, int] = {}
    for index, value in enumerate(values):
        same_name = by_name.setdefault(str(value), index)
        same_value = by_value.setdefault(value, index)
        if values[same_name] != value:
            other, problem = same_name, "print alike but are different subgroups"
        elif str(values[same_value]) != str(value):
            other, problem = same_value, "are equal, so one subgroup printed two ways"
        else:
            continue
        raise InvalidStudyError(
            labels[index], column,
            f"{value!r} ({type(value).__name__}) and {values[other]!r} "
            f"({type(values[other]).__name__}, study {labels[other]!r}) {problem}; give "
            "the column one type",
        )


def _check_known(wanted: Iterable[str], labels: tuple[str, ...]) -> None:
    unknown = [label for label in wanted if label not in labels]
    if unknown:
        raise InvalidArgumentError(f"no study labelled {unknown}; labels are {list(labels)}")


@cache
def _constructor_arguments() -> frozenset[str]:
    """Every keyword argument of StudySet's constructors (for did-you-mean hints); read
    once: inspect.signature on every constructor cost ~5x the rest of a construction."""
    import inspect

    return frozenset(name for attr in dir(StudySet) if attr.startswith("from_")
                     for name in inspect.signature(getattr(StudySet, attr)).parameters
                     if name not in ("more_covariates", "cls"))
