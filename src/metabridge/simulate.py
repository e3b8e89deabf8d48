"""Monte Carlo comparison of estimators across engines: :func:`simulate`.

Data-generating model (random effects): for replicate r and study i,
theta_ri ~ N(mu, tau^2) and y_ri ~ N(theta_ri, v_ri), with v_ri the within-study
variances.  Each (engine, method, test) pools every replicate through the
engine's batch path: PyMARE fits all replicates in one vectorised call, metafor
fits a whole batch inside one R call, statsmodels and PythonMeta loop over the
engine directly.  CIs are estimate -/+ c SE from the engine's estimate and SE
(c normal, or t on k - 1 df for Hartung-Knapp).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .arguments import finite_number, flag, names, random_generator, whole_number
from .backends import REGISTRY, get_backend, is_available, require_backend, supporting
from .backends.base import Backend
from .conversions import check_level
from .errors import InvalidArgumentError, InvalidStudyError, UnsupportedMethodError
from .methods import Method, canonical_method, canonical_test
from .studies.checks import check_representable

VarianceSpec = Sequence[float] | np.ndarray | Callable[[np.random.Generator, int, int], np.ndarray]
#: Replicates per engine call; each chunk is one call (one R call for metafor).
CHUNK = 2000


def uniform_variances(low: float = 0.01, high: float = 0.2) -> Callable[..., np.ndarray]:
    """Within-study variances drawn independently from Uniform(low, high)."""
    low, high = finite_number(low, "low"), finite_number(high, "high")
    if not 0 < low < high:
        raise InvalidArgumentError(f"need 0 < low < high, got {low}, {high}")

    def draw(rng: np.random.Generator, reps: int, k: int) -> np.ndarray:
        return rng.uniform(low, high, size=(reps, k))

    draw.__doc__ = f"Uniform({low:g}, {high:g})"
    return draw


def _variances(
    spec: VarianceSpec, rng: np.random.Generator, reps: int, k: int, tau2: float,
    true_effect: float,
) -> np.ndarray:
    wrong = (f"within_variances must give {reps} x {k} finite positive variances "
             f"(a length-{k} sequence, or a callable (rng, reps, k) -> array)")
    if isinstance(spec, bool | str | bytes):
        raise InvalidArgumentError(f"{wrong}, got {spec!r}")
    try:
        if callable(spec):
            v = np.asarray(spec(rng, reps, k), dtype=float)
        else:
            v = np.broadcast_to(np.asarray(spec, dtype=float), (reps, k)).copy()
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"{wrong} ({exc})") from None
    if v.shape != (reps, k) or not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise InvalidArgumentError(wrong)
    # The study model's representable range, at the extreme variances and the largest
    # effect the draws can plausibly reach (10 SD from the true effect).
    extremes = np.array([v.min(), v.max()])
    effects = abs(true_effect) + 10.0 * np.sqrt(tau2 + extremes)
    try:
        check_representable(effects, extremes, ("smallest", "largest"), "within_variances",
                            k=k)
    except InvalidStudyError as exc:
        raise InvalidArgumentError(
            f"within_variances, tau2 and true_effect: the {exc.study} variance, with effects "
            f"as large as |true_effect| + 10 SD: {exc.problem}"
        ) from None
    return v


@dataclass(frozen=True)
class Simulation:
    """Per-replicate estimates, their summary, and the cross-engine spot check."""

    settings: dict[str, Any]
    replicates: pd.DataFrame
    cross_check: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> pd.DataFrame:
        """Bias, RMSE, coverage (with Monte Carlo SE), CI width, tau^2 bias, P(tau^2 = 0)."""
        return summarise(self.replicates, self.settings["true_effect"], self.settings["tau2"])

    def plot_coverage(self, title: str | None = None) -> Any:
        """Coverage by method and engine, with +/- 1.96 Monte Carlo SE and the nominal level."""
        from matplotlib.figure import Figure

        table = self.summary()
        labels = [f"{r.method} ({r.test})" for r in table.itertuples()]
        order = list(dict.fromkeys(labels))
        engines = list(dict.fromkeys(table["backend"]))
        fig = Figure(figsize=(7.0, 0.45 * len(order) + 1.6))
        ax = fig.add_subplot()
        for j, engine in enumerate(engines):
            part = table[table["backend"] == engine]
            ys = [order.index(f"{r.method} ({r.test})") + (j - (len(engines) - 1) / 2) * 0.15
                  for r in part.itertuples()]
            ax.errorbar(part["coverage"], ys, xerr=1.96 * part["coverage_mc_se"], fmt="o",
                        capsize=3, label=engine)
        ax.axvline(self.settings["level"], color="black", lw=0.8, ls="--", label="nominal")
        ax.set_yticks(range(len(order)), order)
        ax.invert_yaxis()
        ax.set_xlabel("CI coverage of the true effect")
        ax.legend(fontsize=8, frameon=False)
        s = self.settings
        ax.set_title(title or f"k = {s['k']}, tau^2 = {s['tau2']:g}, {s['reps']} replicates",
                     fontsize=10, loc="left")
        fig.tight_layout()
        return fig

    def __str__(self) -> str:
        text = self.summary().to_string(index=False, float_format=lambda x: f"{x:.4f}")
        if not self.cross_check.empty:
            worst = self.cross_check["max_abs_diff"].max()
            text += (f"\ncross-check on {self.cross_check['checked'].max()} replicates: "
                     f"largest difference between engines {worst:.2e}")
        return text


def simulate(
    k: int = 10,
    tau2: float = 0.1,
    true_effect: float = 0.0,
    within_variances: VarianceSpec | None = None,
    reps: int = 1000,
    methods: Iterable[str] = ("DL",),
    backends: Iterable[str] | None = None,
    tests: Iterable[str] = ("z",),
    level: float = 0.95,
    seed: int | None = None,
    progress: bool = True,
    cross_check: int = 20,
) -> Simulation:
    """Simulate ``reps`` meta-analyses of ``k`` studies and pool each with every
    (backend, method, test).

    ``within_variances``: a length-k sequence used in every replicate, or a
    callable ``(rng, reps, k) -> array`` (default :func:`uniform_variances`).
    ``backends=None`` uses PyMARE (the batch engine) if installed, else
    statsmodels.  ``cross_check`` replicates (chosen with the seed) are re-pooled
    on every other installed engine that has the method, and the largest
    differences are reported in ``Simulation.cross_check``.  ``seed`` makes the
    whole run reproducible (numpy Generator).
    """
    k, reps = whole_number(k, "k", 2), whole_number(reps, "reps", 1)
    cross_check = whole_number(cross_check, "cross_check", 0)
    tau2 = finite_number(tau2, "tau2", minimum=0.0)
    true_effect = finite_number(true_effect, "true_effect")
    level, progress = check_level(level), flag(progress, "progress")
    chosen = [canonical_method(m) for m in names(methods, "method")]
    test_names = [canonical_test(t) for t in names(tests, "test")]
    rng = random_generator(seed)
    if backends is None:  # probe PyMARE alone: another engine starts only when it is used
        backends = ("pymare",) if is_available("pymare") else ("statsmodels",)
    engines = [require_backend(b) for b in names(backends, "backend")]
    for method in chosen:
        if method.needs is not None:
            raise InvalidArgumentError(
                f"simulate draws effect sizes (yi, vi); {method.name} pools 2x2 tables: use "
                "an inverse-variance method"
            )
    for engine in engines:
        for method in chosen:
            if method.name not in engine.methods:
                raise UnsupportedMethodError(
                    method.name, engine.name, supporting(method.name, installed_only=True)
                )

    y, v = draw_normal(rng, reps, k, tau2, true_effect, within_variances)
    jobs = [(e, m, t) for e in engines for m in chosen for t in test_names if t in e.tests]
    checked = min(cross_check, reps)
    bar = _progress(total=len(jobs) * reps + checked * len(_cross_check_plan(jobs)),
                    enabled=progress)
    frames = [pool_job(engine, method, test, y, v, level, bar) for engine, method, test in jobs]
    replicates = pd.concat(frames, ignore_index=True)
    settings = {"k": k, "tau2": tau2, "true_effect": true_effect, "reps": reps, "level": level,
                "seed": seed, "within_variances": getattr(within_variances, "__doc__", None)
                or "uniform_variances(0.01, 0.2)",
                "backends": [e.name for e in engines]}
    checks = _cross_check(y, v, replicates, rng, jobs, checked, level, bar) if checked else None
    bar.close()
    return Simulation(settings, replicates, checks if checks is not None else pd.DataFrame())


def draw_normal(
    rng: np.random.Generator, reps: int, k: int, tau2: float, mu: float,
    within_variances: VarianceSpec | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(y, v), reps x k: v from ``within_variances``, then theta = mu + tau z1 and
    y = theta + sqrt(v) z2, drawn from ``rng`` in that order."""
    spec = uniform_variances() if within_variances is None else within_variances
    v = _variances(spec, rng, reps, k, tau2, mu)
    theta = mu + math.sqrt(tau2) * rng.standard_normal((reps, k))
    return theta + np.sqrt(v) * rng.standard_normal((reps, k)), v


