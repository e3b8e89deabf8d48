"""Run a simulation study on Dask: one task per unfinished scenario, written as it lands.

The client submits every scenario the store has not finished, writes each result
to the store the moment it arrives (so a worker needs no shared file system) and
shows a progress bar over scenarios.  A worker that dies takes its task with it;
the scheduler gives the task to another worker (up to
``distributed.scheduler.allowed-failures`` deaths, default 3, then the scenario is
recorded as lost).  A job that raises inside a scenario is recorded with its error
(scenario.py); the other scenarios go on.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import BackendUnavailableError, ClusterError, InvalidArgumentError
from .figures import write_figures
from .grid import Grid, Skipped, load_grid
from .scenario import Outcome, engine_report, lost_outcome, run_scenario
from .store import Store

INSTALL = "pip install 'metabridge[dask]'"


@dataclass(frozen=True)
class SimulationStudy:
    """What a run left in the store, and what it did."""

    store: Path
    summary: pd.DataFrame
    computed: int
    reused: int
    failed: tuple[str, ...]
    skipped: tuple[Skipped, ...]
    figures: tuple[Path, ...]
    dashboard: str | None = None

    def __str__(self) -> str:
        total = self.computed + self.reused
        lines = [f"{total} scenarios in {self.store}: {self.computed} run now, "
                 f"{self.reused} finished before; {len(self.failed)} failed"]
        lines += [f"  failed: {key}" for key in self.failed]
        lines += [f"  skipped {s.backend}/{s.method}/{s.test} ({s.scenarios}): {s.reason}"
                  for s in self.skipped]
        lines.append(f"summary: {self.store / 'summary.csv'}; figures: {len(self.figures)} in "
                     f"{self.store / 'figures'}")
        return "\n".join(lines)


def simulation_study(
    grid: Grid | Mapping[str, Any] | str | PathLike[str],
    store: str | PathLike[str],
    client: Any = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    retry_failed: bool = False,
    replicates: bool = True,
    timeout: float = 10.0,
) -> SimulationStudy:
    """Run every scenario of ``grid`` (a TOML path or dict, see docs/simulation.md) that
    ``store`` has not finished, on Dask, and write summary.csv and the figures there.

    ``client``: a ``distributed.Client`` to use as it is; else ``scheduler`` (an address
    such as ``tcp://host:8786``) to connect to, within ``timeout`` seconds; else a
    LocalCluster of ``workers`` single-threaded worker processes (default: one per
    core).  A rerun on the same store skips finished scenarios (``retry_failed=True``
    reruns the failed ones too); a store made from another grid or seed is refused.
    ``replicates=False`` keeps only the summaries (no Parquet files).
    """
    study = load_grid(grid)
    _check_run_arguments(client, workers, scheduler, timeout)
    skipped = study.skipped()
    if not any(study.jobs(s) for s in study.scenarios):
        raise InvalidArgumentError(
            "no engine offers any requested (method, test) for these k: "
            + "; ".join(f"{s.backend}/{s.method}/{s.test}: {s.reason}" for s in skipped))
    folder = Store(store, study)
    records = folder.records()
    todo = [s for s in study.scenarios if s.id not in records
            or (retry_failed and records[s.id]["status"] != "ok")]
    dashboard = None
    if todo:
        with _connect(client, workers, scheduler, timeout) as dask_client:
            dashboard = _dashboard(dask_client)
            if progress and dashboard:
                print(f"Dask dashboard: {dashboard}", file=sys.stderr)
            _check_engines(dask_client, study)
            folder.create()
            _run(dask_client, study, folder, todo, progress, replicates)
    else:
        folder.create()
    summary, figures = folder.read_tables() if not todo else (None, None)
    if summary is None or figures is None:  # something new, or tables missing: write them
        summary = folder.summary()
        figures = write_figures(summary, folder.path / "figures", study.analysis["level"])
        folder.write_tables(summary)  # summary.csv last: it marks the tables complete
    failed = tuple(r["key"] for r in folder.records().values() if r["status"] != "ok")
    return SimulationStudy(folder.path, summary, len(todo), len(study.scenarios) - len(todo),
                           failed, skipped, tuple(sorted(figures)), dashboard)


def _check_run_arguments(client: Any, workers: Any, scheduler: Any, timeout: Any) -> None:
    given = [name for name, value in (("client", client), ("workers", workers),
                                      ("scheduler", scheduler)) if value is not None]
    if len(given) > 1:
        raise InvalidArgumentError(f"give one of client, workers, scheduler; got {given}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise InvalidArgumentError(f"workers must be a whole number >= 1, got {workers!r}")
    if scheduler is not None and not isinstance(scheduler, str):
        raise InvalidArgumentError(f"scheduler must be an address such as "
                                   f"'tcp://127.0.0.1:8786', got {scheduler!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise InvalidArgumentError(f"timeout must be a number of seconds > 0, got {timeout!r}")


@contextmanager
def _connect(client: Any, workers: int | None, scheduler: str | None,
             timeout: float) -> Iterator[Any]:
    """The Dask client to use: the caller's, one connected to ``scheduler``, or a
    LocalCluster's (closed afterwards unless it was the caller's)."""
    if client is not None:
        yield client
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise ClusterError(f"dask.distributed is not installed ({exc}); {INSTALL}") from None
    if scheduler is not None:
        try:
            remote = Client(scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler!r} within "
                               f"{timeout:g} s: {exc}") from None
        with remote:
            yield remote
        return
    import os

    with LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                      processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as local:
        yield local


def _dashboard(client: Any) -> str | None:
    """The dashboard's address, if the scheduler runs one (needs bokeh)."""
    try:
        running = "dashboard" in client.scheduler_info().get("services", {})
    except Exception:  # an old or unusual scheduler: no link rather than no run
        return None
    return client.dashboard_link if running else None


def _check_engines(client: Any, study: Grid) -> None:
    """Every worker can run every engine the grid names (starts R there if needed)."""
    names = list(study.analysis["backends"])
    for worker, report in client.run(engine_report, names).items():
        for name, reason in report.items():
            if reason:
                raise BackendUnavailableError(name, f"{reason} (on Dask worker {worker})")


def _run(client: Any, study: Grid, folder: Store, todo: list, progress: bool,
         replicates: bool) -> None:
    from distributed import as_completed

    plan = Grid(study.values, ())  # what a worker needs: the analysis, not every scenario
    futures = {client.submit(run_scenario, plan, scenario, pure=False): scenario
               for scenario in todo}
    bar = _progress(len(study.scenarios), len(study.scenarios) - len(todo), progress)
    try:
        for future in as_completed(futures):
            scenario = futures[future]
            try:
                outcome: Outcome = future.result()
            except Exception as exc:  # KilledWorker after repeated deaths, cancellation
                outcome = lost_outcome(study, scenario, f"{type(exc).__name__}: {exc}")
            folder.write(outcome, replicates)
            future.release()
            bar.update(1)
    finally:
        bar.close()


def _progress(total: int, done: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc="metabridge simulate", unit="scenario",
                disable=not enabled)
