"""The grid of a simulation study: its keys, their checks, and the scenarios they span.

A grid is a TOML file (or the same dict) with two tables.  ``[grid]`` describes
the data: every combination of its lists is one *scenario* (family-specific keys
combine only with their family).  ``[analysis]`` says how every scenario is
pooled: every (backend, method, test) an engine offers is one *job*; the ones it
lacks are listed as skipped, and so are methods on 2x2 tables (MH, PETO, DL-MH) in
the ``normal`` family's scenarios, which have no tables.  :data:`KEYS` documents
every key (docs/simulation.md is written from it).
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..backends import REGISTRY, get_backend
from ..conversions import check_level
from ..errors import DataFileError, InvalidArgumentError, UnsupportedMethodError
from ..facade import check_offers
from ..methods import METHODS, canonical_method, canonical_test
from .families import ARM_SIZES, FAMILIES, TABLE_MEASURE, VARIANCE_MODELS, Spec, parse_spec


class Key(NamedTuple):
    """A grid key: its table, whether it is a list, its default (None: required), meaning."""

    table: str
    is_list: bool
    default: Any
    meaning: str
    family: str | None = None


#: Every key a grid file may hold.
KEYS: dict[str, Key] = {
    "family": Key("grid", True, ["normal"], "data families: `normal` and/or `binary`"),
    "k": Key("grid", True, None, "number of studies per meta-analysis (whole numbers >= 2)"),
    "tau2": Key("grid", True, None, "between-study variance tau^2 (>= 0; on the log OR "
                "scale for `binary`)"),
    "mu": Key("grid", True, [0.0], "true overall effect (the log OR for `binary`)"),
    "reps": Key("grid", False, None, "replicates per scenario (one whole number >= 1)"),
    "variance": Key("grid", True, ["uniform(0.01, 0.2)"], "within-study variance model: "
                    + "; ".join(f"`{n}({', '.join(m.params)})`: {m.what}"
                                for n, m in VARIANCE_MODELS.items()), "normal"),
    "baseline_risk": Key("grid", True, [0.1], "control-arm event risk (in (0, 1))", "binary"),
    "arm_n": Key("grid", True, ["uniform(20, 200)"], "participants per arm: "
                 + "; ".join(f"`{n}({', '.join(m.params)})`: {m.what}"
                             for n, m in ARM_SIZES.items()) + " (a bare number n is `fixed(n)`)",
                 "binary"),
    "methods": Key("analysis", True, ["DL"], "estimators (metafor's names: FE, DL, HE, HS, "
                   "HSk, SJ, ML, REML, EB, PM, PMM) and, for `binary`, the methods on the 2x2 "
                   "tables: MH (Mantel-Haenszel), PETO, DL-MH (RevMan's 'M-H, Random')"),
    "tests": Key("analysis", True, ["z"], "inference: `z`, `knha` (Hartung-Knapp), `adhoc`"),
    "backends": Key("analysis", True, None, "engines: " + ", ".join(REGISTRY)),
    "seed": Key("analysis", False, None, "whole number >= 0; each scenario's random stream is "
                "numpy SeedSequence([seed, *sha256(scenario key)])"),
    "level": Key("analysis", False, 0.95, "confidence level of the CIs"),
    "continuity": Key("analysis", False, 0.5, "`binary`, inverse-variance methods: added to "
                      "every cell of a 2x2 table with a zero cell before its log OR is taken "
                      "(escalc's default); MH, PETO and DL-MH get the tables as drawn"),
}
TABLES = ("grid", "analysis")


@dataclass(frozen=True)
class Scenario:
    """One cell of the grid: how its replicates are drawn."""

    family: str
    k: int
    tau2: float
    mu: float
    reps: int
    variance: Spec | None = None
    baseline_risk: float | None = None
    arm_n: Spec | None = None

    def columns(self) -> dict[str, Any]:
        """The scenario's keys as summary columns (keys of other families are empty)."""
        return {"family": self.family, "k": self.k, "tau2": self.tau2, "mu": self.mu,
                "variance": str(self.variance) if self.variance else None,
                "baseline_risk": self.baseline_risk,
                "arm_n": str(self.arm_n) if self.arm_n else None}

    @property
    def key(self) -> str:
        """Canonical text naming the scenario; its random stream is keyed by it."""
        return " ".join(f"{name}={value!r}" if isinstance(value, float) else f"{name}={value}"
                        for name, value in self.columns().items() if value is not None)

    @property
    def id(self) -> str:
        """File-name-safe id: the first 16 hex digits of sha256(key)."""
        return hashlib.sha256(self.key.encode()).hexdigest()[:16]


class Job(NamedTuple):
    backend: str
    method: str
    test: str


class Skipped(NamedTuple):
    scenarios: str  # "all", or the families / k values the skip applies to
    backend: str
    method: str
    test: str
    reason: str


