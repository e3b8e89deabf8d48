"""PythonMeta engine (Deng Hongyong; RevMan 5 algorithms).

Generic inverse-variance data are fed as mean differences (yi, SE, 1) vs
(0, 0, 1) with effect MD and algorithm IV; PythonMeta offers the fixed-effect
model and DerSimonian-Laird only.  Conventions applied: pythonmeta.generic_as_md,
pythonmeta.table_pvalues, pythonmeta.abs_z, pythonmeta.ci_196,
pythonmeta.root_logger, pythonmeta.max_studies.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import metadata
from typing import Any

import numpy as np

from ..analyses.types import EggerTest, EggerVariant
from ..conversions import normal_quantile
from ..errors import EngineError
from ..methods import METHODS, Method
from ..result import PoolResult
from ..studies import StudySet
from .base import BackendStatus, assemble, probe_python_engine
from .engine_base import EngineBase

#: PythonMeta refuses larger sets ("studies should less than 200").
MAX_STUDIES = 200
#: PythonMeta's fixed critical value for every CI.
PYTHONMETA_Z = 1.96


@cache
def _engine() -> Any:
    """Import PythonMeta without letting it reconfigure the root logger."""
    root = logging.getLogger()
    placeholder = logging.NullHandler()
    level = root.level
    root.addHandler(placeholder)  # makes PythonMeta's logging.basicConfig() a no-op
    try:
        import PythonMeta
    finally:
        root.removeHandler(placeholder)
        root.setLevel(level)
    own = logging.getLogger("PythonMeta.core")
    own.propagate = False  # it logs "Load Meta()" at INFO on every call
    own.addHandler(logging.NullHandler())
    return PythonMeta


class PythonMetaBackend(EngineBase):
    """Adapter for PythonMeta's ``Meta`` class."""

    name = "pythonmeta"
    description = "PythonMeta 1.x (Python; RevMan 5 algorithms)"
    methods = frozenset({"FE", "DL"})
    features = frozenset({"egger_classic"})
    max_studies = MAX_STUDIES

    def status(self) -> BackendStatus:
        return probe_python_engine(
            self.name, _engine, "PythonMeta", "pip install 'metabridge[pythonmeta]'"
        )

    def _run(self, studies: StudySet, method: Method) -> tuple[Any, list[Any]]:
        """PythonMeta's Meta.meta0 on the studies as mean differences; returns (meta, rows)."""
        meta = _engine().Meta()
        meta.datatype = "CONT"
        meta.effect = "MD"
        meta.algorithm = "IV"
        meta.models = "Random" if method.random_effects else "Fixed"
        rows = [
            [float(y), float(s), 1, 0.0, 0.0, 1, label]
            for y, s, label in zip(studies.yi, studies.sei, studies.labels, strict=True)
        ]
        try:
            return meta, meta.meta0(rows)
        except Exception as exc:  # PythonMeta raises bare Exception("error.(...)")
            raise EngineError(self.name, str(exc)) from None

    def pool(
        self, studies: StudySet, method: Method, level: float, test: str = "z"
    ) -> PoolResult:
        _, out = self._run(studies, method)
        total, per_study = out[0], out[1:]
        estimate, se, q = float(total[1]), float(total[6]), float(total[7])
        df = studies.k - 1
        if abs(level - 0.95) < 1e-12:
            ci = (float(total[3]), float(total[4]))
            computed_here: tuple[str, ...] = ()
        else:
            half = normal_quantile(level) * se
            ci = (estimate - half, estimate + half)
            computed_here = ("ci_low", "ci_high")
        return assemble(
            studies, method, level,
            backend=self.name, engine_version=metadata.version("PythonMeta"),
            estimate=estimate, se=se, ci=ci,
            tau2=float(total[12]) if method.random_effects else 0.0,
            q=q, weights=[row[2] for row in per_study],
            i2=float(total[9]) if df > 0 else float("nan"),
            computed_here=computed_here,
            conventions=[
                "pythonmeta.generic_as_md", "pythonmeta.table_pvalues",
                "pythonmeta.abs_z", "pythonmeta.ci_196",
            ],
            extra={"p_engine": total[11], "q_p_engine": total[8], "z_engine": float(total[10])},
        )

    def _pool_numbers(
        self, yi: np.ndarray, vi: np.ndarray, method: Method, test: str
    ) -> tuple[float, float, float]:
        """Meta.meta0 on one replicate (fed as mean differences, as in ``pool``)."""
        meta = _engine().Meta()
        meta.datatype, meta.effect, meta.algorithm = "CONT", "MD", "IV"
        meta.models = "Random" if method.random_effects else "Fixed"
        total = meta.meta0([[y, s, 1, 0.0, 0.0, 1, "s"] for y, s in
                            zip(yi.tolist(), np.sqrt(vi).tolist(), strict=True)])[0]
        return total[1], total[6], (total[12] if method.random_effects else 0.0)

    def egger(self, studies: StudySet, variant: EggerVariant) -> EggerTest:
        """PythonMeta's Eggers_test: OLS of y/se on 1/se, t-test of the intercept."""
        if variant != "classic":
            return super().egger(studies, variant)
        meta, out = self._run(studies, METHODS["FE"])
        try:
            bias, t, p, sd, _ = meta.Eggers_test(out)
        except Exception as exc:  # bare Exception from PythonMeta
            raise EngineError(self.name, str(exc)) from None
        return EggerTest(
            "classic", float(bias), float(sd), float(t), float(studies.k - 2), float(p),
            self.name, "PythonMeta Eggers_test",
        )
