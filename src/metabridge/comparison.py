"""The result of :func:`metabridge.compare`: many engines and methods side by side.

A gap between two engines is *explained* only when it is checked
(:func:`explain`): both results must follow from the data under their own
conventions (the sanity layer's :func:`~metabridge.backends.sanity.verify`, run
again here), and the conventions named as the cause must be exactly those whose
recipes for the statistic differ between the two engines, or whose stopping-rule
tolerance covers the gap in tau^2.  Anything else is UNEXPLAINED, and
``differences()`` warns.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from .arguments import finite_number
from .backends.sanity import RTOL, pooled_effects, tau2_tolerance_abs, verify
from .conventions import convention, recipe_for, recipe_keys, tau2_tolerance
from .errors import InvalidArgumentError, UnexplainedDifferenceWarning
from .formatting import p_columns_as_text
from .htmltables import block_html, table_html
from .methods import METHODS
from .recipes import REPORTED
from .result import STAT_FIELDS, PoolResult
from .studies import StudySet

#: Quantities compared across engines (q_df and k are the same by construction).
COMPARED = tuple(f for f in STAT_FIELDS if f != "q_df")
#: Two numbers "agree" when |a - b| <= TOLERANCE * max(1, |a|, |b|).
TOLERANCE = 1e-8


@dataclass(frozen=True, repr=False)
class Comparison:
    """Every (backend, method) result, plus the pairs that could not run and why.

    ``skipped``: (backend, "method/test", reason) the engine does not offer;
    ``failed``: (backend, "method/test", error) the engine offers but failed on
    these data (e.g. an estimator that did not converge) -- every other result is kept.
    """

    results: tuple[PoolResult, ...]
    skipped: tuple[tuple[str, str, str], ...] = ()
    harmonised: bool = False
    failed: tuple[tuple[str, str, str], ...] = ()
    #: The data every result pooled (needed to check explanations).
    studies: StudySet | None = None

    @property
    def table(self) -> pd.DataFrame:
        """Tidy table: one row per (backend, method, test), one column per statistic;
        a failed fit is a row of NaN statistics with the engine's error in ``error``."""
        rows = [
            {"backend": r.backend, "method": r.method, "test": r.test, "k": r.k}
            | {f: getattr(r, f) for f in STAT_FIELDS}
            | {"converged": r.converged, "derived": ", ".join(sorted(r.derived)), "error": ""}
            for r in self.results
        ]
        k = self.results[0].k if self.results else np.nan
        for backend, method_test, error in self.failed:
            method, test = method_test.split("/")
            rows.append({"backend": backend, "method": method, "test": test, "k": k}
                        | dict.fromkeys(STAT_FIELDS, np.nan)
                        | {"converged": False, "derived": "", "error": error})
        return pd.DataFrame(rows)

    def pivot(self, quantity: str = "estimate") -> pd.DataFrame:
        """(method, test) x backend table of one statistic."""
        if quantity not in STAT_FIELDS:
            raise InvalidArgumentError(
                f"quantity must be one of {', '.join(STAT_FIELDS)}, got {quantity!r}")
        return self.table.pivot(index=["method", "test"], columns="backend", values=quantity)

    def differences(self, tolerance: float = TOLERANCE) -> pd.DataFrame:
        """Per method and statistic: the largest gap between engines and its checked cause.

        ``agree`` is True when every pair of engines is within ``tolerance``
        (relative to max(1, |value|)).  Otherwise ``explained_by`` names the
        conventions that cause the gap, after :func:`explain` has checked that they
        do (``check`` says how), or starts with "UNEXPLAINED" and says why; an
        :class:`UnexplainedDifferenceWarning` is then issued.
        """
        tolerance = finite_number(tolerance, "tolerance", minimum=0.0)
        rows = []
        by_method: dict[tuple[str, str], list[PoolResult]] = {}
        for r in self.results:
            by_method.setdefault((r.method, r.test), []).append(r)
        for (method, test), group in by_method.items():
            if len(group) < 2:
                continue
            for quantity in COMPARED:
                gap, pair = _largest_gap(group, quantity)
                scale = max(1.0, *(abs(getattr(r, quantity)) for r in pair)) if pair else 1.0
                agree = bool(np.isnan(gap) or gap <= tolerance * scale)
                causes, check = ("", "") if agree else explain(pair, quantity, self.studies,
                                                                   tolerance)
                rows.append({
                    "method": method, "test": test, "quantity": quantity,
                    "max_abs_diff": gap, "between": " vs ".join(r.backend for r in pair),
                    "agree": agree, "explained_by": causes, "check": check,
                })
        table = pd.DataFrame(rows)
        if not table.empty:
            bad = table[table["explained_by"].str.startswith("UNEXPLAINED")]
            if not bad.empty:
                what = "; ".join(f"{r.method}/{r.test} {r.quantity} ({r.between}): {r.check}"
                                 for r in bad.itertuples())
                warnings.warn(f"engines differ without a checked explanation: {what}",
                              UnexplainedDifferenceWarning, stacklevel=2)
        return table

    def discrepancies(self, tolerance: float = TOLERANCE) -> pd.DataFrame:
        """Only the statistics where engines differ beyond ``tolerance``, with causes."""
        diffs = self.differences(tolerance)
        return diffs[~diffs["agree"]].reset_index(drop=True) if not diffs.empty else diffs

    def __str__(self) -> str:
        shown = p_columns_as_text(self.table.drop(columns=["derived", "error"]))
        text = [shown.to_string(index=False, float_format=lambda x: f"{x:.6g}")]
        diffs = self.differences()
        if not diffs.empty:
            worst = diffs[~diffs["agree"]]
            text.append("")
            if worst.empty:
                text.append(f"All engines agree within {TOLERANCE:g} on every statistic.")
            else:
                text.append("Statistics where engines differ:")
                text.append(worst.to_string(index=False))
        return "\n".join(text + self._notes())

    def _notes(self) -> list[str]:
        return ([f"skipped {b}/{m}: {reason}" for b, m, reason in self.skipped]
                + [f"FAILED {b}/{m}: {error}" for b, m, error in self.failed])

    def __repr__(self) -> str:
        engines = list(dict.fromkeys(r.backend for r in self.results))
        methods = list(dict.fromkeys(r.method for r in self.results))
        tests = list(dict.fromkeys(r.test for r in self.results))
        worst = self.discrepancies()
        unexplained = int((worst["explained_by"] == "UNEXPLAINED").sum()) if len(worst) else 0
        return (f"Comparison({len(self.results)} results: {', '.join(engines)} x "
                f"{', '.join(methods)} x {', '.join(tests)}{' (harmonised)' * self.harmonised}; "
                f"{len(worst)} statistics differ beyond {TOLERANCE:g}, {unexplained} unexplained; "
                f"{len(self.skipped)} skipped, {len(self.failed)} failed)")

    def _repr_html_(self) -> str:
        parts = [("", table_html(self.table.drop(columns=["derived", "error"]),
                                 digits=6))]
        worst = self.discrepancies()
        if len(worst):
            parts.append((f"Statistics where engines differ beyond {TOLERANCE:g}",
                          table_html(worst, digits=6)))
        title = f"Comparison of {len(self.results)} results"
        return block_html(title, parts, self._notes())


