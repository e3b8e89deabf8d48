"""Means, SDs and group sizes per arm: mean differences (MD) and standardised ones (SMD).

The StudySet's own effect sizes follow metafor's ``escalc()`` defaults (metafor 3.8,
``vtype = "LS"``), with m = n1 + n2 - 2 and the pooled SD s = sqrt(((n1 - 1) sd1^2 +
(n2 - 1) sd2^2) / m):

    MD:  yi = m1 - m2,                      vi = sd1^2 / n1 + sd2^2 / n2
    SMD: yi = J(m) (m1 - m2) / s,           vi = 1/n1 + 1/n2 + yi^2 / (2 (n1 + n2))

with Hedges' exact bias correction J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))
(Hedges 1981, J Educ Stat 6:107).  RevMan 5, statsmodels and PythonMeta use the
approximation J = 1 - 3 / (4 N - 9) and another variance (conventions table).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._lazy import lazy_module
from .checks import Effects, require, vector
from .counts import stored, whole_numbers

special = lazy_module("scipy.special")

#: Column names of the means data, in the positional order of ``StudySet.from_means``.
MEANS_COLUMNS = ("mean_exp", "sd_exp", "n_exp", "mean_ctrl", "sd_ctrl", "n_ctrl")
#: Measures computed from means and SDs.
MEANS_MEASURES = ("MD", "SMD")

class Means(NamedTuple):
    """Mean, SD and group size per arm, one entry per study."""

    mean_exp: np.ndarray
    sd_exp: np.ndarray
    n_exp: np.ndarray
    mean_ctrl: np.ndarray
    sd_ctrl: np.ndarray
    n_ctrl: np.ndarray

    def pooled_sd(self) -> np.ndarray:
        """sqrt(((n1 - 1) sd1^2 + (n2 - 1) sd2^2) / (n1 + n2 - 2))."""
        df = self.n_exp + self.n_ctrl - 2
        return np.sqrt(((self.n_exp - 1) * self.sd_exp**2
                        + (self.n_ctrl - 1) * self.sd_ctrl**2) / df)


def read_means(values: tuple[Any, ...], labels: tuple[str, ...]) -> Means:
    """Checked means data: finite means, SDs > 0, whole group sizes >= 2."""
    columns = []
    for raw, field in zip(values, MEANS_COLUMNS, strict=True):
        if field.startswith("n_"):
            arr = whole_numbers(raw, field, labels)
            require(arr < 2, labels, field,
                    lambda i, a=arr: f"a group needs at least 2 participants for an SD, "
                    f"got {a[i]:g}")
        else:
            arr = vector(raw, field, labels)
            if field.startswith("sd_"):
                require(arr <= 0, labels, field,
                        lambda i, a=arr: f"an SD must be > 0, got {float(a[i])!r}")
        columns.append(arr)
    return Means(*columns)


def hedges_exact_correction(df: np.ndarray) -> np.ndarray:
    """J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)), through log-gamma (no overflow)."""
    return np.exp(special.gammaln(df / 2) - 0.5 * np.log(df / 2) - special.gammaln((df - 1) / 2))


def escalc_means(means: Means, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """(yi, vi) under metafor's escalc() defaults (module docstring)."""
    n1, n2 = means.n_exp, means.n_ctrl
    difference = means.mean_exp - means.mean_ctrl
    if measure == "MD":
        return difference, means.sd_exp**2 / n1 + means.sd_ctrl**2 / n2
    yi = hedges_exact_correction(n1 + n2 - 2) * difference / means.pooled_sd()
    return yi, 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))


def from_means(
    mean_exp: Any, sd_exp: Any, n_exp: Any, mean_ctrl: Any, sd_ctrl: Any, n_ctrl: Any,
    labels: tuple[str, ...], measure: str,
) -> Effects:
    """(yi, vi, raw columns) from means, SDs and group sizes; ``measure`` is MD or SMD."""
    means = read_means((mean_exp, sd_exp, n_exp, mean_ctrl, sd_ctrl, n_ctrl), labels)
    yi, vi = escalc_means(means, measure)
    columns = {name: stored(column) if name.startswith("n_") else column
               for name, column in zip(MEANS_COLUMNS, means, strict=True)}
    return yi, vi, columns
