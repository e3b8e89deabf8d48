"""Where engines differ in convention, as data.

Each row says what an engine does, what metabridge reports, and why.  Adapters
attach the ``metabridge`` text of every row that applied to a result to
``PoolResult.notes``; the documentation table is generated from the same rows
(``metabridge.conventions_table()``), so code and docs cannot drift apart.

A row that explains a difference between engines makes a checkable claim:
``recipes`` names how the engine computes a reported statistic from the core
numbers (:mod:`metabridge.recipes`), and ``tau2_rtol`` bounds how far an
iterative engine's tau^2 may sit from the root of its estimating equation (its
stopping rule).  The sanity layer checks every result against these claims and
``Comparison.differences()`` accepts a row as the cause of a gap only when the
claims reproduce both engines' numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import pandas as pd

from .realign import as_metafor
from .recipes import RECIPES, REPORTED, STANDARD, Recipe


@dataclass(frozen=True)
class Convention:
    """One documented difference between an engine and metabridge's report."""

    key: str
    backend: str
    quantities: tuple[str, ...]
    engine: str
    metabridge: str
    #: Reported statistics that can differ from other engines because of this
    #: convention (empty where metabridge's report removes the difference).
    explains: tuple[str, ...] = ()
    #: The test showing that the convention, applied to one engine's numbers (or
    #: data), reproduces the other engine's ("tests/<file>.py::<test>").
    check: str = ""
    #: For a convention of the data: recomputes the fields it changes under metafor's
    #: convention, (result, studies) -> {field: value} (used by PoolResult.harmonised).
    realign: Callable[[Any, Any], dict[str, Any]] | None = field(default=None, repr=False)
    #: Reported statistic -> name of the recipe (reporting.RECIPES) the engine uses.
    recipes: Mapping[str, str] = field(default_factory=dict)
    #: For an iterative estimator: the largest |tau^2 - root| / (root + s^2) its
    #: stopping rule allows (checked on every result of the engine).
    tau2_rtol: float | None = None

    def __post_init__(self) -> None:
        unknown = set(self.recipes.values()) - set(RECIPES)
        if unknown:
            raise KeyError(f"convention {self.key}: unknown recipes {sorted(unknown)}")
        object.__setattr__(self, "recipes", MappingProxyType(dict(self.recipes)))

#: Everything computed from tau^2: a tau^2 difference shows up in all of these.
DOWNSTREAM = ("estimate", "se", "ci_low", "ci_high", "z", "p", "pi_low", "pi_high", "tau2")

