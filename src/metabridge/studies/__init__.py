"""The study model: :class:`StudySet`, one module per kind of input.

- :mod:`.studyset` — the immutable set of studies and its selections;
- :mod:`.generic` — effects with SEs or variances; :mod:`.ratios` — ratios with CIs or P;
- :mod:`.counts` — 2x2 counts (OR, RR, RD); :mod:`.means` — means and SDs (MD, SMD);
- :mod:`.checks` — boundary checks naming study and field; :mod:`.columns` — covariates;
- :mod:`.measures` — the measures metabridge knows.
"""

from __future__ import annotations

from .columns import REPORTED_COLUMNS, RESERVED_COLUMNS
from .counts import COUNT_COLUMNS, COUNT_MEASURES, Counts
from .means import MEANS_COLUMNS, MEANS_MEASURES, Means
from .measures import MEASURES, RATIO_MEASURES, check_measure
from .studyset import StudySet

__all__ = [
    "COUNT_COLUMNS",
    "COUNT_MEASURES",
    "MEANS_COLUMNS",
    "MEANS_MEASURES",
    "MEASURES",
    "RATIO_MEASURES",
    "REPORTED_COLUMNS",
    "RESERVED_COLUMNS",
    "Counts",
    "Means",
    "StudySet",
    "check_measure",
]