def _largest_gap(
    group: list[PoolResult], quantity: str
) -> tuple[float, tuple[PoolResult, ...]]:
    best, pair = float("nan"), ()
    for a, b in combinations(group, 2):
        gap = abs(getattr(a, quantity) - getattr(b, quantity))
        if np.isnan(gap):
            continue
        if np.isnan(best) or gap > best:
            best, pair = gap, (a, b)
    return best, pair


def explain(
    pair: tuple[PoolResult, ...], quantity: str, studies: StudySet | None,
    tolerance: float = TOLERANCE,
) -> tuple[str, str]:
    """(conventions that cause the gap in ``quantity``, how that was checked), or
    ("UNEXPLAINED", why).

    1. Each result must pass the sanity checks again on the data: its core numbers
       (Q, tau^2, estimate, SE, weights) follow from the effect sizes it pooled, and
       each reported statistic from the core numbers by its conventions' recipes.
    2. If the engines pooled different effect sizes (a convention of the data:
       continuity corrections, an SMD or RD variance, ...), the cause is the data
       conventions the results list, and only if undoing them (``harmonised(studies)``,
       :mod:`metabridge.realign`) brings both engines' ``quantity`` together.
    3. Otherwise the causes are the conventions whose recipe for ``quantity`` differs
       between the two results, plus the stopping-rule conventions when tau^2 differs
       by more than rounding; a tau^2 gap must lie within the sum of the engines'
       declared tolerances.
    """
    if studies is None:
        return "UNEXPLAINED", "no data to check the explanation against"
    a, b = pair
    for r in pair:
        defects = verify(r, studies.yi, studies.vi, METHODS[r.method])
        if defects:
            return ("UNEXPLAINED", f"{r.backend}'s numbers do not follow from the data under "
                    f"its conventions: " + "; ".join(map(str, defects)))
    data_keys = [k for r in pair for k in r.conventions
                 if METHODS[r.method].needs is not None and convention(k).realign is not None]
    if data_keys or not _same_effects(a, b, studies):
        causes, check = _data_conventions(a, b, quantity, studies, tolerance)
        if causes != "UNEXPLAINED" and quantity in REPORTED:  # the recipes may differ too
            causes = ", ".join(dict.fromkeys([*causes.split(", "), *_recipe_causes(a, b,
                                                                                  quantity)]))
        return causes, check
    causes: list[str] = []
    checks: list[str] = []
    if quantity in REPORTED and _recipe_causes(a, b, quantity):
        causes += _recipe_causes(a, b, quantity)
        checks.append(f"{quantity} follows from each engine's core numbers by its own recipe")
    _, vi, _ = pooled_effects(a, studies.yi, studies.vi)
    tau2_gap = abs(a.tau2 - b.tau2)
    if tau2_gap > 2 * tau2_tolerance_abs(RTOL, max(a.tau2, b.tau2), vi):
        bound = sum(float(tau2_tolerance_abs(tau2_tolerance(r.conventions) or RTOL,
                                             max(a.tau2, b.tau2), vi)) for r in pair)
        if tau2_gap > bound:
            return ("UNEXPLAINED", f"tau^2 differs by {tau2_gap:.3g}, more than the engines' "
                    f"stopping rules allow ({bound:.3g})")
        causes += [k for r in pair for k in r.conventions
                   if (tau2_tolerance([k]) or 0) > 0]
        checks.append(f"tau^2 gap {tau2_gap:.3g} within the stopping rules' bound {bound:.3g}; "
                      "each tau^2 solves its estimating equation within its tolerance")
    if not causes and (quantity in REPORTED or quantity in _ROUNDED_CORE):
        moved = [f"{f} {getattr(a, f)!r} vs {getattr(b, f)!r}" for f in _ROUNDED_CORE
                 if getattr(a, f) != getattr(b, f)]
        if moved:  # step 1 checked each core number within its rounding bound
            return "metabridge.rounding", (
                f"same recipe for {quantity}; each engine's core numbers lie within the "
                f"sanity layer's rounding bounds of the stable values ({'; '.join(moved)})")
    if not causes:
        return ("UNEXPLAINED", "both results pass their checks, but no convention differs "
                f"between them for {quantity}")
    return ", ".join(dict.fromkeys(causes)), "; ".join(checks)


