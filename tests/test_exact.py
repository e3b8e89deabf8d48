"""Is every engine's number right to 1e-10, or refused?  An exact-arithmetic oracle.

The truth here comes from no code under test: Q, the fixed-effect and the
DerSimonian-Laird estimates, their SEs and tau^2 are computed with
``fractions.Fraction`` from the exact values of the input floats.  Each engine's
result (after metabridge's sanity layer: passed, repaired or refused) must match
within 1e-10 on the quantity's natural scale, or raise :class:`EngineError`:

- estimate: |error| <= 1e-10 SE + 4 k eps sum w|y| / sum w  (the second term is
  the rounding floor of any weighted mean in double precision: no engine can beat
  it, and it is ~1e-13 of the data's magnitude);
- SE: relative 1e-10;
- Q: 1e-10 of max(Q, df) (Q's scale is its expectation, df; below that an error
  changes no statistic computed from Q);
- tau^2: 1e-10 of tau^2 + v_h, plus 8 k eps s^2 (v_h the harmonic mean of the
  sampling variances: an error d in tau^2 moves the weights that matter by ~d / v_h;
  s^2 the typical within-study variance: near tau^2 = 0 a correct engine still carries
  Q's rounding, ~k eps s^2).

Iterative estimators (PM, REML, ML) have no closed form: their tau^2 is checked
through the estimating equation evaluated with mpmath at 50 digits (a sign change
within the engine's declared stopping tolerance on the scale above: 1e-8 for metafor
and statsmodels, 1e-6 for PyMARE's likelihood search, 1e-5 for pimeta's absolute
step rule), and the estimate and SE at that tau^2 exactly as above.

The data: the profiles of ``strategies.py`` (general, near-homogeneous, ties,
effects offset far from 0 incl. a physical constant, tiny variances, variances
over 8 orders, k = 2) with k up to 60.  The last line of the run says how many
data sets were tried and the worst error per engine.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import example, given
from strategies import PROFILE, PROFILE_NAME, STUDY_SETS, WORST_CASES, Case

import metabridge as mb
from metabridge.backends import get_backend
from metabridge.conventions import tau2_tolerance

EPS = float(np.finfo(float).eps)
RTOL = 1e-10
#: The loosest stopping-rule tolerance an engine may declare (pimeta's absolute step
#: rule, convention pimeta.scaled_input); each result is checked at its own claim.
ITERATIVE_RTOL_MAX = 1e-5
#: tau^2's tolerance: rtol (tau^2 + v_h) + ROUNDING k eps s^2 -- v_h the harmonic mean
#: of the variances (an error d moves the weights that matter by ~d / v_h), s^2 the
#: typical variance (Q's own rounding, ~k eps s^2, near the boundary).
ROUNDING = 8.0

pytestmark = pytest.mark.filterwarnings("ignore::metabridge.errors.EngineWarning")

# ----------------------------------------------------------------- counting
TRIED: set[bytes] = set()
KINDS: Counter[str] = Counter()
#: engine -> quantity -> worst error / tolerance scale (the "relative error").
WORST: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
RESULTS: Counter[tuple[str, str]] = Counter()  # (engine, "passed"|"repaired"|"refused")


def summary_line() -> str:
    parts = []
    for engine in sorted(WORST):
        worst = max(WORST[engine].values(), default=0.0)  # relative to the quantity's scale
        counts = ", ".join(f"{what} {RESULTS[engine, what]}"
                           for what in ("passed", "repaired", "refused") if RESULTS[engine, what])
        parts.append(f"{engine} worst {worst:.2e} ({counts})")
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(KINDS.items()))
    return (f"exact oracle: {len(TRIED)} distinct data sets (profile {PROFILE_NAME}; {kinds}); "
            "worst error relative to tolerance scale: " + "; ".join(parts))


class OracleReport:
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if TRIED:
            terminalreporter.write_sep("-", "exact oracle (tests/test_exact.py)")
            terminalreporter.write_line(summary_line())


@pytest.fixture(scope="module", autouse=True)
def report(request: pytest.FixtureRequest, record_testsuite_property: Any) -> Iterator[None]:
    manager = request.config.pluginmanager
    if not manager.has_plugin("metabridge-oracle"):
        manager.register(OracleReport(), "metabridge-oracle")
    yield
    record_testsuite_property("exact_oracle_datasets", len(TRIED))


# ------------------------------------------------------------------ truth
def _fractions(values: np.ndarray) -> list[Fraction]:
    return [Fraction(float(x)) for x in values]


class Exact:
    """FE, DL and Q of one data set in exact rational arithmetic."""

    def __init__(self, studies: mb.StudySet) -> None:
        self.y, self.v = _fractions(studies.yi), _fractions(studies.vi)
        self.k = len(self.y)
        w = [1 / v for v in self.v]
        total = sum(w)
        mu = sum(a * b for a, b in zip(w, self.y, strict=True)) / total
        self.q = sum(a * (b - mu) ** 2 for a, b in zip(w, self.y, strict=True))
        c = total - sum(a * a for a in w) / total
        self.s2 = float((self.k - 1) / c) if self.k > 1 else float(self.v[0])
        self.harmonic = float(self.k / total)
        self.dl_tau2 = max(Fraction(0), (self.q - (self.k - 1)) / c) if self.k > 1 else Fraction(0)

    def pooled(self, tau2: Fraction) -> tuple[Fraction, Fraction, float]:
        """(estimate, variance, sum w|y|/sum w) at tau^2, exactly."""
        w = [1 / (v + tau2) for v in self.v]
        total = sum(w)
        mu = sum(a * b for a, b in zip(w, self.y, strict=True)) / total
        return mu, 1 / total, float(sum(a * abs(b) for a, b in zip(w, self.y, strict=True))
                                    / total)


def check(engine: str, quantity: str, error: float, scale: float, rtol: float = RTOL) -> None:
    """error <= rtol * scale; the worst error / scale per engine is kept for the summary."""
    relative = error / scale if scale > 0 else (0.0 if error == 0 else math.inf)
    WORST[engine][quantity] = max(WORST[engine][quantity], relative)
    assert relative <= rtol, (engine, quantity, error, scale)


def check_core(result: mb.PoolResult, truth: Exact, tau2: Fraction, engine: str) -> None:
    """estimate, SE (z test) and Q against the exact values at ``tau2``."""
    mu, var, abs_mean = truth.pooled(tau2)
    se = math.sqrt(float(var))
    df = truth.k - 1
    # RTOL * scale = 1e-10 SE + 4 k eps sum w|y| / sum w (see the module docstring)
    check(engine, "estimate", abs(result.estimate - float(mu)),
          se + 4 * truth.k * EPS * abs_mean / RTOL)
    check(engine, "se", abs(result.se - se), se)
    q = float(truth.q)
    check(engine, "q", abs(result.q - q), max(q, df, 1.0))


def tau2_allowance(rtol: float, tau2: float, truth: Exact) -> float:
    """rtol (tau^2 + v_h) + ROUNDING k eps s^2 (see above)."""
    return rtol * (tau2 + truth.harmonic) + ROUNDING * truth.k * EPS * truth.s2


def check_tau2(value: float, expected: float, truth: Exact, engine: str) -> None:
    error = abs(value - expected)
    relative = error / tau2_allowance(RTOL, expected, truth) * RTOL
    WORST[engine]["tau2"] = max(WORST[engine]["tau2"], relative)
    assert relative <= RTOL, (engine, "tau2", value, expected)


def pooled_or_refused(studies: mb.StudySet, method: str, engine: str) -> mb.PoolResult | None:
    """The engine's checked result, or None when metabridge refuses it (EngineError)."""
    try:
        result = mb.pool(studies, method, engine)
    except mb.EngineError:
        RESULTS[engine, "refused"] += 1
        return None
    repaired = any(k.startswith("metabridge.") and k != "metabridge.harmonised"
                   for k in result.conventions)
    RESULTS[engine, "repaired" if repaired else "passed"] += 1
    return result


