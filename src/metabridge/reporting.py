"""The full report of a meta-analysis, for any data: HTML, Markdown, CSV and figures.

:func:`report` writes it for a :class:`~metabridge.StudySet`; the reproduction of
Cheng & Song 2025 (:mod:`metabridge.reproduction_report`) and reports of RevMan
files add their own front matter and then call the same :func:`add_analysis`.

Each analysis is a :class:`Section` in :data:`SECTIONS`: a title and a function
that reads the (cached) :class:`~metabridge.analyses.suite.AnalysisSuite` and
writes blocks, figures and numbers.  A new analysis appears in every report by
adding one function and one line there.  A section that cannot be computed for
the data (too few studies, a verb no installed engine has) says why in the report
instead of stopping it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import plots
from .analyses.suite import AnalysisSuite
from .backends import backend_status
from .comparison import TOLERANCE
from .conventions import convention, recipe_keys
from .document import Document
from .errors import InvalidArgumentError, MetabridgeError
from .facade import DEFAULT_BACKEND, DEFAULT_METHOD
from .figures import FigureFolder
from .formatting import format_p, p_value
from .methods import canonical_method
from .outputs import OutputFolder
from .plots.common import measure_name, readable, study_intervals
from .plots.forest_plot import FAVOURS, WEIGHTS_NOTE, default_title
from .result import STAT_FIELDS, PoolResult
from .studies import RATIO_MEASURES, StudySet

if TYPE_CHECKING:
    from .revman import Review

#: Report formats and the files they write.
FORMATS = {"md": "report.md", "html": "report.html", "csv": "numbers.csv"}
#: The report's subfolder of figures (PNG + SVG).
FIGURES = "figures"


@dataclass(frozen=True)
class ReportSpec:
    """What to analyse and how to show it.

    ``by``: covariate columns to form subgroups; ``group_labels``: readable names for
    them (default: the column name made readable); ``name``: a short name for this
    analysis when a report holds several (prefix of its figure files); ``engines``:
    the engines compared side by side (default: every installed one);
    ``figure_names``: (kind, by) -> (file stem, caption) for figures that carry a
    paper's numbering (kind "forest" or "funnel"; by None for the overall plot);
    ``figure_note``: words added to every figure's title (e.g. where the data come from).
    """

    studies: StudySet
    method: str = DEFAULT_METHOD
    backend: str = DEFAULT_BACKEND
    test: str = "z"
    level: float = 0.95
    by: tuple[str, ...] = ()
    group_labels: Mapping[str, str] = field(default_factory=dict)
    favours: tuple[str, str] = FAVOURS
    name: str = ""
    engines: tuple[str, ...] | None = None
    figure_names: Mapping[tuple[str, str | None], tuple[str, str]] = field(default_factory=dict)
    figure_note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "by", tuple([self.by] if isinstance(self.by, str) else self.by))
        missing = [c for c in self.by if c not in self.studies.covariates.columns]
        if missing:
            raise InvalidArgumentError(
                f"no column {missing} to form subgroups; columns are "
                f"{list(self.studies.covariates.columns)}")
        unknown = sorted(set(self.group_labels) - set(self.by))
        if unknown:
            raise InvalidArgumentError(
                f"labels given for {unknown}, which are not subgroup columns (by={list(self.by)})")
        if len(self.favours) != 2:
            raise InvalidArgumentError(f"favours needs two labels (left, right), got "
                                       f"{self.favours!r}")

    def group_label(self, by: str) -> str:
        return self.group_labels.get(by) or readable(by)

    def suite(self) -> AnalysisSuite:
        return AnalysisSuite(self.studies, self.method, self.backend, self.level, self.test)


class NumberLog:
    """Every number a report shows, long format (one row per number), for numbers.csv."""

    COLUMNS = ("data", "analysis", "detail", "backend", "statistic", "value")

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str, float]] = []

    def add(self, data: str, analysis: str, detail: str, backend: str,
            values: Mapping[str, Any]) -> None:
        for statistic, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.rows.append((data, analysis, detail, backend, statistic, float(value)))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(self.COLUMNS))


@dataclass
class ReportContext:
    """What a section writes to: the document, the figure folder and the number log."""

    spec: ReportSpec
    suite: AnalysisSuite
    doc: Document
    figures: FigureFolder | None
    numbers: NumberLog
    level: int = 2

    def figure(self, kind: str, by: str | None, caption: str,
               draw: Callable[[str], Any]) -> None:
        """Draw a figure (unless the report has no page to show it on) and show it.

        ``draw(title)`` builds the figure; its title is the caption, the model and
        engine of the pooled fit, and the spec's ``figure_note``.
        """
        if self.figures is None:
            return
        prefix = f"{_slug(self.spec.name)}_" if self.spec.name else ""
        default = f"{prefix}{kind}" + (f"_{_slug(by)}" if by else "")
        stem, caption = self.spec.figure_names.get((kind, by), (default, caption))
        words = [caption, default_title(self.suite.pooled()), self.spec.figure_note]
        title = " \u2014 ".join(words[:2]) + (f"; {words[2]}" if words[2] else "")
        self.doc.figure(self.figures.add(stem, caption, lambda: draw(title)))

    def log(self, analysis: str, detail: str, backend: str, values: Mapping[str, Any]) -> None:
        self.numbers.add(self.spec.name, analysis, detail, backend, values)


@dataclass(frozen=True)
class Section:
    """One analysis of the report: a heading and the function that fills it."""

    title: str
    write: Callable[[ReportContext], None]
    applies: Callable[[ReportSpec], bool] = lambda spec: True


# --------------------------------------------------------------------- helpers
def _slug(text: str | None) -> str:
    return "".join(c if c.isalnum() else "_" for c in str(text).lower()).strip("_")


def _shown(result: PoolResult) -> tuple[float, float, float]:
    """(estimate, CI low, CI high) on the scale readers know (ratios exponentiated)."""
    if result.measure in RATIO_MEASURES:
        view = result.exp()
        return view.estimate, view.ci_low, view.ci_high
    return result.estimate, result.ci_low, result.ci_high


def _ci_text(values: Iterable[float], digits: int = 2) -> str:
    est, lo, hi = values
    return f"{est:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _num(value: float, digits: int = 4) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _effect_heading(spec: ReportSpec) -> str:
    return f"{spec.studies.measure} [{spec.level * 100:g}% CI]"


def _result_row(result: PoolResult) -> dict[str, Any]:
    return {"k": result.k, "effect [CI]": _ci_text(_shown(result)), "P": p_value(result.p),
            "tau²": _num(result.tau2), "I² (%)": _num(result.i2, 1), "Q": _num(result.q, 2),
            "P (Q)": p_value(result.q_p)}


# -------------------------------------------------------------------- sections
def data_section(ctx: ReportContext) -> None:
    studies, spec = ctx.spec.studies, ctx.spec
    pooled = ctx.suite.pooled()
    est, lo, hi = study_intervals(studies, spec.level)
    table = pd.DataFrame({"study": studies.labels,
                          _effect_heading(spec): [_ci_text(v) for v in zip(est, lo, hi,
                                                                           strict=True)],
                          "yi": [_num(v) for v in studies.yi],
                          "SE": [_num(v) for v in studies.sei],
                          f"weight (%, {pooled.method})": [f"{w:.1f}" for w in pooled.weights]})
    columns = list(studies.covariates.columns)
    extra = [c for c in spec.by] + [c for c in columns if c.endswith("provenance")]
    for column in extra:
        table[column] = studies.covariates[column].to_numpy()
    scale = "log scale" if studies.is_ratio else "analysis scale"
    ctx.doc.para(f"k = {studies.k} studies; measure: {measure_name(studies.measure)} "
                 f"({studies.measure}); yi and SE on the {scale}.")
    ctx.doc.table(table)


def pooled_section(ctx: ReportContext) -> None:
    result = ctx.suite.pooled()
    est, lo, hi = _shown(result)
    pct = f"{result.level * 100:g}%"
    stat = "Z" if result.test == "z" else f"t({result.test_df:g})"
    words = (f"Pooled {measure_name(result.measure).lower()} {est:.2f} ({pct} CI {lo:.2f} to "
             f"{hi:.2f}); {stat} = {abs(result.z):.2f}, {format_p(result.p)}.")
    if result.random_effects:
        pi = ((math.exp(result.pi_low), math.exp(result.pi_high))
              if result.measure in RATIO_MEASURES else (result.pi_low, result.pi_high))
        words += (f" Prediction interval {pi[0]:.2f} to {pi[1]:.2f}; tau² = {result.tau2:.4f}, "
                  f"I² = {result.i2:.0f}%.")
    ctx.doc.para(words)
    ctx.doc.code(result.summary())
    ctx.log("pooled", "", result.backend, {f: getattr(result, f) for f in STAT_FIELDS})
    if result.measure in RATIO_MEASURES:
        ctx.log("pooled", "ratio scale", result.backend,
                {"ratio": est, "ratio_ci_low": lo, "ratio_ci_high": hi})


def heterogeneity_section(ctx: ReportContext) -> None:
    hci = ctx.suite.heterogeneity_ci()
    table = hci.table.copy()
    table.insert(0, "statistic", ["tau²", "tau", "I² (%) from tau²", "H² from tau²"])
    for column in ("estimate", "ci_low", "ci_high"):
        table[column] = table[column].map(_num)
    ctx.doc.table(table.rename(columns={"ci_low": f"{hci.level * 100:g}% CI low",
                                        "ci_high": "CI high"}))
    pooled = ctx.suite.pooled()
    own = recipe_keys("i2", pooled.conventions)
    how = f"convention {own[-1]}" if own else "from Q, I² = (Q - df) / Q"
    differs = "" if math.isclose(pooled.i2, float(hci.table["estimate"]["i2"]),
                                 rel_tol=1e-6, abs_tol=1e-9) else (
        f" The pooled model above reports I² = {pooled.i2:.0f}% as {pooled.backend} defines "
        f"it ({how}); here I² and H² are from tau² (metafor's, I² = tau² / (tau² + s²)), "
        "the quantities the Q-profile interval is for.")
    ctx.doc.note(f"Q-profile confidence intervals (Viechtbauer 2007); {hci.method} on "
                 f"{hci.backend}: {hci.how}.{differs}")
    for stat, row in hci.table.iterrows():
        ctx.log("heterogeneity", str(stat), hci.backend, row.to_dict())


def forest_section(ctx: ReportContext) -> None:
    spec, result = ctx.spec, ctx.suite.pooled()
    ctx.figure("forest", None, f"Forest plot{_of(spec)}",
               lambda title: plots.forest(spec.studies, result, title=title,
                                          favours=spec.favours))


def subgroups_section(ctx: ReportContext) -> None:
    spec, suite = ctx.spec, ctx.suite
    for by in spec.by:
        label = spec.group_label(by)
        ctx.doc.heading(f"Subgroups: {label}", ctx.level + 1)
        separate = suite.subgroups(by, "separate")
        ctx.figure("forest", by, f"Forest plot{_of(spec)} by {label.lower()}",
                   lambda title, sep=separate, label=label: plots.forest(
                       spec.studies, suite.pooled(), sep, title=title, favours=spec.favours,
                       group_label=label))
        rows = [{label: name} | _result_row(r) for name, r in separate.groups.items()]
        ctx.doc.table(pd.DataFrame(rows))
        ctx.doc.note(WEIGHTS_NOTE)
        tests = []
        for rule, words in (("separate", "separate tau² per subgroup (RevMan 5, R meta)"),
                            ("common", "common tau² (metafor's mixed-effects model)")):
            try:
                test = suite.subgroups(by, rule)  # type: ignore[arg-type]
            except MetabridgeError as exc:
                tests.append({"tau² rule": words, "Q": "", "df": "", "P": "", "engine": "",
                              "how": f"not computed: {exc}"})
                continue
            tests.append({"tau² rule": words, "Q": _num(test.q_between, 2), "df": test.df,
                          "P": p_value(test.p), "engine": test.backend, "how": test.how})
            ctx.log("subgroup", f"{by} ({rule} tau2)", test.backend,
                    {"q_between": test.q_between, "df": test.df, "p_between": test.p,
                     "tau2_common": test.tau2_common if test.tau2_common is not None
                     else math.nan})
        for name, r in separate.groups.items():
            ctx.log("subgroup", f"{by} (separate tau2): {name}", r.backend,
                    {f: getattr(r, f) for f in STAT_FIELDS})
        ctx.doc.para("Test for subgroup differences under both tau² conventions:")
        ctx.doc.table(pd.DataFrame(tests))
        for note in separate.notes:
            ctx.doc.note(note)
        if spec.test != "z":
            ctx.doc.note(f"Subgroup fits use the z test; the overall fit uses {spec.test}.")


def leave_one_out_section(ctx: ReportContext) -> None:
    loo = ctx.suite.leave_one_out()
    rows = [{"omitted": label} | _result_row(r)
            for label, r in zip(loo.omitted, loo.results, strict=True)]
    ctx.doc.table(pd.DataFrame(rows).drop(columns=["Q", "P (Q)"]))
    shown = [_shown(r)[0] for r in loo.results]
    low, high = min(shown), max(shown)
    ctx.doc.para(f"Estimates range from {low:.2f} (without {loo.omitted[shown.index(low)]}) "
                 f"to {high:.2f} (without {loo.omitted[shown.index(high)]}); {loo.method} on "
                 f"{loo.backend}: {loo.how}.")
    for label, r in zip(loo.omitted, loo.results, strict=True):
        ctx.log("loo", f"without {label}", r.backend, {f: getattr(r, f) for f in STAT_FIELDS})


def _ci_of(estimate: float, low: float, high: float, ratio: bool) -> str:
    values = (estimate, low, high)
    return _ci_text([math.exp(v) for v in values] if ratio else values)


def cumulative_section(ctx: ReportContext) -> None:
    cum = ctx.suite.cumulative()
    ratio = ctx.spec.studies.is_ratio
    table = cum.table
    rows = [{"step": i + 1, "study added": r["study"], "k": int(r["k"]),
             _effect_heading(ctx.spec): _ci_of(r["estimate"], r["ci_low"], r["ci_high"], ratio),
             "P": p_value(r["p"]), "tau²": _num(r["tau2"]), "I² (%)": _num(r["i2"], 1)}
            for i, (_, r) in enumerate(table.iterrows())]
    ctx.doc.table(pd.DataFrame(rows))
    ctx.doc.note(f"Studies added in {cum.order_by}; the first step is one study (tau² = 0, as "
                 f"metafor's cumul()); {cum.method} on {cum.backend}: {cum.how}.")
    for _, r in table.iterrows():
        ctx.log("cumulative", f"+ {r['study']}", cum.backend,
                r.drop(labels=["study"]).to_dict())


def influence_section(ctx: ReportContext) -> None:
    inf = ctx.suite.influence()
    shown = inf.table.drop(columns=["baujat_x", "baujat_y"]).copy()
    flagged = shown.pop("influential").astype(bool)
    shown = shown.apply(lambda col: col.map(_num))
    shown.insert(0, "study", shown.index)
    shown["influential"] = ["yes" if f else "" for f in flagged]
    ctx.doc.table(shown.rename(columns={
        "cook_d": "Cook's D", "cov_r": "COVRATIO", "tau2_del": "tau² without",
        "q_del": "Q without", "weight": "weight (%)"}))
    ctx.doc.note(f"metafor's influence(): externally standardised residuals, DFFITS, Cook's "
                 f"distance, covariance ratio, tau² and Q without the study, hat values, "
                 f"weights, DFBETAS; influential by metafor's rule: "
                 f"({', '.join(inf.influential) or 'none'}). {inf.method} on {inf.backend}: "
                 f"{inf.how}.")
    ctx.figure("baujat", None, f"Baujat plot{_of(ctx.spec)}",
               lambda title: plots.baujat(inf, title=title))
    for label, row in inf.table.iterrows():
        ctx.log("influence", str(label), inf.backend, row.to_dict())


def trim_and_fill_section(ctx: ReportContext) -> None:
    tf = ctx.suite.trim_and_fill()
    ratio = ctx.spec.studies.is_ratio
    test = "" if math.isnan(tf.p_k0) else f"; test of no missing studies: {format_p(tf.p_k0)}"
    ctx.doc.para(
        f"Estimated missing studies ({tf.estimator}) on the {tf.side} side: {tf.k0} "
        f"(SE {tf.se_k0:.2f}){test}. With them filled in: {_ci_of(*_fit(tf.result), ratio)} "
        f"(without: {_ci_of(*_fit(tf.original), ratio)}).")
    if len(tf.filled):
        filled = tf.filled.copy()
        filled["effect"] = [_num(math.exp(y) if ratio else y) for y in filled["yi"]]
        filled["SE"] = [_num(math.sqrt(v)) for v in filled["vi"]]
        ctx.doc.table(filled[["study", "effect", "SE"]])
    ctx.doc.note(f"Duval & Tweedie's trim and fill (metafor's trimfill()); {tf.method} on "
                 f"{tf.backend}: {tf.how}.")
    ctx.log("trim_and_fill", tf.estimator, tf.backend,
            {"k0": tf.k0, "se_k0": tf.se_k0, "p_k0": tf.p_k0}
            | {f: getattr(tf.result, f) for f in STAT_FIELDS})


def _fit(result: PoolResult) -> tuple[float, float, float]:
    return result.estimate, result.ci_low, result.ci_high


def small_study_section(ctx: ReportContext) -> None:
    spec, suite = ctx.spec, ctx.suite
    ctx.figure("funnel", None, f"Funnel plot{_of(spec)}",
               lambda title: plots.funnel(spec.studies, suite.pooled(), title=title))
    rows = []
    tests: tuple[tuple[str, Callable[[], Any]], ...] = (
        ("Egger (classic: OLS of y/SE on 1/SE, t test)", lambda: suite.egger("classic")),
        ("Egger (metafor's regtest: meta-regression on SE, z test)",
         lambda: suite.egger("metafor-rma")),
        ("Begg & Mazumdar rank correlation", suite.begg),
    )
    for name, run in tests:
        try:
            test = run()
        except MetabridgeError as exc:
            rows.append({"test": name, "engine": "", "statistic": "", "P": "",
                         "how": f"not computed: {exc}"})
            continue
        stat = "t" if getattr(test, "variant", "") == "classic" else "z"
        statistic = (f"bias {test.bias:.3f}, {stat} = {test.statistic:.3f}"
                     if hasattr(test, "bias") else f"Kendall's tau = {test.tau:.3f}")
        rows.append({"test": name, "engine": test.backend, "statistic": statistic,
                     "P": p_value(test.p), "how": test.how})
        values = {"bias": test.bias, "statistic": test.statistic} if hasattr(test, "bias") \
            else {"kendall_tau": test.tau}
        ctx.log("egger" if hasattr(test, "bias") else "begg",
                getattr(test, "variant", ""), test.backend, values | {"p": test.p})
    ctx.doc.table(pd.DataFrame(rows))
    if spec.studies.k < 10:
        ctx.doc.note(f"With k = {spec.studies.k} < 10 studies these tests have little power "
                     "to detect asymmetry (Sterne et al. 2011, BMJ 343:d4002).")


def engines_section(ctx: ReportContext) -> None:
    cmp = ctx.suite.compare(ctx.spec.engines)
    if not cmp.results:
        ctx.doc.para("No installed engine offers this method and test.")
    else:
        table = cmp.table.set_index("backend")[list(STAT_FIELDS)].T
        shown = table.apply(lambda col: [p_value(v) if name in ("p", "q_p") else f"{v:.6g}"
                                         for name, v in col.items()])
        shown.insert(0, "statistic", table.index)
        ctx.doc.table(shown)
        for r in cmp.results:
            ctx.log("engines", f"{r.method}/{r.test}", r.backend,
                    {f: getattr(r, f) for f in STAT_FIELDS})
    diffs = cmp.differences()
    if diffs.empty:
        ctx.doc.para("Only one engine ran, so there is nothing to compare.")
    else:
        apart = diffs[~diffs["agree"]]
        within = f"within {TOLERANCE:g} x max(1, |value|)"
        ctx.doc.para(f"Every other statistic agrees {within} on all engines." if not apart.empty
                     else f"All engines agree {within} on every statistic.")
        if not apart.empty:
            ctx.doc.para("Statistics where the engines differ, and the documented convention "
                         "that explains each difference:")
            frame = apart[["quantity", "max_abs_diff", "between", "explained_by"]].copy()
            frame["max_abs_diff"] = frame["max_abs_diff"].map(lambda v: f"{v:.2e}")
            ctx.doc.table(frame)
            keys = sorted({k.strip() for text in apart["explained_by"] for k in text.split(",")
                           if k.strip() and k.strip() != "UNEXPLAINED"})
            for key in keys:
                rule = convention(key)
                ctx.doc.note(f"[{key}] {rule.backend}: {rule.engine} metabridge: "
                             f"{rule.metabridge}")
            if (apart["explained_by"] == "UNEXPLAINED").any():
                ctx.doc.para("UNEXPLAINED: at least one difference has no documented convention; "
                             "treat these numbers with care and report it.")
    for backend, method, reason in cmp.skipped:
        ctx.doc.note(f"{backend} did not run {method}: {reason}")
    if ctx.spec.engines is None:
        for _, row in backend_status().iterrows():
            if not row["available"]:
                ctx.doc.note(f"{row['backend']} is not installed here: {row['reason']}")


def _of(spec: ReportSpec) -> str:
    return f" ({spec.name})" if spec.name else ""


#: The analyses of every report, in reading order.
SECTIONS: tuple[Section, ...] = (
    Section("Studies", data_section),
    Section("Pooled estimate", pooled_section),
    Section("Heterogeneity with confidence intervals", heterogeneity_section,
            lambda spec: spec.studies.k >= 2 and canonical_method(spec.method).random_effects),
    Section("Forest plot", forest_section),
    Section("Subgroups", subgroups_section, lambda spec: bool(spec.by)),
    Section("Leave-one-out", leave_one_out_section),
    Section("Cumulative meta-analysis", cumulative_section),
    Section("Influence diagnostics (Baujat plot)", influence_section),
    Section("Small-study effects (funnel plot, Egger, Begg)", small_study_section),
    Section("Trim and fill", trim_and_fill_section),
    Section("Engines side by side", engines_section),
)


def add_analysis(doc: Document, spec: ReportSpec, figures: FigureFolder | None,
                 numbers: NumberLog, *, suite: AnalysisSuite | None = None,
                 level: int = 2) -> None:
    """Write every section of :data:`SECTIONS` for one analysis into ``doc``.

    ``suite`` lets a caller share already computed analyses (the reproduction does);
    ``level`` is the heading level of the sections.
    """
    ctx = ReportContext(spec, suite or spec.suite(), doc, figures, numbers, level)
    for section in SECTIONS:
        if not section.applies(spec):
            continue
        doc.heading(section.title + _of(spec), level)
        try:
            section.write(ctx)
        except MetabridgeError as exc:
            doc.note(f"Not computed: {exc}")


def describe(spec: ReportSpec) -> str:
    """One paragraph: the data, method, test, level and engine of a report."""
    chosen = canonical_method(spec.method)
    method = (f"random-effects model, tau² by {chosen.name}" if chosen.random_effects
              else "fixed-effect model" if chosen.name == "FE"
              else f"fixed-effect model, {chosen.title}")
    test = {"z": "Wald z test", "knha": "Hartung-Knapp (t on k - 1 df)",
            "adhoc": "Hartung-Knapp with the ad hoc correction"}.get(spec.test, spec.test)
    engines = ", ".join(spec.engines) if spec.engines else "every installed engine"
    return (f"{spec.studies.k} studies, {measure_name(spec.studies.measure)}; "
            f"{method}, {test}, {spec.level * 100:g}% intervals; analyses and figures on "
            f"{spec.backend}; engines side by side: {engines}.")


def check_formats(formats: str | Iterable[str]) -> set[str]:
    """The report formats asked for ("md,html" or an iterable), or InvalidArgumentError."""
    names = formats.split(",") if isinstance(formats, str) else formats
    chosen = {str(f).strip().lower() for f in names if str(f).strip()}
    unknown = chosen - set(FORMATS)
    if unknown or not chosen:
        raise InvalidArgumentError(
            f"report formats must be among {', '.join(FORMATS)} (comma separated), got "
            f"{', '.join(sorted(unknown)) if unknown else 'none'}")
    return chosen


def prepare_folder(
    out: str | PathLike[str] | OutputFolder, formats: set[str], tables: Iterable[str] = (),
    *, force: bool = False,
) -> OutputFolder:
    """The report folder, checked before any work (:meth:`OutputFolder.check`): it can be
    written, and no file the report writes (``FORMATS``, the CSV ``tables``, figures/)
    would replace one metabridge did not write (``force`` overrides)."""
    folder = out if isinstance(out, OutputFolder) else OutputFolder(out, force=force)
    files = [FORMATS[f] for f in sorted(formats)] + (list(tables) if "csv" in formats else [])
    folder.check(files, subfolders=[FIGURES] if formats & {"md", "html"} else [])
    return folder


def figure_folder(folder: OutputFolder, formats: set[str]) -> FigureFolder | None:
    """Where the figures go (none for a CSV-only report)."""
    return FigureFolder(folder, FIGURES) if formats & {"md", "html"} else None


def write_folder(folder: OutputFolder, doc: Document, numbers: pd.DataFrame, formats: set[str],
                 csv: Mapping[str, pd.DataFrame] | None = None) -> list[Path]:
    """Write report.md / report.html / numbers.csv (and the extra CSV tables) into ``folder``."""
    written: list[Path] = []
    if "csv" in formats:
        for name, frame in {FORMATS["csv"]: numbers, **(csv or {})}.items():
            written.append(folder.write(name, lambda path, f=frame: f.to_csv(path, index=False)))
    if "md" in formats:
        written.append(folder.write_text(FORMATS["md"], doc.markdown()))
    if "html" in formats:
        written.append(folder.write_text(FORMATS["html"], doc.html()))
    return written


def report(
    studies: StudySet,
    out: str | Path = "metabridge-report",
    *,
    method: str = DEFAULT_METHOD,
    backend: str = DEFAULT_BACKEND,
    by: str | Iterable[str] = (),
    test: str = "z",
    level: float = 0.95,
    labels: Mapping[str, str] | None = None,
    favours: tuple[str, str] = FAVOURS,
    title: str | None = None,
    engines: Iterable[str] | None = None,
    formats: Iterable[str] = ("md", "html", "csv"),
    source: str = "",
    force: bool = False,
) -> list[Path]:
    """Write the full report of ``studies`` into the folder ``out``; return the files written.

    Pooled estimate (metafor-style block), heterogeneity with Q-profile CIs, forest
    plot, subgroup forest plots and tests under both tau² conventions for each
    column in ``by`` (``labels`` names them readably), leave-one-out, funnel plot
    with Egger's and Begg's tests, and every installed engine side by side with
    each difference and the convention that explains it.  HTML (readable on a
    phone), Markdown, ``numbers.csv`` (every number, long format) and
    ``studies.csv``; figures as PNG and SVG in ``out/figures``.  No file metabridge did
    not write is replaced (``force=True`` overrides; see :class:`OutputFolder`).
    """
    spec = ReportSpec(studies, method, backend, test, level, tuple(
        [by] if isinstance(by, str) else by), dict(labels or {}), tuple(favours),
        engines=None if engines is None else tuple(engines))
    chosen = check_formats(formats)
    folder = prepare_folder(out, chosen, ["studies.csv"], force=force)
    spec.suite().pooled()  # a bad method, backend, test or level fails before any file is made
    doc = Document(title or f"Meta-analysis: {measure_name(studies.measure).lower()}, "
                   f"k = {studies.k}")
    doc.para(describe(spec) + (f" Data: {source}." if source else ""))
    figures = figure_folder(folder, chosen)
    numbers = NumberLog()
    add_analysis(doc, spec, figures, numbers)
    return write_folder(folder, doc, numbers.frame(), chosen, {"studies.csv": studies.to_frame()})


def report_review(
    review: Review,
    out: str | Path = "metabridge-report",
    *,
    backend: str = DEFAULT_BACKEND,
    analyses: Iterable[str] | None = None,
    engines: Iterable[str] | None = None,
    formats: Iterable[str] = ("md", "html", "csv"),
    force: bool = False,
) -> list[Path]:
    """The full report of each analysis of a Cochrane review file (default: every one).

    Each analysis is pooled as RevMan pooled it (its method and model, its confidence
    level, its subgroups, its "favours" labels); where ``backend`` lacks RevMan's method
    (e.g. Mantel-Haenszel) the first installed engine that has it runs the analysis,
    and the report says so.  No file metabridge did not write is replaced unless
    ``force`` (see :class:`OutputFolder`).
    """
    from .backends import supporting
    from .revman.report import spec_of
    from .revman.reproduce import rerun

    chosen = check_formats(formats)
    folder = prepare_folder(out, chosen, ["analyses.csv"], force=force)
    ids = [a.id for a in review]
    unknown = [str(a) for a in analyses or () if str(a) not in ids]
    if unknown:
        raise InvalidArgumentError(f"no analysis {unknown} in {review.path}; analyses: {ids}")
    wanted = [review[str(a)] for a in analyses] if analyses is not None else list(review)
    names = None if engines is None else tuple(engines)
    doc = Document(f"Meta-analyses of {review.title}")
    doc.para(f"Source: {review.path} ({review.format}); {len(wanted)} of {len(review)} "
             "analyses, each pooled with RevMan's settings.")
    figures = figure_folder(folder, chosen)
    numbers = NumberLog()
    for analysis in wanted:
        doc.heading(f"Analysis {analysis.title}", 2)
        doc.para(f"{analysis.settings.describe()}; {analysis.k} studies.")
        run = rerun(analysis, backend)
        if run.unsupported and run.method:
            others = supporting(run.method, installed_only=True)
            if others:
                doc.note(f"{backend} has no {run.method}: the analysis runs on {others[0]}.")
                run = rerun(analysis, others[0])
        if not run.ran:
            doc.note(f"Not computed: {run.unsupported or run.error}")
            continue
        spec = spec_of(run, names if names is not None else _installed())
        add_analysis(doc, spec, figures, numbers, suite=run.suite, level=3)
    return write_folder(folder, doc, numbers.frame(), chosen,
                        {"analyses.csv": review.to_frame()})


def _installed() -> tuple[str, ...]:
    from .backends import available_backends

    return available_backends()


__all__ = ["SECTIONS", "ReportSpec", "Section", "add_analysis", "report", "report_review"]
