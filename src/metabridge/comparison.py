"""The result of :func:`metabridge.compare`: many engines and methods side by side."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from .conventions import convention
from .formatting import p_columns_as_text
from .htmltables import block_html, table_html
from .result import STAT_FIELDS, PoolResult

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
        return self.table.pivot(index=["method", "test"], columns="backend", values=quantity)

    def differences(self, tolerance: float = TOLERANCE) -> pd.DataFrame:
        """Per method and statistic: the largest gap between engines and its known cause.

        ``agree`` is True when every pair of engines is within ``tolerance``
        (relative to max(1, |value|)); ``explained_by`` lists the documented
        conventions (``metabridge.conventions_table()``) that touch that statistic
        in the engines involved.
        """
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
                rows.append({
                    "method": method,
                    "test": test,
                    "quantity": quantity,
                    "max_abs_diff": gap,
                    "between": " vs ".join(r.backend for r in pair),
                    "agree": agree,
                    "explained_by": "" if agree else _causes(pair, quantity),
                })
        return pd.DataFrame(rows)

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


def _causes(pair: tuple[PoolResult, ...], quantity: str) -> str:
    keys = sorted({
        key for r in pair for key in r.conventions
        if quantity in convention(key).explains
    })
    return ", ".join(keys) if keys else "UNEXPLAINED"
