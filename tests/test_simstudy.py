"""Simulation studies on Dask (issue 12): are the numbers the same on 1 or 2 workers, on a
real `dask scheduler` + `dask worker` cluster, after a worker is killed, and after the
whole run is killed with SIGKILL and resumed?  Does a rerun do no work, is a store of
another grid refused, is a failing job recorded while the rest completes?  And are the
binary family's 2x2 tables and log odds ratios right (exact fractions, metafor's escalc),
its Mantel-Haenszel and Peto results those of the formulas in exact arithmetic, and its
zero-event studies counted and shown as each engine handled them?

One tiny grid serves every run (8 scenarios x 30 replicates, four engines, MH and PETO on
the binary scenarios) and one 2-worker LocalCluster serves the runs that need two
workers: the cost of this file is mostly starting clusters (and R in each worker).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import need

import metabridge as mb
from metabridge.backends import REGISTRY, get_backend
from metabridge.cli import main
from metabridge.errors import StoreError
from metabridge.simstudy import families, load_grid, tables

GRID_TOML = """\
[grid]
family = ["normal", "binary"]
k = [3, 6]
tau2 = [0.0, 0.1]
mu = [0.2]
reps = 30
variance = ["uniform(0.01, 0.2)"]
baseline_risk = [0.05]
arm_n = ["uniform(10, 40)"]

[analysis]
methods = ["DL", "PM", "MH", "PETO"]
tests = ["z"]
backends = ["pymare", "statsmodels", "metafor", "pimeta"]
seed = 11
"""
SCENARIOS = 8
#: Jobs of a normal scenario: pymare DL; statsmodels, metafor, pimeta DL and PM.
NORMAL_JOBS = 7
#: ... of a binary one: those, MH on statsmodels, metafor, pimeta, PETO on the last two.
BINARY_JOBS = NORMAL_JOBS + 5
SRC = Path(mb.__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for engine in ("pymare", "statsmodels", "metafor", "pimeta"):
        need(engine)
    path = tmp_path_factory.mktemp("grid") / "grid.toml"
    path.write_text(GRID_TOML)
    return path


@pytest.fixture(scope="module")
def reference(grid_file: Path, tmp_path_factory: pytest.TempPathFactory) -> mb.SimulationStudy:
    """The grid run uninterrupted on one local worker."""
    store = tmp_path_factory.mktemp("reference") / "store"
    return mb.simulation_study(grid_file, store=store, workers=1, progress=False)


def summary_bytes(store: Path) -> bytes:
    return (store / "summary.csv").read_bytes()


def test_reference_run_records_every_scenario(reference: mb.SimulationStudy) -> None:
    assert (reference.computed, reference.reused, reference.failed) == (SCENARIOS, 0, ())
    summary = reference.summary
    # PyMARE has no PM, MH or PETO; statsmodels no PETO; the normal family no tables
    assert len(summary) == SCENARIOS // 2 * (NORMAL_JOBS + BINARY_JOBS)
    assert summary["error"].isna().all()
    assert (summary["replicates"] + summary["failed"] == 30).all()
    skipped = {tuple(s[:4]): s.reason for s in reference.skipped}
    assert set(skipped) == {
        ("all", "pymare", "PM", "z"), ("all", "pymare", "MH", "z"),
        ("all", "pymare", "PETO", "z"), ("all", "statsmodels", "PETO", "z"),
        *(("family = normal", engine, method, "z") for engine in ("statsmodels", "metafor",
                                                                   "pimeta") for method in
          ("MH", "PETO") if (engine, method) != ("statsmodels", "PETO"))}
    assert "engines that do: statsmodels" in skipped[("all", "pymare", "PM", "z")]
    assert skipped[("family = normal", "metafor", "MH", "z")] == (
        "MH pools 2x2 tables; the normal family draws effect sizes (yi, vi)")
    # every scenario's replicates are in its Parquet file
    records = list(reference.store.glob("scenarios/*.json"))
    assert len(records) == SCENARIOS
    for record in records:
        content = json.loads(record.read_text())
        assert content["status"] == "ok"
        jobs = BINARY_JOBS if "family=binary" in content["key"] else NORMAL_JOBS
        assert len(pd.read_parquet(record.with_suffix(".parquet"))) == jobs * 30
    # coverage and bias figures, one pair per family (mu and the models are single values)
    assert sorted(p.name.split("_")[0] for p in reference.figures) == ["bias", "bias",
                                                                       "coverage", "coverage"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in reference.figures)


def test_binary_scenarios_count_their_zero_cells(reference: mb.SimulationStudy) -> None:
    summary = reference.summary
    binary, normal = summary[summary["family"] == "binary"], summary[summary["family"] == "normal"]
    # baseline risk 0.05 with 10..40 per arm: zero-event arms are common (P(0 | n=10) = 0.60)
    assert (binary["zero_cell_studies"] > 0).all()
    assert (binary["single_zero_studies"] + binary["double_zero_studies"]
            == binary["zero_cell_studies"]).all()
    assert (binary["double_zero_replicates"] > 0).all()
    inverse_variance = binary["method"].isin(["DL", "PM"])
    assert binary.loc[inverse_variance, "zero_handling"].str.contains(
        "0.5 added to every cell").all()
    assert (binary.loc[inverse_variance, "studies_left_out"] == 0).all()
    assert normal[["zero_cell_studies", "zero_handling", "studies_left_out"]].isna().all().all()
    # the counts are the data's, the same for every job of a scenario
    assert (binary.groupby("scenario")[["zero_cell_studies", "single_zero_studies",
                                         "double_zero_replicates"]].nunique() == 1).all().all()
    # a method on tables: its engine's own rule, and the studies it pooled without an
    # effect of their own -- at most the double-zero ones (pimeta's MH leaves out only
    # those without events, metafor's also those with only events)
    tables = binary[~inverse_variance]
    for row in tables.itertuples():
        assert row.zero_handling == get_backend(row.backend).table_zero_cells[row.method]
        assert 0 < row.studies_left_out <= row.double_zero_studies
    assert tables["conventions"].str.contains(r"\.(?:mh|peto)_tables \(|pimeta\.tables_api \(|"
                                              r"statsmodels\.mh_or_only \(").all()


@pytest.fixture(scope="module")
def two_workers(grid_file: Path) -> Any:
    """A LocalCluster of two single-threaded worker processes (a client to it)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        yield client


