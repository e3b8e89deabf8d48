"""Modules loaded on first use, so that ``import metabridge`` stays fast.

``special = lazy_module("scipy.special")`` stands for the module: its first attribute
access imports it (through the import system's lock, so threads may race for it) and
every name once looked up is kept on the stand-in, so later calls cost what a module
attribute costs.  scipy.special takes ~0.15 s to import (its array-API layer), more
than every metabridge module together.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any


class _LazyModule:
    """Stands for module ``name`` until an attribute is needed."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:  # only for names not yet kept
        value = getattr(import_module(self._name), attribute)
        setattr(self, attribute, value)
        return value

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


def lazy_module(name: str) -> Any:
    """A stand-in for module ``name`` that imports it when first used."""
    return _LazyModule(name)