#: Core numbers whose rounding (within the checked bounds) can move a statistic.
_ROUNDED_CORE = ("q", "estimate", "se")


def _recipe_causes(a: PoolResult, b: PoolResult, quantity: str) -> list[str]:
    """The conventions whose (different) recipes compute ``quantity`` in ``a`` and ``b``."""
    if quantity not in REPORTED or (recipe_for(quantity, a.conventions)
                                    is recipe_for(quantity, b.conventions)):
        return []
    return [*recipe_keys(quantity, a.conventions)[-1:], *recipe_keys(quantity, b.conventions)[-1:]]


def _same_effects(a: PoolResult, b: PoolResult, studies: StudySet) -> bool:
    """True if both engines pooled the same effect sizes (to 1e-12 of the largest)."""
    ya, va, used_a = pooled_effects(a, studies.yi, studies.vi)
    yb, vb, used_b = pooled_effects(b, studies.yi, studies.vi)
    if not np.array_equal(used_a, used_b):
        return False
    size = float(np.abs(ya).max(initial=0.0))  # an effect of 1e-110 next to 1 is 0
    return bool(np.allclose(ya, yb, rtol=1e-12, atol=1e-12 * size)
                and np.allclose(va, vb, rtol=1e-12, atol=0))


#: A convention row that concerns the data an engine pools (its own effect sizes).
_DATA_QUANTITIES = frozenset({"input", "study_yi", "study_vi", "k"})