def test_two_workers_and_a_killed_worker_give_the_reference_numbers(
        grid_file: Path, reference: mb.SimulationStudy, two_workers: Any,
        tmp_path: Path) -> None:
    store = tmp_path / "store"
    pids = list(two_workers.run(os.getpid).values())
    killed: list[int] = []

    def kill_one_worker_midway() -> None:  # a lost worker's scenario must be retried
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(store.glob("scenarios/*.json")):
            time.sleep(0.02)
        os.kill(pids[0], signal.SIGKILL)
        killed.append(pids[0])

    killer = threading.Thread(target=kill_one_worker_midway)
    killer.start()
    study = mb.simulation_study(grid_file, store=store, client=two_workers, progress=False)
    killer.join()
    assert killed
    assert study.failed == ()
    assert summary_bytes(store) == summary_bytes(reference.store)
    two_workers.wait_for_workers(2, timeout=120)  # the nanny restarts the killed worker


def test_rerun_on_a_finished_store_does_no_work(grid_file: Path,
                                                reference: mb.SimulationStudy) -> None:
    files = sorted(p for p in reference.store.rglob("*") if p.is_file())
    before = [p.stat().st_mtime_ns for p in files]
    # a client that fails on any use: no task may be submitted
    again = mb.simulation_study(grid_file, store=reference.store, client=object(),
                                progress=False)
    assert (again.computed, again.reused) == (0, SCENARIOS)
    assert sorted(p for p in reference.store.rglob("*") if p.is_file()) == files
    assert [p.stat().st_mtime_ns for p in files] == before  # not a byte rewritten
    assert len(again.summary) == len(reference.summary)
    assert again.figures == reference.figures