@dataclass(frozen=True)
class Grid:
    """A checked grid: its canonical values, scenarios, and the jobs of each."""

    values: dict[str, dict[str, Any]]
    scenarios: tuple[Scenario, ...]

    @property
    def analysis(self) -> dict[str, Any]:
        return self.values["analysis"]

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical grid: a store made from another grid or seed differs."""
        text = json.dumps(self.values, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def jobs(self, scenario: Scenario) -> tuple[Job, ...]:
        """Every (backend, method, test) the engines offer for ``scenario``."""
        return tuple(job for job in self._all_jobs()
                     if _lacks(job, scenario.family, scenario.k) is None)

    def skipped(self) -> tuple[Skipped, ...]:
        """The (backend, method, test) combinations an engine lacks (or the family has no
        data for), with the reason and where: "all", "family = normal", "k = 3, 5"."""
        cells = sorted({(s.family, s.k) for s in self.scenarios},
                       key=lambda cell: (FAMILIES.index(cell[0]), cell[1]))
        several = len({family for family, _ in cells}) > 1
        out = []
        for job in self._all_jobs():
            lacking = {cell: _lacks(job, *cell) for cell in cells}
            reasons = {r for r in lacking.values() if r is not None}
            if not reasons:
                continue
            where = []
            for family in dict.fromkeys(f for f, _ in cells):
                ks = [k for f, k in cells if f == family]
                bad = [str(k) for k in ks if lacking[(family, k)]]
                if len(bad) == len(ks) and bad:
                    where.append(f"family = {family}")
                elif bad:
                    where.append((f"{family} " if several else "") + "k = " + ", ".join(bad))
            text = "all" if all(lacking.values()) else "; ".join(where)
            out.append(Skipped(text, *job, "; ".join(sorted(reasons))))
        return tuple(out)

    def _all_jobs(self) -> list[Job]:
        a = self.analysis
        return [Job(*combo) for combo in itertools.product(a["backends"], a["methods"],
                                                           a["tests"])]

    def seed_sequence(self, scenario: Scenario) -> np.random.SeedSequence:
        """The scenario's random stream: SeedSequence([seed, *sha256(key) as 8 uint32])."""
        words = np.frombuffer(hashlib.sha256(scenario.key.encode()).digest(), dtype="<u4")
        return np.random.SeedSequence([self.analysis["seed"], *map(int, words)])


def _lacks(job: Job, family: str, k: int) -> str | None:
    """Why ``job`` cannot run on a scenario of ``family`` with ``k`` studies, or None."""
    method = canonical_method(job.method)
    if method.needs is not None:
        if family != "binary":
            return (f"{method.name} pools 2x2 tables; the {family} family draws effect "
                    "sizes (yi, vi)")
        if job.test != "z":
            return (f"test={job.test!r} (Hartung-Knapp) is for inverse-variance methods; "
                    f"{method.name} takes test='z'")
    try:
        check_offers(get_backend(job.backend), method, job.test, k,
                     TABLE_MEASURE if method.needs is not None else None)
    except UnsupportedMethodError as exc:
        return str(exc)
    return None


