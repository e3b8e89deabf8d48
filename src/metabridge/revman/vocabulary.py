"""RevMan's words for data types, methods and effect measures, and metabridge's names for them.

One table per vocabulary, shared by the three file formats; the spellings come from
RevMan 5 files (attribute codes such as ``PETO_OR``), RevMan 5 CSV exports and RevMan
Web data packages (long names such as ``Odds Ratio``), as read by R meta's
``read.rm5``/``read.cdir`` and seen in the public example files.
"""

from __future__ import annotations

from collections.abc import Callable

from ..studies import RATIO_MEASURES

#: metabridge's data types: RevMan's four kinds of outcome data.
DATA_TYPES: dict[str, str] = {
    "dichotomous": "events and totals per arm (2x2 table)",
    "continuous": "mean, SD and N per arm",
    "generic": "generic inverse variance: an effect and its SE per study",
    "oe": "O - E and variance per study (Peto / log-rank)",
}

#: RevMan's statistical methods, by metabridge's name.
METHODS: dict[str, str] = {
    "MH": "Mantel-Haenszel",
    "PETO": "Peto",
    "IV": "inverse variance",
    "OE": "O - E and variance: exp(sum(O - E) / sum(V)) (Peto / log-rank)",
}

_DATA_TYPE_WORDS: dict[str, str] = {
    # .rm5 element prefixes, CSV export codes, RevMan Web names
    "dich": "dichotomous", "dic": "dichotomous", "dichotomous": "dichotomous",
    "cont": "continuous", "con": "continuous", "continuous": "continuous",
    "iv": "generic", "giv": "generic", "generic inverse variance": "generic",
    "contrast level": "generic",
    "ipd": "oe", "o-e": "oe", "o-e and variance": "oe", "o - e and variance": "oe",
}

_METHOD_WORDS: dict[str, str] = {
    "mh": "MH", "mantel-haenszel": "MH",
    "peto": "PETO",
    "iv": "IV", "inverse variance": "IV", "inverse-variance": "IV",
    "exp_o_e_var": "OE", "o-e": "OE",
}

#: Effect-measure spellings -> (metabridge measure, analysed on the log scale).
_MEASURE_WORDS: dict[str, tuple[str, bool]] = {
    "or": ("OR", True), "odds ratio": ("OR", True),
    "peto_or": ("OR", True), "peto odds ratio": ("OR", True),
    "rr": ("RR", True), "risk ratio": ("RR", True),
    "rd": ("RD", False), "risk difference": ("RD", False),
    "md": ("MD", False), "mean difference": ("MD", False),
    "smd": ("SMD", False), "std. mean difference": ("SMD", False),
    "standardized mean difference": ("SMD", False),
    "standardised mean difference": ("SMD", False),
    "hr": ("HR", True), "hazard ratio": ("HR", True),
    "rate ratio": ("IRR", True),
}

#: Measures each data type can have (generic-IV and O-E take any name).
MEASURES_FOR: dict[str, frozenset[str]] = {
    "dichotomous": frozenset({"OR", "RR", "RD"}),
    "continuous": frozenset({"MD", "SMD"}),
}


def _lookup(words: dict[str, str], text: str, what: str, fail: Callable[[str], Exception]) -> str:
    key = " ".join(str(text).strip().lower().split())
    if key not in words:
        raise fail(f"unknown {what} {text!r}; metabridge reads "
                   f"{', '.join(sorted({repr(w) for w in words}))}")
    return words[key]


def data_type(text: str, fail: Callable[[str], Exception]) -> str:
    """metabridge's data type for RevMan's word (``DICH``, ``DIC``, ``Dichotomous``, ...)."""
    return _lookup(_DATA_TYPE_WORDS, text, "data type", fail)


def method(text: str, fail: Callable[[str], Exception]) -> str:
    """metabridge's method name for RevMan's (``MH``, ``PETO``, ``IV``, ``EXP_O_E_VAR``)."""
    return _lookup(_METHOD_WORDS, text, "statistical method", fail)


def measure(text: str, kind: str, fail: Callable[[str], Exception]) -> tuple[str, bool]:
    """(metabridge measure, log scale) for RevMan's effect measure of a ``kind`` analysis.

    Generic-IV and O-E analyses may carry any name a review author typed; a name
    metabridge does not know becomes the generic measure ``GEN`` (its scale then comes
    from the file's log-scale setting).
    """
    key = " ".join(str(text).strip().lower().split())
    if key in _MEASURE_WORDS:
        name, log = _MEASURE_WORDS[key]
    elif kind in MEASURES_FOR:
        raise fail(f"unknown effect measure {text!r} for {kind} data; metabridge reads "
                   f"{', '.join(sorted(MEASURES_FOR[kind]))} and their RevMan spellings")
    else:
        return "GEN", False
    allowed = MEASURES_FOR.get(kind)
    if allowed is not None and name not in allowed:
        raise fail(f"effect measure {text!r} is not one RevMan offers for {kind} data "
                   f"({', '.join(sorted(allowed))})")
    return name, log


def on_scale(measure: str, log_scale: bool) -> str:
    """``measure``, or ``GEN`` when the file's scale contradicts it.

    A generic-IV analysis states its scale separately from its measure's name (a
    "Hazard Ratio" entered on the natural scale is pooled as entered); the study
    model's ratio measures are pooled on the log scale, so such a measure is generic.
    """
    return measure if (measure in RATIO_MEASURES) == log_scale else "GEN"
