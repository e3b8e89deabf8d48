"""The report folder of ``metabridge reproduce``: the paper's numbers, then the full report.

Front matter specific to the reproduction -- where the data come from, the
published-vs-computed table on every engine, the subgroup P values on every
engine, the PRISMA flow -- followed by the report every data set gets
(:func:`metabridge.reporting.add_analysis`) for each outcome, drawn from the same
cached analyses that produced the published-vs-computed table.  The paper's
figure numbers name the figure files (Figures 1-6).

Every number in the report is read from the engines' results; published values
come only from ``targets.toml`` and are shown as such.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from os import PathLike
from pathlib import Path

import pandas as pd

from . import datasets, plots
from .document import Document
from .figures import FigureFolder
from .formatting import p_value
from .outputs import OutputFolder
from .reporting import (
    NumberLog,
    ReportSpec,
    add_analysis,
    check_formats,
    figure_folder,
    prepare_folder,
    write_folder,
)
from .reproduce import PAPER_METHOD, Reproduction

#: Engines in the order their results are preferred for drawing figures.
FIGURE_ENGINES = ("metafor", "statsmodels", "pythonmeta", "pymare")
#: Subgroup columns and how the paper names them (Figures 2B-5B).
SUBGROUPS = {
    "cart_source": "Source of CAR-T product",
    "cutoff_group": "Ferritin cutoff (ULN vs other)",
    "followup_group": "Median follow-up (>= 12 vs < 12 months)",
}
#: Paper figure panels: (file stem, outcome, subgroup column or None, caption).
FOREST_PANELS = (
    ("fig2a_pfs_overall", "PFS", None, "Figure 2A: PFS, overall"),
    ("fig2b_pfs_source", "PFS", "cart_source", "Figure 2B: PFS by CAR-T source"),
    ("fig3a_pfs_cutoff", "PFS", "cutoff_group", "Figure 3A: PFS by ferritin cutoff"),
    ("fig3b_pfs_followup", "PFS", "followup_group", "Figure 3B: PFS by follow-up"),
    ("fig4a_os_overall", "OS", None, "Figure 4A: OS, overall"),
    ("fig4b_os_source", "OS", "cart_source", "Figure 4B: OS by CAR-T source"),
    ("fig5a_os_cutoff", "OS", "cutoff_group", "Figure 5A: OS by ferritin cutoff"),
    ("fig5b_os_followup", "OS", "followup_group", "Figure 5B: OS by follow-up"),
)
FUNNEL_PANELS = {"PFS": ("fig6a_pfs_funnel", "Figure 6A: funnel plot, PFS"),
                 "OS": ("fig6b_os_funnel", "Figure 6B: funnel plot, OS")}
FAVOURS = ("Lower risk with high ferritin", "Higher risk with high ferritin")


def figure_engine(run: Reproduction) -> str | None:
    """The engine whose results the figures and per-outcome sections show."""
    return next((b for b in FIGURE_ENGINES if b in run.backends), None)


def outcome_spec(outcome: str, engine: str, engines: tuple[str, ...]) -> ReportSpec:
    """The report of one outcome as the paper ran it (DL, the three subgroup splits)."""
    names = {(kind, by): (stem, caption) for stem, o, by, caption in FOREST_PANELS
             if o == outcome for kind in ("forest",)}
    names[("funnel", None)] = FUNNEL_PANELS[outcome]
    return ReportSpec(
        datasets.ferritin_car_t(outcome), PAPER_METHOD, engine, by=tuple(SUBGROUPS),
        group_labels=SUBGROUPS, favours=FAVOURS, name=outcome, engines=engines,
        figure_names=names, figure_note="reconstructed study data")


def numbers_frame(run: Reproduction) -> pd.DataFrame:
    """The paper's analyses on every engine, long format (the columns of NumberLog)."""
    log = NumberLog()
    for (backend, outcome), _ in sorted(run.runs.items()):
        for analysis in ("pooled", "exclusion"):
            log.add(outcome, analysis, "", backend, run.analysis(backend, outcome,
                                                                 analysis).to_dict())
        loo = run.analysis(backend, outcome, "loo")
        for label, result in zip(loo.omitted, loo.results, strict=True):
            log.add(outcome, "loo", f"without {label}", backend, {"hr": math.exp(result.estimate)})
        for by in SUBGROUPS:
            for rule in ("subgroup", "subgroup_common"):
                test = run.analysis(backend, outcome, rule, by)
                name = f"{by} ({test.tau2_rule} tau2)"
                log.add(outcome, "subgroup", name, backend,
                        {"q_between": test.q_between, "p_between": test.p})
                for group, result in test.groups.items():
                    log.add(outcome, "subgroup", f"{name}: {group}", backend,
                            {"hr": math.exp(result.estimate)})
        egger = run.analysis(backend, outcome, "egger")
        log.add(outcome, "egger", "classic", backend,
                {"bias": egger.bias, "t": egger.statistic, "p": egger.p})
    return log.frame()


