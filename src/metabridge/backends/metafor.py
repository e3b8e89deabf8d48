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
import pandas as pd

from .. import heterogeneity as het
from .._resources import r_script
from ..analyses.types import (
    BeggTest,
    EggerTest,
    EggerVariant,
    HeterogeneityCI,
    LeaveOneOut,
    SubgroupAnalysis,
    Tau2Rule,
)
from ..errors import (
    BackendUnavailableError,
    ConvergenceWarning,
    EngineError,
    EngineWarning,
)
from ..methods import METHODS, Method
from ..result import PoolResult
from ..studies import StudySet
from .base import BackendStatus, BatchResult, assemble
from .engine_base import EngineBase, _single_study_notes

DISABLE_ENV = "METABRIDGE_DISABLE_R"
INSTALL_R = "apt-get install r-base-core r-cran-metafor r-cran-metadat"
INSTALL_RPY2 = "pip install 'metabridge[r]'  (rpy2>=3.5,<3.6; install R first)"
#: Estimators metafor fits iteratively (convention "metafor.tolerance").
ITERATIVE = frozenset({"ML", "REML", "EB", "PM", "PMM"})
#: The wrappers of r/metabridge.R this adapter calls.
R_FUNCTIONS = (
    "mb_rma", "mb_leave1out", "mb_subgroups_separate", "mb_subgroups_common",
    "mb_regtest", "mb_ranktest", "mb_rma_batch", "mb_confint",
)
#: Fields of an R result list that are vectors even when of length 1.
_VECTOR_FIELDS = frozenset({"weights", "warnings", "estimates", "ses", "tau2s", "failures",
                            "estimate_ci", "ci_lb_ci", "ci_ub_ci"})


@dataclass(frozen=True)
class _Session:
    """The embedded R with metabridge.R sourced: its functions and versions."""

    functions: dict[str, Any]
    #: rpy2's default conversion rules, entered around every call: rpy2 keeps them in a
    #: ContextVar, which a new thread (a Dask worker's task thread, say) starts without.
    converter: Any
    float_vector: Any
    str_vector: Any
    metafor_version: str
    r_version: str


_lock = threading.Lock()
#: Embedded R is single-threaded: one call at a time per process.
_r_lock = threading.Lock()
_session_or_reason: _Session | str | None = None


def _start() -> _Session | str:
    """Start R and source metabridge.R; return the session or the reason it failed."""
    if os.environ.get(DISABLE_ENV, "").strip() not in ("", "0"):
        return f"disabled by {DISABLE_ENV}={os.environ[DISABLE_ENV]}"
    library_path = os.environ.get("LD_LIBRARY_PATH")
    try:
        return _start_r()
    finally:
        # rpy2 prepends R's library folders (and the system's, e.g. /usr/lib/x86_64-linux-gnu)
        # to LD_LIBRARY_PATH once R is loaded, where it no longer changes this process but
        # makes a child Python (a Dask worker, say) load another libpython.  Undo it.
        if library_path is None:
            os.environ.pop("LD_LIBRARY_PATH", None)
        else:
            os.environ["LD_LIBRARY_PATH"] = library_path


def _start_r() -> _Session | str:
    try:
        import rpy2.robjects as ro
        from rpy2.robjects.vectors import FloatVector, StrVector
    except ImportError as exc:
        if "rpy2" in str(exc) and "No module" in str(exc):
            return f"rpy2 is not installed; {INSTALL_RPY2}"
        return _explain_rpy2_failure(exc)
    except Exception as exc:  # rpy2 raises various errors when R is missing or broken
        return _explain_rpy2_failure(exc)
    with ro.conversion.localconverter(ro.default_converter):
        try:
            ro.r["source"](str(r_script()))
        except Exception as exc:
            text = str(exc)
            if "metafor" in text:
                return f"the R package metafor is not installed ({INSTALL_R})"
            return f"sourcing r/metabridge.R failed: {text.strip()}"
        versions = _to_python(ro.globalenv["mb_versions"]())
        functions = {name: ro.globalenv[name] for name in R_FUNCTIONS}
    return _Session(functions, ro.default_converter, FloatVector, StrVector,
                    versions["metafor"], versions["R"])


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


