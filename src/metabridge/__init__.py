"""metabridge: one study model; pooling by statsmodels, PythonMeta and R's metafor.

    >>> import metabridge as mb
    >>> studies = mb.datasets.bcg()
    >>> mb.pool(studies, method="DL", backend="statsmodels").estimate  # doctest: +ELLIPSIS
    -0.714...
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from . import datasets
from .analyses import (
    begg,
    cumulative,
    egger,
    exclude,
    heterogeneity_ci,
    influence,
    leave_one_out,
    subgroups,
    trim_and_fill,
)
from .backends import available_backends, backend_status, capabilities
from .comparison import Comparison
from .conventions import conventions_table
from .errors import (
    BackendUnavailableError,
    ClusterError,
    ConvergenceWarning,
    DataWarning,
    EngineError,
    EngineWarning,
    InsufficientStudiesError,
    InvalidArgumentError,
    InvalidStudyError,
    MetabridgeError,
    NotEstimableError,
    OutputError,
    ResourceLimitError,
    ReviewFileError,
    StoreError,
    UnexplainedDifferenceWarning,
    UnknownBackendError,
    UnknownMethodError,
    UnsupportedMethodError,
)
from .facade import compare, pool
from .methods import METHODS
from .result import PoolResult, RatioView
from .revman import read_revman
from .simstudy import SimulationStudy, simulation_study
from .simulate import Simulation, simulate
from .studies import StudySet

if TYPE_CHECKING:
    from . import plots
    from .reporting import report

__version__ = "0.1.0"

#: Names imported on first use, because they need matplotlib, which ``import
#: metabridge`` does not load: name -> (module, attribute; None for the module).
LAZY: dict[str, tuple[str, str | None]] = {
    "plots": (".plots", None),
    "report": (".reporting", "report"),
}

__all__ = [
    "METHODS",
    "BackendUnavailableError",
    "ClusterError",
    "Comparison",
    "ConvergenceWarning",
    "DataWarning",
    "EngineError",
    "EngineWarning",
    "InsufficientStudiesError",
    "InvalidArgumentError",
    "InvalidStudyError",
    "MetabridgeError",
    "NotEstimableError",
    "OutputError",
    "PoolResult",
    "RatioView",
    "ResourceLimitError",
    "ReviewFileError",
    "Simulation",
    "SimulationStudy",
    "StoreError",
    "StudySet",
    "UnexplainedDifferenceWarning",
    "UnknownBackendError",
    "UnknownMethodError",
    "UnsupportedMethodError",
    "__version__",
    "available_backends",
    "backend_status",
    "begg",
    "capabilities",
    "compare",
    "conventions_table",
    "cumulative",
    "datasets",
    "egger",
    "exclude",
    "heterogeneity_ci",
    "influence",
    "leave_one_out",
    "plots",
    "pool",
    "read_revman",
    "report",
    "simulate",
    "simulation_study",
    "subgroups",
    "trim_and_fill",
]


def __getattr__(name: str) -> Any:
    """Names imported on first use (see ``LAZY``): ``plots`` and ``report``."""
    if name in LAZY:
        module_name, attribute = LAZY[name]
        module = import_module(module_name, __name__)
        return module if attribute is None else getattr(module, attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *LAZY})
