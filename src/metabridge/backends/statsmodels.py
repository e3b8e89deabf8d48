"""statsmodels engine: ``statsmodels.stats.meta_analysis.combine_effects``.

FE uses the fixed-effect rows; DL is ``method_re="chi2"``; PM is
``method_re="iterated"`` (Paule-Mandel, DerSimonian & Kacker 2007).
Hartung-Knapp ("knha") uses the "wls" rows (estimated scale) with t on k - 1 df.
Mantel-Haenszel odds ratios come from ``contingency_tables.StratifiedTable``.
Conventions applied: statsmodels.dl_untruncated, statsmodels.i2_untruncated,
statsmodels.i2_from_q, statsmodels.no_pvalue, statsmodels.pm_tolerance,
statsmodels.mh_or_only, statsmodels.zero_correction; a cancelled Q
(statsmodels.q_cancellation) is caught and repaired by the sanity layer.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata
from types import MappingProxyType
from typing import Any

import numpy as np

from .. import diagnostics
from .. import heterogeneity as het
from .. import mantel_haenszel as mh
from ..analyses.types import EggerPredictor, EggerTest, EggerVariant
from ..methods import Method
from ..result import PoolResult
from ..studies import Counts, StudySet
from ..studies.counts import ZERO_CELL_CORRECTION
from .base import BackendStatus, assemble, probe_python_engine
from .engine_base import EngineBase


@cache
def _engine() -> Any:
    from statsmodels.stats import meta_analysis

    return meta_analysis


class StatsmodelsBackend(EngineBase):
    """Adapter for statsmodels' ``combine_effects`` (and OLS for Egger's test)."""

    name = "statsmodels"
    description = "statsmodels.stats.meta_analysis.combine_effects (Python)"
    methods = frozenset({"FE", "DL", "PM"})
    raw_methods = MappingProxyType({"MH": frozenset({"OR"})})
    table_zero_cells = MappingProxyType({
        "MH": "StratifiedTable: counts as they are, no correction; double-zero tables add "
              "nothing to the MH sums and are left out of Q (statsmodels.mh_or_only)",
    })
    tests = frozenset({"z", "knha"})
    features = frozenset({"egger_classic", "egger_sample_size"})
    max_studies = None
    tolerance_convention = "statsmodels.pm_tolerance"
    defect_causes = MappingProxyType({"q": "statsmodels.q_cancellation"})

    def status(self) -> BackendStatus:
        return probe_python_engine(self.name, _engine, "statsmodels", "pip install statsmodels")

    def fit(
        self, studies: StudySet, method: Method, level: float, test: str = "z"
    ) -> PoolResult:
        if method.needs is not None:
            return self._pool_tables(studies, method, level)
        yi, vi, conventions = _effect_sizes(studies)
        res = _combine(yi, vi, method)
        return self._result(studies, method, level, test, res, (yi, vi), conventions)

    def fit_at_tau2(
        self, studies: StudySet, method: Method, tau2: float, level: float, test: str = "z"
    ) -> PoolResult | None:
        """combine_effects at a given tau^2: its Paule-Mandel iteration started there
        with maxiter = 0 returns tau2_start unchanged, and every other row follows."""
        if method.needs is not None:
            return None
        yi, vi, conventions = _effect_sizes(studies)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            res = _engine().combine_effects(yi, vi, method_re="iterated", tau2_start=tau2,
                                            maxiter=0)
        return self._result(studies, method, level, test, res, (yi, vi), conventions)

    def _result(
        self, studies: StudySet, method: Method, level: float, test: str, res: Any,
        effects: tuple[np.ndarray, np.ndarray], conventions: list[str],
    ) -> PoolResult:
        conventions = [*conventions, "statsmodels.no_pvalue", "statsmodels.fast_ci"]
        extra: dict[str, Any] = {}
        tau2 = float(res.tau2)
        fixed = method.name == "FE" or tau2 < 0
        if fixed and method.random_effects:  # DL with Q < df: truncate as DL defines it
            extra["tau2_untruncated"] = tau2
            conventions.append("statsmodels.dl_untruncated")
        if method.name == "PM":
            conventions.append("statsmodels.pm_tolerance")
        # rows of summary_frame: FE, RE, FE wls, RE wls (wls = estimated scale = HKSJ)
        row = (0 if fixed else 1) + (0 if test == "z" else 2)
        estimate = float(res.mean_effect_fe if fixed else res.mean_effect_re)
        se = float([res.sd_eff_w_fe, res.sd_eff_w_re, res.sd_eff_w_fe_hksj,
                    res.sd_eff_w_re_hksj][row])
        df = studies.k - 1
        # conf_int()'s formula, mean -/+ crit * se, with crit from scipy.special
        half = het.critical_value(level, float("inf") if test == "z" else df) * se
        i2_raw = float(res.i2) if df > 0 else float("nan")
        if i2_raw < 0:
            extra["i2_untruncated"] = i2_raw
            conventions.append("statsmodels.i2_untruncated")
        if method.name not in ("FE", "DL"):
            conventions.append("statsmodels.i2_from_q")
        return assemble(
            studies, method, level,
            backend=self.name, engine_version=_version(), test=test,
            estimate=estimate, se=se, ci=(estimate - half, estimate + half),
            tau2=0.0 if fixed else tau2, q=float(res.q),
            weights=res.weights_rel_fe if fixed else res.weights_rel_re,
            i2=max(0.0, i2_raw) * 100.0 if df > 0 else float("nan"),
            h2=float(res.h2) if df > 0 else float("nan"),
            conventions=conventions, extra=extra,
            computed_here=("ci_low", "ci_high"), study_effects=effects,
        )

    def _pool_tables(self, studies: StudySet, method: Method, level: float) -> PoolResult:
        """Mantel-Haenszel OR: ``StratifiedTable`` (Robins-Breslow-Greenland SE and CI).

        statsmodels has no Q around it: metabridge computes it from statsmodels' own
        per-study log odds ratios (double-zero tables left out, as in RevMan and
        rma.mh), and the MH weights b c / N (convention statsmodels.mh_or_only).
        """
        from statsmodels.stats.contingency_tables import StratifiedTable

        counts = studies.counts
        a, b, c, d = counts.cells()
        table = StratifiedTable(np.array([[a, b], [c, d]]))
        low, high = table.logodds_pooled_confint(alpha=1 - level)
        yi, vi = _table_effects(counts, "OR")
        left_out = counts.double_zero()
        yi[left_out], vi[left_out] = np.nan, np.nan
        estimate = float(table.logodds_pooled)
        mh.check_tables(self.name, "MH", "OR", (a, b, c, d), estimate,
                        float(table.logodds_pooled_se) ** 2)
        q = mh.q_around(estimate, yi, vi)
        return assemble(
            studies, method, level, backend=self.name, engine_version=_version(),
            estimate=estimate, se=float(table.logodds_pooled_se), ci=(float(low), float(high)),
            tau2=0.0, q=q, weights=b * c / (a + b + c + d), study_effects=(yi, vi),
            q_df=int((~left_out).sum()) - 1, computed_here=("q", "weights"),
            conventions=["statsmodels.no_pvalue", "statsmodels.mh_or_only",
                         *(["statsmodels.zero_correction"] if counts.zero_cell().any() else [])],
        )

    def _pool_numbers(
        self, yi: np.ndarray, vi: np.ndarray, method: Method, test: str
    ) -> tuple[float, float, float]:
        """combine_effects on one replicate; same rows and truncation as ``fit``."""
        res = _combine(yi, vi, method)
        fixed = method.name == "FE" or res.tau2 < 0
        hk = test != "z"
        if fixed:
            return res.mean_effect_fe, (res.sd_eff_w_fe_hksj if hk else res.sd_eff_w_fe), 0.0
        return res.mean_effect_re, (res.sd_eff_w_re_hksj if hk else res.sd_eff_w_re), res.tau2

    def egger(self, studies: StudySet, variant: EggerVariant, predictor: EggerPredictor = "sei",
              ni: np.ndarray | None = None) -> EggerTest:
        """Classic Egger test: ``OLS(y/se ~ 1 + 1/se)``, t-test of the intercept; with
        another predictor x (metafor's ``regtest(model="lm", predictor=)``):
        ``WLS(y ~ 1 + x, weights = 1/v)``, t-test of x's coefficient."""
        if variant != "classic":
            return super().egger(studies, variant)
        import statsmodels.api as sm

        if predictor != "sei":
            x = diagnostics.EGGER_PREDICTORS[predictor](studies.vi, ni)
            wls = sm.WLS(studies.yi, sm.add_constant(x), weights=1.0 / studies.vi).fit()
            return EggerTest(
                "classic", float(wls.params[1]), float(wls.bse[1]), float(wls.tvalues[1]),
                float(wls.df_resid), float(wls.pvalues[1]), self.name,
                f"statsmodels WLS on {predictor}", predictor,
            )
        se = studies.sei
        fit = sm.OLS(studies.yi / se, sm.add_constant(1.0 / se)).fit()
        return EggerTest(
            "classic", float(fit.params[0]), float(fit.bse[0]), float(fit.tvalues[0]),
            float(fit.df_resid), float(fit.pvalues[0]), self.name, "statsmodels OLS",
        )


def _combine(yi: np.ndarray, vi: np.ndarray, method: Method) -> Any:
    """combine_effects for FE/DL ("chi2") or PM ("iterated", convention pm_tolerance).

    PM: statsmodels' iteration at its defaults (atol 1e-5), then one more of its own
    Newton steps from there (tau2_start, maxiter = 1, atol = 0): the step starts left
    of the root, and skipping the ee < 0 test at the new point avoids the overshoot to 0.
    """
    # statsmodels divides by df (k = 1) and by Q (identical estimates), and takes
    # sqrt of a negative DL variance (Q < df); the sanity layer checks what comes out.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if method.name != "PM":
            return _engine().combine_effects(yi, vi, method_re="chi2")
        first = _engine().combine_effects(yi, vi, method_re="iterated")
        if first.tau2 <= 0:
            return first
        return _engine().combine_effects(yi, vi, method_re="iterated",
                                         tau2_start=float(first.tau2), atol=0.0, maxiter=1)


#: metabridge's measures -> statsmodels' effectsize_2proportions statistics.
_STATISTIC = {"OR": "odds-ratio", "RR": "risk-ratio", "RD": "diff"}


def _table_effects(counts: Counts, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """statsmodels' ``effectsize_2proportions`` on the counts, with 1/2 added by metabridge
    to every cell of a zero-cell table (its own ``zero_correction`` adds the constant to the
    events of every table; convention statsmodels.zero_correction)."""
    shift = ZERO_CELL_CORRECTION * counts.zero_cell()
    return _engine().effectsize_2proportions(
        counts.events_exp + shift, counts.total_exp + 2 * shift,
        counts.events_ctrl + shift, counts.total_ctrl + 2 * shift,
        statistic=_STATISTIC[measure],
    )


def _effect_sizes(studies: StudySet) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(yi, vi, conventions): statsmodels' own effect sizes from raw data where it has a
    routine (effectsize_2proportions for counts, effectsize_smd for SMD), else the set's."""
    if studies.counts is not None:
        zero_cells = bool(studies.counts.zero_cell().any())
        return (*_table_effects(studies.counts, studies.measure),
                ["statsmodels.zero_correction"] if zero_cells else [])
    means = studies.means
    if means is not None and studies.measure == "SMD":
        yi, vi = _engine().effectsize_smd(*means)
        return np.asarray(yi, dtype=float), np.asarray(vi, dtype=float), [
            "statsmodels.smd_revman"]
    return studies.yi, studies.vi, []


@cache
def _version() -> str:
    return metadata.version("statsmodels")