def _to_python(value: Any, name: str = "") -> Any:
    """R NULL / atomic vector / (named) list -> None / scalar or list / dict or list."""
    from rpy2.rinterface_lib.sexp import RTYPES, NULLType

    if isinstance(value, NULLType):
        return [] if name in _VECTOR_FIELDS else None
    if value.typeof == RTYPES.VECSXP:
        names = value.names
        if isinstance(names, NULLType):
            return [_to_python(item) for item in value]
        return {key: _to_python(item, key) for key, item in zip(names, value, strict=True)}
    items = list(value)
    return items if name in _VECTOR_FIELDS or len(items) != 1 else items[0]


def call_r(function: str, *args: Any) -> dict[str, Any]:
    """Call an ``mb_*`` wrapper; raise EngineError on an R error, warn on R warnings.

    An R error whose message is about convergence raises :class:`EngineError`
    with R's words; R warnings become :class:`EngineWarning` (or
    :class:`ConvergenceWarning`), pointing at the caller of the metabridge verb.
    """
    session = _session()
    from rpy2.robjects.conversion import localconverter

    with _r_lock, localconverter(session.converter):
        result = _to_python(session.functions[function](*(_r_value(session, a) for a in args)))
    messages, error = _collect(result)
    for message in dict.fromkeys(messages):
        category = ConvergenceWarning if "converge" in message.lower() else EngineWarning
        warnings.warn(f"metafor: {message}", category, stacklevel=4)
    if error:
        raise EngineError("metafor", error.strip())
    return result


def _collect(result: Any) -> tuple[list[str], str | None]:
    """R warnings and the first R error anywhere in a (nested) result."""
    if isinstance(result, list):
        found = [_collect(item) for item in result]
    elif isinstance(result, dict):
        own = (list(result.get("warnings") or []), result.get("error") or None)
        found = [own] + [_collect(v) for k, v in result.items() if k not in ("warnings", "error")]
    else:
        return [], None
    messages = [m for ms, _ in found for m in ms]
    errors = [e for _, e in found if e]
    return messages, errors[0] if errors else None


