"""Analysis verbs beyond one pooled estimate, dispatched to an engine.

Each verb runs natively where the engine has it (metafor: leave1out-style fits,
subgroup models, regtest, ranktest) and is otherwise assembled from the engine's
own pooling calls; the result's ``how`` says which.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pandas as pd

from ..backends import REGISTRY, Backend, get_backend, require_backend
from ..conversions import check_level
from ..diagnostics import EGGER_PREDICTORS, SAMPLE_SIZE_PREDICTORS
from ..errors import (
    InsufficientStudiesError,
    InvalidArgumentError,
    NotEstimableError,
    UnsupportedMethodError,
)
from ..facade import DEFAULT_BACKEND, DEFAULT_METHOD, check_studyset, resolve, unresolved_spread
from ..methods import canonical_method
from ..result import PoolResult
from ..studies import StudySet
from ..studies.checks import require, vector
from .sensitivity import cumulative, influence, trim_and_fill
from .types import (
    BeggTest,
    Cumulative,
    EggerPredictor,
    EggerTest,
    EggerVariant,
    HeterogeneityCI,
    Influence,
    LeaveOneOut,
    SubgroupAnalysis,
    Tau2Rule,
    TrimAndFill,
)


def leave_one_out(
    studies: StudySet,
    method: str = DEFAULT_METHOD,
    backend: str = DEFAULT_BACKEND,
    level: float = 0.95,
) -> LeaveOneOut:
    """Refit without each study in turn: one PoolResult per omitted study."""
    engine, chosen, level, _ = resolve(studies, method, backend, level)
    needed = 3 if chosen.random_effects else 2
    if studies.k < needed:
        raise InsufficientStudiesError(
            f"leave-one-out with {chosen.name} needs k >= {needed} (each fit keeps k - 1 "
            f"studies), got k = {studies.k}"
        )
    return engine.leave_one_out(studies, chosen, level)


def exclude(
    studies: StudySet,
    labels: str | Iterable[str],
    method: str = DEFAULT_METHOD,
    backend: str = DEFAULT_BACKEND,
    level: float = 0.95,
) -> PoolResult:
    """Sensitivity analysis: pool without the named studies (one label or several)."""
    names = list(labels) if pd.api.types.is_list_like(labels) and not isinstance(
        labels, dict) else [labels]
    if not names:
        raise InvalidArgumentError("exclude needs at least one study label")
    kept = check_studyset(studies).drop(*names)
    engine, chosen, level, _ = resolve(kept, method, backend, level)
    return engine.pool(kept, chosen, level)


def subgroups(
    studies: StudySet,
    by: str,
    method: str = DEFAULT_METHOD,
    backend: str = DEFAULT_BACKEND,
    tau2: Tau2Rule = "separate",
    level: float = 0.95,
) -> SubgroupAnalysis:
    """Pooled result per subgroup of column ``by`` and the test for subgroup differences.

    ``tau2="separate"`` (RevMan 5 / R meta, the paper's convention): each subgroup
    its own tau^2, Q-between on the subgroup estimates.  ``tau2="common"``: one
    tau^2 (metafor's mixed-effects moderator test).
    """
    if tau2 not in ("separate", "common"):
        raise InvalidArgumentError(f"tau2 must be 'separate' or 'common', got {tau2!r}")
    engine, chosen, level, _ = resolve(studies, method, backend, level)
    groups = studies.groupby(by)
    if len(groups) < 2:
        raise InsufficientStudiesError(
            f"column {by!r} has one value ({next(iter(groups))!r}); subgroups need at least two"
        )
    if tau2 == "common" and chosen.needs is not None:
        raise InvalidArgumentError(
            f"a common tau^2 is a mixed-effects model of effect sizes; {chosen.name} pools "
            "2x2 tables per subgroup: use tau2='separate' (RevMan's test for subgroup "
            "differences)"
        )
    native = f"subgroups_{tau2}" in engine.features
    if tau2 == "common" and not native and chosen.name not in ("FE", "DL"):
        raise UnsupportedMethodError(
            f"subgroups with a common tau^2 and {chosen.name}", engine.name,
            _with_feature("subgroups_common"),
        )
    return engine.subgroups(studies, by, chosen, level, tau2)


def egger(
    studies: StudySet,
    backend: str = "statsmodels",
    variant: EggerVariant = "classic",
    predictor: EggerPredictor = "sei",
    n: str = "n",
) -> EggerTest:
    """Regression test for funnel-plot asymmetry.

    ``classic``: Egger et al. 1997, OLS of y/se on 1/se, t-test of the intercept
    (metafor ``regtest(model="lm")``, PythonMeta ``Eggers_test``).
    ``metafor-rma``: metafor's default ``regtest()`` (meta-regression on se, z test).
    ``predictor`` (metafor's ``regtest(predictor=)``): "sei" (Egger's), "vi", or,
    when the sample sizes are known (covariate column ``n``), "ni", "ninv" (1/n;
    Peters et al. 2006, JAMA 295:676) or "sqrtninv" (1/sqrt(n)).
    """
    if variant not in ("classic", "metafor-rma"):
        raise InvalidArgumentError(f"variant must be 'classic' or 'metafor-rma', got {variant!r}")
    if predictor not in EGGER_PREDICTORS:
        raise InvalidArgumentError(
            f"predictor must be one of {', '.join(EGGER_PREDICTORS)}, got {predictor!r}")
    if check_studyset(studies).k < 3:
        raise InsufficientStudiesError(f"Egger's test needs k >= 3 studies, got {studies.k}")
    engine = _engine_with(backend, f"egger_{variant}", f"Egger test ({variant})")
    if predictor != "sei" and "egger_sample_size" not in engine.features:
        raise UnsupportedMethodError(f"Egger test with predictor {predictor!r}", engine.name,
                                     _with_feature("egger_sample_size"))
    sizes = _sample_sizes(studies, n) if predictor in SAMPLE_SIZE_PREDICTORS else None
    _check_egger(studies, variant, predictor, EGGER_PREDICTORS[predictor](studies.vi, sizes))
    if predictor != "sei":
        return engine.egger(studies, variant, predictor=predictor, ni=sizes)
    scaled, exponent = _unit_scaled(studies)
    result = engine.egger(scaled, variant)
    if exponent == 0:
        return result
    return replace(result, how=f"{result.how}; effects and SEs scaled by 2^{-exponent} first "
                   "(exact: the test is scale-invariant; OLS engines drop 1/SE as collinear "
                   "with the intercept at extreme scales)")


def begg(studies: StudySet, backend: str = "metafor") -> BeggTest:
    """Begg & Mazumdar (1994) rank correlation test (metafor ``ranktest``)."""
    if check_studyset(studies).k < 3:
        raise InsufficientStudiesError(f"Begg's test needs k >= 3 studies, got {studies.k}")
    if unresolved_spread(studies.sei):
        raise NotEstimableError(
            f"Begg's test: every study has the same SE ({float(studies.sei[0]):.6g}), so the "
            "variances are all tied and Kendall's tau between effect and variance is undefined"
        )
    if unresolved_spread(studies.yi):
        raise NotEstimableError(
            f"Begg's test: every study has the same estimate ({float(studies.yi[0]):.6g}), so "
            "the standardised effects are all 0 (ties) and their ranks are rounding noise"
        )
    return _engine_with(backend, "begg", "Begg rank test").begg(studies)


def heterogeneity_ci(
    studies: StudySet,
    method: str = DEFAULT_METHOD,
    backend: str = DEFAULT_BACKEND,
    level: float = 0.95,
) -> HeterogeneityCI:
    """tau^2, tau, I^2, H^2 with Q-profile CIs (Viechtbauer 2007).

    metafor computes them natively (``confint()``); for other engines metabridge
    computes the Q-profile bounds itself with scipy around the engine's tau^2,
    and says so in ``how``.  The bounds do not depend on the tau^2 estimator, so an
    engine without ``method`` (statsmodels has no REML) still gives them, with no
    point estimate (NaN) rather than another estimator's: ``how`` says so.
    """
    chosen = canonical_method(method)
    if not chosen.random_effects or chosen.needs is not None:
        raise InvalidArgumentError(
            "heterogeneity CIs (Q-profile) need an inverse-variance random-effects method, "
            f"not {chosen.name}")
    engine = require_backend(backend)
    if chosen.name not in engine.methods:
        from ..backends.engine_base import q_profile_only

        resolve(studies, "DL" if "DL" in engine.methods else next(iter(engine.methods)),
                backend, level)  # the data and the level are checked all the same
        return q_profile_only(studies, chosen, check_level(level), engine.name)
    engine, chosen, level, _ = resolve(studies, method, backend, level)
    return engine.heterogeneity_ci(studies, chosen, level)


def _sample_sizes(studies: StudySet, column: str) -> np.ndarray:
    """The covariate ``column`` as sample sizes (> 0), or an error naming it."""
    if column not in studies.covariates.columns:
        raise InvalidArgumentError(
            f"predictor needs the sample sizes: no column {column!r} (pass n='<column>'); "
            f"columns are {list(studies.covariates.columns)}")
    values = studies.covariates[column]
    require(values.isna().to_numpy(), studies.labels, column,
            lambda i: "sample size is missing; this predictor needs one for every study")
    sizes = vector(values.to_numpy(dtype=object), column, studies.labels)
    require(sizes <= 0, studies.labels, column,
            lambda i: f"a sample size must be > 0, got {float(sizes[i])}")
    return sizes


#: Egger's predictor must vary by more than sqrt(eps) ~ 1.5e-8 of its size: the
#: intercept's rounding error grows as eps / (relative spread), so at least half the
#: digits of double precision are left.
EGGER_MIN_SPREAD = 2.0**-26
#: A residual below 2^8 eps of the response's size is rounding, not data.
RESIDUAL_ROUNDING = 2.0**8 * float(np.finfo(float).eps)
#: SEs whose median lies beyond 2^+-8 are scaled to about 1 before an Egger test.
EGGER_SCALE_RANGE = 8


def _check_egger(
    studies: StudySet, variant: EggerVariant, predictor: str, x: np.ndarray
) -> None:
    """Refuse an Egger test the data cannot identify (every engine, before any fit):
    a predictor ``x`` that does not vary is collinear with the intercept; in the
    classic test (weighted least squares of y on 1 and x, weights 1/v, with the
    residual variance as scale) an exact fit leaves no residual variance."""
    if np.ptp(x) <= EGGER_MIN_SPREAD * np.max(np.abs(x)):
        what = "SE" if predictor in ("sei", "vi") else "sample size"
        shown = float(studies.sei[0]) if what == "SE" else float(np.ravel(x)[0])
        raise NotEstimableError(
            f"Egger's test: every study has the same {what} ({shown:.6g}, to within "
            f"{EGGER_MIN_SPREAD:.2g} of its size), so the predictor ({predictor}) is collinear "
            "with the intercept and Egger's intercept cannot be estimated"
        )
    if variant != "classic":
        return
    root_w = 1.0 / studies.sei
    z = studies.yi * root_w
    design = np.column_stack([root_w, x * root_w / np.max(np.abs(x))])
    beta = np.linalg.lstsq(design, z, rcond=None)[0]
    residual = float(np.linalg.norm(z - design @ beta))
    if residual <= RESIDUAL_ROUNDING * float(np.linalg.norm(z)):
        same = unresolved_spread(studies.yi)
        raise NotEstimableError(
            "Egger's test: "
            + (f"every study has the same estimate ({float(studies.yi[0]):.6g}), so " if same
               else "")
            + f"the weighted regression of y on {predictor} passes through every study "
            "(residual variance 0 to within rounding): the SE of Egger's coefficient is 0 and "
            "its t statistic is undefined"
        )


def _unit_scaled(studies: StudySet) -> tuple[StudySet, int]:
    """``studies`` with effects and SEs divided by 2^e (exact), e the power of two nearest
    the median SE, when e is beyond +-EGGER_SCALE_RANGE; else ``studies`` and 0.

    Egger's test (classic and metafor-rma, predictor SE) is scale-invariant, but
    statsmodels' and PythonMeta's OLS treat 1/SE ~ 1e15 as collinear with the intercept
    and return an intercept of 0 (P 0.07 where the exact answer is 0.15)."""
    exponent = int(np.round(np.log2(np.median(studies.sei))))
    if abs(exponent) <= EGGER_SCALE_RANGE:
        return studies, 0
    factor = 2.0 ** -exponent
    return StudySet.from_effects(studies.yi * factor, vi=studies.vi * factor * factor,
                                 labels=list(studies.labels), measure=studies.measure), exponent


def _with_feature(feature: str) -> tuple[str, ...]:
    return tuple(name for name in REGISTRY if feature in get_backend(name).features)


def _engine_with(backend: str, feature: str, what: str) -> Backend:
    engine = require_backend(backend)
    if feature not in engine.features:
        raise UnsupportedMethodError(what, engine.name, _with_feature(feature))
    return engine


__all__ = [
    "BeggTest",
    "Cumulative",
    "EggerTest",
    "HeterogeneityCI",
    "Influence",
    "LeaveOneOut",
    "SubgroupAnalysis",
    "TrimAndFill",
    "begg",
    "cumulative",
    "egger",
    "exclude",
    "heterogeneity_ci",
    "influence",
    "leave_one_out",
    "subgroups",
    "trim_and_fill",
]