def _same(x: float, y: float, tolerance: float) -> bool:
    """Equal within ``tolerance`` relative to max(1, |x|, |y|); NaN equals NaN."""
    if np.isnan(x) or np.isnan(y):
        return bool(np.isnan(x) and np.isnan(y))
    return abs(x - y) <= tolerance * max(1.0, abs(x), abs(y))


def is_data_convention(key: str) -> bool:
    row = convention(key)
    return bool(row.check) and (row.realign is not None
                                or bool(_DATA_QUANTITIES & set(row.quantities)))


#: Per-study effect sizes an engine shows beside a pooled result.
_STUDY_EFFECTS = frozenset({"study_yi", "study_vi"})


def _shown_only(key: str, result: PoolResult) -> bool:
    """True when ``key`` changes only the per-study effects ``result`` shows, not what it
    pools: Mantel-Haenszel and Peto (fixed-effect) pool the 2x2 counts themselves."""
    method = METHODS[result.method]
    return (method.needs is not None and not method.random_effects
            and set(convention(key).quantities) <= _STUDY_EFFECTS)


def _data_conventions(
    a: PoolResult, b: PoolResult, quantity: str, studies: StudySet, tolerance: float
) -> tuple[str, str]:
    """The gap between engines that pooled different data, explained by the data
    conventions they list: checked by undoing them where metabridge can
    (``harmonised(studies)``, Mantel-Haenszel and Peto), else by the sanity layer
    (each engine's numbers follow from the effect sizes it computed) and the test each
    convention names for its effect sizes."""
    keys = list(dict.fromkeys(k for r in (a, b) for k in r.conventions
                              if is_data_convention(k) and not _shown_only(k, r)))
    if not keys:
        return ("UNEXPLAINED", "the engines pooled different effect sizes and no convention "
                "of the data says why")
    named = ", ".join(keys)
    if all(convention(k).realign is not None for k in keys) and all(
            METHODS[r.method].needs is not None for r in (a, b)):
        x, y = (getattr(r.harmonised(studies), quantity) for r in (a, b))
        if not _same(x, y, tolerance):
            return "UNEXPLAINED", f"undoing {named} leaves {quantity} {x:.10g} vs {y:.10g}"
        # the cause is the conventions of the engine(s) whose number undoing them moves
        moved = [k for r, undone in ((a, x), (b, y)) if not _same(getattr(r, quantity),
                                                                   undone, tolerance)
                 for k in r.conventions if k in keys]
        named = ", ".join(dict.fromkeys(moved)) or named
        return named, (f"the engines pooled different data; undoing {named} "
                       f"(harmonised(studies)) brings {quantity} together")
    differ = [label for label, x, y in zip(studies.labels, a.study_yi or studies.yi,
                                           b.study_yi or studies.yi, strict=True)
              if not (x == y or (np.isnan(x) and np.isnan(y))
                      or abs(x - y) <= 1e-12 * max(1.0, abs(x)))]
    tests = "; ".join(dict.fromkeys(convention(k).check for k in keys))
    return named, (f"the engines computed different effect sizes (studies {differ}); each "
                   "engine's numbers follow from its own (sanity layer); the conventions' "
                   f"effect sizes are checked by {tests}")
