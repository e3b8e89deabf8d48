"""The embedded R, through rpy2's low-level API (``rpy2.rinterface``): started
once, used from any thread under one lock, stopped by Ctrl-C, and leaving the
process environment as it was.

- **One lock.**  R is single-threaded; two threads in R at once crash the process
  ("recursive gc invocation").  Every use of R -- building the arguments, the call,
  converting the result to Python and releasing the R objects -- runs under
  rpy2's process-wide lock ``rpy2.rinterface_lib.openrlib.rlock`` (the lock rpy2's
  own callbacks take, and the one its documentation tells threaded code to use).
  Only plain Python values leave :func:`call`.  The low-level API needs no rpy2
  conversion rules: those live in a ContextVar that threads other than the one
  that imported ``rpy2.robjects`` do not see.  rpy2 switches R's C stack check
  off, so R started in a worker thread also works in the main thread.
- **Ctrl-C.**  rpy2 starts R without R's signal handlers, and a KeyboardInterrupt
  raised inside rpy2's event callback is "ignored from cffi callback", so R runs
  on.  While R runs in the main thread, :func:`interruptible` replaces Python's
  SIGINT handler by one that sets R's ``R_interrupts_pending``: R stops at its
  next ``R_CheckUserInterrupt`` (its loops call it), the call returns, and
  KeyboardInterrupt is raised in Python.  R checks between operations, not inside
  one: a single BLAS/LAPACK operation on k x k matrices runs to its end (REML on
  k = 1500 took 17 s to stop, mid-step; on k = 1000, 0.02 s).  R running in another
  thread cannot be interrupted: Python handles signals in the main thread only.
- **Environment.**  Starting R sets ``R_HOME`` and ``LD_LIBRARY_PATH`` (rpy2) and
  some twenty ``R_*``, ``EDITOR``, ``TAR`` ... variables (R's Renviron) in the C
  environment that child processes inherit; a child Python then finds another
  libpython through ``LD_LIBRARY_PATH``.  :func:`preserved_environment` puts
  ``os.environ`` and the C environment back as they were once R has started (the
  dynamic loader reads ``LD_LIBRARY_PATH`` at process start only, so R, already
  loaded, does not need it) -- except ``R_HOME``: R reads it whenever it loads one
  of its modules (LAPACK on the first matrix decomposition), so it stays set.
"""

from __future__ import annotations

import ctypes
import math
import os
import signal
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np


def c_environment() -> dict[str, str] | None:
    """The process's C-level environment (what children inherit), or None if unreadable."""
    try:
        entries = ctypes.POINTER(ctypes.c_char_p).in_dll(ctypes.CDLL(None), "environ")
    except (OSError, ValueError):  # no C library symbol 'environ' on this platform
        return None
    found: dict[str, str] = {}
    index = 0
    while entries[index]:
        key, _, value = os.fsdecode(entries[index]).partition("=")
        found[key] = value
        index += 1
    return found


#: Variables the running R needs in its environment (see the module doc).
KEPT_FOR_R = frozenset({"R_HOME"})


@contextmanager
def preserved_environment() -> Iterator[None]:
    """Run the block (starting R), then restore os.environ and the C environment
    (all but KEPT_FOR_R)."""
    python_before, c_before = dict(os.environ), c_environment()
    try:
        yield
    finally:
        c_after = c_environment() or {}
        for key in (set(os.environ) | set(python_before)) - KEPT_FOR_R:
            if key not in python_before:
                del os.environ[key]  # also unsetenv
            elif os.environ.get(key) != python_before[key]:
                os.environ[key] = python_before[key]  # also putenv
        if c_before is not None:
            for key in set(c_after) - set(c_before) - KEPT_FOR_R:
                os.unsetenv(key)
            for key, value in c_before.items():
                if c_after.get(key) != value and key not in KEPT_FOR_R:
                    os.putenv(key, value)


@contextmanager
def preserved_sigint_handler() -> Iterator[None]:
    """Run the block (starting R: rpy2 resets SIGINT to Python's default handler in the
    main thread), then put the program's own handler back."""
    main = threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGINT) if main else None
    try:
        yield
    finally:
        if main and before is not None and signal.getsignal(signal.SIGINT) is not before:
            signal.signal(signal.SIGINT, before)


@contextmanager
def interruptible(rlib: Any) -> Iterator[None]:
    """Let Ctrl-C stop R while the block runs; KeyboardInterrupt once R has returned.

    Only in the main thread and only while Python's default SIGINT handler is in
    place (a program that installed its own keeps it).  R's pending-interrupt flag
    is cleared afterwards, so a signal that arrives after R finished cannot stop
    the next call.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    pressed: list[int] = []

    def stop_r(signum: int, frame: Any) -> None:
        pressed.append(signum)
        rlib.R_interrupts_pending = 1

    signal.signal(signal.SIGINT, stop_r)
    try:
        yield
    except Exception:
        if not pressed:
            raise
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        rlib.R_interrupts_pending = 0
    if pressed:
        raise KeyboardInterrupt


def to_python(value: Any, vector_fields: frozenset[str] = frozenset(), name: str = "") -> Any:
    """R NULL / atomic vector / (named) list -> None / scalar or list / dict or list.

    A length-1 vector becomes a scalar unless its list name is in ``vector_fields``;
    anything that is not data (a function, an environment) becomes None.
    """
    from rpy2.rinterface_lib.sexp import RTYPES, NULLType, SexpVector

    if isinstance(value, NULLType) or not isinstance(value, SexpVector):
        return [] if name in vector_fields else None
    if value.typeof == RTYPES.VECSXP:
        names = value.names
        if isinstance(names, NULLType):
            return [to_python(item, vector_fields) for item in value]
        return {key: to_python(item, vector_fields, key)
                for key, item in zip(names, value, strict=True)}
    items = list(value)
    if value.typeof == RTYPES.REALSXP:  # R's NA is a signalling NaN: numpy warns on it
        items = [x if x == x else math.nan for x in items]
    return items if name in vector_fields or len(items) != 1 else items[0]


def to_r(value: Any) -> Any:
    """numpy float arrays -> R double vectors; sequences -> R character vectors;
    Python scalars are passed as they are (rpy2 maps int, float, str, bool)."""
    import rpy2.rinterface as ri

    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return ri.FloatSexpVector.from_memoryview(
            memoryview(np.ascontiguousarray(value, dtype=np.float64)))
    if isinstance(value, np.ndarray | Sequence) and not isinstance(value, str):
        return ri.StrSexpVector([str(v) for v in value])
    return value.item() if isinstance(value, np.generic) else value


def call(
    function: Any, args: Iterable[Any], lock: Any, rlib: Any,
    vector_fields: frozenset[str] = frozenset(),
) -> tuple[Any, str | None]:
    """(result as Python values, None) or (None, R's error message); see the module doc.

    Holds ``lock`` for the whole R activity; every R object is created and dropped
    inside it.  Ctrl-C in the main thread stops R and raises KeyboardInterrupt.
    """
    with lock, interruptible(rlib):
        return _call_locked(function, args, vector_fields)


def _call_locked(
    function: Any, args: Iterable[Any], vector_fields: frozenset[str]
) -> tuple[Any, str | None]:
    try:
        return to_python(function(*(to_r(a) for a in args)), vector_fields), None
    except Exception as exc:  # rpy2's RRuntimeError: R's error message, R objects dropped
        message = str(exc).strip() or exc.__class__.__name__
    return None, message
