"""Simulation studies: grids of scenarios run on Dask, deterministic and resumable.

    study = mb.simulation_study("grid.toml", store="out/", workers=2)

``grid.py`` (keys, checks, scenarios), ``families.py`` (normal and binary data),
``scenario.py`` (one scenario on a worker), ``store.py`` (atomic files, resume),
``run.py`` (Dask), ``figures.py`` (coverage and bias against k).  See
docs/simulation.md.
"""

from __future__ import annotations

from .grid import KEYS, Grid, Scenario, load_grid
from .run import SimulationStudy, simulation_study

__all__ = ["KEYS", "Grid", "Scenario", "SimulationStudy", "load_grid", "simulation_study"]
