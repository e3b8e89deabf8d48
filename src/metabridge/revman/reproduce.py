"""Re-run every analysis of a Cochrane review file on every engine; check RevMan's numbers.

Each analysis is pooled with RevMan's settings (:data:`POOLING`: method and model;
the file's confidence levels) on each engine that has the method, and every number
RevMan stored -- pooled effect, CI, Z, P, Chi^2, its df and P, I^2, Tau^2, each
study's effect, SE, CI and weight, each subgroup's results and the test for subgroup
differences -- is compared with the engine's: PASS when they differ by at most
:func:`tolerance` plus, where the file rounded the study data themselves, what that
rounding can move the number (:func:`rounding_allowance`).  Analyses where RevMan
stored no result are listed as such.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import pandas as pd

from .. import heterogeneity as het
from ..analyses import SubgroupAnalysis
from ..analyses.suite import AnalysisSuite
from ..backends import split_requested
from ..conventions import convention
from ..errors import MetabridgeError, UnknownMethodError, UnsupportedMethodError
from ..formatting import aligned
from ..result import PoolResult
from ..studies import StudySet
from . import csv_export, rm5
from .model import POOLED_FIELDS, STUDY_FIELDS, TEST_FIELDS, Analysis, Review, Settings, Stored
from .statistics import revman5_chi2_p

#: RevMan's (method, random effects) -> metabridge's pooling method.  RevMan 5 pools
#: random effects with DerSimonian-Laird: on the inverse-variance effects, for 2x2
#: tables with tau^2 from the Mantel-Haenszel Q ("DL-MH"); Peto is fixed-effect only.
POOLING: dict[tuple[str, bool], str] = {
    ("IV", False): "FE", ("IV", True): "DL",
    ("OE", False): "FE", ("OE", True): "DL",
    ("MH", False): "MH", ("MH", True): "DL-MH", ("PETO", False): "PETO",
}
#: Formats written by RevMan 5, whose chi-square P values follow RevMan 5's series rule
#: (conventions: revman5.chi2_p_series); RevMan Web's are compared with the exact tail.
REVMAN5_FORMATS = frozenset({rm5.FORMAT, csv_export.FORMAT})

#: Tolerance for numbers a .rm5 file holds as full doubles.  metabridge's engines and
#: RevMan 5 agree to ~1e-15 relative on the public Fleiss review (pooled OR, CI, Z,
#: Chi^2, I^2 and weights to the last digit); RevMan's normal tail probability differs
#: from scipy's by 2.8e-11 relative (P(Z) there).  1e-9 lets summation order and that
#: approximation through and is far below any digit RevMan prints (it shows 2 decimals
#: of an effect, 5 of a P).  The absolute part covers numbers RevMan computes as 0.
FULL_RTOL = 1e-9
FULL_ATOL = 1e-12


def tolerance(stored: Stored) -> float:
    """How far a recomputed number may be from RevMan's and still PASS.

    Full doubles (.rm5): ``FULL_RTOL`` relative (+ ``FULL_ATOL``), how far a recomputed
    double may be from RevMan's.  Rounded exports (CSV: 8 decimals, RevMan Web: 6): the
    text is within half a unit of its last decimal of RevMan's double, so the two add.
    """
    slack = FULL_RTOL * abs(stored.value) + FULL_ATOL
    if stored.decimals is None:
        return slack
    return 0.5 * 10.0 ** -stored.decimals + slack


@dataclass(frozen=True)
class Check:
    """One number RevMan stored: where it belongs and its value."""

    analysis: str
    scope: str  # "overall", "subgroup", "test" or "study"
    item: str  # the subgroup's name or the study's label ("" otherwise)
    quantity: str
    stored: Stored

    @property
    def name(self) -> str:
        where = {"overall": "overall", "test": "subgroup test"}.get(
            self.scope, f"{self.scope} {self.item!r}")
        return f"{self.analysis} {where} {self.quantity}"

    @property
    def tolerance(self) -> float:
        return tolerance(self.stored)

    def passes(self, value: float, allowance: float = 0.0) -> bool:
        """True if ``value`` is within the tolerance (+ ``allowance``) of RevMan's."""
        return (not math.isnan(value)
                and abs(value - self.stored.value) <= self.tolerance + allowance)


