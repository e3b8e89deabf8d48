"""Do the figures say what they show: titles, axis labels, favours, subgroup weights, PRISMA 2020?

Truth for the weights: exact rational arithmetic (``fractions``) from the variances,
not the code under test.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import metabridge as mb
from metabridge import plots
from metabridge.errors import InvalidArgumentError
from metabridge.figures import FigureFolder
from metabridge.outputs import OutputFolder
from metabridge.prisma import PrismaFlow


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def inside_canvas(fig: Figure) -> bool:
    """Nothing drawn outside the canvas (figures are saved without a tight bounding box)."""
    renderer = FigureCanvasAgg(fig).get_renderer()
    box = fig.get_tightbbox(renderer)
    width, height = fig.get_size_inches()
    slack = 0.02  # inches: antialiasing of a line on the edge
    return bool(box.x0 >= -slack and box.y0 >= -slack and box.x1 <= width + slack
                and box.y1 <= height + slack)


@pytest.fixture(scope="module")
def studies() -> mb.StudySet:
    """Four studies in two arms with exactly representable variances."""
    return mb.StudySet.from_effects(
        [0.1, 0.5, -0.2, 0.4], vi=[0.04, 0.25, 0.0625, 0.5],
        labels=["A 2001", "B 2003", "C 2010", "D 2012"], measure="OR",
        arm=["drug x", "drug x", "drug y", "drug y"])


def test_forest_defaults_title_axis_label_and_favours(studies: mb.StudySet) -> None:
    res = mb.pool(studies, "DL", "statsmodels")
    shown = texts(plots.forest(studies, res))
    assert "Odds ratio, random effects (DL); engine: statsmodels" in shown
    assert "Odds ratio (log scale)" in shown
    assert {"Favours [experimental]", "Favours [control]"} <= set(shown)
    mine = texts(plots.forest(studies, res, title="", favours=("Less pain", "More pain"),
                              xlabel="OR"))
    assert {"Less pain", "More pain", "OR"} <= set(mine)
    assert not any("random effects" in t for t in mine)
    with pytest.raises(InvalidArgumentError, match="favours needs two labels"):
        plots.forest(studies, res, favours=("one",))  # type: ignore[arg-type]


def test_subgroup_headings_are_readable_or_given(studies: mb.StudySet) -> None:
    res = mb.pool(studies, "FE", "statsmodels")
    groups = mb.subgroups(studies, "arm", "FE", "statsmodels")
    assert "Arm: drug x" in texts(plots.forest(studies, res, groups))
    assert "Treatment: drug y" in texts(plots.forest(studies, res, groups,
                                                     group_label="Treatment"))


def test_fixed_effect_subgroup_weights_are_the_overall_weights(studies: mb.StudySet) -> None:
    """FE: w_i / sum w = the weight in the subgroup fit x the subgroup's share of 1/SE^2."""
    groups = mb.subgroups(studies, "arm", "FE", "statsmodels")
    exact = [1 / Fraction(v).limit_denominator() for v in studies.vi]
    expected = {label: float(100 * w / sum(exact)) for label, w in zip(studies.labels, exact,
                                                                       strict=True)}
    got = groups.study_weights()
    for label, value in expected.items():
        assert got[label] == pytest.approx(value, rel=1e-12)  # float round-off only


def test_random_effects_subgroup_weights_follow_each_subgroups_fit() -> None:
    """Within a subgroup the weights are in the ratio of 1/(v_i + tau_g^2), its own tau^2."""
    studies = mb.StudySet.from_effects(
        [0.1, 0.9, -0.5, 0.4, 1.5, -0.8], vi=[0.04, 0.05, 0.06, 0.04, 0.03, 0.05],
        arm=["x"] * 3 + ["y"] * 3)
    groups = mb.subgroups(studies, "arm", "DL", "statsmodels")
    got = groups.study_weights()
    assert sum(got.values()) == pytest.approx(100.0, rel=1e-12)
    for result in groups.groups.values():
        assert result.tau2 > 0  # the test means something only with a tau^2 per subgroup
        w = 1 / (np.array([studies.vi[studies.labels.index(lb)] for lb in result.labels])
                 + result.tau2)
        shown = np.array([got[lb] for lb in result.labels])
        assert shown / shown.sum() == pytest.approx(w / w.sum(), rel=1e-10)
    # and the subtotal is the subgroup's share of 1/SE^2 (the Q-between weights)
    inv = {g: 1 / r.se**2 for g, r in groups.groups.items()}
    first = next(iter(groups.groups))
    subtotal = sum(got[lb] for lb in groups.groups[first].labels)
    assert subtotal == pytest.approx(100 * inv[first] / sum(inv.values()), rel=1e-12)


