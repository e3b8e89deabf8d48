"""Sensitivity verbs a metafor user reaches for: ``cumulative``, ``influence``, ``trim_and_fill``.

Each runs natively where the engine has it (metafor: ``cumul()``, ``influence()``
with ``baujat()``, ``trimfill()``; pimeta: ``influence()``) and is otherwise
assembled from the engine's own pooling calls (:mod:`metabridge.backends.sensitivity`);
the result's ``how`` says which.  Defaults as :func:`metabridge.pool` (REML).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from ..errors import InsufficientStudiesError, InvalidArgumentError, UnsupportedMethodError
from ..facade import DEFAULT_BACKEND, DEFAULT_METHOD, check_studyset, resolve
from ..studies import StudySet
from .types import Cumulative, Influence, K0Estimator, Side, TrimAndFill

K0_ESTIMATORS = ("L0", "R0")
SIDES = ("left", "right")


def cumulative(
    studies: StudySet,
    method: str = DEFAULT_METHOD,
    backend: str = DEFAULT_BACKEND,
    level: float = 0.95,
    order: str | Iterable[str] | None = None,
) -> Cumulative:
    """Cumulative meta-analysis (metafor's ``cumul()``): the model refitted as each
    study is added.

    ``order``: None (the set's order), a covariate column (ascending; ties keep the
    set's order, as R's ``order()``; studies without a value go last), or the
    labels in the order to add them.  The first step is one study, fitted with
    tau^2 = 0 (as ``rma()`` fits k = 1).
    """
    check_studyset(studies)
    ordered, order_by = _in_order(studies, order)
    engine, chosen, level, _ = resolve(ordered, method, backend, level)
    if chosen.needs is not None:
        raise InvalidArgumentError(f"cumulative meta-analysis pools effect sizes; "
                                   f"{chosen.name} works on the raw tables")
    return replace(engine.cumulative(ordered, chosen, level), order_by=order_by)


def influence(
    studies: StudySet,
    method: str = DEFAULT_METHOD,
    backend: str = DEFAULT_BACKEND,
    level: float = 0.95,
) -> Influence:
    """Case diagnostics (metafor's ``influence()``): externally standardised
    residuals, DFFITS, Cook's distance, covariance ratio, leave-one-out tau^2 and Q,
    hat values, weights, DFBETAS, metafor's influential flag; and Baujat's
    coordinates (``.baujat()``, drawn by :func:`metabridge.plots.baujat`)."""
    engine, chosen, level, _ = resolve(studies, method, backend, level)
    _needs_effects(chosen.needs, "influence diagnostics")
    needed = 3 if chosen.random_effects else 2
    if studies.k < needed:
        raise InsufficientStudiesError(
            f"influence diagnostics with {chosen.name} need k >= {needed} (each refit keeps "
            f"k - 1 studies), got k = {studies.k}")
    return engine.influence(studies, chosen, level)


def trim_and_fill(
    studies: StudySet,
    method: str = DEFAULT_METHOD,
    backend: str = DEFAULT_BACKEND,
    level: float = 0.95,
    side: Side | None = None,
    estimator: K0Estimator = "L0",
) -> TrimAndFill:
    """Duval & Tweedie's trim and fill (metafor's ``trimfill()``).

    ``estimator``: "L0" (default) or "R0".  ``side``: where studies are missing;
    None lets it be chosen as metafor does (the sign of the slope of a
    meta-regression on sqrt(vi) with the model's estimator) -- natively on
    engines with the feature, from the engine's Egger regression for the
    fixed-effect model elsewhere; otherwise name it.
    """
    if estimator not in K0_ESTIMATORS:
        raise InvalidArgumentError(f"estimator must be 'L0' or 'R0', got {estimator!r}")
    if side is not None and side not in SIDES:
        raise InvalidArgumentError(f"side must be 'left', 'right' or None, got {side!r}")
    engine, chosen, level, _ = resolve(studies, method, backend, level)
    _needs_effects(chosen.needs, "trim and fill")
    if studies.k < 3:
        raise InsufficientStudiesError(f"trim and fill needs k >= 3 studies, got {studies.k}")
    if side is None and "trim_and_fill" not in engine.features and not (
            engine.can_choose_side(chosen)):
        from . import _with_feature

        raise UnsupportedMethodError(
            f"trim and fill choosing the side for {chosen.name} (metafor's rule: a "
            f"{chosen.name} meta-regression on sqrt(vi)); pass side='left' or 'right'",
            engine.name, sorted({*_with_feature("trim_and_fill"),
                                 *_with_feature("meta_regression")}))
    return engine.trim_and_fill(studies, chosen, level, side, estimator)


def _in_order(studies: StudySet, order: str | Iterable[str] | None) -> tuple[StudySet, str]:
    """The studies in the order to add them, and how that order was given."""
    if order is None:
        return studies, "the order of the studies"
    if isinstance(order, str):
        if order not in studies.covariates.columns:
            raise InvalidArgumentError(
                f"no column {order!r} to order by; columns are "
                f"{list(studies.covariates.columns)}")
        values = studies.covariates[order]
        positions = np.argsort(values.to_numpy(), kind="stable") if not values.isna().any() \
            else values.reset_index(drop=True).sort_values(kind="stable",
                                                           na_position="last").index
        return studies.subset([studies.labels[i] for i in positions]), f"column {order!r}"
    labels = list(order)
    if sorted(labels) != sorted(studies.labels):
        raise InvalidArgumentError(
            f"order must list every study once; got {len(labels)} labels for {studies.k} "
            "studies" + (f", unknown {sorted(set(labels) - set(studies.labels))}"
                         if set(labels) - set(studies.labels) else ""))
    return studies.subset(labels), "the labels given"


def _needs_effects(needs: str | None, what: str) -> None:
    if needs is not None:
        raise InvalidArgumentError(
            f"{what} work on effect sizes; this method pools the raw {needs}: name an "
            "inverse-variance method (FE, DL, REML, ...)")


__all__ = ["cumulative", "influence", "trim_and_fill"]
