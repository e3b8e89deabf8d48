"""What the figures share: colours and log-axis ticks."""

from __future__ import annotations

import math

from ..result import PoolResult
from ..studies import RATIO_MEASURES

SQUARE = "#2c5f8a"
DIAMOND = "#111111"


def log_ticks(low: float, high: float) -> list[float]:
    candidates = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
    inside = [t for t in candidates if low <= t <= high]
    return inside if 1 in inside else sorted({*inside, 1})


def pooled_center(result: PoolResult) -> float:
    return math.exp(result.estimate) if result.measure in RATIO_MEASURES \
        else result.estimate