CONVENTIONS: tuple[Convention, ...] = (
    Convention(
        "revman5.chi2_p_series", "RevMan 5", ("q_p",),
        "RevMan 5 computes the P of the heterogeneity Chi^2 and of the test for subgroup "
        "differences as 1 - P(df/2, Chi^2/2) by the incomplete-gamma power series, stopped at "
        "the first term below 1e-6 of the sum: up to ~1e-7 from the exact chi-square tail "
        "(Fleiss 1993: stored 0.1269422521561745, exact 0.1269421779063).",
        "PoolResult.q_p stays exact. `metabridge reproduce` checks the P(Chi^2) stored in a "
        ".rm5 file or RevMan 5 CSV export against this rule applied to each engine's Q "
        "(metabridge.revman.statistics.revman5_chi2_p, which reproduces the stored Fleiss "
        "values to 7e-16 and at the CSV's 8 decimals) and shows the exact P beside it.",
        check="tests/test_revman_reproduce.py::test_revman5_chi2_rule_reproduces_revmans_stored_p_values",
    ),
    Convention(
        "revman5.smd", "RevMan 5", ("study_yi", "study_vi"),
        "RevMan 5's standardised mean difference is Hedges' g with the approximate correction "
        "1 - 3/(4N - 9) and variance N/(n1 n2) + g^2/(2(N - 3.94)) (as statsmodels and "
        "PythonMeta compute it; metafor and pimeta use the exact correction and variance "
        "1/n1 + 1/n2 + g^2/(2N)).",
        "`metabridge reproduce` gives every engine RevMan's own study SMDs (statsmodels' "
        "effectsize_smd) as generic effects, so every engine pools the numbers RevMan "
        "pooled; StudySet.from_means keeps metafor's (see statsmodels.smd_revman).",
        check="tests/test_revman_reproduce.py::test_revman5_smd_is_revmans_formula",
    ),
    Convention(
        "statsmodels.dl_untruncated", "statsmodels", ("tau2",),
        "combine_effects(method_re='chi2') computes DerSimonian-Laird tau^2 = (Q - df) / c "
        "without truncation, so tau^2 < 0 when Q < df, and pools with that negative value.",
        "DL tau^2 truncated at 0 (DerSimonian & Laird 1986); the pooled estimate then equals "
        "statsmodels' own fixed-effect rows. The untruncated value is kept in "
        "extra['tau2_untruncated'].",
    ),
    Convention(
        "statsmodels.i2_untruncated", "statsmodels", ("i2",),
        "i2 = 1 - df/Q is not truncated (negative when Q < df) and is a fraction, not percent.",
        "I^2 = max(0, (Q - df)/Q) in percent; the raw value is kept in extra['i2_untruncated'].",
    ),
    Convention(
        "statsmodels.i2_from_q", "statsmodels", ("i2", "h2"),
        "I^2 and H^2 are always computed from Q (Higgins & Thompson 2002), whatever tau^2 "
        "estimator is used.",
        "Reported as statsmodels gives them (Q-based). For estimators other than DL this "
        "differs from metafor's tau^2-based I^2; see 'metafor.i2_from_tau2'.",
    ),
    Convention(
        "statsmodels.no_pvalue", "statsmodels", ("z", "p"),
        "combine_effects gives no z statistic or P value for the pooled estimate.",
        "z = estimate / se and p = 2 * (1 - Phi(|z|)) computed by metabridge from "
        "statsmodels' estimate and SE (listed in PoolResult.derived).",
    ),
    Convention(
        "statsmodels.fast_ci", "statsmodels", ("ci_low", "ci_high", "q_p"),
        "conf_int() and test_homogeneity() evaluate mean -/+ norm.isf(alpha/2) * se (t.isf on "
        "k - 1 df for the wls rows) and chi2.sf(Q, k - 1) through scipy.stats, which costs "
        "more than combine_effects itself.",
        "The same formulas on statsmodels' estimate, SE and Q, evaluated with scipy.special "
        "(identical quantiles to ~1e-16); listed in PoolResult.derived.",
    ),
    Convention(
        "statsmodels.q_cancellation", "statsmodels", ("q", "i2", "h2", "q_p", "tau2"),
        "Q is computed in one pass as sum w y^2 - (sum w y)^2 / sum w, which cancels when the "
        "effects sit far from 0 relative to their spread: on repeated measurements of a "
        "physical constant (effects ~6.626, SEs ~1e-8) Q came out as 4 or 12 instead of "
        "3.442127 depending on the order of the studies, and on ordinary data offset by 1e4 "
        "it is ~2e-7 relative off; the DL tau^2, SE and CI follow Q; tied estimates can give "
        "Q < 0.",
        "statsmodels' one-pass Q cancels on such data, so the sanity layer recomputes Q "
        "stably; when statsmodels' Q (or anything downstream) fails the check, statsmodels "
        "is re-run on the effects centred at their fixed-effect mean "
        "(convention 'metabridge.recentred'), where the one-pass formula does not cancel; "
        "its numbers are kept in extra['<field>_engine'].",
    ),
    Convention(
        "statsmodels.pm_tolerance", "statsmodels", ("tau2",),
        "Paule-Mandel is a Newton iteration that stops when |Q(tau^2) - df| < atol (1e-5) "
        "within maxiter (50) steps; combine_effects discards its convergence flag. Any step "
        "whose Q(tau^2) - df is below 0 sets tau^2 = 0 and stops: with a tight atol (1e-12) "
        "rounding near the root triggers it, e.g. tau^2 = 0 (P = 7.5e-9) instead of the root "
        "0.1915 (P = 0.068) for yi = (.5, 1.1, .1, -.2), vi = (.14, .03, .3, .27), on ~18% of "
        "random heterogeneous sets.",
        "metabridge runs it at its defaults, then once more from that value with atol = "
        "1e-10 (df + 1) (each step then starts left of the root, where Newton does not "
        "overshoot); the sanity layer checks the root within 1e-8 of tau^2 + v_h, v_h the "
        "harmonic mean of the variances (measured worst 1.5e-10 on 4,800 random sets) "
        "(the Newton step at atol bounds the error far below that).",
        tau2_rtol=1e-8,
    ),
    Convention(
        "pythonmeta.generic_as_md", "pythonmeta", ("input",),
        "PythonMeta accepts only 2x2 counts or continuous (mean, SD, n) data.",
        "Generic inverse-variance data are passed as mean differences: (yi, SE, n=1) vs "
        "(0, 0, n=1), so MD = yi and SE(MD) = SE exactly; effect MD, algorithm IV.",
    ),
    Convention(
        "pythonmeta.table_pvalues", "pythonmeta", ("p", "q_p"),
        "P values are looked up in printed chi-square/normal tables, linearly interpolated, "
        "and returned as strings with 3 decimals ('0.000').",
        "p and q_p computed by metabridge with scipy from PythonMeta's z and Q (listed in "
        "PoolResult.derived); PythonMeta's strings kept in extra['p_engine'], "
        "extra['q_p_engine'].",
    ),
    Convention(
        "pythonmeta.abs_z", "pythonmeta", ("z",),
        "Reports |z|, without the sign.",
        "z = estimate / se with its sign (derived).",
    ),
    Convention(
        "pythonmeta.ci_196", "pythonmeta", ("ci_low", "ci_high"),
        "CIs are estimate -/+ 1.96 SE, and only 95% CIs exist.",
        "At level 0.95 PythonMeta's own 1.96 CI is reported (differs from the exact-quantile CI "
        "by 3.6e-5 SE); at any other level metabridge computes the CI from PythonMeta's "
        "estimate and SE with the exact normal quantile (derived) and this row does not apply.",
        recipes={"ci_low": "ci_low_196", "ci_high": "ci_high_196"},
    ),
    Convention(
        "pythonmeta.root_logger", "pythonmeta", ("logging",),
        "Importing PythonMeta calls logging.basicConfig(), which (if the root logger has no "
        "handler) sends the root logger to a file meta.log in site-packages at level INFO.",
        "metabridge imports PythonMeta with a placeholder handler on the root logger so "
        "basicConfig does nothing, and silences PythonMeta's own logger; the user's logging "
        "configuration is unchanged.",
    ),
    Convention(
        "pythonmeta.max_studies", "pythonmeta", ("k",),
        "PythonMeta refuses more than 200 studies.",
        "metabridge raises UnsupportedMethodError for k > 200 on PythonMeta, naming the "
        "engines that can pool the set.",
    ),
    Convention(
        "metafor.i2_from_tau2", "metafor", ("i2", "h2"),
        "For random-effects models, I^2 = tau^2 / (tau^2 + s^2) and H^2 = (tau^2 + s^2) / s^2 "
        "with s^2 the 'typical' within-study variance (Higgins & Thompson 2002, eq. 9). For DL "
        "with Q >= df these equal (Q - df)/Q and Q/df; when Q < df (tau^2 = 0) metafor's H^2 "
        "is 1 while Q/df < 1; for other estimators both differ from the Q-based values. "
        "(For FE models metafor uses the Q-based I^2 and H^2 = Q/df.)",
        "Reported as metafor gives them; the Q-based values are kept in extra['i2_q'] and "
        "extra['h2_q'] (and used by harmonised()).",
        recipes={"i2": "i2_from_tau2", "h2": "h2_from_tau2"},
    ),
    Convention(
        "metafor.tolerance", "metafor", ("tau2",),
        "Iterative estimators stop at a change < 1e-5 (ML, REML, EB: Fisher scoring) or "
        "uniroot tol 1.2e-4 (PM, PMM) by default; both are absolute in tau^2, so the same "
        "rule is loose for small effects (variances ~1e-4) and meaningless for tiny ones "
        "(a physical constant, variances ~1e-16).",
        "metabridge calls rma() with control = list(threshold = 1e-12 s, tol = 1e-14 s, "
        "maxiter = 1000), s the larger of the mean sampling variance and the variance of "
        "the effects (r/metabridge.R, mb_control), and confint() with tol = 1e-12; the "
        "sanity layer checks the root within 1e-8 of tau^2 + v_h (measured "
        "worst 3.6e-9 on 4,800 random sets). (At the default tolerance the Q-profile I^2 bound for "
        "the BCG data is 81.9177, as printed in Viechtbauer 2010; the exact root gives "
        "81.9206.)",
        tau2_rtol=1e-8,
    ),
    Convention(
        "metafor.large_k", "metafor", ("k",),
        "rma() builds k x k weight and projection matrices, so memory grows with k^2 and "
        "time with k^3: peak memory measured at 8.6 k x k double matrices for DL (620 MB at "
        "k = 3000), 12.4 for REML (400 MB at k = 2000; 80 s), 23.9 for the REML subgroup "
        "model (validation/metafor_memory.py); issue 9 saw 22 GB for k = 20,000.",
        "Before each call metabridge estimates the peak (10 matrices, 16 for ML/REML/EB, 12 "
        "and 28 for the common-tau^2 subgroup model, plus 64 MB) and raises "
        "ResourceLimitError, naming the engines that can pool that k, when it exceeds half "
        "the memory available (MemAvailable, or a cgroup limit). With 22 GB available that "
        "is k > 11,690 for DL and k > 9,241 for REML. For many data sets (simulations) "
        "metabridge sends whole batches to R in one call.",
    ),
    Convention(
        "metafor.level", "metafor", ("ci_low", "ci_high", "pi_low", "pi_high"),
        "The level argument is read as a percentage when >= 1, as a proportion when in "
        "(0.5, 1) and as alpha when <= 0.5, so 100 * level <= 1 gives the wrong interval "
        "(level = 0.005 became a 50% CI) and no level below 1% can be expressed; predict() "
        "re-reads the fit's stored alpha, so a PI below 50% came out at 1 - level.",
        "metabridge passes a level above 0.5 as the proportion, one in [0.01, 0.5] as a "
        "percentage, and gives the level to predict() explicitly. Below 1% the CI and PI are "
        "computed from metafor's estimate, SE and tau^2 with the quantile metafor uses "
        "(normal, or t on k - 1 df for Hartung-Knapp), listed in derived; heterogeneity CIs "
        "then come from metabridge's own Q-profile.",
    ),
    Convention(
        "metafor.confint_range", "metafor", ("tau2",),
        "confint() searches the Q-profile bounds for tau^2 in [0, max(100, 10 tau^2)] and "
        "returns the end of that range, marked only by a '>' in print(), when a bound lies "
        "beyond it (e.g. the upper bound for k = 2).",
        "metabridge searches up to 2 SS / q, with SS the unweighted sum of squares of the "
        "effects and q the lower chi-square quantile: Q_gen(tau^2) < SS / tau^2, so the root "
        "lies inside; a bound still at the end of the range raises EngineError.",
    ),

    Convention(
        "pymare.i2_from_q", "pymare", ("i2", "h2"),
        "get_heterogeneity_stats() gives I^2 = max(0, (Q - df)/Q) and H = max(1, sqrt(Q/df)) "
        "from the fixed-effect Q, whatever tau^2 estimator was fitted.",
        "I^2 as PyMARE gives it and H^2 = H^2, so H^2 >= 1: it differs from Q/df when Q < df "
        "(statsmodels, metafor FE) and, for estimators other than DL, from metafor's tau^2-based "
        "I^2 and H^2.",
        recipes={"h2": "h2_at_least_1"},
    ),
    Convention(
        "pymare.z_from_p", "pymare", ("z",),
        "With a Hartung-Knapp correction PyMARE's 'z' is the normal quantile of its t-test P "
        "value, not estimate / SE.",
        "z holds the t statistic estimate / SE (derived), like every other engine's "
        "Hartung-Knapp result; PyMARE's value is kept in extra['z_engine'].",
    ),
    Convention(
        "pymare.tolerance", "pymare",
        ("estimate", "se", "ci_low", "ci_high", "z", "p", "pi_low", "pi_high", "tau2"),
        "ML and REML maximise the profile likelihood by a bounded parabolic search on "
        "function values (xtol, ftol), which locates a maximum only to about the square "
        "root of the objective's precision: |tau^2 - root| reached 1.3e-7 of tau^2 + "
        "v_h "
        "on 4,800 random sets (median 4e-9, 99th percentile 6e-8), whatever the search "
        "settings (xtol = 1e-13, ftol = 0 gave the same).",
        "metabridge asks for xtol = 1e-10, ftol = 1e-15, maxiter = 200 and checks the root of "
        "the estimating equation within 1e-6 of tau^2 + v_h (else repaired: "
        "'metabridge.stable_tau2'); so ML/REML agree with metafor's to ~1e-7, and compare() "
        "explains such gaps by this row after checking them against that bound.",
        tau2_rtol=1e-6,
    ),
    Convention(
        "pimeta.scaled_input", "pimeta", ("tau2", "converged"),
        "The iterative estimators stop on absolute rules in tau^2: ML, REML and EB when a "
        "Fisher-scoring step is below 1e-5 (at most 100 steps), PM when brentq's bracket is "
        "below 2e-12, and PM's root search silently returns tau^2 = 1e6 when the root lies "
        "above. None reports whether it converged. On the BCG data scaled by 1e-3 its ML "
        "tau^2 is 0.4% off, scaled by 1e-6 its PM tau^2 4.3-fold, scaled by 1e6 PM returns "
        "the cap.",
        "pimeta fits y / c and v / c^2 with c the power of two that brings max(var(y), "
        "median(v)) near 2^16, and the results are multiplied back (exact in binary floating "
        "point; every estimator is scale-equivariant, so FE, DL, HE, HS and SJ are unchanged "
        "to the last bit). ML, REML, EB and PM then agree with metafor's tight fit to ~1e-8 "
        "or better on any scale. converged is pimeta's own rule checked at its answer (the "
        "next Fisher-scoring step < 1e-5, PM root below the cap); extra['scale'] is c. The "
        "sanity layer checks the root within 1e-5 of tau^2 + v_h: relative "
        "to the variances that carry the weight (v_h, their harmonic mean) the step rule "
        "leaves up to 1.3e-6 (measured on 4,800 random sets; 1.4% beyond 1e-8).",
        tau2_rtol=1e-5,
    ),
    Convention(
        "pimeta.eb_as_pm", "pimeta", ("tau2", "converged"),
        "The empirical Bayes loop stops after 100 steps, unconverged and silently, on data "
        "where metafor's (run to 1000 steps) converges (22 of 150 random data sets with "
        "SEs over five orders of magnitude).",
        "EB's estimating equation, y'Py k/(k - p) = k, is Paule-Mandel's, y'Py = k - p, so "
        "an EB fit that did not converge is replaced by pimeta's PM root (converged; the EB "
        "iterate is kept in extra['tau2_eb_iterate']). It equals metafor's converged EB to "
        "the precision of metafor's stopping rule.",
    ),
    Convention(
        "pimeta.max_studies", "pimeta", ("k",),
        "rma() builds and inverts k x k matrices (and ML/REML multiply them every step): "
        "k = 2000 takes 1-10 s and ~0.3 GB, k = 20,000 would need tens of GB.",
        "metabridge raises UnsupportedMethodError for k > 2000 on pimeta, naming the engines "
        "that can pool the set.",
    ),
    Convention(
        "pimeta.i2_from_tau2", "pimeta", ("i2", "h2"),
        "As metafor (see 'metafor.i2_from_tau2'): for random-effects models I^2 = tau^2 / "
        "(tau^2 + s^2) and H^2 = (tau^2 + s^2) / s^2 with s^2 the typical within-study "
        "variance, so H^2 = 1 when DL's tau^2 = 0 (Q < df); Q-based for FE.",
        "Reported as pimeta gives them; the Q-based values are kept in extra['i2_q'] and "
        "extra['h2_q'] (and used by harmonised()).",
        recipes={"i2": "i2_from_tau2", "h2": "h2_from_tau2"},
    ),
    Convention(
        "pimeta.begg_pvalue", "pimeta", ("begg p",),
        "begg_test() takes Kendall's tau and its P value from scipy.stats.kendalltau, which "
        "uses the exact null distribution only for k <= 33 studies (no ties) and the normal "
        "approximation above; metafor's ranktest() uses the exact distribution for larger k "
        "too (k = 40 example: P 0.5602 vs 0.5704). tau is the same.",
        "Reported as pimeta gives it; BeggTest.how names this convention when k > 33.",
    ),
    Convention(
        "pimeta.leave1out_ci", "pimeta", ("ci_low", "ci_high"),
        "leave1out() ignores its alpha argument: every leave-one-out CI is 95%.",
        "At level 0.95 its CIs are reported; at any other level metabridge computes "
        "estimate -/+ z SE from its estimate and SE (listed in derived).",
    ),
    Convention(
        "pimeta.leave1out_fe_i2", "pimeta", ("i2", "h2"),
        "leave1out() with method FE reports I^2 = 0 and H^2 = 1 (tau^2-based with tau^2 = 0); "
        "metafor's leave1out() gives the Q-based values for FE.",
        "I^2 and H^2 computed by metabridge from pimeta's Q (Q-based, as metafor; derived).",
    ),
    Convention(
        "pimeta.tables_api", "pimeta", ("ci_low", "ci_high", "weights"),
        "rma_mh() and rma_peto() take level as alpha (level=0.95 gives a 5% CI) while rma() "
        "takes the confidence level; weights() of their fits is the k x k weight matrix "
        "unless pct=True.",
        "metabridge passes 1 - level and reads the weights with weights(fit, pct=True), "
        "checked to be one percent weight per table; CIs and weights then equal metafor's "
        "rma.mh / rma.peto.",
    ),
    Convention(
        "pimeta.peto_q_df", "pimeta", ("q_p", "i2", "h2"),
        "rma_peto() refers Q to k - 1 degrees of freedom, counting tables with no events (or "
        "only events) in both arms, which add nothing to Q; metafor uses k.yi - 1.",
        "Q's P value, I^2 and H^2 computed by metabridge from pimeta's Q on metafor's "
        "degrees of freedom (derived).",
    ),
    Convention(
        "pimeta.not_called", "pimeta", ("input",),
        "read_rm5() returns 0 rows, without an error, on real RevMan 5 files (it looks for "
        "elements RevMan 5 does not write); metabin() and metacont() say DerSimonian-Laird "
        "in their docstrings but estimate tau^2 by REML.",
        "metabridge never calls read_rm5, metabin or metacont (a test checks): RevMan files "
        "are read by metabridge.read_revman, and pimeta pools through rma, rma_mh and "
        "rma_peto with every method named explicitly.",
    ),
    Convention(
        "metafor.mh_tables", "metafor", ("estimate", "se", "q", "q_df"),
        "rma.mh() pools the counts as they are (add = c(1/2, 0)) with the Robins-Breslow-"
        "Greenland (OR), Greenland-Robins (RR) and Sato 1989 (RD) variances; its Q is centred "
        "on the MH estimate and uses escalc() effects with 1/2 added to the cells of zero-cell "
        "tables; double-zero tables (no events, or only events, in both arms) are left out of "
        "Q (drop00 = TRUE: df = k.yi - 1, warning 'Some yi/vi values are NA') but kept in the "
        "MH estimate.",
        "Reported as rma.mh() gives it; study_yi/study_vi are its per-table escalc() effects "
        "(NaN for double-zero tables).",
        check="tests/test_mantel_haenszel.py::test_engines_match_exact_rational_arithmetic",
    ),
    Convention(
        "metafor.dl_mh", "metafor", ("tau2",),
        "metafor has no random-effects model for 2x2 tables with Q from the Mantel-Haenszel "
        "analysis (RevMan 5's 'M-H, Random'; R meta's Q.Cochrane = TRUE); its "
        "rma(method = 'DL') takes Q around the inverse-variance estimate of escalc() effects.",
        "method='DL-MH' on metafor: tau^2 = max(0, (Q - df) / (sum w - sum w^2 / sum w)) from "
        "rma.mh()'s Q and the weights w = 1 / v of its per-table effects, computed in "
        "r/metabridge.R (tau2 listed in derived), then rma(yi, vi, tau2 = tau^2) pools; Q, "
        "its P and I^2 are rma.mh()'s, as RevMan reports them. method='DL' stays the "
        "inverse-variance DerSimonian-Laird.",
        check="tests/test_mantel_haenszel.py::test_revman_random_effects_is_dl_on_the_mh_q",
    ),
    Convention(
        "metafor.peto_tables", "metafor", ("estimate", "se", "q", "q_df"),
        "rma.peto() computes O - E and V from the counts as they are and Q = sum (O - E)^2 / V "
        "- (sum (O - E))^2 / sum V in one pass, on k.yi - 1 df (double-zero tables, V = 0, "
        "left out).",
        "Reported as rma.peto() gives it; study_yi/study_vi are the one-step (O - E) / V and "
        "1 / V of each table, from which Q is rechecked (metabridge.stable_q).",
        check="tests/test_mantel_haenszel.py::test_engines_match_exact_rational_arithmetic",
    ),
    Convention(
        "metabridge.stable_q", "all", ("q", "q_p", "i2", "h2"),
        "Some engines compute Q in one pass, e.g. sum (O - E)^2 / V - (sum (O - E))^2 / sum V "
        "around a Peto estimate (rma.peto, PythonMeta's Peto) or sum w y^2 - (sum w y)^2 / "
        "sum w, which cancel when the studies agree closely relative to their size; for "
        "inverse-variance methods the sanity layer finds such a Q while tau^2, estimate and "
        "SE pass.",
        "Q is recomputed two-pass, sum (y_i - theta)^2 / v_i around the engine's estimate (MH, "
        "Peto) or the inverse-variance mean, from the engine's own per-study effects; where "
        "the engine's Q is off (MH/Peto: more than 1e-9 of max(1, Q); inverse variance: the "
        "sanity layer's bound), the recomputed Q and its P, I^2 and H^2 are reported (listed "
        "in derived) and the engine's Q is kept in extra['q_engine'].",
        explains=("q", "q_p", "i2", "h2"),
        check="tests/test_mantel_haenszel.py::test_a_cancelling_engine_q_is_replaced_by_the_stable_one",
    ),
    Convention(
        "pythonmeta.double_zero", "pythonmeta", ("input", "k"),
        "Meta.meta0() stops with 'error.(data wrong, too many zeros)' on a 2x2 table without "
        "events, or with only events, in both arms.",
        "Such tables are left out before PythonMeta is called (RevMan 5 reports them as not "
        "estimable for OR and RR), listed in extra['excluded'] with weight 0 and no effect; "
        "Q is on the remaining tables. MH odds and risk ratios and Peto give them no weight "
        "anyway; the MH risk difference (rma.mh keeps them, RD = 0) and inverse-variance "
        "analyses change.",
        explains=("estimate", "se", "ci_low", "ci_high", "z", "p", "pi_low", "pi_high", "tau2",
                  "q", "q_p", "i2", "h2"),
        check="tests/test_mantel_haenszel.py::test_engines_reproduce_metafor_or_the_named_convention",
        realign=as_metafor,
    ),
    Convention(
        "pythonmeta.mh_zero_cells", "pythonmeta", ("estimate", "se", "q"),
        "Mantel-Haenszel as RevMan 5 (and R meta's default MH.exact = FALSE): 1/2 is added to "
        "every cell of a table with a zero cell before the MH estimate, its variance and the "
        "centre of Q are computed.",
        "Reported as PythonMeta gives it. metafor's rma.mh() and statsmodels pool the counts "
        "as they are; rma.mh(add = c(1/2, 1/2), to = c('only0', 'only0'), drop00 = c(TRUE, "
        "TRUE)) reproduces PythonMeta.",
        explains=("estimate", "se", "ci_low", "ci_high", "z", "p", "pi_low", "pi_high", "tau2",
                  "q", "q_p", "i2", "h2"),
        check="tests/test_mantel_haenszel.py::test_engines_reproduce_metafor_or_the_named_convention",
        realign=as_metafor,
    ),
    Convention(
        "pythonmeta.peto_zero_cells", "pythonmeta", ("estimate", "se", "q"),
        "Peto's method after adding 1/2 to every cell of a table with a zero cell (the same "
        "zero-cell check as for the other methods); Peto's O - E and V need no correction.",
        "Reported as PythonMeta gives it. metafor's rma.peto() uses the counts as they are; "
        "rma.peto(add = c(1/2, 1/2), to = c('only0', 'only0'), drop00 = c(TRUE, TRUE)) "
        "reproduces PythonMeta.",
        explains=("estimate", "se", "ci_low", "ci_high", "z", "p", "pi_low", "pi_high", "q",
                  "q_p", "i2", "h2"),
        check="tests/test_mantel_haenszel.py::test_engines_reproduce_metafor_or_the_named_convention",
        realign=as_metafor,
    ),
    Convention(
        "pythonmeta.mh_rd_variance", "pythonmeta", ("se",),
        "The Mantel-Haenszel risk difference has the Greenland & Robins 1985 variance "
        "sum (a b n2^3 + c d n1^3) / (n1 n2 N^2) / (sum n1 n2 / N)^2, as in RevMan 5 and Stata "
        "metan.",
        "Reported as PythonMeta gives it. metafor's rma.mh() (and pimeta) use Sato's 1989 "
        "variance, which stays consistent with many sparse tables; the estimates agree, the "
        "SE, CI, z and P differ.",
        explains=("se", "ci_low", "ci_high", "z", "p", "pi_low", "pi_high"),
        check="tests/test_mantel_haenszel.py::test_engines_reproduce_metafor_or_the_named_convention",
        realign=as_metafor,
    ),
    Convention(
        "statsmodels.mh_or_only", "statsmodels", ("methods", "q", "weights"),
        "contingency_tables.StratifiedTable gives the Mantel-Haenszel odds ratio with the "
        "Robins-Breslow-Greenland SE and CI (and the CMH and Breslow-Day tests). It has a "
        "pooled MH risk ratio without SE or CI, no MH risk difference, no Peto odds ratio, no "
        "Q around the MH estimate and no per-table weights.",
        "MH is offered for OR only (RR, RD and PETO raise UnsupportedMethodError naming the "
        "engines that have them). Q (and its P, I^2, H^2) is computed by metabridge around "
        "statsmodels' MH estimate from statsmodels' per-table log odds ratios (double-zero "
        "tables left out, as in RevMan and rma.mh), the weights as b c / N; all listed in "
        "derived.",
        check="tests/test_conventions_raw.py::test_statsmodels_has_the_mh_odds_ratio_only",
    ),
    Convention(
        "statsmodels.zero_correction", "statsmodels", ("study_yi", "study_vi"),
        "effectsize_2proportions(zero_correction = c) adds c to the events of every table but "
        "2c to the totals only of tables with a zero cell (statsmodels 0.15), which moves "
        "every table's effect; without a correction a zero cell gives an infinite effect.",
        "metabridge adds 1/2 to every cell of each zero-cell table (escalc's to = 'only0') "
        "and calls it without zero_correction, so its effects equal metafor's escalc().",
        check="tests/test_conventions_raw.py::test_statsmodels_zero_correction_moves_every_table",
    ),
    Convention(
        "pimeta.only_events_tables", "pimeta", ("q", "q_df"),
        "rma_mh() leaves out of Q only the 2x2 tables with no events in either arm (its "
        "escalc's drop00); a table with only events in both arms stays in Q with its "
        "1/2-corrected effect. metafor's drop00 leaves out both kinds.",
        "Reported as pimeta gives it: Q is metafor's Q plus that table's term "
        "(y - theta)^2 / v, on one more degree of freedom.",
        explains=("q", "q_p", "i2", "h2"),
        check="tests/test_mantel_haenszel.py::test_engines_reproduce_metafor_or_the_named_convention",
        realign=as_metafor,
    ),
    Convention(
        "pimeta.zero_q", "pimeta", ("i2",),
        "rma_mh() and rma_peto() compute I^2 = (Q - df) / Q and raise ZeroDivisionError when "
        "Q = 0 exactly, i.e. when every table has the same effect as the pooled one (e.g. "
        "every odds ratio 1); metafor's rma.mh() reports I^2 = 0.",
        "EngineError saying so (no number is made up for pimeta); the other engines pool "
        "such tables.",
        check="tests/test_mantel_haenszel.py::test_pimeta_refuses_tables_with_q_zero",
    ),
    Convention(
        "pimeta.escalc_drop00", "pimeta", ("input", "k"),
        "escalc() leaves out 2x2 tables with no events in either arm by default (drop00 = "
        "True); metafor's escalc() keeps them (drop00 = FALSE) with 1/2 added to each cell.",
        "Reported as pimeta gives it: those tables have weight 0 and no effect, Q is on the "
        "others; harmonise = True gives every engine the StudySet's (metafor's) effect sizes.",
        explains=(*DOWNSTREAM, "q", "q_p", "i2", "h2"),
        check="tests/test_raw_pooling.py::test_engines_pool_raw_data_as_metafor_or_the_named_convention",
        realign=as_metafor,
    ),
    Convention(
        "pythonmeta.smd_revman", "pythonmeta", ("study_yi", "study_vi"),
        "Hedges' g as RevMan 5: the approximate bias correction J = 1 - 3 / (4 N - 9) and "
        "variance N / (n1 n2) + g^2 / (2 (N - 3.94)) (N = n1 + n2).",
        "Reported as PythonMeta gives it. metafor's escalc() (and pimeta) use the exact "
        "correction J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)), m = N - 2, and variance "
        "1/n1 + 1/n2 + g^2 / (2 N); harmonise = True gives every engine metafor's.",
        explains=(*DOWNSTREAM, "q", "q_p", "i2", "h2"),
        check="tests/test_raw_pooling.py::test_engines_pool_raw_data_as_metafor_or_the_named_convention",
        realign=as_metafor,
    ),
    Convention(
        "statsmodels.smd_revman", "statsmodels", ("study_yi", "study_vi"),
        "effectsize_smd() computes Hedges' g as RevMan 5 (approximate J = 1 - 3 / (4 N - 9), "
        "variance N / (n1 n2) + g^2 / (2 (N - 3.94))); it has no option for the exact one.",
        "Reported as statsmodels gives it (see pythonmeta.smd_revman); harmonise = True gives "
        "every engine metafor's effect sizes.",
        explains=(*DOWNSTREAM, "q", "q_p", "i2", "h2"),
        check="tests/test_raw_pooling.py::test_engines_pool_raw_data_as_metafor_or_the_named_convention",
        realign=as_metafor,
    ),
    Convention(
        "metabridge.harmonised", "all", ("ci_low", "ci_high", "z", "p", "q_p", "i2", "h2"),
        "Each engine's own conventions (CI quantile, P computation, I^2 definition).",
        "PoolResult.harmonised() / compare(harmonise=True): CI with the exact normal quantile, "
        "signed z, exact normal and chi-square P values, I^2 and H^2 from Q; the engine's "
        "values are kept in extra['<field>_engine'].",
        recipes={name: f"standard_{name}" for name in STANDARD},
    ),
    Convention(
        "metabridge.boundary_fe", "all", ("tau2",),
        "The engine's random-effects tau^2 failed its defining equation where the root is "
        "the boundary tau^2 = 0, and the engine cannot pool at a given tau^2.",
        "The engine's own fixed-effect fit, which is the random-effects model at tau^2 = 0 "
        "(the estimator's stable solution, metabridge.stable_tau2), reported under the "
        "requested method; the engine's tau^2 and the defects are kept in extra.",
    ),
    Convention(
        "metabridge.recentred", "all", ("estimate", "se", "tau2", "q"),
        "The engine's own numbers failed metabridge's sanity checks (a Q, tau^2, estimate, SE "
        "or weight that does not follow from the data by a stable route; see the engine's own "
        "row for why).",
        "The engine was re-run on the effects centred at their fixed-effect mean (Q, tau^2, "
        "SE and weights do not change with a common shift; the estimate and intervals are "
        "shifted back, z and P recomputed from them), and the repaired result passed every "
        "check. The engine's numbers and the defects are kept in extra.",
    ),
    Convention(
        "metabridge.rounding", "all", ("q", "estimate", "se", "q_p", "i2", "h2", "z", "p",
                                       "ci_low", "ci_high", "pi_low", "pi_high"),
        "Two engines' Q, estimate or SE may differ within the rounding bounds the sanity "
        "layer allows each (e.g. Q = 4.9e-16 where the exact Q is 0: PythonMeta on two "
        "identical effects); a statistic computed from them moves with them, sometimes "
        "far more (the P value of a Q near 0 moves like sqrt(Q): 1.8e-8 here).",
        "compare().differences() names this row only when both results pass every check "
        "(each core number within its bound of the stable value, each statistic from its "
        "core numbers by the same recipe) and a core number differs between them.",
    ),
    Convention(
        "metabridge.stable_tau2", "all", ("tau2",),
        "The engine's tau^2 failed its estimator's defining equation (a closed form that "
        "cancels, a root search stopped early or overshot, no convergence), or, for ML and "
        "REML, is a local maximum of the likelihood only: with variances spread over many "
        "orders the likelihood can have two maxima, and metafor, PyMARE and pimeta all "
        "stop at the one their start leads to (REML tau^2 9.4e-7 and P 8e-57 where the "
        "global maximum gives 0.0042 and P 0.73; tests/test_sanity.py).",
        "tau^2 computed by metabridge's stable route (metabridge.estimators: closed forms "
        "without cancellation, roots polished with scipy brentq to full precision; for ML "
        "and REML the global maximum, found on a log grid of tau^2 that spans every "
        "maximum, 12 points a decade, then polished) and the "
        "engine pooled at that tau^2; tau2 is listed in derived, the engine's value and the "
        "defects in extra.",
    ),
)

