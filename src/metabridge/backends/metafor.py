"""R metafor engine, through rpy2.

The R code lives in ``r/metabridge.R`` and is sourced once per process; its
wrappers return plain lists, converted here to Python numbers, so no R object
leaves this module.  R errors become :class:`EngineError` with R's message; R
warnings become :class:`EngineWarning` (or :class:`ConvergenceWarning`).
Set ``METABRIDGE_DISABLE_R=1`` to switch the engine off (e.g. in tests).
R is used through :mod:`.embedded_r`: from any thread (one lock), stopped by
Ctrl-C, leaving the environment of child processes as it was.  Before each
call the memory metafor's k x k matrices need is estimated and a call that would
not fit is refused (:func:`peak_bytes`).
Conventions applied: metafor.i2_from_tau2, metafor.tolerance, metafor.level,
metafor.large_k.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from .. import diagnostics
from .. import heterogeneity as het
from .. import mantel_haenszel as mh
from .._resources import r_script
from ..analyses.types import (
    BeggTest,
    Cumulative,
    EggerPredictor,
    EggerTest,
    EggerVariant,
    HeterogeneityCI,
    Influence,
    K0Estimator,
    LeaveOneOut,
    Side,
    SubgroupAnalysis,
    Tau2Rule,
    TrimAndFill,
)
from ..errors import (
    BackendUnavailableError,
    ConvergenceWarning,
    EngineError,
    EngineWarning,
    ResourceLimitError,
)
from ..methods import METHODS, Method
from ..result import PoolResult
from ..studies import StudySet
from . import REGISTRY, embedded_r, get_backend, supporting
from .base import BackendStatus, assemble
from .engine_base import EngineBase, _group_estimates, _single_study_notes, _untested_note
from .sensitivity import CUMULATIVE_COLUMNS, augmented, cumulative_result, trimfill_result

DISABLE_ENV = "METABRIDGE_DISABLE_R"
INSTALL_R = "apt-get install r-base-core r-cran-metafor r-cran-metadat"
INSTALL_RPY2 = "pip install 'metabridge[r]'  (rpy2>=3.5,<3.6; install R first)"
#: Estimators metafor fits iteratively (convention "metafor.tolerance").
ITERATIVE = frozenset({"ML", "REML", "EB", "PM", "PMM"})
#: The wrappers of r/metabridge.R this adapter calls.
R_FUNCTIONS = (
    "mb_rma", "mb_rma_tau2", "mb_leave1out", "mb_subgroups_separate", "mb_subgroups_common",
    "mb_regtest", "mb_ranktest", "mb_rma_batch", "mb_confint", "mb_rma_mh", "mb_rma_peto",
    "mb_escalc_counts", "mb_escalc_means", "mb_rma_dl_mh",
    "mb_cumul", "mb_influence", "mb_trimfill", "mb_regtest_on",
)
#: The columns of mb_influence(): metafor's influence() and baujat() numbers.
INFLUENCE_COLUMNS = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "q_del", "hat",
                     "weight", "dfbetas", "influential", "baujat_x", "baujat_y")
#: Fields of an R result list that are vectors even when of length 1.
_VECTOR_FIELDS = frozenset({"weights", "warnings", "estimates", "ses", "tau2s", "failures",
                            "estimate_ci", "ci_lb_ci", "ci_ub_ci", "groups", "fits",
                            "yi", "vi", "filled_yi", "filled_vi"})
#: Smallest confidence level metafor's ``level`` argument can express (convention
#: "metafor.level"); below it the wrapper computes the intervals itself.
METAFOR_MIN_LEVEL = 0.01

# Memory (convention "metafor.large_k").  rma() builds k x k weight and projection
# matrices; the peak resident memory of one fit, measured with
# validation/metafor_memory.py (R 4.2.2, metafor 3.8-1), in k x k double matrices
# (8 k^2 bytes): FE 5.7 and DL 8.6 at k = 3000 (413 and 620 MB); REML 12.4 and
# EB 12.4 at k = 2000, ML 11.6 at k = 1500 (up to 16.3 at k = 1000, where R's own
# working set still shows); the mixed-effects subgroup model (mods = ~ factor(group))
# 10.6 with DL and 23.9 with REML at k = 2000.  The estimate rounds these up.
#: Likelihood estimators (Fisher scoring on k x k matrices): the larger budget.
LIKELIHOOD = frozenset({"ML", "REML", "EB"})
#: k x k double matrices budgeted per model: (other estimators, LIKELIHOOD).
PEAK_MATRICES = {"rma": (10, 16), "mods": (12, 28)}
#: R's working set beyond the k x k matrices (bytes).
PEAK_FIXED_BYTES = 64 * 2**20
#: Share of the memory available now that one metafor call may take.
MEMORY_SHARE = 0.5


@dataclass(frozen=True)
class _Session:
    """The embedded R with metabridge.R sourced: its functions, lock and versions."""

    functions: dict[str, Any]
    lock: Any
    rlib: Any
    metafor_version: str
    r_version: str


_start_lock = threading.Lock()
_session_or_reason: _Session | str | None = None


def _start() -> _Session | str:
    """Start R and source metabridge.R; return the session or the reason it failed."""
    if os.environ.get(DISABLE_ENV, "").strip() not in ("", "0"):
        return f"disabled by {DISABLE_ENV}={os.environ[DISABLE_ENV]}"
    with embedded_r.preserved_environment(), embedded_r.preserved_sigint_handler():
        return _start_r(r_script())


def _start_r(script: Path) -> _Session | str:
    try:
        import rpy2.rinterface as ri
        from rpy2.rinterface_lib import openrlib

        with warnings.catch_warnings():
            # "R is not initialized by the main thread": its SIGINT handling is
            # replaced per call by embedded_r.interruptible, in the main thread.
            warnings.simplefilter("ignore", UserWarning)
            ri.initr_simple()
    except ImportError as exc:
        if "rpy2" in str(exc) and "No module" in str(exc):
            return f"rpy2 is not installed; {INSTALL_RPY2}"
        return _explain_rpy2_failure(exc)
    except Exception as exc:  # rpy2 raises various errors when R is missing or broken
        return _explain_rpy2_failure(exc)
    source = ri.baseenv["source"]
    _, error = embedded_r.call(source, [str(script)], openrlib.rlock, openrlib.rlib)
    if error is not None:
        if "metafor" in error:
            return f"the R package metafor is not installed ({INSTALL_R})"
        return f"sourcing r/metabridge.R failed: {error}"
    with openrlib.rlock:
        functions = {name: ri.globalenv.find(name) for name in (*R_FUNCTIONS, "mb_versions")}
    versions, _ = embedded_r.call(functions["mb_versions"], [], openrlib.rlock, openrlib.rlib)
    return _Session(functions, openrlib.rlock, openrlib.rlib, versions["metafor"],
                    versions["R"])


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
    with _start_lock:
        if _session_or_reason is None:
            _session_or_reason = _start()
    if isinstance(_session_or_reason, str):
        raise BackendUnavailableError("metafor", _session_or_reason)
    return _session_or_reason


def call_r(function: str, *args: Any) -> dict[str, Any]:
    """Call an ``mb_*`` wrapper; raise EngineError on an R error, warn on R warnings.

    An error of the call itself raises :class:`EngineError` with R's words (the
    errors of single fits inside a result, e.g. one leave-one-out refit, are left
    to the caller); R warnings anywhere in the result become :class:`EngineWarning`
    (or :class:`ConvergenceWarning`), pointing at the caller of the metabridge verb.
    """
    session = _session()
    result, error = embedded_r.call(session.functions[function], args, session.lock,
                                    session.rlib, _VECTOR_FIELDS)
    if error is None:
        error = result.get("error")
    for message in dict.fromkeys(_warnings_in(result)):
        category = ConvergenceWarning if "converge" in message.lower() else EngineWarning
        warnings.warn(f"metafor: {message}", category, stacklevel=4)
    if error:
        raise EngineError("metafor", error.strip())
    return result


def _warnings_in(result: Any) -> list[str]:
    """R warnings anywhere in a (nested) result."""
    if isinstance(result, list):
        return [m for item in result for m in _warnings_in(item)]
    if isinstance(result, dict):
        own = list(result.get("warnings") or [])
        return own + [m for k, v in result.items() if k != "warnings" for m in _warnings_in(v)]
    return []


def peak_bytes(k: int, estimator: str, model: str = "rma") -> int:
    """Estimated peak memory of one metafor fit on k studies: ``PEAK_MATRICES`` k x k
    double matrices plus ``PEAK_FIXED_BYTES`` (measured; see the constants)."""
    matrices = PEAK_MATRICES[model][estimator in LIKELIHOOD]
    return matrices * 8 * k * k + PEAK_FIXED_BYTES


def available_bytes() -> int | None:
    """Memory available to this process now: MemAvailable, capped by a cgroup (v2 or
    v1) limit; the free physical memory elsewhere; None if it cannot be read."""
    found = []
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                          "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit, encoding="ascii") as a, open(usage, encoding="ascii") as b:
                text = a.read().strip()
                if text != "max":
                    found.append(max(0, int(text) - int(b.read().strip())))
        except (OSError, ValueError):
            pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, AttributeError):
            return None
    return min(found)


def check_memory(
    k: int, estimator: str, *, what: str | None = None, feature: str | None = None,
    model: str = "rma",
) -> None:
    """Refuse a metafor call on k studies whose estimated peak memory exceeds
    MEMORY_SHARE of the memory available now: ResourceLimitError (an
    UnsupportedMethodError, so compare() lists it as skipped) naming the engines that
    offer the estimator (or the verb ``feature``) for that k."""
    need = peak_bytes(k, estimator, model)
    available = available_bytes()
    if available is None or need <= MEMORY_SHARE * available:
        return
    candidates = tuple(name for name in REGISTRY if feature in get_backend(name).features
                       ) if feature else supporting(estimator)
    others = [name for name in candidates
              if name != "metafor" and (get_backend(name).max_studies or math.inf) >= k]
    raise ResourceLimitError(
        f"{what or estimator} on k = {k} studies", "metafor",
        f"its rma() builds k x k matrices and would need about {need / 1e9:.1f} GB, more "
        f"than {MEMORY_SHARE:.0%} of the {available / 1e9:.1f} GB of memory available now",
        others,
    )


class MetaforBackend(EngineBase):
    """Adapter for R's metafor: rma(), regtest(), ranktest(), mixed-effects models."""

    name = "metafor"
    description = "R metafor rma() through rpy2"
    methods = frozenset({"FE", "DL", "HE", "HS", "HSk", "SJ", "ML", "REML", "EB", "PM", "PMM"})
    raw_methods = MappingProxyType({"MH": frozenset({"OR", "RR", "RD"}),
                                    "DL-MH": frozenset({"OR", "RR", "RD"}),
                                    "PETO": frozenset({"OR"})})
    table_zero_cells = MappingProxyType({
        "MH": "rma.mh: counts as they are, no correction; double-zero tables add nothing to "
              "the MH sums and are left out of Q (metafor.mh_tables)",
        "PETO": "rma.peto: counts as they are (O - E and V need no correction); double-zero "
                "tables have V = 0, no weight, and are left out of Q (metafor.peto_tables)",
        "DL-MH": "tau^2 from rma.mh's Q (escalc effects, 1/2 added to every cell of a "
                 "zero-cell table), then rma() on those effects; double-zero tables left out "
                 "of both (metafor.dl_mh)",
    })
    tests = frozenset({"z", "knha", "adhoc"})
    features = frozenset({
        "leave_one_out", "subgroups_separate", "subgroups_common",
        "egger_classic", "egger_metafor-rma", "begg", "heterogeneity_ci",
        "cumulative", "influence", "trim_and_fill", "egger_sample_size",
    })
    max_studies = None
    tolerance_convention = "metafor.tolerance"

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
        test: str = "z", effects: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> PoolResult:
        """PoolResult from the numbers of one mb_fit_numbers() list."""
        df = studies.k - 1
        conventions = ["metafor.tolerance"] if method.name in ITERATIVE else []
        extra: dict[str, Any] = {}
        if method.random_effects:
            conventions.append("metafor.i2_from_tau2")
            extra["i2_q"] = het.i2_from_q(out["q"], df)
            extra["h2_q"] = het.h2_from_q(out["q"], df)
        here = ("ci_low", "ci_high", "pi_low", "pi_high") if out["intervals_here"] else ()
        if here:
            conventions.append("metafor.level")
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
            converged=bool(out["converged"]), computed_here=here, conventions=conventions,
            extra=extra,
            study_effects=effects, fit_stats=_fit_stats(out.get("fit_stats")),
        )

    def fit(
        self, studies: StudySet, method: Method, level: float, test: str = "z"
    ) -> PoolResult:
        if method.needs is not None:
            return self._pool_tables(studies, method, level)
        check_memory(studies.k, method.name)
        yi, vi = _effect_sizes(studies)
        out = call_r("mb_rma", yi, vi, method.name, level, test)
        return self._result(studies, method, level, out, test, (yi, vi))

    def _pool_tables(self, studies: StudySet, method: Method, level: float) -> PoolResult:
        """rma.mh() / rma.peto() on the 2x2 tables (r/metabridge.R)."""
        cells = studies.counts.cells()
        if method.name == "PETO":
            out = call_r("mb_rma_peto", *cells, level)
        elif method.name == "DL-MH":  # rma() with the MH-based tau^2: k x k matrices
            check_memory(studies.k, method.name)
            out = call_r("mb_rma_dl_mh", *cells, studies.measure, level)
        else:
            out = call_r("mb_rma_mh", *cells, studies.measure, level)
        df = int(out["k_yi"]) - 1
        fixed = method.name != "DL-MH"
        if fixed:  # rma.mh / rma.peto pool the counts as they are (Sato's RD variance)
            mh.check_tables(self.name, method.name, studies.measure, cells, out["estimate"],
                            out["se"] ** 2)
        else:  # DL-MH: its Q's centre is rma.mh's estimate
            mh.check_tables(self.name, "MH", studies.measure, cells, out["mh_estimate"], None)
        return assemble(
            studies, method, level,
            backend=self.name, engine_version=_session().metafor_version,
            estimate=out["estimate"], se=out["se"], ci=(out["ci_lb"], out["ci_ub"]),
            tau2=0.0 if fixed else out["tau2"], q=out["q"], weights=out["weights"],
            z=out["zval"], p=out["pval"],
            i2=_na(out["i2"]) if df > 0 else float("nan"),
            h2=_na(out["h2"]) if df > 0 else float("nan"),
            q_p=_na(out["q_p"]) if df > 0 else float("nan"),
            study_effects=(out["yi"], out["vi"]), q_df=df,
            q_centre=None if fixed else out["mh_estimate"],
            computed_here=(("ci_low", "ci_high") if out["intervals_here"] else ())
            + (() if fixed else ("tau2",)),
            conventions=["metafor.mh_tables" if method.name == "DL-MH"
                         else f"metafor.{method.name.lower()}_tables",
                         *([] if fixed else ["metafor.dl_mh"])],
        )

    def fit_at_tau2(
        self, studies: StudySet, method: Method, tau2: float, level: float, test: str = "z"
    ) -> PoolResult | None:
        """rma(yi, vi, tau2 = tau2): metafor's pooling at a given tau^2."""
        if method.needs is not None:
            return None
        yi, vi = _effect_sizes(studies)
        out = call_r("mb_rma_tau2", yi, vi, tau2, level, test)
        return self._result(studies, method, level, out, test, (yi, vi))

    def leave_one_out(self, studies: StudySet, method: Method, level: float) -> LeaveOneOut:
        """k refits in one R call; a refit that fails is recorded in ``failures``."""
        if method.needs is not None:  # MH, Peto: one rma.mh / rma.peto per omission
            return super().leave_one_out(studies, method, level)
        full = self.pool(studies, method, level)
        out = call_r("mb_leave1out", studies.yi, studies.vi, method.name, level)
        fits = dict(zip(studies.labels, out["fits"], strict=True))
        results, failures = [], []
        for label, fit in fits.items():
            kept = studies.drop(label)
            try:
                if fit.get("error"):
                    raise EngineError(self.name, fit["error"].strip())
                results.append((label, self.checked(kept, method, level,
                                                    self._result(kept, method, level, fit))))
            except EngineError as exc:
                failures.append((label, str(exc)))
        return LeaveOneOut(
            full, tuple(r for _, r in results), tuple(label for label, _ in results),
            f"{studies.k} rma() fits in one R call", failures=tuple(failures),
        )

    def subgroups(
        self, studies: StudySet, by: str, method: Method, level: float, tau2: Tau2Rule
    ) -> SubgroupAnalysis:
        """One R call; group names travel as data (never as R list names).  A subgroup
        whose fit fails is recorded in ``failures`` and the others are kept."""
        if method.needs is not None:  # MH, Peto: one rma.mh / rma.peto per subgroup
            return super().subgroups(studies, by, method, level, tau2)
        parts = {str(g): s for g, s in studies.groupby(by).items()}
        labels = [str(v) for v in studies.covariates[by]]
        if tau2 == "common":
            check_memory(studies.k, method.name, model="mods",
                         what=f"subgroups ({method.name}, common tau^2)")
            out = call_r("mb_subgroups_common", studies.yi, studies.vi, labels, method.name,
                         level)
            return SubgroupAnalysis(
                by, "common", method.name, self.name, {}, out["qm"], int(out["qm_df"]),
                out["qm_p"], how="rma(mods = ~ factor(group)): omnibus QM test",
                tau2_common=out["tau2"],
            )
        check_memory(max(s.k for s in parts.values()), method.name,
                     what=f"subgroups ({method.name})")
        out = call_r("mb_subgroups_separate", studies.yi, studies.vi, labels, method.name,
                     level)
        fits = dict(zip(out["groups"], out["fits"], strict=True))
        if list(fits) != list(parts):  # the order of first appearance, on both sides
            raise EngineError(self.name, f"subgroups came back as {list(fits)}, not {list(parts)}")
        groups, failed, repaired = {}, [], False
        for g, fit in fits.items():
            chosen = method if parts[g].k > 1 else METHODS["FE"]
            try:
                if fit.get("error"):
                    raise EngineError(self.name, fit["error"].strip())
                raw = self._result(parts[g], chosen, level, fit)
                groups[g] = self.checked(parts[g], chosen, level, raw)
            except EngineError as exc:
                failed.append((g, str(exc)))
                continue
            repaired |= groups[g] is not raw
        failures = tuple(failed)
        how = "rma() per subgroup + rma(method = 'FE') on the subgroup estimates, one R call"
        test = out["between"]
        if repaired:  # Q-between from the checked subgroup estimates, not R's own
            between = self.pool(_group_estimates(groups), METHODS["FE"], level)
            test = {"q": between.q, "df": between.q_df, "q_p": between.q_p}
            how += "; Q-between recomputed from the repaired subgroup estimates"
        return SubgroupAnalysis(
            by, "separate", method.name, self.name, groups, _na(test["q"]), int(test["df"]),
            _na(test["q_p"]), how=how,
            notes=_single_study_notes(groups, method) + _untested_note(failures),
            failures=failures,
        )

    def fit_batch(
        self, yi: np.ndarray, vi: np.ndarray, method: Method, level: float, test: str = "z"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All replicates in ONE R call (the loop runs inside R, r/metabridge.R).

        A replicate that cannot be fitted, or holds a missing or infinite value (rma()
        would pool it on fewer studies), gives NaN and is named in an EngineWarning.
        """
        reps, k = yi.shape
        check_memory(k, method.name)
        out = call_r("mb_rma_batch", np.ravel(yi), np.ravel(vi), k, method.name, level, test)
        if out["failures"]:
            shown = "; ".join(out["failures"][:3])
            warnings.warn(f"metafor: {len(out['failures'])} of {reps} replicates failed: {shown}",
                          EngineWarning, stacklevel=2)
        estimate, se, tau2 = (np.asarray(out[name], dtype=float)
                              for name in ("estimates", "ses", "tau2s"))
        return estimate, se, tau2

    def heterogeneity_ci(self, studies: StudySet, method: Method, level: float) -> HeterogeneityCI:
        """metafor's confint() (Q-profile); for a level below METAFOR_MIN_LEVEL, which
        metafor cannot express, metabridge's own Q-profile bounds (EngineBase)."""
        if level < METAFOR_MIN_LEVEL:
            return super().heterogeneity_ci(studies, method, level)
        check_memory(studies.k, method.name, what=f"heterogeneity CIs ({method.name})")
        out = call_r("mb_confint", studies.yi, studies.vi, method.name, level)
        table = pd.DataFrame(
            {"estimate": out["estimate_ci"], "ci_low": out["ci_lb_ci"], "ci_high": out["ci_ub_ci"]},
            index=["tau2", "tau", "i2", "h2"],
        )
        return HeterogeneityCI(table, method.name, self.name, level, "confint() (Q-profile)")

    def egger(self, studies: StudySet, variant: EggerVariant, predictor: EggerPredictor = "sei",
              ni: np.ndarray | None = None) -> EggerTest:
        model = "lm" if variant == "classic" else "rma"
        check_memory(studies.k, "REML", what=f"Egger test ({variant})",  # fits REML first
                     feature=f"egger_{variant}")
        if predictor == "sei":
            out = call_r("mb_regtest", studies.yi, studies.vi, model)
        else:
            sizes = np.full(studies.k, np.nan) if ni is None else np.asarray(ni, dtype=float)
            out = call_r("mb_regtest_on", studies.yi, studies.vi, sizes, model, predictor)
        on = "" if predictor == "sei" else f", predictor = \"{predictor}\""
        return EggerTest(
            variant, out["bias"], out["bias_se"], out["statistic"],
            _na(out["df"]), out["p"], self.name, f"regtest(model = \"{model}\"{on})",
            predictor,
        )

    def cumulative(self, studies: StudySet, method: Method, level: float) -> Cumulative:
        check_memory(studies.k, method.name, what="cumulative meta-analysis",
                     feature="cumulative")
        out = call_r("mb_cumul", studies.yi, studies.vi, method.name, level)
        if not method.random_effects:  # cumul() leaves out the FE model's tau^2, which is 0
            out["tau2"] = [0.0] * studies.k
        rows = [dict(zip(CUMULATIVE_COLUMNS, values, strict=True))
                for values in zip(*(out[c] for c in CUMULATIVE_COLUMNS), strict=True)]
        return cumulative_result(studies, rows, method, level, self.name, "cumul(), one R call")

    def influence(self, studies: StudySet, method: Method, level: float) -> Influence:
        check_memory(studies.k, method.name, what="influence diagnostics", feature="influence")
        out = call_r("mb_influence", studies.yi, studies.vi, method.name, level)
        table = pd.DataFrame({c: out[c] for c in INFLUENCE_COLUMNS},
                             index=pd.Index(studies.labels, name="study"))
        table["influential"] = table["influential"].astype(bool)
        return Influence(table, method.name, self.name, "influence() and baujat(), one R call")

    def trim_and_fill(
        self, studies: StudySet, method: Method, level: float, side: Side | None,
        estimator: K0Estimator,
    ) -> TrimAndFill:
        check_memory(studies.k, method.name, what="trim and fill", feature="trim_and_fill")
        out = call_r("mb_trimfill", studies.yi, studies.vi, method.name, level, side or "",
                     estimator)
        original = self.pool(studies, method, level)
        missing = diagnostics.MissingStudies(int(out["k0"]), _na(out["se_k0"]), _na(out["p_k0"]))
        filled_yi = np.asarray(out["filled_yi"], dtype=float)
        filled_vi = np.asarray(out["filled_vi"], dtype=float)
        how = "trimfill(), one R call" + ("" if side else "; side chosen by metafor")
        labels = pd.DataFrame({"study": [f"Filled {i + 1}" for i in range(len(filled_yi))],
                               "yi": filled_yi, "vi": filled_vi})
        result = original if not len(filled_yi) else self._result(
            augmented(studies, labels), method, level, out)
        return trimfill_result(self, studies, method, level, original, out["side"], estimator,
                               missing, filled_yi, filled_vi, how, result)

    def begg(self, studies: StudySet) -> BeggTest:
        check_memory(studies.k, "REML", what="Begg rank test", feature="begg")
        out = call_r("mb_ranktest", studies.yi, studies.vi)
        return BeggTest(out["tau"], out["p"], self.name, "ranktest()")


def _effect_sizes(studies: StudySet) -> tuple[np.ndarray, np.ndarray]:
    """escalc() (its defaults) on the raw data if the set has them, else the set's yi, vi."""
    if studies.counts is not None:
        out = call_r("mb_escalc_counts", *studies.counts.cells(), studies.measure)
    elif studies.means is not None:
        out = call_r("mb_escalc_means", *studies.means, studies.measure)
    else:
        return studies.yi, studies.vi
    return np.asarray(out["yi"], dtype=float), np.asarray(out["vi"], dtype=float)


def _fit_stats(stats: dict[str, Any] | None) -> dict[str, Any]:
    """mb_fit_stats() as Python values: numbers (NA -> NaN) and the likelihood's name."""
    if not stats:
        return {}
    return {key: value if key == "likelihood" else _na(value) for key, value in stats.items()}


def _na(value: Any) -> float:
    return float("nan") if value is None else float(value)
