"""The report folder of ``metabridge reproduce SOURCE``: the same builder as the paper's
reproduction (:mod:`metabridge.reporting`) -- front matter with RevMan's numbers against
every engine's, then each analysis's full report (forest plot included) from the fits
that were checked."""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from pathlib import Path

import pandas as pd

from ..document import Document
from ..errors import MetabridgeError
from ..figures import FigureFolder
from ..outputs import OutputFolder
from ..reporting import (
    NumberLog,
    ReportSpec,
    add_analysis,
    check_formats,
    figure_folder,
    prepare_folder,
    write_folder,
)
from .reproduce import FULL_ATOL, FULL_RTOL, Rerun, ReviewReproduction

TOLERANCE_TEXT = (
    "Tolerance: a .rm5 file holds RevMan's doubles in full, and a recomputed number PASSes "
    f"within {FULL_RTOL:g} relative (+{FULL_ATOL:g}): metabridge's engines and RevMan 5 agree "
    "to ~1e-15 on the public Fleiss 1993 review, except RevMan's normal tail P (2.8e-11 "
    "relative). A RevMan 5 CSV export rounds to 8 decimals and a RevMan Web package to 6: "
    "there the text is within half a unit of its last decimal of RevMan's double, and the "
    "two tolerances add; where the file rounded the study data themselves (a generic-IV "
    "ratio), a first-order bound of what that rounding moves the number is added too. "
    "RevMan 5's P(Chi²) is compared with RevMan 5's own series rule applied to each engine's "
    "Q (convention revman5.chi2_p_series); CIs, P(Z) and I² with each engine's estimate, SE "
    "and Q under RevMan's conventions (exact normal quantile and tail, I² from Q).")
#: RevMan's short names of its methods, as in its forest plots' column headings.
SHORT_METHODS = {"MH": "M-H", "PETO": "Peto", "IV": "IV", "OE": "Exp[(O-E)/V]"}


def spec_of(run: Rerun, engines: tuple[str, ...]) -> ReportSpec:
    """The report of one analysis as RevMan ran it (its method, level and subgroups)."""
    analysis, s = run.analysis, run.analysis.settings
    if run.studies is None:
        raise MetabridgeError(f"analysis {analysis.id} was not re-run on {run.backend}")
    model = "Random" if s.random_effects else "Fixed"
    stem = f"analysis_{analysis.id.replace('.', '_')}"
    names = {("forest", None): (stem, f"Forest plot {analysis.id}: {analysis.name} "
                                      f"({s.measure} {SHORT_METHODS[s.method]}, {model})"),
             ("forest", "subgroup"): (f"{stem}_subgroups",
                                      f"Forest plot {analysis.id} by subgroup"),
             ("funnel", None): (f"{stem}_funnel", f"Funnel plot {analysis.id}")}
    return ReportSpec(
        run.studies, run.method, run.backend, level=s.total_level,
        by=("subgroup",) if run.groups is not None else (), favours=analysis.favours,
        name=analysis.id, engines=engines, figure_names=names,
        figure_note=f"RevMan analysis {analysis.id}")


def _checks_table(run: ReviewReproduction, analysis: str) -> pd.DataFrame:
    rows = []
    for i, c in enumerate(run.checks):
        if c.analysis != analysis:
            continue
        row = {"scope": c.scope, "item": c.item, "quantity": c.quantity,
               "RevMan": c.stored.text,
               "allowed": f"{run.allowed(i, run.backends[0]):.2g}" if run.backends else ""}
        for b in run.backends:
            status, computed = run.status(i, b), run.values[(i, b)]
            row[b] = status if status == "n/a" or computed.error else (
                f"{computed.value!r} {status}")
        rows.append(row)
    return pd.DataFrame(rows)


def build(run: ReviewReproduction, figures: FigureFolder | None,
          numbers: NumberLog) -> Document:
    """Front matter (RevMan's numbers vs every engine), then each analysis's full report."""
    review = run.review
    doc = Document(f"metabridge: reproduction of {review.title}")
    doc.para(f"Source: {review.path} ({review.format}). Engines: "
             f"{', '.join(run.backends) or 'none'}.")
    doc.note(TOLERANCE_TEXT)
    doc.heading("RevMan's numbers vs every engine")
    doc.code(run.summary())
    doc.table(run.counts())
    doc.heading("Analyses and RevMan's settings")
    doc.table(review.to_frame())
    for analysis in review:
        doc.heading(f"Analysis {analysis.title}")
        settings = analysis.settings
        doc.para(f"{settings.describe()}; study CIs {settings.study_level * 100:g}%; "
                 f"{analysis.k} studies"
                 + (f", subgroups: {', '.join(analysis.subgroups)}" if analysis.subgroups else "")
                 + (f"; not estimable (left out, as RevMan does): "
                    f"{', '.join(analysis.not_estimable)}" if analysis.not_estimable else "")
                 + ".")
        for note in settings.assumed:
            doc.note(f"Assumed: {note}.")
        if any(c.analysis == analysis.id for c in run.checks):
            doc.table(_checks_table(run, analysis.id))
        else:
            doc.note("RevMan stored no result for this analysis: nothing to check. The "
                     "report below shows metabridge's numbers.")
        ran = [r for b in run.backends if (r := run.reruns[(analysis.id, b)]).ran]
        if not ran:
            reasons = {r.unsupported or r.error for b in run.backends
                       if (r := run.reruns[(analysis.id, b)])}
            doc.note(f"Not re-run on any engine: {'; '.join(sorted(reasons)) or 'no engine'}")
            continue
        doc.para(f"The sections below show analysis {analysis.id} on {ran[0].backend} (the "
                 "first engine that re-ran it), with all engines side by side.")
        add_analysis(doc, spec_of(ran[0], run.backends), figures, numbers,
                     suite=ran[0].suite, level=3)
    return doc


#: The review reproduction's CSV tables beside numbers.csv.
TABLES = ("checks.csv", "analyses.csv")


def write_review_report(
    run: ReviewReproduction, out: str | PathLike[str] | OutputFolder, formats: Iterable[str],
    *, force: bool = False,
) -> list[Path]:
    """Write the report folder; return the files written (figures not listed).  No file
    metabridge did not write is replaced unless ``force`` (see :class:`OutputFolder`)."""
    chosen = check_formats(formats)
    folder = prepare_folder(out, chosen, TABLES, force=force)
    figures = figure_folder(folder, chosen)
    numbers = NumberLog()
    doc = build(run, figures, numbers)
    return write_folder(folder, doc, numbers.frame(), chosen,
                        dict(zip(TABLES, (run.frame(), run.review.to_frame()), strict=True)))
