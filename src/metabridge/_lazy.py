"""Modules loaded on first use, so that ``import metabridge`` stays fast.

``lazy_module("scipy.special")`` returns the module at once and runs its import on
the first attribute access (:class:`importlib.util.LazyLoader`); from then on it is
the ordinary module, at ordinary speed.  scipy.special costs ~0.15 s to import
(its array-API layer), more than every metabridge module together.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    """``name``, imported now if it already is, else on its first attribute access."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
