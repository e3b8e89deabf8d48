"""The report folder of ``metabridge reproduce``: Markdown, HTML, CSV and figures.

Every number in the report is read from the engines' results held by the
:class:`~metabridge.reproduce.Reproduction`; published values come only from
``targets.toml`` and are shown as such.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import datasets, plots
from .facade import compare
from .formatting import p_value
from .reproduce import Reproduction

#: Engines in the order their results are preferred for drawing figures.
FIGURE_ENGINES = ("metafor", "statsmodels", "pythonmeta")
#: Subgroup columns and how the paper names them (Figures 2B-5B).
SUBGROUPS = {
    "cart_source": "source of CAR-T product",
    "cutoff_group": "ferritin cutoff (ULN vs other)",
    "followup_group": "median follow-up (>= 12 vs < 12 months)",
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
FAVOURS = ("Lower risk with high ferritin", "Higher risk with high ferritin")


@dataclass
class _Doc:
    """A report as a list of blocks, rendered to Markdown and to HTML."""

    blocks: list[tuple[str, object]] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("heading", (level, text)))

    def para(self, text: str) -> None:
        self.blocks.append(("para", text))

    def table(self, frame: pd.DataFrame) -> None:
        self.blocks.append(("table", frame))

    def figure(self, path: str, caption: str) -> None:
        self.blocks.append(("figure", (path, caption)))

    def markdown(self) -> str:
        out = []
        for kind, value in self.blocks:
            if kind == "heading":
                level, text = value  # type: ignore[misc]
                out.append(f"{'#' * level} {text}")
            elif kind == "para":
                out.append(str(value))
            elif kind == "table":
                out.append(_markdown_table(value))  # type: ignore[arg-type]
            else:
                path, caption = value  # type: ignore[misc]
                out.append(f"![{caption}]({path})\n\n*{caption}*")
        return "\n\n".join(out) + "\n"

    def html(self, title: str) -> str:
        body = []
        for kind, value in self.blocks:
            if kind == "heading":
                level, text = value  # type: ignore[misc]
                body.append(f"<h{level}>{html.escape(text)}</h{level}>")
            elif kind == "para":
                body.append(f"<p>{html.escape(str(value))}</p>")
            elif kind == "table":
                body.append(value.to_html(index=False, na_rep="", border=0,  # type: ignore[union-attr]
                                          classes="numbers"))
            else:
                path, caption = value  # type: ignore[misc]
                body.append(f'<figure><img src="{html.escape(path)}" alt="{html.escape(caption)}">'
                            f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        style = ("body{font-family:sans-serif;max-width:1150px;margin:2em auto;line-height:1.4}"
                 "table.numbers{border-collapse:collapse;font-size:13px;margin:1em 0}"
                 "table.numbers td,table.numbers th{border-bottom:1px solid #ddd;padding:3px 8px}"
                 "figure img{max-width:100%}figcaption{font-style:italic;color:#444}")
        return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                f"<title>{html.escape(title)}</title><style>{style}</style></head><body>\n"
                + "\n".join(body) + "\n</body></html>\n")


def _markdown_table(frame: pd.DataFrame) -> str:
    cells = frame.astype(object).where(frame.notna(), "")
    head = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(str(v) for v in row) + " |" for row in cells.to_numpy()]
    return "\n".join([head, rule, *rows])


def _figure_engine(run: Reproduction) -> str | None:
    return next((b for b in FIGURE_ENGINES if b in run.backends), None)


def _draw_figures(run: Reproduction, folder: Path, engine: str) -> list[tuple[str, str]]:
    """Draw Figures 1-6 (PNG + SVG); return (relative PNG path, caption) pairs."""
    folder.mkdir(parents=True, exist_ok=True)
    drawn = []

    def save(fig: object, stem: str, caption: str) -> None:
        for suffix in ("png", "svg"):
            fig.savefig(folder / f"{stem}.{suffix}", dpi=130, bbox_inches="tight")  # type: ignore[attr-defined]
        drawn.append((f"{folder.name}/{stem}.png", caption))

    save(plots.prisma(datasets.ferritin_prisma(), title="PRISMA 2020 flow (Cheng & Song 2025)"),
         "fig1_prisma", "Figure 1: PRISMA flow diagram, from the counts the paper reports")
    for stem, outcome, by, caption in FOREST_PANELS:
        studies = datasets.ferritin_car_t(outcome)
        overall = run.analysis(engine, outcome, "pooled")
        groups = run.analysis(engine, outcome, "subgroup", by) if by else None
        title = f"{caption} (DL, engine: {engine}; reconstructed study data)"
        save(plots.forest(studies, overall, groups, title=title, favours=FAVOURS), stem, caption)
    for stem, outcome in (("fig6a_pfs_funnel", "PFS"), ("fig6b_os_funnel", "OS")):
        studies = datasets.ferritin_car_t(outcome)
        overall = run.analysis(engine, outcome, "pooled")
        caption = f"Figure 6{'A' if outcome == 'PFS' else 'B'}: funnel plot, {outcome}"
        save(plots.funnel(studies, overall, title=f"{caption} (engine: {engine})"), stem, caption)
    return drawn


def numbers_frame(run: Reproduction) -> pd.DataFrame:
    """Every number computed for the report, long format."""
    rows = []
    for (backend, outcome), _ in sorted(run.runs.items()):
        pooled = run.analysis(backend, outcome, "pooled")
        excl = run.analysis(backend, outcome, "exclusion")
        loo = run.analysis(backend, outcome, "loo")
        for analysis, result in (("pooled", pooled), ("exclusion", excl)):
            for stat, value in result.to_dict().items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    rows.append((outcome, analysis, "", backend, stat, float(value)))
        for label, result in zip(loo.omitted, loo.results, strict=True):
            hr = math.exp(result.estimate)
            rows.append((outcome, "loo", f"without {label}", backend, "hr", hr))
        for by in SUBGROUPS:
            for rule in ("subgroup", "subgroup_common"):
                test = run.analysis(backend, outcome, rule, by)
                name = f"{by} ({test.tau2_rule} tau2)"
                rows += [(outcome, "subgroup", name, backend, "q_between", test.q_between),
                         (outcome, "subgroup", name, backend, "p_between", test.p)]
                for group, result in test.groups.items():
                    rows.append((outcome, "subgroup", f"{name}: {group}", backend, "hr",
                                 math.exp(result.estimate)))
        egger = run.analysis(backend, outcome, "egger")
        rows += [(outcome, "egger", "classic", backend, "bias", egger.bias),
                 (outcome, "egger", "classic", backend, "t", egger.statistic),
                 (outcome, "egger", "classic", backend, "p", egger.p)]
    return pd.DataFrame(rows, columns=["outcome", "analysis", "detail", "backend", "statistic",
                                       "value"])


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


def _agreement_table(run: Reproduction) -> pd.DataFrame:
    frames = []
    for outcome in datasets.OUTCOMES:
        diffs = compare(datasets.ferritin_car_t(outcome), ("FE", "DL"), run.backends).differences()
        if diffs.empty:
            continue
        diffs.insert(0, "outcome", outcome)
        frames.append(diffs)
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames)
    table["max_abs_diff"] = table["max_abs_diff"].map(lambda v: f"{v:.2e}")
    return table


def build(run: Reproduction, figures: list[tuple[str, str]]) -> _Doc:
    doc = _Doc()
    doc.heading("metabridge: reproduction of Cheng & Song 2025", 1)
    doc.para(f"Source: {run.source['citation']}. Engines: {', '.join(run.backends)}. "
             "Method as published: DerSimonian-Laird random effects with RevMan 5 conventions "
             "(SE = (ln U - ln L)/3.92; I^2 from Q, whole percent; subgroup test with a separate "
             "tau^2 per subgroup).")
    doc.para("IMPORTANT: the paper does not publish per-study hazard ratios. The study-level HRs "
             "below are RECONSTRUCTED by validation/reconstruct_ferritin.py to reproduce the "
             "published summaries; they are not the included studies' own numbers (see the "
             "hr_provenance column). Study characteristics are extracted from the paper.")
    for outcome in datasets.OUTCOMES:
        doc.heading(f"Study data: {outcome}", 3)
        frame = datasets.ferritin_car_t(outcome).to_frame()
        doc.table(frame[["label", "ratio", "lower", "upper", "n", "cart_source", "cutoff_group",
                         "followup_group", "adjusted", "hr_provenance"]])
    doc.heading("Published vs computed, every engine")
    doc.para(run.summary())
    doc.table(pd.DataFrame(_target_rows(run)))
    doc.heading("Subgroup tests: separate vs common tau^2")
    doc.para("The paper (RevMan) gives each subgroup its own tau^2 ('separate'); metafor's "
             "mixed-effects model uses one tau^2 ('common'). Both are shown; the targets use "
             "'separate'.")
    doc.table(_subgroup_rules_table(run))
    agreement = _agreement_table(run)
    if not agreement.empty:
        doc.heading("Agreement between engines (FE and DL)")
        doc.para("Largest absolute difference between any two engines for each statistic; "
                 "differences beyond 1e-8 name the documented convention that causes them.")
        doc.table(agreement)
    doc.heading("Figures")
    for path, caption in figures:
        doc.figure(path, caption)
    return doc


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


def write_report(run: Reproduction, out: Path, formats: Iterable[str]) -> list[Path]:
    """Write the report folder; return the files written (figures not listed)."""
    formats = set(formats)
    unknown = formats - {"md", "html", "csv"}
    if unknown:
        raise ValueError(f"unknown report formats {sorted(unknown)}; use md, html, csv")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "csv" in formats:
        run.frame().to_csv(out / "targets.csv", index=False)
        written.append(out / "targets.csv")
        if run.backends:
            numbers_frame(run).to_csv(out / "numbers.csv", index=False)
            written.append(out / "numbers.csv")
    if formats & {"md", "html"}:
        engine = _figure_engine(run)
        figures = _draw_figures(run, out / "figures", engine) if engine else []
        doc = build(run, figures)
        if "md" in formats:
            (out / "report.md").write_text(doc.markdown(), encoding="utf-8")
            written.append(out / "report.md")
        if "html" in formats:
            (out / "report.html").write_text(doc.html("metabridge reproduction"), encoding="utf-8")
            written.append(out / "report.html")
    return written