def test_subgroup_plot_shows_the_subgroup_fit_weights(studies: mb.StudySet) -> None:
    res = mb.pool(studies, "DL", "statsmodels")
    groups = mb.subgroups(studies, "arm", "DL", "statsmodels")
    shown = texts(plots.forest(studies, res, groups))
    for label, weight in groups.study_weights().items():
        assert f"{weight:.1f}%" in shown, label
    assert any(t.startswith("Weights: each study's weight in its own subgroup's fit")
               for t in shown)


def test_every_figure_stays_inside_its_canvas(studies: mb.StudySet) -> None:
    long = studies.with_columns(arm=["a"] * 2 + ["b"] * 2)
    res = mb.pool(long, "DL", "statsmodels", test="knha")
    groups = mb.subgroups(long, "arm", "DL", "statsmodels")
    title = "A long title " * 12
    bcg = mb.datasets.bcg()
    for fig in (plots.forest(long, res, groups, title=title), plots.forest(long, res),
                plots.funnel(long, res, title=title),
                plots.prisma(mb.datasets.ferritin_prisma()),
                plots.baujat(mb.influence(bcg, "DL", "statsmodels")),
                plots.baujat(mb.influence(bcg, "FE", "statsmodels"), title=title)):
        assert inside_canvas(fig)


def test_prisma_2020_boxes_and_unreported_counts() -> None:
    flow = mb.datasets.ferritin_prisma()
    shown = "\n".join(texts(plots.prisma(flow)))
    for words in ("Records screened\n(n = 168)", "Reports sought for retrieval\n(n not reported)",
                  "Reports not retrieved\n(n not reported)",
                  "Reports assessed for eligibility\n(n = 23)", "Reports excluded (n = 15)",
                  "Studies included in review\n(n = 8)", "duplicate records (n = 59)"):
        assert words in shown
    assert flow.sought is None  # the paper gives no number: drawn as "not reported"


def test_prisma_counts_are_checked() -> None:
    with pytest.raises(InvalidArgumentError, match="screened 100 - excluded_screening 20"):
        plots.prisma({"identified": 120, "duplicates": 20, "screened": 100,
                      "excluded_screening": 20, "sought": 70})
    with pytest.raises(InvalidArgumentError, match="unknown PRISMA field"):
        PrismaFlow.from_mapping({"identified": 1, "duplicates": 0, "screened": 1,
                                 "excluded_screening": 0, "fulltext": 1})
    with pytest.raises(InvalidArgumentError, match="whole number"):
        PrismaFlow.from_mapping({"identified": -1, "duplicates": 0, "screened": 1,
                                 "excluded_screening": 0})
    with pytest.raises(InvalidArgumentError, match="reasons add up to 3"):
        PrismaFlow(10, 0, 10, 5, assessed=5, excluded_full_text=4,
                   exclusion_reasons={"wrong design": 3}).check()


def test_figure_folder_saves_png_and_svg_once(tmp_path, studies: mb.StudySet) -> None:
    folder = FigureFolder(OutputFolder(tmp_path))
    calls = []

    def draw() -> Figure:
        calls.append(1)
        return plots.funnel(studies, mb.pool(studies, "FE", "statsmodels"))

    ref = folder.add("funnel", "Funnel", draw)
    assert calls == [1]
    assert ref.png == "figures/funnel.png"
    assert (tmp_path / "figures" / "funnel.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (tmp_path / "figures" / "funnel.svg").read_text()
    assert "<text" in svg  # text kept as text (svg.fonttype none)
    assert folder.costs[0].stem == "funnel"
    assert folder.costs[0].total > 0


@pytest.mark.parametrize(("method", "header"), [("MH", "OR M-H, Fixed, 95% CI"),
                                                ("PETO", "OR Peto, Fixed, 95% CI"),
                                                ("DL", "OR IV, Random, 95% CI")])
def test_forest_column_header_names_the_pooling_method_as_revman_does(
    method: str, header: str
) -> None:
    """RevMan's header: 'OR M-H, Fixed, 95% CI' for Mantel-Haenszel (was always 'IV')."""
    tables = mb.StudySet.from_counts([12, 3, 5], [40, 30, 25], [20, 4, 9], [41, 28, 27],
                                     labels=["A", "B", "C"], measure="OR")
    result = mb.pool(tables, method, "pythonmeta" if method != "DL" else "statsmodels")
    assert header in texts(plots.forest(tables, result))


def test_report_describes_mh_and_peto_as_fixed_effect_models() -> None:
    from metabridge.reporting import ReportSpec, describe

    tables = mb.StudySet.from_counts([12, 3, 5], [40, 30, 25], [20, 4, 9], [41, 28, 27],
                                     labels=["A", "B", "C"], measure="OR")
    for method, words in (("MH", "fixed-effect model, Mantel-Haenszel"),
                          ("PETO", "fixed-effect model, Peto"),
                          ("REML", "random-effects model, tau² by REML")):
        spec = ReportSpec(studies=tables, method=method)
        assert words in describe(spec)
