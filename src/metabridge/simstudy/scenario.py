"""One scenario, run where a Dask worker puts it: draw, pool every job, summarise.

The random stream is the scenario's own (:meth:`Grid.seed_sequence`), so the
numbers do not depend on which worker runs it, when, or next to what.  Every job
is pooled on the same replicates (common random numbers): inverse-variance methods
through :func:`metabridge.simulate.pool_job`, the path ``simulate()`` uses (PyMARE
vectorised, metafor one R call per chunk, the other engines in a loop); MH, PETO
and DL-MH on a binary scenario's 2x2 tables one replicate at a time
(:mod:`.tables`).  A job that raises is recorded with its error; the other jobs go
on.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..backends import get_backend, require_backend
from ..errors import EngineWarning
from ..methods import canonical_method
from ..simulate import pool_job, summarise
from ..studies import StudySet
from . import families, tables
from .grid import Grid, Job, Scenario

#: Summary columns of a job whose engine raised (numbers empty, error said).
_NUMBERS = ("replicates", "failed", "coverage", "mc_se", "bias", "bias_mc_se", "rmse",
            "ci_width", "tau2_bias", "tau2_zero")
#: How the zero cells of 2x2 tables reach an inverse-variance job (every engine alike).
IV_ZERO_CELLS = ("log OR with {cc:g} added to every cell of a table with a zero cell "
                 "(by metabridge, before the engine); double-zero tables kept")
#: The timings row of building one StudySet per replicate (for the methods on tables).
TABLE_SETS = Job("metabridge", "StudySet.from_counts", "")


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back: per-job summary rows, replicates, errors, timings."""

    scenario: Scenario
    rows: list[dict[str, Any]]
    replicates: pd.DataFrame
    errors: dict[str, str] = field(default_factory=dict)
    timings: list[dict[str, Any]] = field(default_factory=list)
    worker: str = ""

    @property
    def status(self) -> str:
        return "failed" if self.errors else "ok"


def run_scenario(grid: Grid, scenario: Scenario) -> Outcome:
    """Draw ``scenario``'s replicates from its own stream and pool them with every job."""
    analysis = grid.analysis
    rng = np.random.default_rng(grid.seed_sequence(scenario))
    data = families.draw(scenario, rng, analysis["continuity"])
    jobs = grid.jobs(scenario)
    rows, frames, errors, timings = [], [], {}, []
    sets: list[StudySet] = []
    if any(canonical_method(job.method).needs is not None for job in jobs):
        start = time.perf_counter()  # once per scenario, shared by every job on tables
        sets = tables.replicate_sets(data.tables)
        timings.append({**TABLE_SETS._asdict(), "seconds": time.perf_counter() - start,
                        "fits": scenario.reps})
    for job in jobs:
        start = time.perf_counter()
        frame, error, notes, zeros = _pool(job, data, sets, analysis)
        timings.append({**job._asdict(), "seconds": time.perf_counter() - start,
                        "fits": scenario.reps})
        row = {**scenario.columns(), **job._asdict()}
        if error:
            errors["/".join(job)] = error
            row |= dict.fromkeys(_NUMBERS, np.nan)
        else:
            frames.append(frame)
            numbers = summarise(frame, scenario.mu, scenario.tau2).iloc[0]
            row |= numbers.rename({"coverage_mc_se": "mc_se"})[list(_NUMBERS)].to_dict()
        row |= {**data.zero_cells, **zeros, "notes": notes, "error": error or None}
        rows.append(row)
    replicates = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return Outcome(scenario, rows, replicates, errors, timings,
                   f"{socket.gethostname()}:{os.getpid()}")


def _pool(job: Job, data: families.Draw, sets: list[StudySet], analysis: dict[str, Any]
          ) -> tuple[pd.DataFrame, str, str | None, dict[str, Any]]:
    """(replicates, error text or "", the engine's warnings joined or None, the job's
    zero-cell columns).  Inverse-variance methods pool every replicate's (y, v) in batch
    calls; methods on 2x2 tables pool each replicate's StudySet (``sets``).  Only
    :class:`EngineWarning` goes into the notes: other warnings (an import's, say) depend
    on what ran before on the worker, and are shown there as usual."""
    zeros: dict[str, Any] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            engine = require_backend(job.backend)
            method = canonical_method(job.method)
            if method.needs is None:
                frame = pool_job(engine, method, job.test, data.y, data.v, analysis["level"])
                if data.tables is not None:  # every study pooled, corrected by metabridge
                    zeros = {"zero_handling": IV_ZERO_CELLS.format(cc=analysis["continuity"]),
                             "studies_left_out": 0}
            else:
                pooled = tables.pool_tables_job(engine.name, method, sets, analysis["level"])
                frame = pooled.frame
                zeros = {"zero_handling": engine.table_zero_cells.get(method.name),
                         "studies_left_out": pooled.studies_left_out,
                         "conventions": pooled.conventions_text(),
                         "failures": pooled.failures_text()}
            error = ""
        except Exception as exc:  # recorded, never lost: the other jobs go on
            frame = pd.DataFrame()
            error = f"{type(exc).__name__}: {exc}"
            if not type(exc).__module__.startswith("metabridge"):
                error += "\n" + "".join(traceback.format_exception(exc)[-3:])
    for other in (w for w in caught if not issubclass(w.category, EngineWarning)):
        warnings.showwarning(other.message, other.category, other.filename, other.lineno)
    notes = "; ".join(dict.fromkeys(str(w.message) for w in caught
                                    if issubclass(w.category, EngineWarning))) or None
    return frame, error, notes, zeros


def engine_report(names: list[str]) -> dict[str, str]:
    """On a worker: each engine's status ("" if it runs, else why not).  Starts R there
    if metafor is among ``names`` (from the worker's main thread, when run by
    ``Client.run``)."""
    return {name: (status.reason if not (status := get_backend(name).status()).available
                   else "") for name in names}


def lost_outcome(grid: Grid, scenario: Scenario, message: str) -> Outcome:
    """The record of a scenario whose task never finished (its workers kept dying)."""
    rows = [{**scenario.columns(), **job._asdict(), **dict.fromkeys(_NUMBERS, np.nan),
             "error": message} for job in grid.jobs(scenario)]
    return Outcome(scenario, rows, pd.DataFrame(), {"scenario": message})
