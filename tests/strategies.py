"""Random valid study sets of every conditioning, for the property and oracle tests.

Profiles (``Case.kind``):

- ``general``: k = 2..60, effects in [-5, 5], SEs log-uniform over 1e-3..1e2;
- ``near-homogeneous``: effects within half an SE of a common value (Q < df);
- ``ties``: estimates drawn from 1-3 distinct values (one value: Q = 0);
- ``offset``: effects far from 0 relative to their spread (1e4 + N(0, SE), or
  repeated measurements of a physical constant, 6.62607015 + N(0, 1e-8), SE ~1e-8);
- ``tiny``: SEs between 1e-9 and 1e-6 (weights up to 1e18);
- ``spread``: variances spread over 8 orders of magnitude (SEs over 1e-2..1e2);
- ``k2``: two studies, any of the above scales.

A Case's repr is a reproducer (plain numbers).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import metabridge as mb

#: Examples per property in CI.  At ~25 ms per example (five engines, FE and DL,
#: plus the repairs on ill-conditioned sets) a property runs in a few seconds.
CI_EXAMPLES = 100
_COMMON: dict[str, Any] = {"deadline": None, "print_blob": True,
                           "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=CI_EXAMPLES, derandomize=True, database=None,
                          **_COMMON)
settings.register_profile("dev", max_examples=10 * CI_EXAMPLES, derandomize=False, **_COMMON)
PROFILE_NAME = os.environ.get("HYPOTHESIS_PROFILE", "ci")
#: Applied per test, so that no module changes the global hypothesis profile.
PROFILE = settings.get_profile(PROFILE_NAME)


@dataclass(frozen=True)
class Case:
    """One generated data set."""

    kind: str
    yi: tuple[float, ...]
    sei: tuple[float, ...]

    @property
    def k(self) -> int:
        return len(self.yi)

    def studies(self, variance_factor: float = 1.0) -> mb.StudySet:
        vi = np.asarray(self.sei) ** 2 * variance_factor
        return mb.StudySet.from_effects(list(self.yi), vi=vi)

    @property
    def key(self) -> bytes:
        return np.asarray(self.yi + self.sei).tobytes()


STUDIES = st.integers(min_value=2, max_value=60)
EFFECT = st.floats(min_value=-5.0, max_value=5.0, allow_nan=False)
UNIT = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)


def log_uniform(low: float, high: float) -> st.SearchStrategy[float]:
    """10**U(low, high)."""
    return st.floats(min_value=low, max_value=high).map(lambda e: 10.0**e)


@st.composite
def general_sets(draw: st.DrawFn, k: st.SearchStrategy[int] = STUDIES) -> Case:
    """Any valid set: independent effects and SEs."""
    n = draw(k)
    yi = draw(st.lists(EFFECT, min_size=n, max_size=n))
    sei = draw(st.lists(log_uniform(-3.0, 2.0), min_size=n, max_size=n))
    return Case("general", tuple(yi), tuple(sei))


@st.composite
def near_homogeneous_sets(draw: st.DrawFn) -> Case:
    """Effects within half an SE of a common value mu: Q <= k/4 < k - 1 = df."""
    n = draw(st.integers(min_value=3, max_value=60))
    mu = draw(EFFECT)
    sei = draw(st.lists(log_uniform(-3.0, 2.0), min_size=n, max_size=n))
    u = draw(st.lists(st.floats(-0.5, 0.5), min_size=n, max_size=n))
    return Case("near-homogeneous", tuple(mu + a * s for a, s in zip(u, sei, strict=True)),
                tuple(sei))


@st.composite
def tied_sets(draw: st.DrawFn) -> Case:
    """Estimates drawn from 1-3 distinct values (one value: Q = 0)."""
    n = draw(STUDIES)
    values = draw(st.lists(EFFECT, min_size=1, max_size=3, unique=True))
    yi = draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))
    sei = draw(st.lists(log_uniform(-3.0, 2.0), min_size=n, max_size=n))
    return Case("ties", tuple(yi), tuple(sei))


@st.composite
def offset_sets(draw: st.DrawFn) -> Case:
    """Effects far from 0 relative to their spread (where one-pass Q cancels)."""
    n = draw(STUDIES)
    if draw(st.booleans()):  # a physical constant measured k times
        centre, scale = 6.62607015, 1e-8
    else:
        centre, scale = draw(st.sampled_from([1e4, -1e4, 1e2])), draw(log_uniform(-3.0, 0.0))
    sei = [scale * s for s in draw(st.lists(log_uniform(-0.3, 0.3), min_size=n, max_size=n))]
    spread = draw(st.sampled_from([0.5, 2.0, 10.0]))  # in SEs: homogeneous to heterogeneous
    u = draw(st.lists(UNIT, min_size=n, max_size=n))
    return Case("offset", tuple(centre + spread * a * s for a, s in zip(u, sei, strict=True)),
                tuple(sei))


@st.composite
def tiny_variance_sets(draw: st.DrawFn) -> Case:
    """SEs between 1e-9 and 1e-6 and effects a few SEs apart."""
    n = draw(STUDIES)
    sei = draw(st.lists(log_uniform(-9.0, -6.0), min_size=n, max_size=n))
    u = draw(st.lists(st.floats(-3.0, 3.0), min_size=n, max_size=n))
    centre = draw(EFFECT)
    return Case("tiny", tuple(centre + a * s for a, s in zip(u, sei, strict=True)), tuple(sei))


@st.composite
def spread_variance_sets(draw: st.DrawFn) -> Case:
    """Variances over 8 orders of magnitude (SEs 1e-2..1e2), effects in [-5, 5]."""
    n = draw(STUDIES)
    sei = draw(st.lists(log_uniform(-2.0, 2.0), min_size=n, max_size=n))
    if n > 1:  # make sure the extremes are present
        sei[0], sei[1] = 1e-2, 1e2
    yi = draw(st.lists(EFFECT, min_size=n, max_size=n))
    return Case("spread", tuple(yi), tuple(sei))


@st.composite
def two_study_sets(draw: st.DrawFn) -> Case:
    """k = 2 at any of the scales above."""
    inner = draw(st.one_of(general_sets(st.just(2)), offset_sets(), tiny_variance_sets()))
    return Case("k2", inner.yi[:2], inner.sei[:2])


STUDY_SETS = st.one_of(
    general_sets(), near_homogeneous_sets(), tied_sets(), offset_sets(),
    tiny_variance_sets(), spread_variance_sets(), two_study_sets(),
)

#: Always tried, whatever hypothesis draws: the ill-conditioned cases of issue 9 and
#: of the earlier rounding model.
WORST_CASES = (
    Case("general", (-5.0, 5.0), (0.001, 9.9)),                  # DL's c cancels
    Case("near-homogeneous", (4.9008, 4.8996), (0.001, 0.001)),  # one-pass Q off by 1.4e-8
    Case("ties", (1.5, 1.5), (1.0, 100.0)),                      # one-pass Q < 0
    Case("offset", (6.62607015, 6.626070164, 6.626070138, 6.626070157),
         (1.2e-8, 0.9e-8, 1.5e-8, 1.1e-8)),                      # a physical constant
    Case("offset", tuple(1e4 + x for x in (0.5, 1.1, 0.1, -0.2)),
         tuple(np.sqrt([0.14, 0.03, 0.3, 0.27]).tolist())),     # ordinary data + 1e4
    Case("tiny", (1.9843766654513435,) * 2, (1e-6, 1e-8)),      # Q 4.9e-16 for 0 moves P 2e-8
)
