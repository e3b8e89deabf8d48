"""One result type for every engine: :class:`PoolResult`.

Numbers are on the analysis scale (log scale for ratio measures); ``exp()``
gives the ratio view.  ``derived`` names each field metabridge computed itself
from the engine's output because the engine does not report it (or reports it
only approximately); ``notes`` says how, and which engine convention applies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import heterogeneity as het
from .conventions import convention, note
from .errors import InvalidArgumentError
from .formatting import format_p, p_value
from .htmltables import block_html, table_html
from .methods import METHODS
from .studies import MEASURES, RATIO_MEASURES

if TYPE_CHECKING:
    from .studies import StudySet

#: The fields every engine's result carries, in display order.
STAT_FIELDS = (
    "estimate", "se", "ci_low", "ci_high", "z", "p", "pi_low", "pi_high",
    "tau2", "i2", "h2", "q", "q_df", "q_p",
)


@dataclass(frozen=True, repr=False)
class RatioView:
    """A pooled estimate back on the ratio scale: exp(estimate) and exp(CI)."""

    measure: str
    estimate: float
    ci_low: float
    ci_high: float
    level: float

    def __str__(self) -> str:
        pct = f"{self.level * 100:g}%"
        return (
            f"{self.measure} {self.estimate:.2f} [{pct} CI {self.ci_low:.2f}, {self.ci_high:.2f}]"
        )

    def __repr__(self) -> str:
        return f"RatioView({self})"


@dataclass(frozen=True, repr=False)
class PoolResult:
    """The pooled estimate of one method on one engine.

    ``i2`` is in percent.  ``weights`` are percent weights (sum 100) in the order
    of ``labels``.  ``test`` is "z" (``z`` is a z statistic, ``test_df`` = inf) or a
    Hartung-Knapp variant ("knha", "adhoc": ``z`` holds the t statistic on
    ``test_df`` = k - 1 df).  ``pi_low``/``pi_high`` is the prediction interval
    for the effect in a new study.  ``extra`` keeps engine-native values that
    differ from the reported ones (e.g. an untruncated tau^2).  ``study_yi`` and
    ``study_vi`` are the per-study effect sizes and variances the engine pooled (its
    own, from raw data; for Mantel-Haenszel and Peto the ones behind its Q), NaN for
    a study it left out of Q.  ``fit_stats`` holds what the engine reports about the
    fit beyond these, never computed by metabridge: ``se_tau2``, and from the
    likelihood named in ``likelihood`` (REML for REML fits, else ML, as metafor's
    ``fitstats``) ``loglik``, ``deviance``, ``aic``, ``bic``, ``aicc``; empty for an
    engine that reports none.

    ``repr()`` is one line; ``str()`` is metafor's printed block; ``summary()``
    adds the fit statistics and the study weights.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p: float
    pi_low: float
    pi_high: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p: float
    k: int
    weights: tuple[float, ...]
    labels: tuple[str, ...]
    method: str
    backend: str
    measure: str
    level: float = 0.95
    test: str = "z"
    test_df: float = float("inf")
    engine_version: str = ""
    converged: bool = True
    derived: frozenset[str] = frozenset()
    conventions: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    study_yi: tuple[float, ...] = ()
    study_vi: tuple[float, ...] = ()
    fit_stats: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))
        object.__setattr__(self, "fit_stats", MappingProxyType(dict(self.fit_stats)))
        object.__setattr__(self, "derived", frozenset(self.derived))

    # ------------------------------------------------------------------ views
    @property
    def tau(self) -> float:
        """Square root of tau^2."""
        return math.sqrt(self.tau2) if self.tau2 >= 0 else float("nan")

    @property
    def notes(self) -> tuple[str, ...]:
        """The documented engine conventions that applied to this result, as text."""
        return tuple(note(key) for key in self.conventions)

    @property
    def random_effects(self) -> bool:
        """True unless the method is the fixed-effect model."""
        return METHODS[self.method].random_effects

    def exp(self) -> RatioView:
        """The estimate and CI on the ratio scale (ratio measures only)."""
        if self.measure not in RATIO_MEASURES:
            raise InvalidArgumentError(
                f"exp() is for ratio measures; this result is {self.measure!r} "
                f"({MEASURES.get(self.measure, 'unknown')})"
            )
        return RatioView(
            self.measure, math.exp(self.estimate), math.exp(self.ci_low),
            math.exp(self.ci_high), self.level,
        )

    def harmonised(self, studies: StudySet | None = None) -> PoolResult:
        """This result under one convention for every engine (see conventions table).

        CI = estimate -/+ c SE with the exact quantile c (normal, or t on
        ``test_df`` for Hartung-Knapp); signed statistic = estimate / SE with its
        exact P; Q p-value from chi-square; I^2 = max(0, (Q - df)/Q) and
        H^2 = Q/df (Higgins & Thompson 2002); prediction interval
        estimate -/+ c sqrt(tau^2 + SE^2).  Conventions of the data (a Mantel-Haenszel
        or Peto result from zero-cell tables, RevMan's RD variance, ...) are undone
        first, from ``studies`` (the StudySet pooled), as metafor computes them
        (:mod:`metabridge.realign`).  The engine's own values of changed fields are
        kept in ``extra`` as ``<field>_engine``.
        """
        realigned: dict[str, Any] = {}
        for key in self.conventions:
            realign = convention(key).realign
            if realign is None:
                continue
            if studies is None:
                raise InvalidArgumentError(
                    f"convention {key!r} concerns the data: pass the studies, "
                    "result.harmonised(studies)"
                )
            realigned |= realign(self, studies)
        base = replace(self, **realigned)
        half = het.critical_value(base.level, base.test_df) * base.se
        z = base.estimate / base.se
        pi = het.prediction_interval(base.estimate, base.se, base.tau2, base.level, base.test_df)
        new = {
            "ci_low": base.estimate - half, "ci_high": base.estimate + half, "z": z,
            "p": het.test_pvalue(z, base.test_df), "q_p": het.q_pvalue(base.q, base.q_df),
            "i2": het.i2_from_q(base.q, base.q_df), "h2": het.h2_from_q(base.q, base.q_df),
            "pi_low": pi[0], "pi_high": pi[1],
        }
        changed = [*new, *(name for name in realigned if not name.startswith("study_"))]
        extra = dict(self.extra) | {f"{k}_engine": getattr(self, k) for k in changed}
        return replace(
            base, **new, extra=extra, derived=self.derived | set(changed),
            conventions=(*self.conventions, "metabridge.harmonised"),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict of every field (weights and labels as lists)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["weights"] = list(self.weights)
        out["labels"] = list(self.labels)
        out["derived"] = sorted(self.derived)
        out["conventions"] = list(self.conventions)
        out["notes"] = list(self.notes)
        out["extra"] = dict(self.extra)
        out["study_yi"] = list(self.study_yi)
        out["study_vi"] = list(self.study_vi)
        out["fit_stats"] = dict(self.fit_stats)
        return out

    # ---------------------------------------------------------------- printing
    def _title(self) -> str:
        if self.random_effects:
            model = f"Random-effects model (k = {self.k}; tau^2 estimator: {self.method})"
        else:
            how = "" if self.method == "FE" else f": {METHODS[self.method].title}"
            model = f"Fixed-effect model{how} (k = {self.k})"
        engine = f"{self.backend} {self.engine_version}".strip()
        return f"{model}   [engine: {engine}]"

    def _footer(self) -> list[str]:
        """What metabridge computed, the engine's conventions, a convergence warning."""
        lines = []
        if self.derived:
            lines.append(f"Computed by metabridge, not by {self.backend}: "
                         + ", ".join(sorted(self.derived)))
        lines += [f"Note: {note}" for note in self.notes]
        if not self.converged:
            lines.append("Warning: the tau^2 estimator did not converge.")
        return lines

    def _block(self) -> list[str]:
        """metafor's printed block (print.rma): heterogeneity, then the model results."""
        pct = f"{self.level * 100:g}%"
        stat = "zval" if self.test == "z" else f"tval({self.test_df:g})"
        lines = [self._title(), ""]
        if self.random_effects:
            se_tau2 = self.fit_stats.get("se_tau2", float("nan"))
            se = f"SE = {se_tau2:.4f}, " if not math.isnan(se_tau2) else ""
            lines += [
                f"tau^2 (estimated amount of total heterogeneity): {self.tau2:.4f}"
                f" ({se}tau = {self.tau:.4f})",
            ]
        lines += [
            f"I^2 (total heterogeneity / total variability):   {self.i2:.2f}%",
            f"H^2 (total variability / sampling variability):  {self.h2:.2f}",
            "",
            "Test for Heterogeneity:",
            f"Q(df = {self.q_df}) = {self.q:.4f}, {format_p(self.q_p, 'p-val')}",
            "",
            f"Model Results{' (log scale)' if self.measure in RATIO_MEASURES else ''}:",
            "",
            f"{'estimate':>9} {'se':>8} {stat:>8} {'pval':>9} {'ci.lb':>8} {'ci.ub':>8}",
            f"{self.estimate:>9.4f} {self.se:>8.4f} {self.z:>8.4f} {p_value(self.p):>9} "
            f"{self.ci_low:>8.4f} {self.ci_high:>8.4f}",
        ]
        if self.random_effects:
            lines.append(f"Prediction interval: {self.pi_low:.4f} to {self.pi_high:.4f}")
        if self.measure in RATIO_MEASURES:
            lines += ["", f"Pooled {self.exp()}  ({pct} CI, {self.test} test)"]
        footer = self._footer()
        return lines + (["", *footer] if footer else [])

    def fit_table(self) -> pd.DataFrame:
        """The engine's fit statistics as one row (logLik, deviance, AIC, BIC, AICc)."""
        return pd.DataFrame(
            [{label: self.fit_stats.get(key, float("nan")) for key, label in FIT_STATS.items()}]
        )

    def weight_table(self) -> pd.DataFrame:
        """One row per study: label and percent weight in this fit."""
        return pd.DataFrame({"study": self.labels, "weight_pct": self.weights})

    def summary(self) -> str:
        """:func:`str` (metafor's block) plus the fit statistics and the study weights."""
        lines = [*self._block(), ""]
        if any(key in self.fit_stats for key in FIT_STATS):
            likelihood = self.fit_stats.get("likelihood", "")
            lines += [f"Fit statistics ({likelihood} likelihood; reported by {self.backend}):",
                      self.fit_table().to_string(index=False, float_format=lambda x: f"{x:.4f}")]
        else:
            lines.append(f"Fit statistics: not reported by {self.backend} "
                         "(metabridge computes none itself).")
        lines += ["", "Study weights (%):",
                  self.weight_table().to_string(index=False, header=False,
                                                float_format=lambda x: f"{x:.2f}")]
        return "\n".join(lines)

    def __str__(self) -> str:
        return "\n".join(self._block())

    def __repr__(self) -> str:
        test = "" if self.test == "z" else f", {self.test}"
        pct = f"{self.level * 100:g}%"
        text = (f"PoolResult({self.method}{test} on {self.backend}, k = {self.k}: estimate "
                f"{self.estimate:.4g} [{pct} CI {self.ci_low:.4g}, {self.ci_high:.4g}], "
                f"{format_p(self.p)}")
        if self.random_effects:
            text += f", tau^2 = {self.tau2:.4g}, I^2 = {self.i2:.1f}%"
        if self.measure in RATIO_MEASURES:
            text += f"; {self.exp()}"
        return text + ")"

    def _repr_html_(self) -> str:
        pct = f"{self.level * 100:g}%"
        stat = "z" if self.test == "z" else f"t (df = {self.test_df:g})"
        row = {"estimate": self.estimate, "se": self.se, stat: self.z, "p": self.p,
               f"{pct} CI low": self.ci_low, f"{pct} CI high": self.ci_high}
        if self.random_effects:
            row |= {"PI low": self.pi_low, "PI high": self.pi_high}
        results = pd.DataFrame([row], index=["analysis scale"])
        if self.measure in RATIO_MEASURES:
            ratio = self.exp()
            results.loc[self.measure] = {"estimate": ratio.estimate, f"{pct} CI low": ratio.ci_low,
                                         f"{pct} CI high": ratio.ci_high}
        hetero = {"tau^2": self.tau2, "SE(tau^2)": self.fit_stats.get("se_tau2", float("nan")),
                  "I^2 (%)": self.i2, "H^2": self.h2, f"Q (df = {self.q_df})": self.q,
                  "p": self.q_p}
        parts = [("Model results", table_html(results, index=True)),
                 ("Heterogeneity", table_html(pd.DataFrame([hetero])))]
        if any(key in self.fit_stats for key in FIT_STATS):
            parts.append((f"Fit statistics ({self.fit_stats.get('likelihood', '')} likelihood)",
                          table_html(self.fit_table())))
        return block_html(self._title(), parts, self._footer())


#: Fit statistics an engine may report (``PoolResult.fit_stats`` key -> printed name).
FIT_STATS = {"loglik": "logLik", "deviance": "deviance", "aic": "AIC", "bic": "BIC",
             "aicc": "AICc"}