# ---------------------------------------------------------- FE, DL, Q exactly
@PROFILE
@example(case=WORST_CASES[0])
@example(case=WORST_CASES[1])
@example(case=WORST_CASES[2])
@example(case=WORST_CASES[3])
@example(case=WORST_CASES[4])
@given(case=STUDY_SETS)
def test_fe_dl_and_q_are_exact_or_refused(installed_engine: str, case: Case) -> None:
    TRIED.add(case.key)
    KINDS[case.kind] += 1
    studies = case.studies()
    truth = Exact(studies)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fe = pooled_or_refused(studies, "FE", installed_engine)
        dl = pooled_or_refused(studies, "DL", installed_engine)
    if fe is not None:
        assert fe.tau2 == 0.0
        check_core(fe, truth, Fraction(0), installed_engine)
    if dl is not None:
        check_tau2(dl.tau2, float(truth.dl_tau2), truth, installed_engine)
        check_core(dl, truth, Fraction(dl.tau2), installed_engine)


# ------------------------------------------- iterative estimators, by equation
mpmath.mp.dps = 50


def equation(method: str, truth: Exact, tau2: float) -> mpmath.mpf:
    """The estimating equation of ``method`` at ``tau2``, at 50 digits."""
    t = mpmath.mpf(tau2)
    w = [1 / (mpmath.mpf(v.numerator) / v.denominator + t) for v in truth.v]
    y = [mpmath.mpf(x.numerator) / x.denominator for x in truth.y]
    total = mpmath.fsum(w)
    mu = mpmath.fsum(a * b for a, b in zip(w, y, strict=True)) / total
    if method == "PM":
        return mpmath.fsum(a * (b - mu) ** 2 for a, b in zip(w, y, strict=True)) - (truth.k - 1)
    score = mpmath.fsum(a * a * (b - mu) ** 2 for a, b in zip(w, y, strict=True)) - total
    if method == "REML":
        score += mpmath.fsum(a * a for a in w) / total
    return score


def root_within(method: str, truth: Exact, tau2: float, tolerance: float) -> bool:
    low, high = max(0.0, tau2 - tolerance), tau2 + tolerance
    return equation(method, truth, high) <= 0 and (low == 0.0 or equation(method, truth, low) >= 0)


ITERATIVE = ("PM", "REML", "ML")


@PROFILE
@example(case=WORST_CASES[0])
@example(case=WORST_CASES[3])
@example(case=WORST_CASES[4])
@given(case=STUDY_SETS)
def test_iterative_estimators_solve_their_equations(installed_engine: str, case: Case) -> None:
    TRIED.add(case.key)
    studies = case.studies()
    truth = Exact(studies)
    for method in ITERATIVE:
        if method not in get_backend(installed_engine).methods:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = pooled_or_refused(studies, method, installed_engine)
        if result is None:
            continue
        claim = tau2_tolerance(result.conventions) or RTOL
        assert claim <= ITERATIVE_RTOL_MAX
        tolerance = tau2_allowance(claim, result.tau2, truth)
        assert root_within(method, truth, result.tau2, tolerance), (method, result.tau2)
        check_core(result, truth, Fraction(result.tau2), installed_engine)


def test_oracle_covers_every_engine_and_profile() -> None:
    """Guard: the oracle ran on every installed engine and every profile of strategies.py."""
    if not TRIED:
        pytest.skip("run with the oracle tests")
    assert {"general", "offset", "tiny", "spread", "k2"} <= set(KINDS)