def load_grid(grid: Grid | Mapping[str, Any] | str | PathLike[str]) -> Grid:
    """A :class:`Grid` from a TOML file path or the same mapping; checks every key."""
    if isinstance(grid, Grid):
        return grid
    if isinstance(grid, str | PathLike):
        path = Path(grid)
        try:
            with path.open("rb") as handle:
                grid = tomllib.load(handle)
        except OSError as exc:
            raise DataFileError(f"cannot read grid file '{path}': {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise DataFileError(f"grid file '{path}' is not valid TOML: {exc}") from None
    if not isinstance(grid, Mapping):
        raise InvalidArgumentError(
            f"grid must be a TOML file path or a dict of tables, got {type(grid).__name__}")
    values = _checked_values(grid)
    return Grid(values, _scenarios(values["grid"]))


def _checked_values(grid: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    for table, content in grid.items():
        if table not in TABLES:
            raise InvalidArgumentError(f"unknown table [{table}] in the grid{_hint(table, TABLES)};"
                                       f" a grid has [grid] and [analysis]")
        if not isinstance(content, Mapping):
            raise InvalidArgumentError(f"[{table}] must be a table of keys, got {content!r}")
    values: dict[str, dict[str, Any]] = {table: {} for table in TABLES}
    for table in TABLES:
        given = dict(grid.get(table, {}))
        for name in given:
            if KEYS.get(name, Key("", False, None, "")).table != table:
                known = [n for n, key in KEYS.items() if key.table == table]
                elsewhere = f" (it belongs in [{KEYS[name].table}])" if name in KEYS else ""
                raise InvalidArgumentError(
                    f"unknown key {name!r} in [{table}]{elsewhere}{_hint(name, known)}; "
                    f"known: {', '.join(known)}")
        for name, key in KEYS.items():
            if key.table != table:
                continue
            if name not in given and key.default is None:
                raise InvalidArgumentError(f"[{table}] needs {name!r}: {key.meaning}")
            raw = given.get(name, key.default)
            values[table][name] = _check(name, _as_list(name, raw) if key.is_list else raw)
    _check_families(values["grid"], grid.get("grid", {}))
    _check_table_methods(values)
    return values


def _hint(name: str, known: Any) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _as_list(name: str, raw: Any) -> list[Any]:
    values = list(raw) if isinstance(raw, list | tuple) else [raw]
    if not values:
        raise InvalidArgumentError(f"{name} is an empty list; give at least one value")
    return values


def _whole(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidArgumentError(f"{name} must be a whole number >= {low}, got {value!r}")
    return value


def _real(name: str, value: Any, low: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidArgumentError(f"{name} must be a finite number, got {value!r}")
    if low is not None and value < low:
        raise InvalidArgumentError(f"{name} must be >= {low:g}, got {value!r}")
    return float(value)


def _unique(name: str, values: list[Any]) -> list[Any]:
    for i, value in enumerate(values):
        if value in values[:i]:
            raise InvalidArgumentError(f"{name} lists {value!r} twice")
    return values


def _check(name: str, raw: Any) -> Any:
    """One key's value, checked and in canonical form (JSON-ready)."""
    if name == "k":
        return _unique(name, [_whole(name, v, 2) for v in raw])
    if name == "tau2":
        return _unique(name, [_real(name, v, 0.0) for v in raw])
    if name == "mu":
        return _unique(name, [_real(name, v) for v in raw])
    if name == "baseline_risk":
        values = [_real(name, v) for v in raw]
        for v in values:
            if not 0.0 < v < 1.0:
                raise InvalidArgumentError(f"baseline_risk must be in (0, 1), got {v!r}")
        return _unique(name, values)
    if name == "reps":
        return _whole(name, raw, 1)
    if name == "seed":
        return _whole(name, raw, 0)
    if name == "level":
        return check_level(raw)
    if name == "continuity":
        value = _real(name, raw)
        if not value > 0:
            raise InvalidArgumentError(f"continuity must be > 0 (a zero cell makes ln OR "
                                       f"infinite), got {raw!r}")
        return value
    if name == "family":
        for v in raw:
            if v not in FAMILIES:
                raise InvalidArgumentError(
                    f"unknown family {v!r}{_hint(str(v), FAMILIES)}; known: {', '.join(FAMILIES)}")
        return _unique(name, list(raw))
    if name == "variance":
        return _unique(name, [str(parse_spec(v, VARIANCE_MODELS, name)) for v in raw])
    if name == "arm_n":
        return _unique(name, [str(parse_spec(v, ARM_SIZES, name)) for v in raw])
    if name == "methods":
        return _unique(name, [canonical_method(v).name for v in raw])
    if name == "tests":
        return _unique(name, [canonical_test(v) for v in raw])
    assert name == "backends"
    return _unique(name, [get_backend(v).name for v in raw])


def _check_families(values: dict[str, Any], given: Mapping[str, Any]) -> None:
    """A key of a family that is not in the grid is a mistake, not a no-op."""
    for name, key in KEYS.items():
        if key.family and name in given and key.family not in values["family"]:
            raise InvalidArgumentError(
                f"{name} applies to the {key.family} family only, and family = "
                f"{values['family']}; add {key.family!r} to family or remove {name}")
        if key.family and key.family not in values["family"]:
            values[name] = None


def _check_table_methods(values: dict[str, dict[str, Any]]) -> None:
    """Methods on 2x2 tables need the binary family: in a grid without it they could run
    nowhere (with it, they are skipped in the normal family's scenarios)."""
    on_tables = [m for m in values["analysis"]["methods"] if METHODS[m].needs is not None]
    if on_tables and "binary" not in values["grid"]["family"]:
        raise InvalidArgumentError(
            f"methods {', '.join(on_tables)} pool 2x2 tables, and family = "
            f"{values['grid']['family']} draws effect sizes (yi, vi) only; add 'binary' to "
            f"family, or use inverse-variance methods (FE, DL, REML, ...)")


def _scenarios(values: dict[str, Any]) -> tuple[Scenario, ...]:
    out = []
    common = [values["k"], values["tau2"], values["mu"]]
    for family in values["family"]:
        if family == "normal":
            for k, tau2, mu, variance in itertools.product(*common, values["variance"]):
                out.append(Scenario(family, k, tau2, mu, values["reps"],
                                    variance=parse_spec(variance, VARIANCE_MODELS, "variance")))
        else:
            for k, tau2, mu, risk, arm_n in itertools.product(
                    *common, values["baseline_risk"], values["arm_n"]):
                out.append(Scenario(family, k, tau2, mu, values["reps"], baseline_risk=risk,
                                    arm_n=parse_spec(arm_n, ARM_SIZES, "arm_n")))
    return tuple(out)
