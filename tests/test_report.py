"""Does ``metabridge reproduce`` write a complete report a reader can open?"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from metabridge import cli
from metabridge.reproduction_report import FOREST_PANELS


@pytest.fixture(scope="module")
def report(reproduction_report: Path) -> Path:
    return reproduction_report


def test_report_files_exist(report: Path) -> None:
    for name in ("report.md", "report.html", "targets.csv", "numbers.csv"):
        assert (report / name).stat().st_size > 0, name
    stems = ["fig1_prisma", *(p[0] for p in FOREST_PANELS), "pfs_baujat", "os_baujat",
             "fig6a_pfs_funnel",
             "fig6b_os_funnel"]
    for stem in stems:
        for suffix in ("png", "svg"):
            assert (report / "figures" / f"{stem}.{suffix}").stat().st_size > 1000, stem


def test_html_shows_every_figure(report: Path) -> None:
    html = (report / "report.html").read_text(encoding="utf-8")
    shown = set(re.findall(r'<img src="figures/([^"]+)\.png"', html))
    on_disk = {p.stem for p in (report / "figures").glob("*.png")}
    assert shown == on_disk
    assert len(shown) == 13  # Figures 1-6 of the paper (11) and a Baujat plot per outcome
    assert "RECONSTRUCTED" in html


def test_csv_has_every_target_and_engine(report: Path) -> None:
    targets = pd.read_csv(report / "targets.csv")
    assert set(targets["status"]) == {"PASS"}
    assert targets.groupby("backend").size().min() == 30
    numbers = pd.read_csv(report / "numbers.csv")
    assert {"pooled", "exclusion", "loo", "subgroup", "egger"} <= set(numbers["analysis"])


def test_backends_and_conventions_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["backends"]) == 0
    assert "statsmodels" in capsys.readouterr().out
    assert cli.main(["conventions"]) == 0
    assert "pythonmeta.ci_196" in capsys.readouterr().out


def test_compare_command_on_a_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"s": ["a", "b", "c"], "y": [0.1, 0.3, 0.2], "v": [0.01, 0.02, 0.03]}).to_csv(
        path, index=False)
    assert cli.main(["compare", str(path), "--label", "s", "--yi", "y", "--vi", "v",
                     "--backend", "statsmodels"]) == 0
    assert "statsmodels" in capsys.readouterr().out


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame({"s": ["a", "b"], "hr": [1.5, -2.0], "lo": [1.0, 1.0], "hi": [2.0, 3.0]}).to_csv(
        path, index=False)
    code = cli.main(["compare", str(path), "--label", "s", "--ratio", "hr", "--lower", "lo",
                     "--upper", "hi", "--backend", "statsmodels"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("metabridge: error: study 'b', field 'ratio'")


def test_conventions_doc_matches_the_code() -> None:
    from metabridge.conventions import conventions_markdown

    doc = Path(__file__).parent.parent / "docs" / "conventions.md"
    assert doc.read_text(encoding="utf-8") == conventions_markdown(), (
        "regenerate: metabridge conventions --markdown > docs/conventions.md")
