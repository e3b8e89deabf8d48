"""The store of a simulation study: a folder whose every file is written atomically.

    STORE/study.json                 the grid (canonical), its fingerprint, the scenarios
    STORE/scenarios/<id>.parquet     replicate-level numbers of one scenario (optional)
    STORE/scenarios/<id>.json        its record: status, summary rows, errors, timings
    STORE/summary.csv                one row per (scenario, backend, method, test)
    STORE/timings.csv, skipped.csv   seconds per job; combinations an engine lacks
    STORE/figures/*.png              coverage and bias against k (figures.py)

Each file is written to a temporary name in the same folder and renamed into place
(``os.replace``, atomic on POSIX), the record last: a scenario is finished exactly
when its record exists, so ``kill -9`` loses at most the scenarios in flight.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import StoreError
from .grid import Grid
from .scenario import Outcome

MANIFEST = "study.json"
FORMAT = 1
#: summary.csv: the issue's columns first, then the other scenario keys and counts.
SUMMARY_COLUMNS = (
    "k", "tau2", "mu", "backend", "method", "test", "coverage", "bias", "rmse", "ci_width",
    "tau2_bias", "mc_se", "family", "variance", "baseline_risk", "arm_n", "replicates",
    "failed", "bias_mc_se", "tau2_zero", "zero_cell_studies", "single_zero_studies",
    "double_zero_studies", "zero_cell_replicates", "single_zero_replicates",
    "double_zero_replicates", "zero_handling", "studies_left_out", "failures", "conventions",
    "notes", "error", "scenario",
)


def _write_atomic(path: Path, write: Any) -> None:
    """``write(tmp_path)``, then rename onto ``path`` (same folder, so atomic)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _write_text(path: Path, text: str) -> None:
    _write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


class Store:
    """One study's folder: checks it fits the grid, records scenarios, writes the tables."""

    def __init__(self, path: str | PathLike[str], grid: Grid) -> None:
        self.path = Path(path)
        self.grid = grid
        self.scenario_dir = self.path / "scenarios"
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(f"store '{self.path}' is a file; give a folder (new or empty, or "
                             "one this grid wrote before)")
        manifest = self.path / MANIFEST
        if manifest.exists():
            self._check_manifest(manifest)
        elif self.path.exists() and any(self.path.iterdir()):
            raise StoreError(f"store '{self.path}' is a folder with other files and no "
                             f"{MANIFEST}; give a new or empty folder")

    def _check_manifest(self, manifest: Path) -> None:
        try:
            stored = json.loads(manifest.read_text(encoding="utf-8"))
            fingerprint, values = stored["fingerprint"], stored["grid"]
        except (OSError, ValueError, KeyError) as exc:
            raise StoreError(f"store '{self.path}': {MANIFEST} cannot be read ({exc})") from None
        if fingerprint == self.grid.fingerprint:
            return
        differences = [
            f"{key} = {values.get(table, {}).get(key)!r} in the store, "
            f"{self.grid.values[table].get(key)!r} in this grid"
            for table in self.grid.values for key in self.grid.values[table]
            if values.get(table, {}).get(key) != self.grid.values[table].get(key)
        ]
        raise StoreError(
            f"store '{self.path}' was made from another grid: "
            + ("; ".join(differences) or "its fingerprint differs")
            + ". Use a new store, or the grid that made it."
        )

    def create(self) -> None:
        """Make the folder and write the manifest (once; a resumed store keeps its own)."""
        self.scenario_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.path.rglob(".*.tmp"):  # left by a run killed mid-write
            stale.unlink()
        manifest = self.path / MANIFEST
        if manifest.exists():
            return
        from .. import __version__

        _write_text(manifest, json.dumps({
            "format": FORMAT, "fingerprint": self.grid.fingerprint, "grid": self.grid.values,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "metabridge": __version__,
            "scenarios": [{"id": s.id, "key": s.key} for s in self.grid.scenarios],
        }, indent=1))

    def records(self) -> dict[str, dict[str, Any]]:
        """Finished scenarios: id -> record (status "ok" or "failed")."""
        out = {}
        for scenario in self.grid.scenarios:
            path = self.scenario_dir / f"{scenario.id}.json"
            if path.exists():
                out[scenario.id] = json.loads(path.read_text(encoding="utf-8"))
        return out

    def write(self, outcome: Outcome, replicates: bool = True) -> None:
        """The scenario's replicates (Parquet), then its record: the record marks it done."""
        scenario = outcome.scenario
        if replicates and not outcome.replicates.empty:
            _write_atomic(self.scenario_dir / f"{scenario.id}.parquet",
                          lambda tmp: outcome.replicates.to_parquet(tmp, index=False))
        record = {"id": scenario.id, "key": scenario.key, "status": outcome.status,
                  "errors": outcome.errors, "rows": outcome.rows, "timings": outcome.timings,
                  "worker": outcome.worker,
                  "finished": datetime.now(UTC).isoformat(timespec="seconds")}
        _write_text(self.scenario_dir / f"{scenario.id}.json", json.dumps(record, indent=1))

    def read_tables(self) -> tuple[pd.DataFrame | None, list[Path] | None]:
        """summary.csv and the figures as a finished run left them (None where missing)."""
        summary = self.path / "summary.csv"
        figures = sorted((self.path / "figures").glob("*.png"))
        return (pd.read_csv(summary) if summary.exists() else None), (figures or None)

    def summary(self) -> pd.DataFrame:
        """One row per (scenario, backend, method, test) from the records, in grid order."""
        records = self.records()
        return pd.DataFrame(
            [{**row, "scenario": records[s.id]["key"]} for s in self.grid.scenarios
             if s.id in records for row in records[s.id]["rows"]],
            columns=list(SUMMARY_COLUMNS))

    def write_tables(self, summary: pd.DataFrame) -> None:
        """timings.csv and skipped.csv, then summary.csv."""
        records = self.records()
        timings = pd.DataFrame([{"scenario": records[s.id]["key"], **t,
                                 "worker": records[s.id]["worker"]}
                                for s in self.grid.scenarios if s.id in records
                                for t in records[s.id]["timings"]])
        skipped = pd.DataFrame([s._asdict() for s in self.grid.skipped()],
                               columns=["scenarios", "backend", "method", "test", "reason"])
        for name, frame in (("timings", timings), ("skipped", skipped), ("summary", summary)):
            _write_atomic(self.path / f"{name}.csv",
                          lambda tmp, f=frame: f.to_csv(tmp, index=False))
