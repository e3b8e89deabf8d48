"""R metafor engine, through rpy2.

The R code lives in ``r/metabridge.R`` and is sourced once per process; its
wrappers return plain lists, converted here to Python numbers, so no R object
leaves this module.  R errors become :class:`EngineError` with R's message; R
warnings become :class:`EngineWarning` (or :class:`ConvergenceWarning`).
Set ``METABRIDGE_DISABLE_R=1`` to switch the engine off (e.g. in tests).
Conventions applied: metafor.i2_from_tau2, metafor.tolerance.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import heterogeneity as het
from .._resources import r_script
from ..errors import (
    BackendUnavailableError,
    ConvergenceWarning,
    EngineError,
    EngineWarning,
)
from ..methods import Method
from ..result import PoolResult
from ..studies import StudySet
from .base import BackendStatus, assemble

DISABLE_ENV = "METABRIDGE_DISABLE_R"
INSTALL_R = "apt-get install r-base-core r-cran-metafor r-cran-metadat"
INSTALL_RPY2 = "pip install 'metabridge[r]'  (rpy2>=3.5,<3.6; install R first)"
#: Fields of an R result list that are vectors even when of length 1.
_VECTOR_FIELDS = frozenset({"weights", "warnings"})


@dataclass(frozen=True)
class _Session:
    """The embedded R with metabridge.R sourced: its functions and versions."""

    functions: dict[str, Any]
    float_vector: Any
    metafor_version: str
    r_version: str


_lock = threading.Lock()
_session_or_reason: _Session | str | None = None


def _start() -> _Session | str:
    """Start R and source metabridge.R; return the session or the reason it failed."""
    if os.environ.get(DISABLE_ENV, "").strip() not in ("", "0"):
        return f"disabled by {DISABLE_ENV}={os.environ[DISABLE_ENV]}"
    try:
        import rpy2.robjects as ro
        from rpy2.robjects.vectors import FloatVector
    except ImportError as exc:
        if "rpy2" in str(exc) and "No module" in str(exc):
            return f"rpy2 is not installed; {INSTALL_RPY2}"
        return _explain_rpy2_failure(exc)
    except Exception as exc:  # rpy2 raises various errors when R is missing or broken
        return _explain_rpy2_failure(exc)
    try:
        ro.r["source"](str(r_script()))
    except Exception as exc:
        text = str(exc)
        if "metafor" in text:
            return f"the R package metafor is not installed ({INSTALL_R})"
        return f"sourcing r/metabridge.R failed: {text.strip()}"
    versions = _to_python(ro.globalenv["mb_versions"]())
    functions = {name: ro.globalenv[name] for name in ("mb_rma",)}
    return _Session(functions, FloatVector, versions["metafor"], versions["R"])


def _explain_rpy2_failure(exc: BaseException) -> str:
    text = f"{exc.__class__.__name__}: {exc}".strip()
    if "undefined symbol" in text:
        return (
            f"rpy2 does not fit the installed R ({text}); rpy2 3.6 needs R >= 4.3: "
            "pip install 'rpy2>=3.5,<3.6'"
        )
    if "R_HOME" in text or "R in the PATH" in text or "libR" in text:
        return f"R is not installed or not on PATH ({text}); {INSTALL_R}"
    return f"rpy2 could not start R ({text})"


def _session() -> _Session:
    global _session_or_reason
    with _lock:
        if _session_or_reason is None:
            _session_or_reason = _start()
    if isinstance(_session_or_reason, str):
        raise BackendUnavailableError("metafor", _session_or_reason)
    return _session_or_reason


def _to_python(rlist: Any) -> dict[str, Any]:
    """An R named list of atomic vectors -> dict of floats/ints/str/lists/None."""
    out: dict[str, Any] = {}
    from rpy2.rinterface_lib.sexp import NULLType

    for name, value in zip(rlist.names, rlist, strict=True):
        if isinstance(value, NULLType) or len(value) == 0:
            out[name] = [] if name in _VECTOR_FIELDS else None
            continue
        items = list(value)
        out[name] = items if name in _VECTOR_FIELDS or len(items) != 1 else items[0]
    return out


def call_r(function: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call an ``mb_*`` wrapper; raise EngineError on an R error, warn on R warnings."""
    session = _session()
    converted = [session.float_vector(np.asarray(a, dtype=float)) if _is_vector(a) else a
                 for a in args]
    result = _to_python(session.functions[function](*converted, **kwargs))
    for message in result.get("warnings") or []:
        category = ConvergenceWarning if "converge" in message.lower() else EngineWarning
        warnings.warn(f"metafor: {message}", category, stacklevel=3)
    if result.get("error"):
        raise EngineError("metafor", str(result["error"]).strip())
    return result


def _is_vector(value: Any) -> bool:
    return isinstance(value, np.ndarray | Sequence) and not isinstance(value, str)


class MetaforBackend:
    """Adapter for R's metafor ``rma()``."""

    name = "metafor"
    description = "R metafor rma() through rpy2"
    methods = frozenset({"FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM"})
    features = frozenset({"pool"})
    max_studies = None

    def status(self) -> BackendStatus:
        try:
            session = _session()
        except BackendUnavailableError as exc:
            return BackendStatus(self.name, False, reason=exc.reason)
        return BackendStatus(
            self.name, True, version=f"{session.metafor_version} (R {session.r_version})"
        )

    def pool(self, studies: StudySet, method: Method, level: float) -> PoolResult:
        out = call_r("mb_rma", studies.yi, studies.vi, method.name, level, "z")
        df = studies.k - 1
        notes = ["metafor.tolerance"]
        extra: dict[str, Any] = {}
        if method.random_effects and method.name != "DL":
            notes.append("metafor.i2_from_tau2")
            extra["i2_q"] = het.i2_from_q(out["q"], df)
        return assemble(
            studies, method, level,
            backend=self.name, engine_version=_session().metafor_version,
            estimate=out["estimate"], se=out["se"], ci=(out["ci_lb"], out["ci_ub"]),
            tau2=out["tau2"], q=out["q"], weights=out["weights"],
            z=out["zval"], p=out["pval"],
            i2=_na(out["i2"]) if df > 0 else float("nan"),
            h2=_na(out["h2"]) if df > 0 else float("nan"),
            q_p=_na(out["q_p"]) if df > 0 else float("nan"),
            converged=bool(out["converged"]), conventions=notes, extra=extra,
        )


def _na(value: Any) -> float:
    return float("nan") if value is None else float(value)