def checks_of(analysis: Analysis) -> list[Check]:
    """Every number RevMan stored for ``analysis``, in a fixed order."""
    out = [Check(analysis.id, "overall", "", q, analysis.overall[q])
           for q in POOLED_FIELDS if q in analysis.overall]
    for group, numbers in analysis.subgroups.items():
        out += [Check(analysis.id, "subgroup", group, q, numbers[q])
                for q in POOLED_FIELDS if q in numbers]
    out += [Check(analysis.id, "test", "", q, analysis.subgroup_test[q])
            for q in TEST_FIELDS if q in analysis.subgroup_test]
    for label, numbers in analysis.study_results.items():
        out += [Check(analysis.id, "study", label, q, numbers[q])
                for q in STUDY_FIELDS if q in numbers]
    return out


@dataclass(frozen=True)
class Computed:
    """An engine's value for a check, how it was obtained, or why there is none."""

    value: float
    how: str = ""
    error: str = ""


@dataclass
class Rerun:
    """One analysis re-run on one engine with RevMan's settings.

    ``suite`` holds the fits (the report draws its figures from the same ones);
    ``unsupported`` says why the engine (or metabridge) lacks RevMan's method;
    ``error`` says why an engine that has it failed.
    """

    analysis: Analysis
    backend: str
    method: str = ""
    suite: AnalysisSuite | None = None
    overall: PoolResult | None = None
    groups: SubgroupAnalysis | None = None
    unsupported: str = ""
    error: str = ""

    @property
    def studies(self) -> StudySet | None:
        return None if self.suite is None else self.suite.studies

    @property
    def ran(self) -> bool:
        return not (self.unsupported or self.error)


def pooling_method(settings: Settings) -> str:
    """metabridge's method for RevMan's settings, or UnknownMethodError saying why not."""
    key = (settings.method, settings.random_effects)
    if key not in POOLING:
        raise UnknownMethodError(f"RevMan's {settings.method} with {settings.model} has no "
                                 "method in metabridge")
    return POOLING[key]


def rerun(analysis: Analysis, backend: str) -> Rerun:
    """Pool ``analysis`` with RevMan's settings on ``backend`` (overall and subgroups)."""
    run = Rerun(analysis, backend)
    settings = analysis.settings
    try:
        run.method = pooling_method(settings)
        suite = AnalysisSuite(analysis.studies(), run.method, backend, settings.total_level)
        run.suite = suite
        if settings.totals or not analysis.has_subgroups:
            run.overall = suite.pooled()
        if analysis.has_subgroups and suite.studies.covariates["subgroup"].nunique() > 1:
            run.groups = suite.subgroups("subgroup", "separate")
    except (UnsupportedMethodError, UnknownMethodError) as exc:
        run.unsupported = str(exc)
    except MetabridgeError as exc:
        run.error = str(exc)
    return run


_SCALE: dict[bool, Callable[[float], float]] = {True: math.exp, False: float}


def _pooled(result: PoolResult, check: Check, settings: Settings,
            revman5: bool) -> tuple[float, str]:
    """The value under RevMan's reporting conventions, from the engine's estimate, SE and Q.

    RevMan reports the CI as estimate -/+ z SE with the exact normal quantile, P(Z) as
    the exact normal tail of |estimate / SE|, I^2 as max(0, (Q - df)/Q) and, in its
    RevMan 5 formats, P(Chi^2) by its series rule (:func:`revman5_chi2_p`).  These are
    applied to the engine's estimate, SE and Q (the engine's own pooling is untouched);
    where the engine's own reported number differs beyond the tolerance, ``how`` says so
    and names the engine conventions that apply.
    """
    quantity = check.quantity
    own, value = _pooled_values(result, settings), _revman_values(result, settings, revman5)
    field_name = {"effect": "estimate", "chi2": "q", "chi2_p": "q_p", "df": "q_df"}.get(
        quantity, quantity)
    how = (f"computed by metabridge from {result.backend}'s output"
           if field_name in result.derived else f"{result.backend}")
    if quantity == "chi2_p" and revman5:
        return value[quantity], (f"RevMan 5's series rule on {result.backend}'s Q (exact "
                                 f"chi-square P {own[quantity]!r})")
    if abs(own[quantity] - value[quantity]) > check.tolerance:
        keys = [k for k in result.conventions if field_name in convention(k).quantities]
        how = (f"{result.backend}'s estimate, SE and Q under RevMan's conventions; its own "
               f"value {own[quantity]!r} differs ({', '.join(keys) or 'no convention listed'})")
    return value[quantity], how