def pool_job(
    engine: Backend, method: Method, test: str, y: np.ndarray, v: np.ndarray, level: float,
    bar: Any = None,
) -> pd.DataFrame:
    """Every replicate (row of y, v) pooled with one (engine, method, test), ``CHUNK``
    replicates per ``pool_batch`` call; one row per replicate."""
    parts = []
    reps = y.shape[0]
    for start in range(0, reps, CHUNK):
        stop = min(start + CHUNK, reps)
        parts.append(engine.pool_batch(y[start:stop], v[start:stop], method, level, test))
        if bar is not None:
            bar.update(stop - start)
    return pd.DataFrame({
        "backend": engine.name, "method": method.name, "test": test,
        "replicate": np.arange(reps),
        **{f: np.concatenate([getattr(p, f) for p in parts])
           for f in ("estimate", "se", "ci_low", "ci_high", "tau2")},
    })


def summarise(replicates: pd.DataFrame, mu: float, tau2: float) -> pd.DataFrame:
    """Per (backend, method, test): bias (and its Monte Carlo SE, sd / sqrt(n)), RMSE,
    coverage (and its MC SE, sqrt(p (1 - p) / n)), CI width, tau^2 bias, P(tau^2 = 0),
    over the replicates with an estimate and SE (the others count as ``failed``)."""
    rows = []
    for (backend, method, test), part in replicates.groupby(
        ["backend", "method", "test"], sort=False
    ):
        ok = part.dropna(subset=["estimate", "se"])
        n = len(ok)
        covered = ((ok["ci_low"] <= mu) & (mu <= ok["ci_high"])).to_numpy()
        coverage = covered.mean() if n else math.nan
        rows.append({
            "backend": backend, "method": method, "test": test, "replicates": n,
            "failed": len(part) - n,
            "bias": (ok["estimate"] - mu).mean(),
            "bias_mc_se": ok["estimate"].std() / math.sqrt(n) if n > 1 else math.nan,
            "rmse": math.sqrt(((ok["estimate"] - mu) ** 2).mean()) if n else math.nan,
            "coverage": coverage,
            "coverage_mc_se": math.sqrt(coverage * (1 - coverage) / n) if n else math.nan,
            "ci_width": (ok["ci_high"] - ok["ci_low"]).mean(),
            "tau2_bias": (ok["tau2"] - tau2).mean(),
            "tau2_zero": (ok["tau2"] <= 0).mean(),
        })
    return pd.DataFrame(rows)


