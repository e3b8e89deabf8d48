"""Simulation-study figures for validation/bench.py (printed, never asserted).

(d) scenarios per second of ``simulation_study`` on a LocalCluster of 1 and 2 worker
    processes, for a PyMARE grid (vectorised fits) and a metafor-heavy grid (one R
    call per chunk): the speed-up, the cluster's start-up time, and each worker's
    resident memory after the run;
(e) the per-fit CPU cost of every estimator on metafor and PyMARE (k = 10), and the
    CPU-hours of a 1,000-scenario x 11-estimator x 5,000-replicate grid extrapolated
    from them;
(h) the per-replicate CPU cost of the methods on a binary scenario's 2x2 tables (MH, PETO,
    DL-MH; one StudySet and one pooling call per replicate) on every engine that has
    them, and of building the StudySets (k = 10).

Timings are wall-clock on this machine; the load average is printed beside them
(other processes on the same cores slow every number alike).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

import metabridge as mb
from metabridge.backends import available_backends, get_backend
from metabridge.methods import METHODS
from metabridge.simstudy.scenario import engine_report

PYMARE_GRID = {
    "grid": {"k": [5, 10, 20, 40], "tau2": [0.0, 0.05, 0.2], "reps": 5000},
    "analysis": {"methods": ["FE", "DL", "REML"], "tests": ["z", "knha"],
                 "backends": ["pymare"], "seed": 1},
}
METAFOR_GRID = {
    "grid": {"k": [5, 10, 20], "tau2": [0.0, 0.1], "reps": 300},
    "analysis": {"methods": ["DL", "REML"], "tests": ["z"], "backends": ["metafor"],
                 "seed": 1},
}
#: The grid of the plan past one machine (issue 12).
PLAN = {"scenarios": 1000, "estimators": 11, "reps": 5000}


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def _rss(_: object = None) -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _run(grid: dict, workers: int) -> tuple[float, float, list[float], int]:
    """(cluster start s, run s, MiB per worker, scenarios) of one fresh run."""
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as cl, \
            Client(cl) as client:
        client.run(engine_report, grid["analysis"]["backends"])  # engines (R) started
        started = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            study = mb.simulation_study(grid, store=Path(tmp) / "s", client=client,
                                        progress=False)
            elapsed = time.perf_counter() - t0
        memory = [rss / 2**20 for rss in client.run(_rss).values()]
    return started, elapsed, memory, study.computed


def bench_study() -> None:
    print(f"(d) simulation_study on a LocalCluster, 1 vs 2 workers ({os.cpu_count()} cores; "
          f"{_load()})")
    grids = [("PyMARE grid", PYMARE_GRID, "pymare"), ("metafor grid", METAFOR_GRID, "metafor")]
    for name, grid, engine in grids:
        if engine not in available_backends():
            print(f"    {name}: skipped, {engine} not available")
            continue
        g = mb.simstudy.load_grid(grid)
        fits = sum(len(g.jobs(s)) * s.reps for s in g.scenarios)
        print(f"    {name}: {len(g.scenarios)} scenarios, {fits:,} fits")
        rates = {}
        for workers in (1, 2):
            started, elapsed, memory, done = _run(grid, workers)
            rates[workers] = done / elapsed
            print(f"      {workers} worker(s): {rates[workers]:7.2f} scenarios/s "
                  f"({fits / elapsed:9,.0f} fits/s; run {elapsed:6.1f} s, cluster start "
                  f"{started:4.1f} s); memory per worker "
                  + ", ".join(f"{m:.0f}" for m in memory) + " MiB")
        print(f"      speed-up 2 vs 1 workers: {rates[2] / rates[1]:.2f}x   ({_load()})")


def _per_fit(engine: str, method: str, reps: int, k: int = 10) -> float:
    rng = np.random.default_rng(3)
    v = rng.uniform(0.01, 0.2, size=(reps, k))
    y = 0.2 + np.sqrt(0.1) * rng.standard_normal((reps, k)) + np.sqrt(v) * rng.standard_normal(
        (reps, k))
    backend = get_backend(engine)
    backend.pool_batch(y[:5], v[:5], METHODS[method], 0.95)  # engine started outside timing
    best = min(_timed(lambda: backend.pool_batch(y, v, METHODS[method], 0.95))
               for _ in range(2))
    return best / reps


def _timed(fn: object) -> float:
    """CPU seconds of this process (R runs inside it): less sensitive than wall time to
    other processes on the same cores."""
    start = time.process_time()
    fn()  # type: ignore[operator]
    return time.process_time() - start


def bench_costs() -> None:
    print(f"(e) per-fit CPU cost, k = 10, and the plan past one machine ({_load()})")
    costs: dict[str, dict[str, float]] = {}
    for engine, reps in (("metafor", 400), ("pymare", 5000)):
        if engine not in available_backends():
            print(f"    {engine}: skipped, not available")
            continue
        methods = [m for m in METHODS if m in get_backend(engine).methods]
        costs[engine] = {m: _per_fit(engine, m, reps) for m in methods}
        print(f"    {engine:8s} " + "  ".join(f"{m} {c * 1e3:.3g}" for m, c in
                                              costs[engine].items()) + "  (ms per fit)")
    if "metafor" not in costs:
        return
    per_scenario = sum(costs["metafor"].values()) * PLAN["reps"]
    cpu_hours = per_scenario * PLAN["scenarios"] / 3600
    print(f"    metafor, all {len(costs['metafor'])} estimators: "
          f"{sum(costs['metafor'].values()) * 1e3:.1f} ms per replicate, "
          f"{per_scenario / 60:.1f} CPU-minutes per scenario of {PLAN['reps']:,} replicates")
    print(f"    {PLAN['scenarios']:,} scenarios x {PLAN['estimators']} estimators x "
          f"{PLAN['reps']:,} replicates at k = 10: {cpu_hours:.1f} CPU-hours; wall time "
          + ", ".join(f"{cpu_hours / n:.1f} h on {n} cores" for n in (2, 64, 256, 1000)))
    if "pymare" in costs:
        share = {m: costs["pymare"][m] for m in costs["pymare"]}
        rest = {m: c for m, c in costs["metafor"].items() if m not in share}
        mixed = (sum(share.values()) + sum(rest.values())) * PLAN["reps"] * PLAN["scenarios"]
        print(f"    with PyMARE's {', '.join(share)} and metafor's {', '.join(rest)}: "
              f"{mixed / 3600:.1f} CPU-hours")


def bench_tables(reps: int = 200, k: int = 10) -> None:
    """(h): MH, PETO, DL-MH per replicate on drawn tables, every engine with the method."""
    from metabridge.simstudy import families, tables

    print(f"(h) methods on 2x2 tables, CPU ms per replicate, k = {k}, {reps} replicates "
          f"(baseline risk 0.05, 20-100 per arm, tau^2 0.1; {_load()})")
    rng = np.random.default_rng(3)
    drawn = families.draw_tables(rng, reps, k, 0.1, 0.3, 0.05, families.parse_spec(
        "uniform(20, 100)", families.ARM_SIZES, "arm_n"))
    sets: list = []
    built = _timed(lambda: sets.extend(tables.replicate_sets(drawn)))
    print(f"    StudySet.from_counts: {built / reps * 1e3:.3g}")
    for engine in available_backends():
        backend = get_backend(engine)
        costs = []
        for name in backend.raw_methods:
            tables.pool_tables_job(engine, METHODS[name], sets[:2], 0.95)  # engine started
            cost = _timed(lambda e=engine, n=name: tables.pool_tables_job(e, METHODS[n], sets,
                                                                          0.95))
            costs.append(f"{name} {cost / reps * 1e3:.3g}")
        if costs:
            print(f"    {engine:11s} " + "  ".join(costs))
