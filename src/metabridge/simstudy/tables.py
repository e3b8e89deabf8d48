"""Methods on the 2x2 tables of a binary scenario (MH, PETO, DL-MH), one replicate at a time.

Inverse-variance jobs pool every replicate's (y, v) in one batch call; the methods
on tables have no batch path in most engines, so each replicate's tables become one
:class:`~metabridge.StudySet` (built once per scenario, shared by every job: every
engine gets the same tables) and go through :func:`metabridge.pool`, the path a user's
call takes: the facade's checks (an MH or Peto estimate that is not defined on these
tables is refused before the engine), the engine's own zero-cell rule, and the sanity
layer (each engine's MH or Peto number checked against its defining formula on the
tables it pooled).  A replicate that is refused counts as ``failed``, with its reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import MetabridgeError
from ..facade import pool
from ..methods import Method
from ..studies import StudySet
from .families import TABLE_MEASURE

#: The replicate-level columns every job writes (those of ``simulate.pool_job``).
NUMBERS = ("estimate", "se", "ci_low", "ci_high", "tau2")


def replicate_sets(tables: np.ndarray) -> list[StudySet]:
    """One StudySet (measure OR) per replicate of ``tables`` (reps x k x 4: a, b, c, d).

    Through ``StudySet.from_counts`` (its checks, which the drawn counts always pass,
    cost ~0.2 ms a replicate at k = 10, once for every job of the scenario: bench (h))."""
    labels = tuple(f"study {i + 1}" for i in range(tables.shape[1]))
    sets = []
    for replicate in tables:
        a, b, c, d = replicate.T
        sets.append(StudySet.from_counts(a, a + b, c, c + d, labels=labels,
                                         measure=TABLE_MEASURE))
    return sets


@dataclass(frozen=True)
class TablesJob:
    """One (engine, method) over every replicate: its replicate rows, the studies the
    engine pooled without an effect of their own (left out of Q: weight-less double-zero
    tables), the conventions its results listed (key -> replicates), and why the
    refused replicates were refused (reason -> replicates)."""

    frame: pd.DataFrame
    studies_left_out: int
    conventions: dict[str, int]
    failures: dict[str, int]

    def conventions_text(self) -> str | None:
        """``key (replicates); ...`` in key order, or None."""
        return "; ".join(f"{k} ({n})" for k, n in sorted(self.conventions.items())) or None

    def failures_text(self) -> str | None:
        """``replicates x reason; ...``, most frequent first, or None."""
        return "; ".join(f"{n} x {reason}" for reason, n in
                         sorted(self.failures.items(), key=lambda item: -item[1])) or None


def pool_tables_job(backend: str, method: Method, sets: list[StudySet],
                    level: float) -> TablesJob:
    """Every replicate's tables pooled with ``method`` on ``backend`` (test z)."""
    rows = np.full((len(sets), len(NUMBERS)), np.nan)
    left_out = 0
    conventions: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    for i, studies in enumerate(sets):
        try:
            result = pool(studies, method.name, backend, level)
        except MetabridgeError as exc:  # refused on these tables: counted, with the reason
            failures[f"{type(exc).__name__}: {exc}"] += 1
            continue
        rows[i] = [getattr(result, name) for name in NUMBERS]
        left_out += int(np.isnan(result.study_yi).sum())
        conventions.update(result.conventions)
    frame = pd.DataFrame({"backend": backend, "method": method.name, "test": "z",
                          "replicate": np.arange(len(sets)),
                          **dict(zip(NUMBERS, rows.T, strict=True))})
    return TablesJob(frame, left_out, dict(conventions), dict(failures))
