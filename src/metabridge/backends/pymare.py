"""PyMARE engine (Python Meta-Analysis & Regression Engine; MIT).

Its estimators fit many data sets at once (y and v as k x d arrays), which makes
it the batch engine of :func:`metabridge.simulate`.  Methods: FE
(``WeightedLeastSquares(tau2=0)``), DL (``DerSimonianLaird``), HE (``Hedges``),
ML and REML (``VarianceBasedLikelihoodEstimator``).  Tests: "z" =
``small_sample_correction="wald"``, "knha" = "knapp-hartung", "adhoc" =
"knapp-hartung-conservative".  Conventions applied: pymare.i2_from_q,
pymare.z_from_p, pymare.tolerance.
"""

from __future__ import annotations

import warnings
from functools import cache
from importlib import metadata
from typing import Any

import numpy as np

from ..analyses.types import EggerTest, EggerVariant, Side
from ..methods import Method
from ..result import PoolResult
from ..studies import StudySet
from .base import BackendStatus, assemble, probe_python_engine
from .engine_base import EngineBase

#: Tight likelihood search (convention "pymare.tolerance"); PyMARE's default xtol is 1e-6.
ML_SEARCH = {"xtol": 1e-10, "ftol": 1e-15, "maxiter": 200}
_CORRECTION = {"z": "wald", "knha": "knapp-hartung", "adhoc": "knapp-hartung-conservative"}


@cache
def _engine() -> Any:
    import pymare
    import pymare.estimators

    return pymare


def _estimator(method: Method, test: str) -> Any:
    est = _engine().estimators
    correction = {"small_sample_correction": _CORRECTION[test]}
    if method.name == "FE":
        return est.WeightedLeastSquares(tau2=0.0, **correction)
    if method.name == "DL":
        return est.DerSimonianLaird(**correction)
    if method.name == "HE":
        return est.Hedges(**correction)
    return est.VarianceBasedLikelihoodEstimator(method=method.name, **correction, **ML_SEARCH)


def _fit(method: Method, test: str, y: np.ndarray, v: np.ndarray) -> Any:
    """Fit k x d arrays; returns the fitted estimator."""
    x = np.ones((y.shape[0], 1))
    estimator = _estimator(method, test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if method.name == "FE":
            return estimator.fit(y, x, v)
        return estimator.fit(y, v, x)


class PyMAREBackend(EngineBase):
    """Adapter for PyMARE's estimators (single data sets and whole batches)."""

    name = "pymare"
    description = "PyMARE (Python; vectorised over many data sets)"
    methods = frozenset({"FE", "DL", "HE", "ML", "REML"})
    tests = frozenset({"z", "knha", "adhoc"})
    features = frozenset({"batch", "egger_classic", "meta_regression"})
    max_studies = None
    tolerance_convention = "pymare.tolerance"

    def status(self) -> BackendStatus:
        return probe_python_engine(self.name, _engine, "PyMARE",
                                   "pip install PyMARE (a dependency of metabridge)")

    def fit(
        self, studies: StudySet, method: Method, level: float, test: str = "z"
    ) -> PoolResult:
        return self._result(studies, method, level, test, _estimator(method, test))

    def fit_at_tau2(
        self, studies: StudySet, method: Method, tau2: float, level: float, test: str = "z"
    ) -> PoolResult:
        """``WeightedLeastSquares(tau2=tau2)``: PyMARE's pooling at a given tau^2."""
        estimator = _engine().estimators.WeightedLeastSquares(
            tau2=tau2, small_sample_correction=_CORRECTION[test])
        return self._result(studies, method, level, test, estimator, tau2)

    def _result(
        self, studies: StudySet, method: Method, level: float, test: str, estimator: Any,
        tau2: float | None = None,
    ) -> PoolResult:
        pymare = _engine()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            estimator.fit_dataset(pymare.Dataset(y=studies.yi, v=studies.vi))
            summary = estimator.summary()
            fe = {k: float(np.ravel(v)[0]) for k, v in summary.get_fe_stats(1 - level).items()}
            hetero = summary.get_heterogeneity_stats()
        if tau2 is None:
            tau2 = float(np.ravel(summary.tau2)[0]) if method.random_effects else 0.0
        q = float(np.ravel(hetero["Q"])[0])
        df = studies.k - 1
        conventions = ["pymare.i2_from_q"] + ([] if test == "z" else ["pymare.z_from_p"])
        if method.name in ("ML", "REML"):
            conventions.append("pymare.tolerance")
        return assemble(
            studies, method, level,
            backend=self.name, engine_version=metadata.version("PyMARE"), test=test,
            estimate=fe["est"], se=fe["se"], ci=(fe["ci_l"], fe["ci_u"]), tau2=tau2, q=q,
            weights=1.0 / (studies.vi + tau2),
            z=fe["z"] if test == "z" else None, p=fe["p"],
            i2=float(np.ravel(hetero["I^2"])[0]) if df > 0 else float("nan"),
            h2=float(np.ravel(hetero["H"])[0]) ** 2 if df > 0 else float("nan"),
            q_p=float(np.ravel(hetero["p(Q)"])[0]) if df > 0 else float("nan"),
            conventions=conventions,
            extra={} if test == "z" else {"z_engine": fe["z"]},
        )

    def choose_side(self, studies: StudySet, method: Method) -> Side:
        """metafor's rule for trim and fill's side with PyMARE's meta-regression: the
        sign of the sqrt(vi) coefficient, the model's estimator fitting tau^2."""
        data = _engine().Dataset(y=studies.yi, v=studies.vi, X=np.sqrt(studies.vi)[:, None],
                                 add_intercept=True)
        estimator = _estimator(method, "z")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            slope = float(np.ravel(estimator.fit_dataset(data).summary().get_fe_stats()["est"])[1])
        return "right" if slope < 0 else "left"

    def egger(self, studies: StudySet, variant: EggerVariant) -> EggerTest:
        """Classic Egger test as PyMARE's fixed-effect meta-regression on the SE with an
        estimated scale (``WeightedLeastSquares(tau2=0)``, Knapp-Hartung = multiplicative
        dispersion): the SE coefficient is Egger's intercept, t on k - 2 df."""
        if variant != "classic":
            return super().egger(studies, variant)
        pymare = _engine()
        data = pymare.Dataset(y=studies.yi, v=studies.vi, X=studies.sei[:, None],
                              add_intercept=True)
        estimator = pymare.estimators.WeightedLeastSquares(
            tau2=0.0, small_sample_correction="knapp-hartung")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fe = estimator.fit_dataset(data).summary().get_fe_stats()
        bias, se, p = (float(np.ravel(fe[key])[1]) for key in ("est", "se", "p"))
        return EggerTest("classic", bias, se, bias / se, float(studies.k - 2), p, self.name,
                         "PyMARE WeightedLeastSquares on the SE (Knapp-Hartung scale)")

    def fit_batch(
        self, yi: np.ndarray, vi: np.ndarray, method: Method, level: float, test: str = "z"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All replicates (rows of ``yi``/``vi``) in one vectorised PyMARE fit."""
        params = _fit(method, test, yi.T, vi.T).params_
        estimate = np.ravel(params["fe_params"])
        se = np.sqrt(np.ravel(params["inv_cov"]))
        tau2 = np.ravel(params["tau2"]) * np.ones_like(estimate)
        return estimate, se, tau2 if method.random_effects else np.zeros_like(estimate)