_BY_KEY = {c.key: c for c in CONVENTIONS}


def recipe_for(name: str, keys: Iterable[str]) -> Recipe:
    """How a result with conventions ``keys`` computes reported statistic ``name``."""
    chosen = STANDARD[name]
    for key in keys:
        recipe = _BY_KEY[key].recipes.get(name) if key in _BY_KEY else None
        if recipe is not None:
            chosen = RECIPES[recipe]
    return chosen


@lru_cache(maxsize=1024)
def recipes_for(keys: tuple[str, ...]) -> tuple[tuple[str, Recipe], ...]:
    """(name, recipe) of every reported statistic under conventions ``keys`` (looked up
    once per combination of conventions: the table does not change)."""
    return tuple((name, recipe_for(name, keys)) for name in REPORTED)


def recipe_keys(name: str, keys: Iterable[str]) -> tuple[str, ...]:
    """The conventions among ``keys`` that define how ``name`` is computed."""
    return tuple(k for k in keys if k in _BY_KEY and name in _BY_KEY[k].recipes)


def tau2_tolerance(keys: Iterable[str]) -> float | None:
    """The stopping-rule tolerance a result's conventions claim for its tau^2."""
    found = [_BY_KEY[k].tau2_rtol for k in keys if k in _BY_KEY and _BY_KEY[k].tau2_rtol]
    return max(found) if found else None