def _subgroup_rules_table(run: Reproduction) -> pd.DataFrame:
    rows = []
    for outcome in datasets.OUTCOMES:
        for by, words in SUBGROUPS.items():
            row = {"outcome": outcome, "subgroups": words}
            for backend in run.backends:
                sep = run.analysis(backend, outcome, "subgroup", by)
                com = run.analysis(backend, outcome, "subgroup_common", by)
                row[f"{backend} separate"] = p_value(sep.p)
                row[f"{backend} common"] = p_value(com.p)
            rows.append(row)
    return pd.DataFrame(rows)


def _target_rows(run: Reproduction) -> list[dict[str, str]]:
    frame = run.frame()
    rows = []
    for (name, printed), part in frame.groupby(
        [frame["outcome"] + " " + frame["analysis"] + frame["by"].map(
            lambda b: f"[{b}]" if b else "") + " " + frame["quantity"], "published"],
        sort=False,
    ):
        row = {"target": name, "published": printed, "where": part["where"].iloc[0]}
        for _, r in part.iterrows():
            row[r["backend"]] = f"{r['computed_rounded']} {r['status']}"
        rows.append(row)
    return rows


def build(run: Reproduction, figures: FigureFolder | None, numbers: NumberLog) -> Document:
    """The reproduction's document: front matter, then every outcome's full report."""
    doc = Document("metabridge: reproduction of Cheng & Song 2025")
    doc.para(f"Source: {run.source['citation']}. Engines: {', '.join(run.backends)}. "
             "Method as published: DerSimonian-Laird random effects with RevMan 5 conventions "
             "(SE = (ln U - ln L)/3.92; I² from Q, whole percent; subgroup test with a separate "
             "tau² per subgroup).")
    doc.para("IMPORTANT: the paper does not publish per-study hazard ratios. The study-level HRs "
             "below are RECONSTRUCTED by validation/reconstruct_ferritin.py to reproduce the "
             "published summaries; they are not the included studies' own numbers (see the "
             "hr_provenance column). Study characteristics are extracted from the paper.")
    if figures is not None:
        doc.figure(figures.add(
            "fig1_prisma", "Figure 1: PRISMA 2020 flow diagram, from the counts the paper's "
            "text gives", lambda: plots.prisma(datasets.ferritin_prisma(),
                                               title="PRISMA 2020 flow (Cheng & Song 2025)")))
    doc.heading("Published vs computed, every engine")
    doc.para(run.summary())
    doc.table(pd.DataFrame(_target_rows(run)))
    doc.heading("Subgroup tests on every engine: separate vs common tau²")
    doc.para("The paper (RevMan) gives each subgroup its own tau² ('separate'); metafor's "
             "mixed-effects model uses one tau² ('common'). Both are shown; the targets use "
             "'separate'. P values of the test for subgroup differences:")
    doc.table(_subgroup_rules_table(run))
    engine = figure_engine(run)
    if engine is None:
        return doc
    doc.para(f"The sections below show every analysis of each outcome on {engine} (the first "
             f"of {', '.join(FIGURE_ENGINES)} that ran), with all engines side by side.")
    for outcome in datasets.OUTCOMES:
        doc.heading(f"{outcome}: the full report", 2)
        add_analysis(doc, outcome_spec(outcome, engine, run.backends), figures, numbers,
                     suite=run.runs[(engine, outcome)], level=3)
    return doc


#: The reproduction's CSV table beside numbers.csv.
TABLES = ("targets.csv",)


def write_report(
    run: Reproduction, out: str | PathLike[str] | OutputFolder, formats: Iterable[str],
    *, force: bool = False,
) -> list[Path]:
    """Write the report folder; return the files written (figures not listed).

    ``out`` is checked first (:func:`prepare_folder`): no file metabridge did not
    write is replaced unless ``force``.
    """
    chosen = check_formats(formats)
    folder = prepare_folder(out, chosen, TABLES, force=force)
    figures = figure_folder(folder, chosen)
    numbers = NumberLog()
    doc = build(run, figures, numbers)
    every = pd.concat([numbers.frame(), numbers_frame(run)]) if run.backends else numbers.frame()
    every = every.drop_duplicates(subset=list(NumberLog.COLUMNS[:-1]), keep="first")
    return write_folder(folder, doc, every, chosen, {TABLES[0]: run.frame()})
