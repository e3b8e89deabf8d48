"""Result types of the analyses beyond a single pooled estimate.

Each records which engine computed it and ``how``: natively in one engine call,
or assembled by metabridge from the engine's own pooling calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from ..errors import InvalidArgumentError
from ..formatting import format_p, frame_text
from ..htmltables import block_html, table_html
from ..result import STAT_FIELDS, PoolResult

Tau2Rule = Literal["separate", "common"]
EggerVariant = Literal["classic", "metafor-rma"]
#: Predictors of the Egger-type regression test (metafor's regtest() names):
#: the SE, the variance, the sample size n, 1/n, 1/sqrt(n).
EggerPredictor = Literal["sei", "vi", "ni", "ninv", "sqrtninv"]
Side = Literal["left", "right"]
K0Estimator = Literal["L0", "R0"]


def _rows(results: dict[str, PoolResult], key: str) -> pd.DataFrame:
    return pd.DataFrame(
        [{key: name, "k": r.k} | {f: getattr(r, f) for f in STAT_FIELDS}
         for name, r in results.items()]
    )


def _failure_lines(what: str, failures: tuple[tuple[str, str], ...]) -> list[str]:
    return [f"FAILED {what} {name!r}: {error}" for name, error in failures]


@dataclass(frozen=True, repr=False)
class LeaveOneOut:
    """The pooled estimate refitted without each study in turn."""

    full: PoolResult
    results: tuple[PoolResult, ...]
    omitted: tuple[str, ...]
    how: str
    #: (omitted study, the engine's error) for each refit that failed; those studies
    #: are not in ``omitted``/``results``, every other refit is.
    failures: tuple[tuple[str, str], ...] = ()

    @property
    def backend(self) -> str:
        return self.full.backend

    @property
    def method(self) -> str:
        return self.full.method

    def table(self) -> pd.DataFrame:
        """One row per omitted study."""
        return _rows(dict(zip(self.omitted, self.results, strict=True)), "omitted")

    def estimate_range(self) -> tuple[float, float]:
        """Smallest and largest pooled estimate over the omissions (analysis scale)."""
        values = [r.estimate for r in self.results]
        return min(values), max(values)

    def __str__(self) -> str:
        return "\n".join([
            f"Leave-one-out ({self.method}, {self.backend}; {self.how})",
            frame_text(self.table()),
            *_failure_lines("refit without", self.failures),
        ])

    def __repr__(self) -> str:
        low, high = self.estimate_range()
        return (f"LeaveOneOut({self.method} on {self.backend}, {len(self.results)} refits: "
                f"estimate {low:.4g} to {high:.4g}; {len(self.failures)} failed)")

    def _repr_html_(self) -> str:
        return block_html(f"Leave-one-out ({self.method}, {self.backend}; {self.how})",
                          [("", table_html(self.table()))],
                          _failure_lines("refit without", self.failures))


@dataclass(frozen=True, repr=False)
class SubgroupAnalysis:
    """Per-subgroup pooled results and the test for subgroup differences.

    ``tau2="separate"``: each subgroup has its own tau^2 and the test is Cochran's
    Q of a fixed-effect meta-analysis of the subgroup estimates (RevMan 5, R meta;
    Borenstein et al. 2009 ch. 19).  ``tau2="common"``: one tau^2 for all
    subgroups, the omnibus Wald test of a factor moderator (metafor's mixed-effects
    model; for DL identical to R meta's ``tau.common = TRUE``).
    """

    by: str
    tau2_rule: Tau2Rule
    method: str
    backend: str
    groups: dict[str, PoolResult]
    q_between: float
    df: int
    p: float
    how: str
    tau2_common: float | None = None
    notes: tuple[str, ...] = field(default=())
    #: (subgroup, the engine's error) for each subgroup whose fit failed; the other
    #: subgroups are in ``groups``, and the test, which needs them all, is NaN.
    failures: tuple[tuple[str, str], ...] = ()

    def table(self) -> pd.DataFrame:
        """One row per subgroup."""
        return _rows(self.groups, self.by)

    def study_weights(self) -> dict[str, float]:
        """Percent weight of each study in the fit that drew its subgroup's estimate.

        w_i = (weight of study i in its subgroup's own fit) x (1/SE_g^2 / sum_h 1/SE_h^2),
        the subgroup's share in the test for subgroup differences; the weights sum to
        100.  With inverse-variance pooling this is w_i = 1/(v_i + tau_g^2) over the sum
        across all subgroups (tau_g^2: the subgroup's own, or the common, tau^2); for
        the fixed-effect model it equals the overall weights.
        """
        if not self.groups:
            raise InvalidArgumentError(
                f"no per-subgroup fits to take weights from ({self.how}); use tau2='separate'")
        if self.failures:
            names = ", ".join(repr(name) for name, _ in self.failures)
            raise InvalidArgumentError(
                f"weights across subgroups need every subgroup's fit; the fit of {names} "
                f"failed ({self.failures[0][1]})")
        share = {g: 1.0 / r.se**2 for g, r in self.groups.items()}
        total = sum(share.values())
        return {label: pct * share[g] / total
                for g, r in self.groups.items()
                for label, pct in zip(r.labels, r.weights, strict=True)}

    def __str__(self) -> str:
        head = (f"Subgroups by {self.by!r} ({self.method}, tau^2 {self.tau2_rule}; "
                f"{self.backend}; {self.how})")
        test = (f"Test for subgroup differences: Q = {self.q_between:.4f}, df = {self.df}, "
                f"{format_p(self.p)}")
        lines = [head]
        if self.groups:
            lines.append(frame_text(self.table()))
        if self.tau2_common is not None:
            lines.append(f"common tau^2 = {self.tau2_common:.4f}")
        return "\n".join([*lines, test, *self.notes,
                          *_failure_lines("subgroup", self.failures)])

    def __repr__(self) -> str:
        return (f"SubgroupAnalysis(by {self.by!r}, tau^2 {self.tau2_rule}, {self.method} on "
                f"{self.backend}: {len(self.groups) or self.df + 1} groups, Q = "
                f"{self.q_between:.4g}, df = {self.df}, {format_p(self.p)})")

    def _repr_html_(self) -> str:
        head = (f"Subgroups by {self.by!r} ({self.method}, tau^2 {self.tau2_rule}; "
                f"{self.backend}; {self.how})")
        parts = [("", table_html(self.table()))] if self.groups else []
        test = (f"Test for subgroup differences: Q = {self.q_between:.4f}, df = {self.df}, "
                f"{format_p(self.p)}")
        common = ([f"common tau^2 = {self.tau2_common:.4f}"] if self.tau2_common is not None
                  else [])
        return block_html(head, parts, [*common, test, *self.notes,
                                        *_failure_lines("subgroup", self.failures)])


@dataclass(frozen=True, repr=False)
class EggerTest:
    """A regression test for funnel-plot asymmetry.

    ``classic`` (Egger et al. 1997, BMJ 315:629): OLS of y_i/se_i on 1/se_i; the
    intercept (``bias``) is tested with t on k - 2 df.  Identical to metafor's
    ``regtest(model="lm")``.  ``metafor-rma`` is metafor's default ``regtest()``:
    a meta-regression on se_i with the model's tau^2, z test.

    ``predictor`` other than "sei" (metafor's ``regtest(predictor=)``): the same
    regression of y_i on the sample size n_i, 1/n_i or 1/sqrt(n_i) (or v_i) instead
    of se_i (Peters et al. 2006, JAMA 295:676, use 1/n); ``bias`` is then that
    predictor's coefficient.
    """

    variant: EggerVariant
    bias: float
    bias_se: float
    statistic: float
    df: float
    p: float
    backend: str
    how: str
    predictor: EggerPredictor = "sei"

    def __str__(self) -> str:
        stat = "t" if self.variant == "classic" else "z"
        df = f", df = {self.df:g}" if self.variant == "classic" else ""
        on = "" if self.predictor == "sei" else f", predictor {self.predictor}"
        return (f"Egger test ({self.variant}{on}; {self.backend}, {self.how}): bias = "
                f"{self.bias:.4f} (SE {self.bias_se:.4f}), {stat} = {self.statistic:.4f}{df}, "
                f"{format_p(self.p)}")

    def __repr__(self) -> str:
        return f"EggerTest({self})"


@dataclass(frozen=True, repr=False)
class BeggTest:
    """Begg & Mazumdar (1994) rank correlation test (Kendall's tau)."""

    tau: float
    p: float
    backend: str
    how: str

    def __str__(self) -> str:
        return (f"Begg rank test ({self.backend}, {self.how}): "
                f"Kendall's tau = {self.tau:.4f}, {format_p(self.p)}")

    def __repr__(self) -> str:
        return f"BeggTest({self})"


@dataclass(frozen=True, repr=False)
class HeterogeneityCI:
    """Estimates and confidence intervals for tau^2, tau, I^2 (percent) and H^2.

    Q-profile method (Viechtbauer 2007, Stat Med 26:37): the bounds solve
    Q_gen(tau^2) = chi^2_{k-1} quantiles, Q_gen(tau^2) = sum w_i (y_i - mu_w)^2 with
    w_i = 1 / (v_i + tau^2); I^2 = tau^2 / (tau^2 + s^2) and H^2 = (tau^2 + s^2) / s^2
    with s^2 the typical within-study variance, evaluated at the estimate and bounds.
    """

    table: pd.DataFrame
    method: str
    backend: str
    level: float
    how: str

    def __str__(self) -> str:
        return (f"Heterogeneity ({self.method}, {self.backend}; {self.how})\n"
                + self.table.to_string(float_format=lambda x: f"{x:.4f}"))

    def __repr__(self) -> str:
        pct = f"{self.level * 100:g}%"
        row = self.table.loc["tau2"]
        return (f"HeterogeneityCI({self.method} on {self.backend}: tau^2 = {row['estimate']:.4g} "
                f"[{pct} CI {row['ci_low']:.4g}, {row['ci_high']:.4g}], Q-profile)")

    def _repr_html_(self) -> str:
        return block_html(f"Heterogeneity ({self.method}, {self.backend}; {self.how})",
                          [("", table_html(self.table, index=True))])


@dataclass(frozen=True, repr=False)
class Cumulative:
    """Cumulative meta-analysis: the model refitted as each study is added, in order.

    ``table`` has one row per step (the study added, k, estimate, se, z, p, ci_low,
    ci_high, q, q_p, tau2, i2, h2).  The first step is one study, fitted with
    tau^2 = 0 (metafor's ``cumul()`` does the same: ``rma()`` with k = 1).
    """

    table: pd.DataFrame
    method: str
    backend: str
    level: float
    order_by: str
    how: str

    def __str__(self) -> str:
        return "\n".join([
            f"Cumulative meta-analysis ({self.method}, {self.backend}; ordered by "
            f"{self.order_by}; {self.how})", frame_text(self.table)])

    def __repr__(self) -> str:
        last = self.table.iloc[-1]
        return (f"Cumulative({self.method} on {self.backend}, {len(self.table)} steps by "
                f"{self.order_by}: estimate {self.table['estimate'].iloc[0]:.4g} -> "
                f"{last['estimate']:.4g})")

    def _repr_html_(self) -> str:
        return block_html(f"Cumulative meta-analysis ({self.method}, {self.backend}; ordered by "
                          f"{self.order_by}; {self.how})", [("", table_html(self.table))])


@dataclass(frozen=True, repr=False)
class Influence:
    """Leave-one-out case diagnostics (metafor's ``influence()``) and Baujat's coordinates.

    ``table`` has one row per study: rstudent, dffits, cook_d, cov_r, tau2_del,
    q_del, hat, weight (percent), dfbetas, influential (metafor's rule), and
    baujat_x / baujat_y (Baujat et al. 2002): definitions in
    :mod:`metabridge.diagnostics`.
    """

    table: pd.DataFrame
    method: str
    backend: str
    how: str

    @property
    def influential(self) -> tuple[str, ...]:
        """Studies metafor's rule flags as influential."""
        return tuple(self.table.index[self.table["influential"].astype(bool)])

    def baujat(self) -> pd.DataFrame:
        """x: the study's contribution to Q; y: its influence on the pooled estimate."""
        return self.table[["baujat_x", "baujat_y"]].set_axis(["x", "y"], axis=1)

    def __str__(self) -> str:
        shown = self.table.drop(columns=["baujat_x", "baujat_y"]).reset_index()
        flagged = ", ".join(self.influential) or "none"
        return "\n".join([f"Influence diagnostics ({self.method}, {self.backend}; {self.how})",
                          frame_text(shown), f"Influential (metafor's rule): {flagged}"])

    def __repr__(self) -> str:
        return (f"Influence({self.method} on {self.backend}, k = {len(self.table)}: "
                f"influential {list(self.influential)})")

    def _repr_html_(self) -> str:
        flagged = ", ".join(self.influential) or "none"
        return block_html(f"Influence diagnostics ({self.method}, {self.backend}; {self.how})",
                          [("", table_html(self.table, index=True))],
                          [f"Influential (metafor's rule): {flagged}"])


@dataclass(frozen=True, repr=False)
class TrimAndFill:
    """Duval & Tweedie's trim and fill (metafor's ``trimfill()``).

    ``k0`` studies estimated missing on ``side`` (estimator L0 or R0, with ``se_k0``;
    ``p_k0`` is R0's test that none are missing), ``filled`` their mirrored
    effects (label, yi, vi), and ``result`` the model refitted on the data
    augmented by them (the original model when k0 = 0).
    """

    estimator: K0Estimator
    side: Side
    k0: int
    se_k0: float
    p_k0: float
    filled: pd.DataFrame
    result: PoolResult
    original: PoolResult
    how: str
    conventions: tuple[str, ...] = ()

    @property
    def backend(self) -> str:
        return self.result.backend

    @property
    def method(self) -> str:
        return self.result.method

    def __str__(self) -> str:
        test = "" if math.isnan(self.p_k0) else f"; test of H0 no missing studies: " \
            f"{format_p(self.p_k0)}"
        return "\n".join([
            f"Trim and fill ({self.estimator}; {self.backend}; {self.how})",
            f"Estimated number of missing studies on the {self.side} side: {self.k0} "
            f"(SE = {self.se_k0:.4f}){test}", "", str(self.result)])

    def __repr__(self) -> str:
        return (f"TrimAndFill({self.estimator}, {self.method} on {self.backend}: k0 = "
                f"{self.k0} on the {self.side}; estimate {self.original.estimate:.4g} -> "
                f"{self.result.estimate:.4g})")

    def _repr_html_(self) -> str:
        head = (f"Trim and fill ({self.estimator}; {self.backend}): {self.k0} missing on the "
                f"{self.side} side (SE = {self.se_k0:.4f})")
        return block_html(head, [("Filled studies", table_html(self.filled))]) + \
            self.result._repr_html_()
