"""Speed and memory figures for metabridge (printed, never asserted).

    python validation/bench.py            # or: nox -s bench

(a) facade ``pool()`` vs a raw ``combine_effects`` call on the same data at k = 10, 100
    and 1,000 (goal <= 1.10x; <= 1.5x including ``StudySet.from_effects``);
(b) 1,000 metafor DL fits through metabridge's batch path vs the same loop in plain R
    run by Rscript (goal <= 1.10x);
(c) 10,000 replicates x k = 10: PyMARE batch path vs a per-replicate statsmodels loop
    (goal >= 100x faster) and vs a plain numpy vectorised DL (the limit); wall time and
    peak memory (tracemalloc);
(d), (e) simulation studies on Dask: scenarios per second on 1 and 2 workers, memory per
    worker, per-fit costs and the plan past one machine (validation/bench_simstudy.py);
(h) MH, PETO and DL-MH per replicate on a binary scenario's tables, every engine with
    them (validation/bench_simstudy.py);
(g) ``import metabridge``: best of several ``python -X importtime`` runs with a warm
    bytecode cache (goal < 0.5 s);
(f) ``metabridge reproduce``: wall time of the command, and what its figures cost (each
    figure built once and saved as PNG and SVG), beside the former way of saving them
    (a tight bounding box per file, SVG text traced as paths) on the same figures.

Timings take the best of several repeats, interleaving the contenders so that
machine load hits both alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import timeit
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

import metabridge as mb
from metabridge.backends import available_backends, get_backend
from metabridge.methods import METHODS

ROOT = Path(__file__).resolve().parent.parent


def best_of(fn: Callable[[], object], number: int, repeat: int) -> float:
    """Best mean time per call, in seconds."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def interleaved(a: Callable[[], object], b: Callable[[], object], number: int,
                rounds: int) -> tuple[float, float]:
    """Best per-call times of a and b, measured in alternating rounds."""
    ta, tb = [], []
    for _ in range(rounds):
        ta.append(best_of(a, number, 1))
        tb.append(best_of(b, number, 1))
    return min(ta), min(tb)


def data(reps: int, k: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 0.2, size=(reps, k))
    y = 0.2 + np.sqrt(0.1) * rng.standard_normal((reps, k)) + np.sqrt(v) * rng.standard_normal(
        (reps, k))
    return y, v