def _r_value(session: _Session, value: Any) -> Any:
    """numpy float arrays -> R double vectors; sequences of str -> R character vectors."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return session.float_vector(value)
    if isinstance(value, np.ndarray | Sequence) and not isinstance(value, str):
        return session.str_vector([str(v) for v in value])
    return value


class MetaforBackend(EngineBase):
    """Adapter for R's metafor: rma(), regtest(), ranktest(), mixed-effects models."""

    name = "metafor"
    description = "R metafor rma() through rpy2"
    methods = frozenset({"FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM"})
    tests = frozenset({"z", "knha", "adhoc"})
    features = frozenset({
        "leave_one_out", "subgroups_separate", "subgroups_common",
        "egger_classic", "egger_metafor-rma", "begg", "heterogeneity_ci",
    })
    max_studies = None

    def status(self) -> BackendStatus:
        try:
            session = _session()
        except BackendUnavailableError as exc:
            return BackendStatus(self.name, False, reason=exc.reason)
        return BackendStatus(
            self.name, True, version=f"{session.metafor_version} (R {session.r_version})"
        )

    def _result(
        self, studies: StudySet, method: Method, level: float, out: dict[str, Any],
        test: str = "z",
    ) -> PoolResult:
        """PoolResult from the numbers of one mb_fit_numbers() list."""
        df = studies.k - 1
        conventions = ["metafor.tolerance"] if method.name in ITERATIVE else []
        extra: dict[str, Any] = {}
        if method.random_effects:
            conventions.append("metafor.i2_from_tau2")
            extra["i2_q"] = het.i2_from_q(out["q"], df)
            extra["h2_q"] = het.h2_from_q(out["q"], df)
        return assemble(
            studies, method, level,
            backend=self.name, engine_version=_session().metafor_version,
            estimate=out["estimate"], se=out["se"], ci=(out["ci_lb"], out["ci_ub"]),
            tau2=out["tau2"], q=out["q"], weights=out["weights"],
            test=test, z=out["zval"], p=out["pval"],
            pi=(out["pi_lb"], out["pi_ub"]) if method.random_effects else None,
            i2=_na(out["i2"]) if df > 0 else float("nan"),
            h2=_na(out["h2"]) if df > 0 else float("nan"),
            q_p=_na(out["q_p"]) if df > 0 else float("nan"),
            converged=bool(out["converged"]), conventions=conventions, extra=extra,
        )

    def pool(
        self, studies: StudySet, method: Method, level: float, test: str = "z"
    ) -> PoolResult:
        out = call_r("mb_rma", studies.yi, studies.vi, method.name, level, test)
        return self._result(studies, method, level, out, test)

    def leave_one_out(self, studies: StudySet, method: Method, level: float) -> LeaveOneOut:
        out = call_r("mb_leave1out", studies.yi, studies.vi, method.name, level)
        results = tuple(
            self._result(studies.drop(label), method, level, fit)
            for label, fit in zip(studies.labels, out["fits"], strict=True)
        )
        return LeaveOneOut(
            self.pool(studies, method, level), results, studies.labels,
            f"{studies.k} rma() fits in one R call",
        )

    def subgroups(
        self, studies: StudySet, by: str, method: Method, level: float, tau2: Tau2Rule
    ) -> SubgroupAnalysis:
        parts = {str(g): s for g, s in studies.groupby(by).items()}
        labels = [str(v) for v in studies.covariates[by]]
        if tau2 == "common":
            out = call_r("mb_subgroups_common", studies.yi, studies.vi, labels, method.name,
                         level)
            return SubgroupAnalysis(
                by, "common", method.name, self.name, {}, out["qm"], int(out["qm_df"]),
                out["qm_p"], how="rma(mods = ~ factor(group)): omnibus QM test",
                tau2_common=out["tau2"],
            )
        out = call_r("mb_subgroups_separate", studies.yi, studies.vi, labels, method.name,
                     level)
        groups = {
            g: self._result(parts[g], method if parts[g].k > 1 else METHODS["FE"], level, fit)
            for g, fit in zip(out["groups"] if isinstance(out["groups"], list)
                              else [out["groups"]], out["fits"].values(), strict=True)
        }
        test = out["between"]
        return SubgroupAnalysis(
            by, "separate", method.name, self.name, groups, test["q"], int(test["df"]),
            test["q_p"],
            how="rma() per subgroup + rma(method = 'FE') on the subgroup estimates, one R call",
            notes=_single_study_notes(groups, method),
        )

    def pool_batch(
        self, yi: np.ndarray, vi: np.ndarray, method: Method, level: float, test: str = "z"
    ) -> BatchResult:
        """All replicates in ONE R call (the loop runs inside R, r/metabridge.R)."""
        reps, k = yi.shape
        out = call_r("mb_rma_batch", np.ravel(yi), np.ravel(vi), k, method.name, level, test)
        if out["failures"]:
            shown = "; ".join(out["failures"][:3])
            warnings.warn(f"metafor: {len(out['failures'])} of {reps} replicates failed: {shown}",
                          EngineWarning, stacklevel=2)
        estimate, se, tau2 = (np.asarray(out[name], dtype=float)
                              for name in ("estimates", "ses", "tau2s"))
        df = float("inf") if test == "z" else float(k - 1)
        half = het.critical_value(level, df) * se
        return BatchResult(estimate, se, estimate - half, estimate + half, tau2)

    def heterogeneity_ci(self, studies: StudySet, method: Method, level: float) -> HeterogeneityCI:
        out = call_r("mb_confint", studies.yi, studies.vi, method.name, level)
        table = pd.DataFrame(
            {"estimate": out["estimate_ci"], "ci_low": out["ci_lb_ci"], "ci_high": out["ci_ub_ci"]},
            index=["tau2", "tau", "i2", "h2"],
        )
        return HeterogeneityCI(table, method.name, self.name, level, "confint() (Q-profile)")

    def egger(self, studies: StudySet, variant: EggerVariant) -> EggerTest:
        model = "lm" if variant == "classic" else "rma"
        out = call_r("mb_regtest", studies.yi, studies.vi, model)
        return EggerTest(
            variant, out["bias"], out["bias_se"], out["statistic"],
            _na(out["df"]), out["p"], self.name, f"regtest(model = \"{model}\")",
        )

    def begg(self, studies: StudySet) -> BeggTest:
        out = call_r("mb_ranktest", studies.yi, studies.vi)
        return BeggTest(out["tau"], out["p"], self.name, "ranktest()")


def _na(value: Any) -> float:
    return float("nan") if value is None else float(value)
