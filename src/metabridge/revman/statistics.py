"""RevMan's own way of computing a number, where it differs from the textbook one.

RevMan 5's standardised mean difference is Hedges' g with the approximate bias
correction 1 - 3/(4N - 9) and the variance N/(n1 n2) + g^2/(2(N - 3.94)) (Deeks &
Higgins 2010, "Statistical algorithms in Review Manager 5"); statsmodels'
``effectsize_smd`` computes exactly that, and :func:`revman5_smd` uses it.

RevMan 5's chi-square P value (heterogeneity and subgroup tests) is not the exact
upper tail: on the public Fleiss 1993 review it stores P(Chi^2 = 9.946055983220074,
df = 6) = 0.1269422521561745 where the exact value is 0.12694217790629 (7.4e-8
apart), and its CSV export has P(Q = 5.66012379, df = 4) = 0.22600895 where the exact
value rounds to 0.22600889.  The rule below reproduces both (the first to 7e-16, the
second at its 8 decimals): the upper tail as one minus the lower regularised
incomplete gamma function P(a, x) (a = df / 2, x = Chi^2 / 2), summed as its power
series

    P(a, x) = x^a e^(-x) / Gamma(a + 1) * sum_n x^n / ((a + 1) ... (a + n))

and stopped at the first term below a tolerance times the partial sum.  The two
stored values pin the tolerance to (3.49e-7, 1.12e-6]; 1e-6 is taken.  (The
classic 3e-7 of Numerical Recipes' series gives the first value but not the second.)
"""


from __future__ import annotations

import math

import numpy as np

#: The series stops at the first term below this fraction of the partial sum.
SERIES_TOLERANCE = 1e-6


def revman5_chi2_p(q: float, df: float) -> float:
    """P(Chi^2_df > q) as RevMan 5 stores it (module docstring); NaN for df < 1."""
    if not df >= 1 or math.isnan(q):
        return math.nan
    if q <= 0:
        return 1.0
    a, x = df / 2.0, q / 2.0
    term = total = 1.0 / a
    n = 0
    while abs(term) >= abs(total) * SERIES_TOLERANCE and n < 100_000:
        n += 1
        term *= x / (a + n)
        total += term
    return 1.0 - total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def revman5_smd(mean_exp: np.ndarray, sd_exp: np.ndarray, n_exp: np.ndarray,
                mean_ctrl: np.ndarray, sd_ctrl: np.ndarray,
                n_ctrl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RevMan 5's SMD and its variance per study (module docstring), by statsmodels."""
    from statsmodels.stats.meta_analysis import effectsize_smd  # heavy; only when needed

    smd, variance = effectsize_smd(mean_exp, sd_exp, n_exp, mean_ctrl, sd_ctrl, n_ctrl)
    return np.asarray(smd, dtype=float), np.asarray(variance, dtype=float)