def _cross_check_plan(
    jobs: Sequence[tuple[Backend, Method, str]],
) -> list[tuple[Backend, Method, str, str]]:
    """(engine, method, test, other engine) for every registered other engine that has the
    method and test; from the adapters' declarations, so that no engine is started."""
    return [(engine, method, test, other) for engine, method, test in jobs
            for other in REGISTRY if other != engine.name
            and method.name in get_backend(other).methods and test in get_backend(other).tests]


def _cross_check(
    y: np.ndarray, v: np.ndarray, replicates: pd.DataFrame, rng: np.random.Generator,
    jobs: Sequence[tuple[Backend, Method, str]], n: int, level: float, bar: Any,
) -> pd.DataFrame:
    """Re-pool a seeded sample of ``n`` replicates on every other installed engine that has
    the method; each engine is started here, when it is first used (the bar counts an
    engine that is not installed as done)."""
    picked = np.sort(rng.choice(y.shape[0], size=n, replace=False))
    rows = []
    for engine, method, test, other in sorted(_cross_check_plan(jobs),
                                              key=lambda job: (job[0].name, job[1].name, job[2])):
        if is_available(other):
            part = replicates[(replicates["backend"] == engine.name)
                              & (replicates["method"] == method.name)
                              & (replicates["test"] == test)]
            mine = part.set_index("replicate").loc[picked]
            theirs = get_backend(other).pool_batch(y[picked], v[picked], method, level, test)
            for quantity in ("estimate", "se", "tau2"):
                gaps = np.abs(mine[quantity].to_numpy() - getattr(theirs, quantity))
                rows.append({"backend": engine.name, "other": other, "method": method.name,
                             "test": test, "quantity": quantity, "checked": len(picked),
                             "max_abs_diff": float(np.nanmax(gaps))})
        bar.update(len(picked))
    return pd.DataFrame(rows)


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="metabridge.simulate", unit="fit")
