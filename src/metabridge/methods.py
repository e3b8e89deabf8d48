"""Canonical names of the pooling methods (metafor's names, one formula each).

Every engine adapter maps its own vocabulary onto these names; a name means the
same estimator whichever engine computes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UnknownMethodError


@dataclass(frozen=True)
class Method:
    """A tau^2 estimator (or a fixed-effect model) and where it is defined.

    ``needs`` is None for methods that pool effect sizes (yi, vi), or the raw data a
    method pools directly ("counts": 2x2 tables); ``measures`` the measures it gives
    (None: any).
    """

    name: str
    random_effects: bool
    title: str
    reference: str
    needs: str | None = None
    measures: tuple[str, ...] | None = None


_METHODS = (
    Method("FE", False, "fixed-effect (inverse variance)", "Hedges & Olkin 1985"),
    Method(
        "DL", True, "DerSimonian-Laird, tau^2 = max(0, (Q - df) / c)",
        "DerSimonian & Laird 1986, Control Clin Trials 7:177",
    ),
    Method("HE", True, "Hedges (unweighted method of moments)", "Hedges 1983"),
    Method("HS", True, "Hunter-Schmidt", "Hunter & Schmidt 2004"),
    Method("HSk", True, "Hunter-Schmidt with small-sample correction", "Brannick et al. 2019"),
    Method("SJ", True, "Sidik-Jonkman", "Sidik & Jonkman 2005, Stat Med 24:3053"),
    Method("ML", True, "maximum likelihood", "Hardy & Thompson 1996"),
    Method("REML", True, "restricted maximum likelihood", "Viechtbauer 2005, JEBS 30:261"),
    Method("EB", True, "empirical Bayes (Morris)", "Morris 1983; Berkey et al. 1995"),
    Method(
        "PM", True, "Paule-Mandel (generalised Q = df)",
        "Paule & Mandel 1982; DerSimonian & Kacker 2007",
    ),
    Method("PMM", True, "median-unbiased Paule-Mandel", "Viechtbauer 2021"),
    Method(
        "MH", False, "Mantel-Haenszel on 2x2 tables",
        "Mantel & Haenszel 1959; Greenland & Robins 1985; Robins, Breslow & Greenland 1986",
        needs="counts", measures=("OR", "RR", "RD"),
    ),
    Method(
        "DL-MH", True,
        "DerSimonian-Laird, tau^2 from the Q of the Mantel-Haenszel analysis (RevMan 'M-H, "
        "Random')",
        "DerSimonian & Laird 1986; Deeks & Higgins 2010, Statistical algorithms in Review "
        "Manager 5; R meta's Q.Cochrane",
        needs="counts", measures=("OR", "RR", "RD"),
    ),
    Method(
        "PETO", False, "Peto's one-step odds ratio on 2x2 tables",
        "Yusuf, Peto, Lewis, Collins & Sleight 1985, Prog Cardiovasc Dis 27:335",
        needs="counts", measures=("OR",),
    ),
)

METHODS: dict[str, Method] = {m.name: m for m in _METHODS}
#: The methods that pool effect sizes (yi, vi): the tau^2 estimators and FE.
IV_METHODS: tuple[str, ...] = tuple(m.name for m in _METHODS if m.needs is None)


def canonical_method(name: str) -> Method:
    """Return the :class:`Method` for ``name`` (case-insensitive), or raise."""
    if isinstance(name, Method):
        return name
    if not isinstance(name, str):
        raise UnknownMethodError(f"method must be a string such as 'DL', got {name!r}")
    for method in _METHODS:
        if method.name.lower() == name.strip().lower():
            return method
    known = ", ".join(METHODS)
    raise UnknownMethodError(f"unknown method {name!r}; metabridge knows: {known}")


#: Inference for the pooled estimate: test name -> what it is.
TESTS: dict[str, str] = {
    "z": "Wald z test and normal CI (SE from the inverse-variance weights)",
    "knha": "Hartung-Knapp(-Sidik-Jonkman): SE^2 = sum w_i (y_i - mu)^2 / ((k - 1) sum w_i), "
    "t on k - 1 df (Hartung & Knapp 2001; Sidik & Jonkman 2002)",
    "adhoc": "Hartung-Knapp with the ad hoc variance correction, SE never below the Wald SE "
    "(Knapp & Hartung 2003; Roever et al. 2015), t on k - 1 df",
}


def canonical_test(name: str) -> str:
    """Return the test name if known (case-insensitive), else raise."""
    key = str(name).strip().lower()
    if key not in TESTS:
        raise UnknownMethodError(f"unknown test {name!r}; metabridge knows: {', '.join(TESTS)}")
    return key
