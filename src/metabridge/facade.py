"""The user-facing verbs: :func:`pool` and :func:`compare`.

The facade validates once, picks the adapter from the registry and never
branches on an engine's name.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .arguments import flag, names
from .backends import (
    REGISTRY,
    Backend,
    available_backends,
    get_backend,
    offers,
    require_backend,
    supporting,
)
from .comparison import Comparison
from .conversions import check_level
from .errors import (
    EngineError,
    InsufficientStudiesError,
    InvalidArgumentError,
    NotEstimableError,
    UnsupportedMethodError,
)
from .mantel_haenszel import FIXED_PART, undefined_reason
from .methods import IV_METHODS, Method, canonical_method, canonical_test
from .result import PoolResult
from .studies import StudySet
from .studies.checks import RESOLUTION


def check_studyset(studies: object) -> StudySet:
    """``studies`` if it is a StudySet, else a clear error."""
    if not isinstance(studies, StudySet):
        raise InvalidArgumentError(
            f"studies must be a StudySet (see StudySet.from_ratios / from_effects), "
            f"got {type(studies).__name__}"
        )
    return studies


def _check_studies(studies: StudySet, method: Method) -> None:
    check_studyset(studies)
    if method.random_effects and studies.k < 2:
        raise InsufficientStudiesError(
            f"random-effects method {method.name!r} needs at least 2 studies, got k = "
            f"{studies.k} ({', '.join(studies.labels)}); use method='FE' for a single study"
        )
    if method.needs is not None:
        _check_raw_tables(studies, method)


#: What a StudySet holds, by its ``raw`` kind, for messages.
_HOLDS = {"counts": "2x2 counts", "means": "means and SDs", None: "effect sizes"}


def _check_raw_tables(studies: StudySet, method: Method) -> None:
    """A method on 2x2 tables (MH, PETO) needs counts, one of its measures, and tables
    on which its estimate is defined."""
    if studies.raw != method.needs:
        raise InvalidArgumentError(
            f"method {method.name!r} ({method.title}) pools 2x2 counts; these studies are "
            f"{_HOLDS[studies.raw]} ({studies.measure}): build them with "
            "StudySet.from_counts, or use an inverse-variance method (FE, DL, REML, ...)"
        )
    measures = method.measures or ()
    if studies.measure not in measures:
        raise InvalidArgumentError(
            f"method {method.name!r} gives {', '.join(measures)} only; these counts are set "
            f"up as {studies.measure}: build them with measure={measures[0]!r}"
        )
    reason = undefined_reason(FIXED_PART[method.name], studies.measure, studies.counts.cells())
    if reason is not None:
        raise InsufficientStudiesError(
            f"method {method.name!r} ({studies.measure}) is not defined for these "
            f"{studies.k} tables: {reason}"
        )


#: The estimator and engine :func:`pool` and the analysis verbs use when none is named:
#: REML, metafor's default (and Cochrane's, RevMan since 2025), on PyMARE, a core
#: dependency with REML that fits any k quickly and agrees with metafor's REML to
#: ~1e-8 (convention pymare.tolerance).  statsmodels has no REML.  The paper's
#: reproduction names its method (DL) explicitly.
DEFAULT_METHOD = "REML"
DEFAULT_BACKEND = "pymare"


def unresolved_spread(values: np.ndarray) -> bool:
    """True when ``values`` differ by less than 2^8 spacings of double at their size:
    identical, or different only by rounding (the study model's resolution rule)."""
    return bool(np.ptp(values) < RESOLUTION * np.spacing(np.max(np.abs(values))))


def _check_test(studies: StudySet, test: str) -> None:
    """Hartung-Knapp needs k >= 2 (t on k - 1 df) and effects that differ: its SE^2,
    sum w (y - mu)^2 / ((k - 1) sum w), is 0 when every estimate is the same."""
    if test == "z":
        return
    if studies.k < 2:
        raise InsufficientStudiesError(
            f"test={test!r} (t on k - 1 df) needs at least 2 studies, got k = {studies.k}; "
            "use test='z'"
        )
    if test == "knha" and unresolved_spread(studies.yi):
        raise NotEstimableError(
            f"test='knha': every study has the same estimate ({float(studies.yi[0]):.6g}, to "
            "within rounding), so the Hartung-Knapp SE, sqrt(sum w (y - mu)^2 / ((k - 1) sum "
            "w)), is 0 and its t statistic and CI are undefined; use test='adhoc' (SE never "
            "below the Wald SE; Knapp & Hartung 2003) or test='z'"
        )


def pool(
    studies: StudySet,
    method: str = DEFAULT_METHOD,
    backend: str = DEFAULT_BACKEND,
    level: float = 0.95,
    test: str = "z",
) -> PoolResult:
    """Pool ``studies`` with ``method`` (metafor's names) on ``backend``.

    The default is REML, as in metafor's ``rma()`` and Cochrane's current guidance,
    on PyMARE (``DEFAULT_METHOD``, ``DEFAULT_BACKEND``); name ``method="DL"`` for
    DerSimonian-Laird.  ``test`` is "z" (Wald), "knha" (Hartung-Knapp-Sidik-Jonkman, t on k - 1 df)
    or "adhoc" (Hartung-Knapp with the ad hoc variance correction).  Returns a
    :class:`PoolResult` on the analysis scale (``.exp()`` for ratios).  Raises
    UnsupportedMethodError naming the engines that offer the method or test if
    ``backend`` does not.
    """
    engine, chosen, level, test = resolve(studies, method, backend, level, test)
    return engine.pool(studies, chosen, level, test)


def resolve(
    studies: StudySet, method: str, backend: str, level: float, test: str = "z"
) -> tuple[Backend, Method, float, str]:
    """Validate a request once: (engine that can run it, method, level, test)."""
    chosen = canonical_method(method)
    test = canonical_test(test)
    level = check_level(level)
    _check_studies(studies, chosen)
    _check_test(studies, test)
    engine = require_backend(backend)
    check_offers(engine, chosen, test, studies.k, studies.measure)
    return engine, chosen, level, test


def check_offers(
    engine: Backend, method: Method, test: str, k: int, measure: str | None = None
) -> None:
    """Raise UnsupportedMethodError (naming the engines that have it) if ``engine`` lacks
    ``method`` (for ``measure``: methods on 2x2 tables are offered per measure) or
    ``test``, or takes fewer than ``k`` studies."""
    if not offers(engine.name, method.name, measure):
        what = method.name if method.needs is None else f"{method.name} ({measure})"
        raise UnsupportedMethodError(what, engine.name, supporting(method.name, measure))
    if method.needs is not None and test != "z":
        raise InvalidArgumentError(
            f"test={test!r} (Hartung-Knapp) is for inverse-variance methods; "
            f"{method.name} takes test='z'"
        )
    if test not in engine.tests:
        raise UnsupportedMethodError(
            f"test={test!r}", engine.name,
            [n for n in REGISTRY if test in get_backend(n).tests],
        )
    limit = engine.max_studies
    if limit is not None and k > limit:
        others = [n for n in supporting(method.name, measure)
                  if get_backend(n).max_studies is None]
        raise UnsupportedMethodError(
            f"{method.name} on k = {k} studies (it takes at most {limit})", engine.name, others,
        )


def compare(
    studies: StudySet,
    methods: Iterable[str] | None = ("FE", "DL"),
    backends: Iterable[str] | None = None,
    level: float = 0.95,
    harmonise: bool = False,
    tests: Iterable[str] = ("z",),
) -> Comparison:
    """Pool with every (backend, method, test) each engine offers; see :class:`Comparison`.

    ``methods=None`` means every inverse-variance estimator metabridge knows (name
    "MH" or "PETO" to add the methods on 2x2 tables); ``backends=None``
    every installed engine; ``tests`` the inference types ("z", "knha",
    "adhoc").  Combinations an engine lacks are listed in ``Comparison.skipped``
    with the reason, never silently dropped; a fit the engine fails on these data
    is listed in ``Comparison.failed`` with its error, and every other result is
    kept.  ``harmonise=True`` puts every
    result under one convention (:meth:`PoolResult.harmonised`), so the
    differences left are real: for raw data every engine then pools the StudySet's
    own effect sizes (metafor's escalc(); :meth:`StudySet.effects_only`) with the
    inverse-variance methods, and MH/Peto results are recomputed under metafor's
    conventions for the data.
    """
    check_studyset(studies)
    harmonise = flag(harmonise, "harmonise")
    level = check_level(level)
    chosen = [canonical_method(m) for m in (IV_METHODS if methods is None
                                            else names(methods, "method"))]
    test_names = [canonical_test(t) for t in names(tests, "test")]
    engines = available_backends() if backends is None else tuple(names(backends, "backend"))
    for name in engines:
        get_backend(name)  # an unknown name raises UnknownBackendError before any pooling
    results: list[PoolResult] = []
    skipped: list[tuple[str, str, str]] = []
    failed: list[tuple[str, str, str]] = []
    for name in engines:
        for method in chosen:
            for test in test_names:
                given = studies.effects_only() if harmonise and method.needs is None else studies
                try:
                    result = pool(given, method.name, name, level, test)
                except (UnsupportedMethodError, NotEstimableError) as exc:
                    skipped.append((name, f"{method.name}/{test}", str(exc)))
                    continue
                except EngineError as exc:
                    failed.append((name, f"{method.name}/{test}", str(exc)))
                    continue
                results.append(result.harmonised(studies) if harmonise else result)
    return Comparison(tuple(results), tuple(skipped), harmonised=harmonise,
                      failed=tuple(failed), studies=studies)