def convention(key: str) -> Convention:
    """The convention registered under ``key``."""
    return _BY_KEY[key]


def note(key: str) -> str:
    """The text metabridge attaches to a result when convention ``key`` applied."""
    return f"[{key}] {_BY_KEY[key].metabridge}"


def conventions_table() -> pd.DataFrame:
    """Every documented convention difference as a DataFrame."""
    rows = [{k: v for k, v in c.__dict__.items() if k != "realign"}
            | {"quantities": ", ".join(c.quantities), "explains": ", ".join(c.explains),
               "recipes": ", ".join(f"{k}: {v}" for k, v in c.recipes.items()),
               "harmonised": c.realign is not None} for c in CONVENTIONS]
    return pd.DataFrame(rows)


def conventions_markdown() -> str:
    """docs/conventions.md: the table above as Markdown (regenerated, never hand-edited)."""
    lines = [
        "# Engine conventions",
        "",
        "Generated by `metabridge conventions --markdown` from `src/metabridge/conventions.py`;",
        "a test checks that this file matches the code. A result lists the keys that applied",
        "to it in `PoolResult.conventions`; `Comparison.differences()` names them as the cause",
        "of any gap between engines.",
        "",
        "| key | engine | quantities | what the engine does | what metabridge reports | "
        "checked by |",
        "|---|---|---|---|---|---|",
    ]
    for c in CONVENTIONS:
        check = f"`{c.check}`" if c.check else ""
        lines.append(
            f"| `{c.key}` | {c.backend} | {', '.join(c.quantities)} | {c.engine} | {c.metabridge} "
            f"| {check} |"
        )
    return "\n".join(lines) + "\n"
