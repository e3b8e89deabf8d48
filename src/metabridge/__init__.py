"""metabridge: one study model; pooling by statsmodels, PythonMeta and R's metafor.

    >>> import metabridge as mb
    >>> studies = mb.datasets.bcg()
    >>> mb.pool(studies, method="DL", backend="statsmodels").estimate  # doctest: +ELLIPSIS
    -0.714...
"""

from __future__ import annotations

from typing import Any

from . import datasets
from .analyses import begg, egger, exclude, heterogeneity_ci, leave_one_out, subgroups
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
    ResourceLimitError,
    ReviewFileError,
    StoreError,
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

__version__ = "0.1.0"

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
    "PoolResult",
    "RatioView",
    "ResourceLimitError",
    "ReviewFileError",
    "Simulation",
    "SimulationStudy",
    "StoreError",
    "StudySet",
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
    "datasets",
    "egger",
    "exclude",
    "heterogeneity_ci",
    "leave_one_out",
    "pool",
    "read_revman",
    "report",
    "simulate",
    "simulation_study",
    "subgroups",
]


def __getattr__(name: str) -> Any:
    """Verbs imported on first use because they pull in matplotlib: ``report``."""
    if name == "report":
        from .reporting import report

        return report
    raise AttributeError(f"module 'metabridge' has no attribute {name!r}")