def bench_facade(sizes: tuple[int, ...] = (10, 100, 1000)) -> None:
    print("(a) pool(studies, 'DL', 'statsmodels') vs the raw combine_effects(yi, vi, "
          "method_re='chi2') call, us per call (best of interleaved rounds)")
    print(f"    {'k':>5s} {'raw':>8s} {'pool':>8s} {'ratio':>6s} {'+from_effects':>14s} "
          f"{'ratio':>6s}   goal <= 1.10x / <= 1.50x")
    rows = []
    for k in sizes:
        y, v = data(1, k)
        number = max(200, 200_000 // (k + 100))
        t_raw, t_pool, t_built = _facade_times(y[0], v[0], number)
        print(f"    {k:5d} {t_raw * 1e6:8.1f} {t_pool * 1e6:8.1f} {t_pool / t_raw:5.2f}x "
              f"{t_built * 1e6:14.1f} {t_built / t_raw:5.2f}x")
        rows.append((k, _facade_breakdown(y[0], v[0], number)))
    print("    where pool()'s time goes (us per call; each part timed alone):")
    for k, parts in rows:
        print(f"    {k:5d} " + ", ".join(f"{name} {t * 1e6:.1f}" for name, t in parts.items()))


def _facade_breakdown(yi: np.ndarray, vi: np.ndarray, number: int) -> dict[str, float]:
    """Seconds per call of each layer of pool(): the engine call as the adapter makes it,
    the adapter's result (PoolResult) around it, the sanity layer, StudySet construction."""
    from metabridge.backends import sanity
    from metabridge.backends import statsmodels as adapter
    from metabridge.facade import resolve

    studies = mb.StudySet.from_effects(yi, vi=vi)
    engine, method, level, test = resolve(studies, "DL", "statsmodels", 0.95)
    result = engine.fit(studies, method, level, test)
    parts = {
        "combine_effects (adapter's call)": lambda: adapter._combine(yi, vi, method),
        "fit (call + PoolResult)": lambda: engine.fit(studies, method, level, test),
        "sanity.verify": lambda: sanity.verify(result, studies.yi, studies.vi, method),
        "resolve": lambda: resolve(studies, "DL", "statsmodels", 0.95),
        "from_effects": lambda: mb.StudySet.from_effects(yi, vi=vi),
    }
    return {name: min(best_of(fn, number, 1) for _ in range(5)) for name, fn in parts.items()}


def _facade_times(yi: np.ndarray, vi: np.ndarray, number: int) -> tuple[float, ...]:
    """Best seconds per call of: the raw call, pool(), from_effects + pool() (interleaved)."""
    from statsmodels.stats.meta_analysis import combine_effects

    studies = mb.StudySet.from_effects(yi, vi=vi)
    contenders = (
        lambda: combine_effects(yi, vi, method_re="chi2"),
        lambda: mb.pool(studies, "DL", "statsmodels"),
        lambda: mb.pool(mb.StudySet.from_effects(yi, vi=vi), "DL", "statsmodels"),
    )
    times: list[list[float]] = [[] for _ in contenders]
    for _ in range(7):
        for fn, seen in zip(contenders, times, strict=True):
            seen.append(best_of(fn, number, 1))
    return tuple(min(seen) for seen in times)


R_LOOP = """
suppressPackageStartupMessages(library(metafor))
d <- as.matrix(read.csv("{path}", header = FALSE))
k <- ncol(d) / 2
y <- d[, 1:k]; v <- d[, (k + 1):(2 * k)]
ctl <- list(threshold = 1e-10, tol = 1e-12, maxiter = 1000)
fit_all <- function() {{
  out <- matrix(NA_real_, nrow(y), 3)
  for (i in seq_len(nrow(y))) {{
    f <- rma.uni(yi = y[i, ], vi = v[i, ], method = "DL", control = ctl)
    out[i, ] <- c(coef(f), f$se, f$tau2)
  }}
  out
}}
best <- Inf
for (r in 1:{repeat}) best <- min(best, system.time(fit_all())[["elapsed"]])
cat(best, "\\n")
"""


def bench_metafor(reps: int = 1000, repeat: int = 3) -> None:
    print(f"(b) {reps} metafor DL fits, k = 10: metabridge batch path vs plain R loop")
    if "metafor" not in available_backends() or shutil.which("Rscript") is None:
        print("    skipped: metafor/Rscript not available")
        return
    y, v = data(reps, 10)
    engine = get_backend("metafor")
    engine.pool_batch(y[:5], v[:5], METHODS["DL"], 0.95)  # start R outside the timing
    ours = min(_timed(lambda: engine.pool_batch(y, v, METHODS["DL"], 0.95))
               for _ in range(repeat))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.csv"
        np.savetxt(path, np.hstack([y, v]), delimiter=",", fmt="%.17g")
        script = Path(tmp) / "loop.R"
        script.write_text(R_LOOP.format(path=path, repeat=repeat))
        out = subprocess.run(["Rscript", str(script)], capture_output=True, text=True,
                             check=True)
        plain = float(out.stdout.split()[-1])
    print(f"    plain R loop (Rscript, rma.uni)   {plain:8.3f} s")
    print(f"    metabridge pool_batch (one call)  {ours:8.3f} s")
    print(f"    ratio                             {ours / plain:8.2f}x   (goal <= 1.10x)")


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _peak(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, peak traced MiB): wall time untraced, memory in a second, traced run."""
    wall = _timed(fn)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return wall, peak


def numpy_dl(y: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DerSimonian-Laird over rows, plain numpy (the speed limit)."""
    w = 1.0 / v
    sw = w.sum(axis=1)
    mu_fe = (w * y).sum(axis=1) / sw
    q = (w * (y - mu_fe[:, None]) ** 2).sum(axis=1)
    c = sw - (w**2).sum(axis=1) / sw
    tau2 = np.maximum(0.0, (q - (y.shape[1] - 1)) / c)
    wr = 1.0 / (v + tau2[:, None])
    return (wr * y).sum(axis=1) / wr.sum(axis=1), 1 / np.sqrt(wr.sum(axis=1)), tau2


def bench_batch(reps: int = 10_000) -> None:
    print(f"(c) {reps} replicates x k = 10 on {os.cpu_count()} cores")
    y, v = data(reps, 10)
    fe, dl, reml = METHODS["FE"], METHODS["DL"], METHODS["REML"]
    rows = []
    if "pymare" in available_backends():
        pm = get_backend("pymare")
        for method in (fe, dl, reml):
            wall, peak = _peak(lambda m=method: pm.pool_batch(y, v, m, 0.95))
            rows.append((f"PyMARE batch {method.name}", wall, peak))
    sm = get_backend("statsmodels")
    for method in (fe, dl):
        wall, peak = _peak(lambda m=method: sm.pool_batch(y, v, m, 0.95))
        rows.append((f"statsmodels loop {method.name}", wall, peak))
    wall, peak = _peak(lambda: numpy_dl(y, v))
    rows.append(("plain numpy DL", wall, peak))
    for name, wall, peak in rows:
        print(f"    {name:24s} {wall * 1e3:10.1f} ms   peak {peak:7.1f} MiB")
    times = {name: wall for name, wall, _ in rows}
    if "PyMARE batch DL" in times:
        sm_fd = times["statsmodels loop FE"] + times["statsmodels loop DL"]
        pm_fd = times["PyMARE batch FE"] + times["PyMARE batch DL"]
        pm_all = pm_fd + times["PyMARE batch REML"]
        print(f"    FE + DL: statsmodels loop / PyMARE batch = {sm_fd / pm_fd:8.1f}x   "
              "(goal >= 100x)")
        print(f"    FE + DL + REML on PyMARE: {pm_all * 1e3:.1f} ms (statsmodels has no REML)")
        limit = times["PyMARE batch DL"] / times["plain numpy DL"]
        print(f"    PyMARE DL / plain numpy DL = {limit:8.1f}x")
        check = numpy_dl(y, v)[0] - pm.pool_batch(y, v, dl, 0.95).estimate
        print(f"    (numpy DL vs PyMARE DL estimates: max |diff| = {np.abs(check).max():.1e})")


def bench_reproduce() -> None:
    import matplotlib

    from metabridge import figures
    from metabridge.outputs import OutputFolder
    from metabridge.reporting import NumberLog
    from metabridge.reproduce import reproduce
    from metabridge.reproduction_report import build

    print("(f) metabridge reproduce: the whole command, and its figures")
    with tempfile.TemporaryDirectory() as tmp:
        wall = _timed(lambda: subprocess.run(
            [sys.executable, "-m", "metabridge", "reproduce", "--out", f"{tmp}/cmd"],
            check=True, capture_output=True))
        print(f"    metabridge reproduce --out DIR (a new process)  {wall:8.2f} s")
        start = time.perf_counter()
        run = reproduce()
        computed = time.perf_counter() - start
        legacy: list[float] = []
        add = figures.FigureFolder.add

        def add_and_time_the_former_way(self, stem, caption, draw):  # type: ignore[no-untyped-def]
            fig = draw()
            began = time.perf_counter()
            for suffix in ("png", "svg"):
                with matplotlib.rc_context({"svg.fonttype": "path"}):
                    fig.savefig(f"{tmp}/legacy.{suffix}", dpi=figures.DPI, bbox_inches="tight")
            legacy.append(time.perf_counter() - began)
            return add(self, stem, caption, lambda: fig)

        folder = figures.FigureFolder(OutputFolder(Path(tmp) / "report"))
        start = time.perf_counter()
        build(run, folder, NumberLog())
        built = time.perf_counter() - start
        figures.FigureFolder.add = add_and_time_the_former_way  # type: ignore[method-assign]
        try:
            build(run, figures.FigureFolder(OutputFolder(Path(tmp) / "again")), NumberLog())
        finally:
            figures.FigureFolder.add = add  # type: ignore[method-assign]
    costs = folder.costs
    total = sum(c.total for c in costs)
    print(f"    in-process: analyses {computed:6.2f} s; report sections {built:6.2f} s, of which "
          f"{len(costs)} figures ({2 * len(costs)} files) {total:6.2f} s")
    print(f"    figures: build {sum(c.build for c in costs):6.2f} s, PNG "
          f"{sum(c.png for c in costs):6.2f} s, SVG {sum(c.svg for c in costs):6.2f} s "
          f"= {100 * total / (computed + built):4.1f}% of analyses + report")
    print(f"    saving the same figures the former way (tight bbox, SVG text as paths): "
          f"{sum(legacy):6.2f} s vs {sum(c.png + c.svg for c in costs):6.2f} s now")
    for c in costs:
        print(f"      {c.stem:22s} build {c.build * 1e3:6.0f} ms  png {c.png * 1e3:6.0f} ms  "
              f"svg {c.svg * 1e3:6.0f} ms")


def bench_import(repeat: int = 7) -> None:
    """Best cumulative ``-X importtime`` figure of ``import metabridge`` (bytecode cached)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    command = [sys.executable, "-X", "importtime", "-c", "import metabridge"]
    subprocess.run(command, env=env, check=True, capture_output=True)  # warm the cache
    times = []
    for _ in range(repeat):
        err = subprocess.run(command, env=env, check=True, capture_output=True,
                             text=True).stderr
        line = next(ln for ln in reversed(err.splitlines()) if ln.rstrip().endswith(" metabridge"))
        times.append(int(line.split("|")[1]) / 1e6)
    print(f"(g) import metabridge (python -X importtime, best of {repeat}, bytecode cached)")
    print(f"    {min(times):8.3f} s   (median {sorted(times)[repeat // 2]:.3f} s; goal < 0.5 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("a", "b", "c", "d", "e", "f", "g", "h"), default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"metabridge {mb.__version__}; engines: {', '.join(available_backends())}\n")
    from bench_simstudy import bench_costs, bench_study, bench_tables

    for key, fn in (("a", bench_facade), ("b", bench_metafor), ("c", bench_batch),
                    ("d", bench_study), ("e", bench_costs), ("f", bench_reproduce),
                    ("g", bench_import), ("h", bench_tables)):
        if args.only in (None, key):
            fn()
            print()


if __name__ == "__main__":
    main()
