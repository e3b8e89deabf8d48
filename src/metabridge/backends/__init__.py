"""Registry of engines.  Adding an engine = one adapter module + one line here.

Adapters are imported lazily, so ``import metabridge`` never starts R or imports
an engine; each engine is probed on first use and reports why it cannot run.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import import_module

import pandas as pd

from ..errors import BackendUnavailableError, UnknownBackendError
from ..methods import IV_METHODS, METHODS, TESTS
from .base import Backend, BackendStatus

#: name -> "module:Class", in the order engines are listed and compared.
REGISTRY: dict[str, str] = {
    "statsmodels": "metabridge.backends.statsmodels:StatsmodelsBackend",
    "pythonmeta": "metabridge.backends.pythonmeta:PythonMetaBackend",
    "metafor": "metabridge.backends.metafor:MetaforBackend",
    "pymare": "metabridge.backends.pymare:PyMAREBackend",
    "pimeta": "metabridge.backends.pimeta:PimetaBackend",
}


def get_backend(name: str) -> Backend:
    """The adapter registered as ``name`` (case-insensitive); not yet probed."""
    if not isinstance(name, str):
        raise UnknownBackendError(
            f"backend must be one engine's name such as 'metafor', got {name!r}"
            + (" (to run several engines use compare(studies, backends=[...]))"
               if isinstance(name, list | tuple) else "")
        )
    key = name.strip().lower()
    if key not in REGISTRY:
        raise UnknownBackendError(
            f"unknown backend {name!r}; registered: {', '.join(REGISTRY)}"
        )
    return _adapter(key)


@cache
def _adapter(key: str) -> Backend:
    """One adapter instance per engine."""
    module, cls = REGISTRY[key].split(":")
    return getattr(import_module(module), cls)()


@cache
def _probed(name: str) -> BackendStatus:
    """An engine's status, probed once per process (engines do not appear mid-run)."""
    return get_backend(name).status()


def require_backend(name: str) -> Backend:
    """The adapter for ``name`` if its engine can run here, else BackendUnavailableError."""
    backend = get_backend(name)
    status = _probed(backend.name)
    if not status.available:
        raise BackendUnavailableError(backend.name, status.reason)
    return backend


def backend_status() -> pd.DataFrame:
    """One row per registered engine: available, version, and why not if missing."""
    rows = []
    for name in REGISTRY:
        status = _probed(name)
        rows.append(
            {"backend": name, "available": status.available, "version": status.version,
             "reason": status.reason}
        )
    return pd.DataFrame(rows)


def is_available(name: str) -> bool:
    """True if engine ``name`` can run here (probing that engine alone)."""
    return _probed(get_backend(name).name).available


def available_backends() -> tuple[str, ...]:
    """Names of the engines that can run here (see :func:`backend_status` for why not)."""
    return tuple(name for name in REGISTRY if is_available(name))


def split_requested(requested: Iterable[str] | None) -> tuple[tuple[str, ...], dict[str, str]]:
    """(engines that can run here, {engine that cannot: why}) of ``requested`` (default:
    every registered engine), in the order asked."""
    usable: list[str] = []
    missing: dict[str, str] = {}
    for name in tuple(requested) if requested is not None else tuple(REGISTRY):
        status = get_backend(name).status()
        if status.available:
            usable.append(status.name)
        else:
            missing[status.name] = status.reason
    return tuple(usable), missing


def offers(name: str, method: str, measure: str | None = None) -> bool:
    """True if engine ``name`` computes ``method`` natively (for ``measure``, for methods
    on raw 2x2 tables such as MH, which engines offer for some measures only)."""
    engine = get_backend(name)
    if METHODS[method].needs is None:
        return method in engine.methods
    measures = engine.raw_methods.get(method, frozenset())
    return bool(measures) if measure is None else measure in measures


def supporting(
    method: str, measure: str | None = None, *, installed_only: bool = False
) -> tuple[str, ...]:
    """Registered engines that offer ``method`` natively (for ``measure``, see offers)."""
    names = available_backends() if installed_only else tuple(REGISTRY)
    return tuple(name for name in names if offers(name, method, measure))


#: Methods that pool raw 2x2 tables rather than effect sizes.
RAW_METHODS = tuple(name for name, method in METHODS.items() if method.needs is not None)


def capabilities() -> pd.DataFrame:
    """Backend x method / test / native verb (True where the engine offers it natively).

    Methods on raw 2x2 tables get one column per measure ("MH:OR", "MH:RR", "PETO:OR").

    Verbs an engine lacks natively (leave-one-out, separate-tau^2 subgroups, Q-profile
    CIs) still run on it, assembled from its own pooling calls; see each result's ``how``.
    """
    features = sorted({f for name in REGISTRY for f in get_backend(name).features})
    rows = []
    for name in REGISTRY:
        backend = get_backend(name)
        row: dict[str, object] = {"backend": name,
                                  "available": _probed(name).available}
        row |= {m: m in backend.methods for m in IV_METHODS}
        row |= {f"{m}:{measure}": offers(name, m, measure) for m in RAW_METHODS
                for measure in METHODS[m].measures or ()}
        row |= {f"test:{t}": t in backend.tests for t in TESTS}
        row |= {f: f in backend.features for f in features}
        rows.append(row)
    return pd.DataFrame(rows).set_index("backend")


__all__ = [
    "REGISTRY",
    "Backend",
    "BackendStatus",
    "available_backends",
    "backend_status",
    "capabilities",
    "get_backend",
    "is_available",
    "offers",
    "require_backend",
    "split_requested",
    "supporting",
]