def _pooled_values(result: PoolResult, settings: Settings) -> dict[str, float]:
    """The engine's own reported numbers, on RevMan's scale."""
    scale = _SCALE[settings.log_scale]
    return {
        "effect": scale(result.estimate), "ci_low": scale(result.ci_low),
        "ci_high": scale(result.ci_high), "z": abs(result.z), "p": result.p,
        "chi2": result.q, "df": float(result.q_df), "chi2_p": result.q_p, "i2": result.i2,
        "tau2": result.tau2,
    }


def _revman_values(result: PoolResult, settings: Settings, revman5: bool) -> dict[str, float]:
    """RevMan's reporting conventions applied to the engine's estimate, SE, Q and tau^2."""
    scale = _SCALE[settings.log_scale]
    half = het.critical_value(result.level) * result.se
    z = result.estimate / result.se
    chi2_p = (revman5_chi2_p(result.q, result.q_df) if revman5
              else het.q_pvalue(result.q, result.q_df))
    return {
        "effect": scale(result.estimate), "ci_low": scale(result.estimate - half),
        "ci_high": scale(result.estimate + half), "z": abs(z), "p": het.z_pvalue(z),
        "chi2": result.q, "df": float(result.q_df), "chi2_p": chi2_p,
        "i2": het.i2_from_q(result.q, result.q_df), "tau2": result.tau2,
    }


def _test(groups: SubgroupAnalysis, quantity: str, revman5: bool) -> tuple[float, str]:
    values = {"chi2": groups.q_between, "df": float(groups.df), "p": groups.p,
              "i2": het.i2_from_q(groups.q_between, groups.df)}
    if quantity == "p" and revman5:
        return (revman5_chi2_p(groups.q_between, groups.df),
                f"RevMan 5's series rule on {groups.backend}'s Q (exact P {groups.p!r})")
    how = groups.how + ("; I^2 = (Q - df)/Q by metabridge" if quantity == "i2" else "")
    return values[quantity], how


def _holding(run: Rerun, i: int) -> PoolResult:
    """The pooled result RevMan's per-study numbers refer to: the whole analysis, or the
    study's subgroup when RevMan pooled subgroups only."""
    if run.overall is not None:
        return run.overall
    if run.groups is None or run.studies is None:
        raise MetabridgeError("the analysis was pooled neither overall nor by subgroup")
    return run.groups.groups[str(run.studies.covariates["subgroup"].iloc[i])]


def _study(run: Rerun, label: str, quantity: str) -> tuple[float, str]:
    """A study's effect, SE and CI (at RevMan's study level) and its weight.

    The effect and SE are the ones the engine pooled (``PoolResult.study_yi/_vi``: its
    own effect sizes from raw data, Peto's (O - E)/V for Peto), else the study set's.
    """
    settings = run.analysis.settings
    studies = run.studies
    if studies is None:
        raise MetabridgeError("the analysis has no study set")
    i = studies.labels.index(label)
    result = _holding(run, i)
    j = result.labels.index(label)
    if quantity == "weight":
        return result.weights[j], f"{result.backend} weights"
    own = getattr(result, "study_yi", ())
    if own and math.isfinite(own[j]):
        y, se = own[j], math.sqrt(result.study_vi[j])
        how = f"{result.backend}'s own study effect"
    else:
        y, se = float(studies.yi[i]), float(studies.sei[i])
        how = "the study set's effect"
    half = het.critical_value(settings.study_level) * se
    scale = _SCALE[settings.log_scale]
    values = {"effect": scale(y), "se": se, "ci_low": scale(y - half), "ci_high": scale(y + half)}
    return values[quantity], how


def compute(check: Check, run: Rerun, revman5: bool) -> Computed:
    """The engine's value for ``check`` from the re-run analysis."""
    if not run.ran:
        return Computed(math.nan, error=run.unsupported or run.error)
    settings = run.analysis.settings
    try:
        if check.scope == "overall":
            if run.overall is None:
                raise MetabridgeError("the analysis was not pooled overall")
            value, how = _pooled(run.overall, check, settings, revman5)
        elif check.scope == "subgroup":
            if run.groups is None:
                raise MetabridgeError("the subgroups were not pooled")
            value, how = _pooled(run.groups.groups[check.item], check, settings, revman5)
        elif check.scope == "test":
            if run.groups is None:
                raise MetabridgeError("no test for subgroup differences was computed")
            value, how = _test(run.groups, check.quantity, revman5)
        else:
            value, how = _study(run, check.item, check.quantity)
    except (MetabridgeError, KeyError, ValueError) as exc:
        return Computed(math.nan, error=str(exc))
    return Computed(float(value), how)


