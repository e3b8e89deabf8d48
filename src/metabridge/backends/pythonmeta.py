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
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from .. import mantel_haenszel as mh
from ..analyses.types import EggerTest, EggerVariant
from ..conversions import normal_quantile
from ..errors import EngineError
from ..mantel_haenszel import FIXED_PART
from ..methods import METHODS, Method
from ..result import PoolResult
from ..studies import RATIO_MEASURES, StudySet
from ..studies.counts import corrected_cells
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


#: metabridge's methods on 2x2 tables -> PythonMeta's algorithm; for effect sizes "IV",
#: and for SMD "IV-Heg" (Hedges' g as RevMan 5 computes it).
_ALGORITHM = {"MH": "MH", "DL-MH": "MH", "PETO": "Peto", "SMD": "IV-Heg"}


class _Input(NamedTuple):
    """The studies as PythonMeta takes them."""

    datatype: str
    effect: str
    rows: list[list[Any]]
    #: Studies passed to PythonMeta (it refuses double-zero 2x2 tables).
    used: np.ndarray
    #: PythonMeta reports this effect on the ratio scale (OR, RR), SEs on the log scale.
    log_scale: bool
    conventions: tuple[str, ...]
    #: For 2x2 tables: the cells PythonMeta pools (its zero-cell rule applied).
    tables: tuple[np.ndarray, ...] = ()


def _input(studies: StudySet, method: Method) -> _Input:
    """The raw data as PythonMeta takes them (2x2 tables; means, SDs and n), so that it
    computes its own effect sizes; generic effect sizes as mean differences (yi, SE,
    n = 1) vs (0, 0, n = 1), so that MD = yi and SE(MD) = SE."""
    counts, means = studies.counts, studies.means
    everyone = np.ones(studies.k, dtype=bool)
    if means is not None:
        rows = [[*(float(column[i]) for column in means), label]
                for i, label in enumerate(studies.labels)]
        smd = ("pythonmeta.smd_revman",) if studies.measure == "SMD" else ()
        return _Input("CONT", studies.measure, rows, everyone, False, smd)
    if counts is None:
        rows = [[float(y), float(s), 1, 0.0, 0.0, 1, label]
                for y, s, label in zip(studies.yi, studies.sei, studies.labels, strict=True)]
        return _Input("CONT", "MD", rows, everyone, False, ("pythonmeta.generic_as_md",))
    used = ~counts.double_zero()
    rows = [[*(float(column[i]) for column in counts), studies.labels[i]]
            for i in np.flatnonzero(used)]
    conventions = [key for key, applies in (
        ("pythonmeta.double_zero", not used.all()),
        (f"pythonmeta.{FIXED_PART.get(method.name, '').lower()}_zero_cells",
         method.needs is not None and counts.zero_cell()[used].any()),
        ("pythonmeta.mh_rd_variance", method.name == "MH" and studies.measure == "RD"),
    ) if applies]
    tables = tuple(cell[used] for cell in corrected_cells(counts))
    return _Input("CATE", studies.measure, rows, used, studies.measure in RATIO_MEASURES,
                  tuple(conventions), tables)


