"""The exceptions and warnings metabridge raises.

Every error a user can provoke is a :class:`MetabridgeError`; the message names
what is wrong and, for study data, the study label and the field.
"""

from __future__ import annotations

from collections.abc import Iterable


class MetabridgeError(Exception):
    """Base class of every error metabridge raises on purpose."""


class InvalidStudyError(MetabridgeError, ValueError):
    """Study-level input that cannot describe a study (names study and field)."""

    def __init__(
        self, study: str | None, field: str, problem: str, column: str | None = None
    ) -> None:
        self.study = study
        self.field = field
        self.problem = problem
        self.column = column
        where = f"field {field!r}" + (f" (column {column!r})" if column is not None else "")
        if study is not None:
            where = f"study {study!r}, {where}"
        super().__init__(f"{where}: {problem}")


class InvalidArgumentError(MetabridgeError, ValueError):
    """An argument outside its domain (level, measure, se_rule, ...)."""


class DataFileError(InvalidArgumentError):
    """A data file that cannot be read as a table (missing, unreadable, empty, not CSV)."""


class ReviewFileError(DataFileError):
    """A Cochrane review file (RevMan 5 .rm5, RevMan 5 CSV export, RevMan Web zip) that
    cannot be read; names the file and, where there is one, the analysis and the field."""

    def __init__(
        self, path: str, problem: str, *, analysis: str | None = None, field: str | None = None
    ) -> None:
        self.path = path
        self.analysis = analysis
        self.field = field
        self.problem = problem
        where = [f"file {path!r}"]
        if analysis is not None:
            where.append(f"analysis {analysis}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {problem}")
class OutputError(InvalidArgumentError):
    """An output folder that cannot be written safely: a file, not writable, or holding
    files metabridge did not write (it never overwrites those without ``force``)."""


class NotEstimableError(MetabridgeError, ValueError):
    """The data cannot identify the requested statistic (e.g. a Hartung-Knapp SE of 0
    when every estimate is the same; Egger's intercept when every SE is the same)."""


class InsufficientStudiesError(MetabridgeError, ValueError):
    """Too few studies for the requested analysis (e.g. k < 2 for random effects)."""


class UnknownMethodError(MetabridgeError, ValueError):
    """A method name that is not one of metabridge's canonical estimators."""


class UnknownBackendError(MetabridgeError, ValueError):
    """A backend name that is not registered."""


class UnsupportedMethodError(MetabridgeError):
    """The chosen engine lacks the method; names the engines that have it."""

    def __init__(self, method: str, backend: str, supported_by: Iterable[str]) -> None:
        self.method = method
        self.backend = backend
        self.supported_by = tuple(supported_by)
        others = ", ".join(self.supported_by) if self.supported_by else "no installed engine"
        super().__init__(
            f"backend {backend!r} does not offer {method!r}; engines that do: {others}"
        )


class ResourceLimitError(UnsupportedMethodError):
    """The engine has the method, but this data set would exceed what it can hold
    here (e.g. metafor's k x k matrices against the memory available); names the
    engines that can run it."""

    def __init__(
        self, method: str, backend: str, reason: str, supported_by: Iterable[str]
    ) -> None:
        self.method = method
        self.backend = backend
        self.reason = reason
        self.supported_by = tuple(supported_by)
        others = ", ".join(self.supported_by) if self.supported_by else "no installed engine"
        MetabridgeError.__init__(
            self, f"{backend} cannot run {method} here: {reason}; engines that can: {others}"
        )


class BackendUnavailableError(MetabridgeError):
    """The engine is not installed or cannot start; says why and what to install."""

    def __init__(self, backend: str, reason: str) -> None:
        self.backend = backend
        self.reason = reason
        super().__init__(f"backend {backend!r} is not available: {reason}")


class EngineError(MetabridgeError):
    """The engine itself failed; carries the engine's own message."""

    def __init__(self, backend: str, message: str) -> None:
        self.backend = backend
        self.engine_message = message
        super().__init__(f"{backend} failed: {message}")


class DataWarning(UserWarning):
    """The data were changed on the way in, as metafor would change them, and how.

    Studies with missing values dropped (``na="drop"``), duplicate labels made
    unique, a column renamed because metabridge derives a column of that name.
    """


class StoreError(MetabridgeError):
    """A simulation store that cannot hold this study: a file, a folder with other
    files, or a store made from another grid or seed."""


class ClusterError(MetabridgeError):
    """The Dask cluster cannot be used: dask.distributed missing, or the scheduler
    unreachable."""


class EngineWarning(UserWarning):
    """A warning the engine raised (e.g. an R warning), passed on verbatim."""


class ConvergenceWarning(EngineWarning):
    """An iterative tau^2 estimator did not converge; the result records it."""


class UnexplainedDifferenceWarning(UserWarning):
    """Engines differ on a statistic and no documented convention, checked, explains it."""
