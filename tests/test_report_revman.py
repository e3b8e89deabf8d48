"""Does `metabridge report` take a Cochrane review file and pool each analysis as RevMan did?

Truth: the numbers stored in metabridge's example review (validation/revman/
metabridge_examples.*, computed by metafor: validation/revman/make_fixtures.R), in
each of the three formats read_revman recognises by content.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import metabridge as mb
from metabridge import cli
from metabridge.revman.reproduce import FULL_RTOL

REVMAN = Path(__file__).resolve().parents[1] / "validation" / "revman"


@pytest.mark.parametrize("name", ["metabridge_examples.rm5", "metabridge_examples_CR.csv",
                                  "metabridge_examples.zip"])
def test_report_of_a_review_file(name: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    argv = ["report", str(REVMAN / name), "--analysis", "1.1", "--backend", "statsmodels",
            "--out", str(out)]
    assert cli.main(argv) == 0
    assert "Report written to" in capsys.readouterr().out
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Analysis 1.1 " in md
    assert "## Analysis 1.2 " not in md  # only the analysis asked for
    assert "### Subgroups: Subgroup" in md  # RevMan's subgroups, with their own forest plot
    assert {"analysis_1_1.png", "analysis_1_1_subgroups.svg", "analysis_1_1_funnel.png"} <= {
        p.name for p in (out / "figures").iterdir()}
    numbers = pd.read_csv(out / "numbers.csv", keep_default_na=False)
    pooled = numbers[(numbers["analysis"] == "pooled") & (numbers["detail"] == "ratio scale")]
    ratio = float(pooled.set_index("statistic").loc["ratio", "value"])
    stored = mb.read_revman(REVMAN / name)["1.1"].overall["effect"]
    # the .rm5 holds the double (FULL_RTOL); the CSV export and the zip round it
    decimals = stored.decimals
    allowed = FULL_RTOL * abs(stored.value) + (0.5 * 10.0**-decimals if decimals else 0.0)
    assert math.isclose(ratio, stored.value, rel_tol=0, abs_tol=allowed + 1e-12)


def test_review_file_refuses_column_flags(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["report", str(REVMAN / "metabridge_examples.rm5"), "--yi", "y", "--by", "x",
            "--out", str(tmp_path / "x")]
    assert cli.main(argv) == 2
    assert "--yi, --by do(es) not apply to a RevMan file" in capsys.readouterr().err
    argv = ["report", str(REVMAN / "metabridge_examples.rm5"), "--analysis", "9.9",
            "--out", str(tmp_path / "y")]
    assert cli.main(argv) == 2
    assert "no analysis ['9.9']" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()


def test_an_engine_without_revmans_method_hands_it_on(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Fleiss 1993 1.1 is Mantel-Haenszel: PyMARE lacks it, an engine that has it pools it,
    and the pooled OR is RevMan's own stored number (RevMan 5, public file)."""
    out = tmp_path / "fleiss"
    argv = ["report", str(REVMAN / "Fleiss1993.rm5"), "--analysis", "1.1", "--backend",
            "pymare", "--out", str(out), "--format", "md,csv"]
    assert cli.main(argv) == 0
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "pymare has no MH: the analysis runs on " in md
    assert "Heterogeneity with confidence intervals" not in md  # a fixed-effect method
    numbers = pd.read_csv(out / "numbers.csv", keep_default_na=False)
    ratio = numbers[(numbers["analysis"] == "pooled") & (numbers["statistic"] == "ratio")]
    stored = mb.read_revman(REVMAN / "Fleiss1993.rm5")["1.1"].overall["effect"].value
    assert float(ratio["value"].iloc[0]) == pytest.approx(stored, rel=FULL_RTOL)