def test_run_killed_midway_resumes_to_the_same_numbers(
        grid_file: Path, reference: mb.SimulationStudy, two_workers: Any,
        tmp_path: Path) -> None:
    store = tmp_path / "store"
    run = subprocess.Popen(
        [sys.executable, "-m", "metabridge", "simulate", str(grid_file), "--store", str(store),
         "--workers", "1", "--no-progress"],
        env={**os.environ, "PYTHONPATH": str(SRC)}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not list(store.glob("scenarios/*.json")):
            assert run.poll() is None, "the run ended before it could be killed"
            time.sleep(0.02)
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # the run and its workers: kill -9 mid-run
        run.wait()
    finished = len(list(store.glob("scenarios/*.json")))
    assert 0 < finished < SCENARIOS
    resumed = mb.simulation_study(grid_file, store=store, client=two_workers, progress=False)
    assert (resumed.computed, resumed.reused) == (SCENARIOS - finished, finished)
    assert not list(store.rglob("*.tmp"))
    assert summary_bytes(store) == summary_bytes(reference.store)


def _dask_command(name: str) -> list[str]:
    script = Path(sys.executable).with_name("dask")
    if not script.exists():
        message = f"the `dask` command is not installed next to {sys.executable}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return [str(script), name]


def test_a_dask_scheduler_and_worker_cluster_gives_the_reference_numbers(
        grid_file: Path, reference: mb.SimulationStudy, tmp_path: Path) -> None:
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    log = (tmp_path / "cluster.log").open("w")
    started = [subprocess.Popen(
        [*_dask_command("scheduler"), "--host", "127.0.0.1", "--port", "0",
         "--no-dashboard", "--scheduler-file", str(scheduler_file)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            if time.monotonic() > deadline or started[0].poll() is not None:
                pytest.fail("`dask scheduler` did not start:\n" + (tmp_path / "cluster.log")
                            .read_text())
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        started.append(subprocess.Popen(
            [*_dask_command("worker"), address, "--nworkers", "2", "--nthreads", "1",
             "--no-dashboard"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
        study = mb.simulation_study(grid_file, store=tmp_path / "store", scheduler=address,
                                    progress=False)
    finally:
        for process in reversed(started):
            os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(started):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
    assert study.failed == ()
    assert summary_bytes(tmp_path / "store") == summary_bytes(reference.store)


def test_a_store_of_another_seed_is_refused(grid_file: Path, reference: mb.SimulationStudy,
                                            tmp_path: Path) -> None:
    other = tmp_path / "grid.toml"
    other.write_text(GRID_TOML.replace("seed = 11", "seed = 12"))
    with pytest.raises(StoreError, match=r"another grid: seed = 11 in the store, 12 in this"):
        mb.simulation_study(other, store=reference.store, client=object(), progress=False)
    assert main(["simulate", str(other), "--store", str(reference.store)]) == 2


def test_a_failing_job_is_recorded_and_the_rest_complete(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """statsmodels raises on k = 6 (threads of this process run the tasks, so the patch
    reaches them): those jobs carry the error, every other job has numbers."""
    from distributed import Client, LocalCluster

    from metabridge.backends import get_backend

    engine = get_backend("statsmodels")
    original = engine.pool_batch

    def broken(y: np.ndarray, *args: object, **kwargs: object) -> object:
        if y.shape[1] == 6:
            raise RuntimeError("engine crashed on k = 6")
        return original(y, *args, **kwargs)

    grid = tmp_path / "grid.toml"
    grid.write_text(GRID_TOML.replace('backends = ["pymare", "statsmodels", "metafor", "pimeta"]',
                                      'backends = ["pymare", "statsmodels"]'))
    store = tmp_path / "store"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        monkeypatch.setattr(engine, "pool_batch", broken)
        study = mb.simulation_study(grid, store=store, client=client, progress=False)
        summary = study.summary
        bad = summary["error"].notna()
        assert len(study.failed) == SCENARIOS // 2  # the k = 6 scenarios
        assert set(summary.loc[bad, "k"]) == {6}
        assert set(summary.loc[bad, "backend"]) == {"statsmodels"}
        assert summary.loc[bad, "error"].str.contains("RuntimeError: engine crashed").all()
        assert summary.loc[bad, "coverage"].isna().all()
        assert summary.loc[~bad, "coverage"].notna().all()
        # a rerun leaves recorded failures alone; retry_failed runs them again
        assert mb.simulation_study(grid, store=store, client=client,
                                   progress=False).computed == 0
        assert main(["simulate", str(grid), "--store", str(store), "--no-progress"]) == 1
        monkeypatch.setattr(engine, "pool_batch", original)
        retried = mb.simulation_study(grid, store=store, client=client, progress=False,
                                      retry_failed=True)
    assert (retried.computed, retried.failed) == (SCENARIOS // 2, ())
    assert retried.summary["error"].isna().all()


def test_cli_runs_a_finished_store_with_exit_0(grid_file: Path, reference: mb.SimulationStudy,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(grid_file), "--store", str(reference.store)]) == 0
    assert f"{SCENARIOS} scenarios in" in capsys.readouterr().out


# ------------------------------------------------------------------- data families
def test_log_odds_ratios_against_exact_fractions() -> None:
    tables = np.array([[[0, 10, 3, 7], [4, 6, 2, 8]], [[0, 5, 0, 5], [5, 0, 5, 0]]])
    y, v = families.log_odds_ratios(tables, 0.5)
    half = Fraction(1, 2)
    for (i, j), cells in np.ndenumerate(tables[..., 0]):
        cells = [Fraction(int(c)) for c in tables[i, j]]
        if 0 in cells:
            cells = [c + half for c in cells]
        a, b, c, d = cells
        assert y[i, j] == pytest.approx(float(np.log(float(a * d / (b * c)))), rel=1e-15,
                                        abs=1e-15)  # one rounding of an exact ratio, then log
        # four reciprocals rounded once each, then three additions: a few ulp
        assert v[i, j] == pytest.approx(float(sum(1 / x for x in cells)), rel=1e-15)
    assert families.zero_cell_counts(tables) == {
        "zero_cell_studies": 3, "single_zero_studies": 1, "double_zero_studies": 2,
        "zero_cell_replicates": 2, "single_zero_replicates": 1, "double_zero_replicates": 1}


def test_log_odds_ratios_equal_metafor_escalc(metafor: str) -> None:
    import rpy2.robjects as ro
    from rpy2.robjects.conversion import localconverter

    rng = np.random.default_rng(5)
    tables = families.draw_tables(rng, 40, 5, 0.2, 0.3, 0.08,
                                  families.parse_spec("uniform(5, 30)", families.ARM_SIZES, "n"))
    y, v = families.log_odds_ratios(tables, 0.5)
    a, b, c, d = (ro.FloatVector(x.ravel().astype(float)) for x in np.moveaxis(tables, -1, 0))
    with localconverter(ro.default_converter):
        out = ro.r["escalc"](measure="OR", ai=a, bi=b, ci=c, di=d)
        theirs = np.asarray(out.rx2("yi")), np.asarray(out.rx2("vi"))
    assert (tables == 0).any()  # the correction is exercised
    # same formula in another order of floating-point operations
    np.testing.assert_allclose(y.ravel(), theirs[0], rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(v.ravel(), theirs[1], rtol=1e-13)


def test_binary_arms_have_the_stated_risks() -> None:
    """Control risk = baseline; with tau^2 = 0 the treated risk is expit(logit(p0) + mu)."""
    rng = np.random.default_rng(8)
    n = families.parse_spec(50, families.ARM_SIZES, "arm_n")
    tables = families.draw_tables(rng, 4000, 10, 0.0, np.log(2.0), 0.2, n)
    control = tables[..., 2].sum() / tables[..., 2:].sum()
    treated = tables[..., 0].sum() / tables[..., :2].sum()
    odds = 2.0 * 0.2 / 0.8
    # 2,000,000 participants per arm: binomial SE of a risk <= 3e-4, so 5 SE is 1.5e-3
    assert control == pytest.approx(0.2, abs=1.5e-3)
    assert treated == pytest.approx(odds / (1 + odds), abs=1.5e-3)


def test_each_scenario_has_its_own_stream() -> None:
    grid = load_grid({"grid": {"k": [3, 4], "tau2": [0.1], "reps": 5},
                      "analysis": {"backends": ["statsmodels"], "seed": 1}})
    first, second = grid.scenarios
    again = load_grid({"grid": {"k": [4], "tau2": [0.1], "reps": 5},
                       "analysis": {"backends": ["statsmodels"], "seed": 1}}).scenarios[0]
    assert second == again  # the stream depends on (seed, key), not on the rest of the grid
    draw = [np.random.default_rng(grid.seed_sequence(s)).random(3) for s in (first, second)]
    assert not np.array_equal(draw[0], draw[1])
    np.testing.assert_array_equal(np.random.default_rng(grid.seed_sequence(second)).random(3),
                                  draw[1])


def test_grid_keys_are_all_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "simulation.md").read_text()
    for name in mb.simstudy.KEYS:
        assert f"`{name}`" in doc, name


def test_the_documented_grids_are_valid() -> None:
    """The example grids of docs/simulation.md and the README load, with the scenario
    counts the docs state."""
    import re
    import tomllib

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "simulation.md").read_text()
    example = load_grid(tomllib.loads(re.search(r"```toml\n(.*?)```", doc, re.S)[1]))
    families_count = [s.family for s in example.scenarios]
    assert (families_count.count("normal"), families_count.count("binary")) == (24, 24)
    assert "24 normal and 4 × 3 × 1 × 2 × 1 = 24" in doc
    readme = (root / "README.md").read_text()
    assert len(load_grid(tomllib.loads(re.search(r"# grid.toml\n(.*?)```", readme,
                                                 re.S)[1])).scenarios) == 12


# ------------------------------------------- methods on the binary family's 2x2 tables
def exact(cell: object) -> Fraction:
    """A count (numpy integer) or a corrected count (Fraction) as a Fraction."""
    return cell if isinstance(cell, Fraction) else Fraction(int(cell))


def exact_mh(table: np.ndarray) -> tuple[Fraction, Fraction]:
    """Mantel-Haenszel OR and the Robins-Breslow-Greenland variance of its log, in exact
    arithmetic: R = ad/N, S = bc/N, P = (a+d)/N, Q = (b+c)/N; OR = sum R / sum S; var =
    [sum PR / (sum R)^2 + sum (PS + QR) / (sum R sum S) + sum QS / (sum S)^2] / 2."""
    sums = dict.fromkeys(("R", "S", "PR", "PS+QR", "QS"), Fraction(0))
    for a, b, c, d in (map(exact, row) for row in table):
        n = a + b + c + d
        r, s, p, q = a * d / n, b * c / n, (a + d) / n, (b + c) / n
        for key, value in (("R", r), ("S", s), ("PR", p * r), ("PS+QR", p * s + q * r),
                           ("QS", q * s)):
            sums[key] += value
    r, s = sums["R"], sums["S"]
    return r / s, (sums["PR"] / r**2 + sums["PS+QR"] / (r * s) + sums["QS"] / s**2) / 2


def exact_peto(table: np.ndarray) -> tuple[Fraction, Fraction]:
    """Peto's one-step log OR sum (O - E) / sum V and its variance 1 / sum V, exactly:
    O - E = a - n1 (a + c) / N, V = n1 n2 (a + c)(b + d) / (N^2 (N - 1))."""
    o_e, v = Fraction(0), Fraction(0)
    for a, b, c, d in (map(exact, row) for row in table):
        n1, n2 = a + b, c + d
        n = n1 + n2
        o_e += a - n1 * (a + c) / n
        v += n1 * n2 * (a + c) * (b + d) / (n**2 * (n - 1))
    return o_e / v, 1 / v


def test_mh_and_peto_replicates_equal_the_formulas_in_exact_arithmetic(
        grid_file: Path, reference: mb.SimulationStudy) -> None:
    """Redraw a binary scenario from its stream; a replicate with zero-event studies has,
    on every engine with the method, the MH OR / RBG variance and Peto's one-step estimate
    that exact fractions give on the drawn counts as they are."""
    grid = load_grid(grid_file)
    scenario = next(s for s in grid.scenarios
                    if (s.family, s.k, s.tau2) == ("binary", 6, 0.1))
    draw = families.draw(scenario, np.random.default_rng(grid.seed_sequence(scenario)), 0.5)
    zero = families.zero_cell_counts(draw.tables[:1])
    rows = pd.read_parquet(reference.store / "scenarios" / f"{scenario.id}.parquet")
    a, b, c, d = np.moveaxis(draw.tables, -1, 0)
    double = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    single = (draw.tables == 0).any(axis=-1) & ~double
    picked = int(np.flatnonzero(single.any(axis=1) & double.any(axis=1))[0])
    table = draw.tables[picked]
    assert zero  # (the counts are checked on a hand-made case below)
    exact = {"MH": exact_mh(table), "PETO": exact_peto(table)}
    expected = {"MH": (math.log(exact["MH"][0]), float(exact["MH"][1])),
                "PETO": (float(exact["PETO"][0]), float(exact["PETO"][1]))}
    checked = set()
    for row in rows[(rows["replicate"] == picked) & rows["method"].isin(["MH", "PETO"])
                    ].itertuples():
        estimate, variance = expected[row.method]
        # each engine sums k = 6 terms in double precision (a few ulp), then one log
        assert row.estimate == pytest.approx(estimate, rel=1e-12, abs=1e-13), row
        assert row.se**2 == pytest.approx(variance, rel=1e-11), row
        checked.add((row.backend, row.method))
    assert checked == {("statsmodels", "MH"), ("metafor", "MH"), ("pimeta", "MH"),
                       ("metafor", "PETO"), ("pimeta", "PETO")}


#: Two hand-made replicates of five 2x2 tables (a, b, c, d): the first with a
#: single-zero table (no treated events), a table without events and one with only
#: events; the second with no events at all.
HAND_TABLES = np.array([
    [[3, 17, 1, 19], [0, 20, 2, 18], [0, 15, 0, 15], [10, 0, 10, 0], [4, 16, 6, 14]],
    [[0, 10, 0, 10], [0, 12, 0, 12], [0, 5, 0, 5], [0, 8, 0, 8], [0, 9, 0, 9]],
])


@pytest.mark.filterwarnings("ignore:metafor. Some yi/vi values are NA")
def test_zero_event_studies_are_counted_and_each_engine_rule_shows() -> None:
    assert families.zero_cell_counts(HAND_TABLES) == {
        "zero_cell_studies": 8, "single_zero_studies": 1, "double_zero_studies": 7,
        "zero_cell_replicates": 2, "single_zero_replicates": 1, "double_zero_replicates": 2}
    engines = [name for name in ("metafor", "pimeta", "pythonmeta", "statsmodels")
               if get_backend(name).status().available]
    if os.environ.get("CI"):
        assert len(engines) == 4
    sets = tables.replicate_sets(HAND_TABLES)
    first = HAND_TABLES[0]
    # pythonmeta (RevMan 5) leaves out both double-zero tables and adds 1/2 to every cell
    # of the single-zero one; the others pool the counts as they are
    revman = [first[0], [Fraction(int(n)) + Fraction(1, 2) for n in first[1]], first[4]]
    # tables pooled without an effect of their own: both double-zero ones, except in
    # pimeta's MH, whose Q keeps the table with only events (pimeta.only_events_tables)
    left_out = {("pimeta", "MH"): 1}
    for backend in engines:
        for name in get_backend(backend).raw_methods:
            if name == "DL-MH":
                continue
            job = tables.pool_tables_job(backend, mb.methods.METHODS[name], sets, 0.95)
            # the second replicate has no events: MH and Peto are not defined on it
            assert job.failures == {next(iter(job.failures)): 1}
            assert next(iter(job.failures)).startswith("InsufficientStudiesError: method")
            assert job.frame["estimate"].isna().tolist() == [False, True]
            assert job.studies_left_out == left_out.get((backend, name), 2), (backend, name)
            given = revman if backend == "pythonmeta" else first
            if name == "MH":
                odds_ratio, variance = exact_mh(given)
                estimate = math.log(odds_ratio)
            else:
                estimate, variance = map(float, exact_peto(given))
            row = job.frame.iloc[0]
            # five terms summed in double precision, one log (see above)
            assert row["estimate"] == pytest.approx(estimate, rel=1e-12, abs=1e-13)
            assert row["se"] ** 2 == pytest.approx(float(variance), rel=1e-11)


def test_every_engine_says_how_it_treats_zero_cells_for_each_method_on_tables() -> None:
    for name in REGISTRY:
        engine = get_backend(name)
        assert set(engine.table_zero_cells) == set(engine.raw_methods), name