class PythonMetaBackend(EngineBase):
    """Adapter for PythonMeta's ``Meta`` class."""

    name = "pythonmeta"
    description = "PythonMeta 1.x (Python; RevMan 5 algorithms)"
    methods = frozenset({"FE", "DL"})
    raw_methods = MappingProxyType({"MH": frozenset({"OR", "RR", "RD"}),
                                    "DL-MH": frozenset({"OR", "RR", "RD"}),
                                    "PETO": frozenset({"OR"})})
    table_zero_cells = MappingProxyType({
        "MH": "RevMan 5: double-zero tables left out (pythonmeta.double_zero); 1/2 added to "
              "every cell of a zero-cell table before the MH estimate (pythonmeta.mh_zero_cells)",
        "PETO": "double-zero tables left out (pythonmeta.double_zero); 1/2 added to every cell "
                "of a zero-cell table, which Peto does not need (pythonmeta.peto_zero_cells)",
        "DL-MH": "RevMan 5: double-zero tables left out (pythonmeta.double_zero); 1/2 added "
                 "to every cell of a zero-cell table (pythonmeta.mh_zero_cells)",
    })
    features = frozenset({"egger_classic"})
    max_studies = MAX_STUDIES

    def status(self) -> BackendStatus:
        return probe_python_engine(
            self.name, _engine, "PythonMeta", "pip install 'metabridge[pythonmeta]'"
        )

    def _run(self, studies: StudySet, method: Method) -> tuple[Any, list[Any], _Input]:
        """PythonMeta's Meta.meta0 on the studies; returns (meta, its rows, the input)."""
        given = _input(studies, method)
        meta = _engine().Meta()
        meta.datatype, meta.effect = given.datatype, given.effect
        meta.algorithm = _ALGORITHM.get(method.name, _ALGORITHM.get(given.effect, "IV"))
        meta.models = "Random" if method.random_effects else "Fixed"
        try:
            return meta, meta.meta0(given.rows), given
        except Exception as exc:  # PythonMeta raises bare Exception("error.(...)")
            raise EngineError(self.name, str(exc)) from None

    def fit(
        self, studies: StudySet, method: Method, level: float, test: str = "z"
    ) -> PoolResult:
        _, out, given = self._run(studies, method)
        total, per_study = out[0], out[1:]
        scale = np.log if given.log_scale else np.asarray  # ratios come on the ratio scale
        estimate, se, q = float(scale(total[1])), float(total[6]), float(total[7])
        df = int(given.used.sum()) - 1
        ci_rule: list[str] = []
        if abs(level - 0.95) < 1e-12:
            ci = (float(scale(total[3])), float(scale(total[4])))
            computed_here: tuple[str, ...] = ()
            ci_rule = ["pythonmeta.ci_196"]  # its own CI: estimate -/+ 1.96 SE
        else:
            half = normal_quantile(level) * se
            ci = (estimate - half, estimate + half)
            computed_here = ("ci_low", "ci_high")
        weights, yi, vi = np.zeros(studies.k), np.full(studies.k, np.nan), np.full(studies.k,
                                                                                 np.nan)
        weights[given.used] = [row[2] for row in per_study]
        yi[given.used] = scale(np.array([row[1] for row in per_study], dtype=float))
        vi[given.used] = np.array([row[6] for row in per_study], dtype=float) ** 2
        excluded = [label for label, used in zip(studies.labels, given.used, strict=True)
                    if not used]
        centre = None  # DL-MH: Q is the MH analysis', centred on the MH estimate
        if method.name == "DL-MH":
            centre = float(scale(self._run(studies, METHODS["MH"])[1][0][1]))
            mh.check_tables(self.name, "MH", studies.measure, given.tables, centre, None)
        elif method.needs is not None:  # its MH (Greenland-Robins RD variance) and Peto
            mh.check_tables(self.name, method.name, studies.measure, given.tables, estimate,
                            se**2, rd_variance="greenland-robins")
        return assemble(
            studies, method, level,
            backend=self.name, engine_version=metadata.version("PythonMeta"),
            estimate=estimate, se=se, ci=ci,
            tau2=float(total[12]) if method.random_effects else 0.0,
            q=q, weights=weights, i2=float(total[9]) if df > 0 else float("nan"),
            computed_here=computed_here, study_effects=(yi, vi), q_df=df, q_centre=centre,
            conventions=[*given.conventions, "pythonmeta.table_pvalues", "pythonmeta.abs_z",
                         *ci_rule],
            extra={"p_engine": total[11], "q_p_engine": total[8], "z_engine": float(total[10])}
            | ({"excluded": excluded} if excluded else {}),
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
        meta, out, _ = self._run(studies, METHODS["FE"])
        try:
            bias, t, p, sd, _ = meta.Eggers_test(out)
        except Exception as exc:  # bare Exception from PythonMeta
            raise EngineError(self.name, str(exc)) from None
        return EggerTest(
            "classic", float(bias), float(sd), float(t), float(studies.k - 2), float(p),
            self.name, "PythonMeta Eggers_test",
        )