def rounding_allowance(
    analysis: Analysis, backend: str, checks: dict[int, Check], base: dict[int, Computed],
    revman5: bool,
) -> dict[int, float]:
    """How much the file's rounding of the study data can move each checked number.

    RevMan pooled the data as entered; a CSV export or RevMan Web package may hold them
    rounded (a generic-IV ratio to 8 decimals, a log effect to 6).  To first order the
    error is bounded by sum_j |f(x + h_j e_j) - f(x)| over the rounded inputs x_j, each
    moved by its half unit h_j (:attr:`Analysis.rounded_inputs`): one re-run per
    rounded input.  Zero for a .rm5 file or exact inputs.  How much a formula's value
    moves with its inputs does not depend on which engine evaluates it, so
    :func:`reproduce_review` computes it once per analysis, on the first engine (in
    registry order) that re-ran the analysis, and applies it to every engine.
    """
    allowance = dict.fromkeys(checks, 0.0)
    for row, column, half in analysis.rounded_inputs:
        data = analysis.data.copy()
        data.iloc[row, data.columns.get_loc(column)] += half
        run = rerun(replace(analysis, data=data), backend)
        for index, check in checks.items():
            moved, now = compute(check, run, revman5), base[index]
            if not (moved.error or now.error):
                allowance[index] += abs(moved.value - now.value)
    return allowance


