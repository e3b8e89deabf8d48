"""Textbook formulas for the sensitivity verbs, computed from an engine's own fits.

Used where an engine has no native ``influence()`` or ``trimfill()``: the engine
fits the model (full data, each leave-one-out set, each trimmed set) and these
functions turn its numbers into the diagnostics, with metafor's definitions
(metafor 3.8 ``influence.rma.uni``, ``baujat.rma``, ``trimfill.rma.uni``), so
that the same fits give the same diagnostics on every engine.

Case diagnostics of an intercept-only model (Viechtbauer & Cheung 2010, Res
Synth Methods 1:112), with w_i = 1 / (v_i + tau^2) of the full fit, mu and
Var(mu) = 1 / sum w from the full fit, and mu_(i), Var(mu_(i)), tau^2_(i) from
the fit without study i:

    hat_i      = w_i / sum w;   weight_i = 100 hat_i
    rstudent_i = (y_i - mu_(i)) / sqrt(v_i + tau^2_(i) + Var(mu_(i)))
    DFFITS_i   = (mu - mu_(i)) / sqrt(hat_i (tau^2_(i) + v_i))
    Cook's D_i = (mu - mu_(i))^2 / Var(mu)
    COVRATIO_i = Var(mu_(i)) / Var(mu)
    DFBETAS_i  = (mu - mu_(i)) / sqrt(1 / sum_j 1 / (v_j + tau^2_(i)))   (all k studies)

a study is flagged influential when |DFFITS| > 3 sqrt(1 / (k - 1)), or
P(chi^2_1 <= D) > 0.5, or hat > 3 / k, or |DFBETAS| > 1 (metafor's rule).
Baujat et al. 2002 (Stat Med 21:2641): x_i = (y_i - mu)^2 / (v_i + tau^2),
y_i = (mu_(i) - mu)^2 / Var(mu_(i)).

Trim and fill (Duval & Tweedie 2000, Biometrics 56:455 and JASA 95:89): the
estimators L0 and R0 of the number of missing studies from the signed ranks of
the centred effects, as in metafor (``k0`` unrounded in Var(S_r), then rounded).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._lazy import lazy_module

special = lazy_module("scipy.special")

#: Estimators of the number of missing studies (Duval & Tweedie 2000).
K0_ESTIMATORS = ("L0", "R0")
#: Predictors of the Egger-type regression test, as metafor's regtest() defines them.
EGGER_PREDICTORS = {
    "sei": lambda vi, ni: np.sqrt(vi),
    "vi": lambda vi, ni: vi,
    "ni": lambda vi, ni: ni,
    "ninv": lambda vi, ni: 1.0 / ni,
    "sqrtninv": lambda vi, ni: 1.0 / np.sqrt(ni),
}
#: The predictors that need the studies' sample sizes.
SAMPLE_SIZE_PREDICTORS = frozenset({"ni", "ninv", "sqrtninv"})


@dataclass(frozen=True)
class Fit:
    """The numbers of one intercept-only fit the diagnostics need."""

    estimate: float
    se: float
    tau2: float
    q: float


def case_diagnostics(yi: np.ndarray, vi: np.ndarray, full: Fit,
                     deleted: list[Fit | None]) -> pd.DataFrame:
    """metafor's influence() table (and Baujat's coordinates) from k + 1 fits.

    ``deleted[i]`` is the fit without study i, or None where it failed (its row
    is then NaN, as in metafor).
    """
    w = 1.0 / (vi + full.tau2)
    hat = w / w.sum()
    var_full = full.se**2
    nan = np.full(len(yi), np.nan)
    mu_del, var_del, tau2_del, q_del = (nan.copy() for _ in range(4))
    for i, fit in enumerate(deleted):
        if fit is not None:
            mu_del[i], var_del[i], tau2_del[i], q_del[i] = (fit.estimate, fit.se**2, fit.tau2,
                                                            fit.q)
    change = full.estimate - mu_del
    var_del_all = 1.0 / (1.0 / (vi[None, :] + tau2_del[:, None])).sum(axis=1)
    table = pd.DataFrame({
        "rstudent": (yi - mu_del) / np.sqrt(vi + tau2_del + var_del),
        "dffits": change / np.sqrt(hat * (tau2_del + vi)),
        "cook_d": change**2 / var_full,
        "cov_r": var_del / var_full,
        "tau2_del": tau2_del,
        "q_del": q_del,
        "hat": hat,
        "weight": 100.0 * hat,
        "dfbetas": change / np.sqrt(var_del_all),
        "baujat_x": (yi - full.estimate) ** 2 / (vi + full.tau2),
        "baujat_y": change**2 / var_del,
    })
    table["influential"] = influential(table, len(yi))
    return table


def influential(table: pd.DataFrame, k: int) -> np.ndarray:
    """metafor's flag: |DFFITS| > 3 sqrt(p/(k-p)), P(chi^2_p <= D) > .5, hat > 3p/k,
    |DFBETAS| > 1 (p = 1 coefficient)."""
    with np.errstate(invalid="ignore"):
        flags = ((np.abs(table["dffits"]) > 3.0 * np.sqrt(1.0 / (k - 1)))
                 | (special.chdtr(1, table["cook_d"]) > 0.5)
                 | (table["hat"] > 3.0 / k)
                 | (np.abs(table["dfbetas"]) > 1.0))
    return flags.to_numpy(dtype=bool)


@dataclass(frozen=True)
class MissingStudies:
    """One estimate of the number of missing studies (before rounding) and its SE."""

    k0: int
    se_k0: float
    p_k0: float


def estimate_k0(centred: np.ndarray, estimator: str) -> MissingStudies:
    """L0 or R0 from effects centred on the trimmed estimate, missing side on the left.

    Ranks of |centred| with ties broken by position (R's ``rank(ties = "first")``);
    S_r = sum of the positive signed ranks; L0 = (4 S_r - k(k+1)) / (2k - 1),
    R0 = k - (largest rank of a negative value) - 1; both rounded and floored at 0.
    """
    k = len(centred)
    ranks = np.empty(k)
    ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)
    signed = np.sign(centred) * ranks
    if estimator == "R0":
        negative = -signed[signed < 0]
        k0 = (k - (negative.max() if negative.size else 0.0)) - 1.0
        se = float(np.sqrt(2.0 * max(0.0, k0) + 2.0))
        rounded = max(0, round_half_even(k0))
        # metafor: 1 - sum_{m=-1}^{k0-1} choose(m + 1, m + 1) 0.5^(m + 2) = 0.5^(k0 + 1)
        return MissingStudies(rounded, se, 0.5 ** (rounded + 1))
    s_r = signed[signed > 0].sum()
    k0 = (4.0 * s_r - k * (k + 1)) / (2.0 * k - 1)
    var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0**3 + 27 * k0**2 + 17 * k0
              - 18 * k * k0**2 - 18 * k * k0 + 6 * k**2 * k0) / 24.0
    se = max(0.0, float(4.0 * np.sqrt(var_sr) / (2 * k - 1)))
    return MissingStudies(max(0, round_half_even(k0)), se, float("nan"))


def round_half_even(value: float) -> int:
    """R's round() (IEC 60559: halves to the even integer), as metafor rounds k0."""
    return int(np.rint(value))