@dataclass(frozen=True)
class ReviewReproduction:
    """RevMan's stored numbers vs every engine's, for every analysis of one review."""

    review: Review
    backends: tuple[str, ...]
    checks: tuple[Check, ...]
    values: dict[tuple[int, str], Computed]
    reruns: dict[tuple[str, str], Rerun]
    allowances: dict[tuple[int, str], float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def allowed(self, index: int, backend: str) -> float:
        """The check's tolerance plus its input-rounding allowance on ``backend``."""
        return self.checks[index].tolerance + self.allowances.get((index, backend), 0.0)

    def status(self, index: int, backend: str) -> str:
        """PASS, FAIL, or n/a (the engine lacks RevMan's method)."""
        check = self.checks[index]
        if self.reruns[(check.analysis, backend)].unsupported:
            return "n/a"
        computed = self.values[(index, backend)]
        allowance = self.allowances.get((index, backend), 0.0)
        return "PASS" if not computed.error and check.passes(computed.value, allowance) else "FAIL"

    @property
    def without_results(self) -> tuple[Analysis, ...]:
        """Analyses where RevMan stored no number to check."""
        checked = {c.analysis for c in self.checks}
        return tuple(a for a in self.review if a.id not in checked)

    def engines_for(self, analysis: str) -> tuple[str, ...]:
        """The engines that re-ran ``analysis`` with RevMan's method."""
        return tuple(b for b in self.backends if not self.reruns[(analysis, b)].unsupported)

    @property
    def not_reproduced(self) -> tuple[str, ...]:
        """Analyses with stored numbers that no engine could re-run."""
        ids = dict.fromkeys(c.analysis for c in self.checks)
        return tuple(a for a in ids if not self.engines_for(a))

    @property
    def failures(self) -> list[tuple[Check, str, Computed]]:
        return [(c, b, self.values[(i, b)]) for i, c in enumerate(self.checks)
                for b in self.backends if self.status(i, b) == "FAIL"]

    @property
    def passed(self) -> bool:
        return bool(self.backends) and not self.failures and not self.not_reproduced

    def against(self, expected: Iterable[tuple[str, str]]) -> tuple[
            list[tuple[Check, str, Computed]], list[tuple[str, str]]]:
        """(FAILs not among ``expected`` (analysis, engine) pairs, expected pairs that
        did not FAIL here): what a validation with known, documented differences checks."""
        wanted = set(expected)
        unexpected = [f for f in self.failures if (f[0].analysis, f[1]) not in wanted]
        seen = {(c.analysis, b) for c, b, _ in self.failures}
        ran = {(c.analysis, b) for c in self.checks for b in self.backends}
        return unexpected, sorted(pair for pair in wanted & ran if pair not in seen)

    def counts(self) -> pd.DataFrame:
        """PASS/FAIL/n/a counts per engine."""
        rows = [{"backend": b, **{s: sum(self.status(i, b) == s for i in range(len(self.checks)))
                                  for s in ("PASS", "FAIL", "n/a")}} for b in self.backends]
        return pd.DataFrame(rows, columns=["backend", "PASS", "FAIL", "n/a"])

    def frame(self) -> pd.DataFrame:
        """Long table: one row per (stored number, engine), values at full precision."""
        rows = []
        for i, c in enumerate(self.checks):
            for b in self.backends:
                computed = self.values[(i, b)]
                rows.append({
                    "analysis": c.analysis, "scope": c.scope, "item": c.item,
                    "quantity": c.quantity, "stored": c.stored.text,
                    "stored_decimals": c.stored.decimals, "tolerance": c.tolerance,
                    "rounding_allowance": self.allowances.get((i, b), 0.0),
                    "backend": b, "computed": computed.value,
                    "difference": computed.value - c.stored.value,
                    "status": self.status(i, b), "how": computed.how, "error": computed.error,
                })
        return pd.DataFrame(rows)

    def table(self) -> str:
        """Stored vs computed, every engine, at full precision (``repr`` of the double)."""
        head = ["stored number", "RevMan", *self.backends]
        rows = [head]
        for i, c in enumerate(self.checks):
            cells = []
            for b in self.backends:
                status, computed = self.status(i, b), self.values[(i, b)]
                cells.append("n/a" if status == "n/a" else
                             f"{computed.value!r} {status}" if not computed.error else "FAIL")
            rows.append([c.name, c.stored.text, *cells])
        return aligned(rows)

    def summary(self) -> str:
        counts = self.counts()
        lines = [f"{self.review.title} ({self.review.format}): {len(self.review)} analyses, "
                 f"{len(self.checks)} stored numbers."]
        for _, row in counts.iterrows():
            lines.append(f"  {row['backend']}: {row['PASS']} PASS, {row['FAIL']} FAIL, "
                         f"{row['n/a']} n/a (method not offered)")
        for analysis in self.without_results:
            lines.append(f"NO STORED RESULT {analysis.title}: RevMan stored no number to check")
        for (number, backend), run in self.reruns.items():
            if run.unsupported:
                lines.append(f"n/a {number} on {backend}: {run.unsupported}")
            elif run.error:
                lines.append(f"FAIL {number} on {backend} (every stored number): {run.error}")
        for number in self.not_reproduced:
            lines.append(f"NOT REPRODUCED {number}: no engine has RevMan's method")
        for c, b, computed in self.failures:
            run = self.reruns[(c.analysis, b)]
            if run.error:
                continue  # said once per analysis above
            index = self.checks.index(c)
            reason = computed.error or (f"computed {computed.value!r}, stored {c.stored.text}, "
                                        f"difference {computed.value - c.stored.value:.3g} > "
                                        f"allowed {self.allowed(index, b):.3g}")
            lines.append(f"FAIL {c.name} on {b}: {reason}{_data_conventions_of(run)}")
        for name, reason in self.missing.items():
            lines.append(f"MISSING engine {name}: {reason}")
        return "\n".join(lines)


def reproduce_review(
    review: Review, backends: Iterable[str] | None = None
) -> ReviewReproduction:
    """Re-run every analysis of ``review`` on every requested (default: installed) engine."""
    usable, missing = split_requested(backends)
    checks = [c for analysis in review for c in checks_of(analysis)]
    reruns = {(a.id, b): rerun(a, b) for a in review for b in usable}
    revman5 = review.format in REVMAN5_FORMATS
    values = {(i, b): compute(c, reruns[(c.analysis, b)], revman5)
              for i, c in enumerate(checks) for b in usable}
    allowances: dict[tuple[int, str], float] = {}
    for analysis in review:
        own = {i: c for i, c in enumerate(checks) if c.analysis == analysis.id}
        ran = [b for b in usable if reruns[(analysis.id, b)].ran]
        if own and analysis.rounded_inputs and ran:
            base = {i: values[(i, ran[0])] for i in own}
            extra = rounding_allowance(analysis, ran[0], own, base, revman5)
            allowances |= {(i, b): extra[i] for i in own for b in usable}
    return ReviewReproduction(review, usable, tuple(checks), values, reruns,
                              allowances, missing)


def _data_conventions_of(run: Rerun) -> str:
    """The conventions of the data the engine applied in this analysis (zero cells,
    SMD variants, ...): where a FAIL most often comes from, named so that it can be
    looked up in docs/conventions.md."""
    from ..comparison import is_data_convention

    keys = [k for k in (run.overall.conventions if run.overall else ()) if is_data_convention(k)]
    return f" (the engine's conventions of the data here: {', '.join(keys)})" if keys else ""
