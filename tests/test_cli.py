"""Does ``metabridge pool`` print metafor's numbers for a CSV, in text, CSV and JSON?

Truth: metafor's values pinned in tests/reference/metafor_reference.csv (regenerated
by validation/metafor_reference.R), not the engine under test.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

import metabridge as mb
from metabridge import cli

#: statsmodels' DL against metafor's: the same closed form evaluated in another order
#: (~1e-15 relative); Q's one-pass sum loses up to ~1e-8 relative (conventions:
#: statsmodels.q_cancellation), which bounds every DL number downstream of Q.
REL = 1e-8


@pytest.fixture(scope="module")
def bcg_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BCG log risk ratios in metadat's layout (columns yi, vi; escalc measure RR)."""
    path = tmp_path_factory.mktemp("cli") / "bcg.csv"
    frame = mb.datasets.bcg().to_frame()
    frame[["label", "yi", "vi", "alloc", "ablat"]].to_csv(path, index=False)
    return path


def _pool(bcg_csv: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    argv = ["pool", str(bcg_csv), "--label", "label", "--yi", "yi", "--vi", "vi",
            "--measure", "RR", "--method", "DL", "--backend", "statsmodels", *extra]
    assert cli.main(argv) == 0
    return capsys.readouterr().out


def test_pool_json_matches_metafor(bcg_csv: Path, capsys: pytest.CaptureFixture[str],
                                   metafor_reference: pd.Series) -> None:
    out = json.loads(_pool(bcg_csv, capsys, "--format", "json"))
    ref = metafor_reference.sort_index().loc["bcg", "DL"]
    assert out["estimate"] == pytest.approx(ref["estimate"], rel=REL)
    assert out["ci_low"] == pytest.approx(ref["ci_lb"], rel=REL)
    assert out["tau2"] == pytest.approx(ref["tau2"], rel=REL)
    assert out["ratio"] == pytest.approx(math.exp(ref["estimate"]), rel=REL)
    assert out["ratio_ci_high"] == pytest.approx(math.exp(ref["ci_ub"]), rel=REL)
    assert out["k"] == 13
    assert len(out["weights"]) == 13


def test_pool_csv_is_one_row(bcg_csv: Path, capsys: pytest.CaptureFixture[str],
                             metafor_reference: pd.Series, tmp_path: Path) -> None:
    (tmp_path / "out.csv").write_text(_pool(bcg_csv, capsys, "--format", "csv"))
    row = pd.read_csv(tmp_path / "out.csv")
    assert len(row) == 1
    assert row.loc[0, "p"] == pytest.approx(metafor_reference.loc["bcg", "DL", "pval"], rel=REL)
    assert row.loc[0, "measure"] == "RR"


def test_pool_text_has_the_ratio_line(bcg_csv: Path, capsys: pytest.CaptureFixture[str],
                                      metafor_reference: pd.Series) -> None:
    text = _pool(bcg_csv, capsys)
    ref = metafor_reference.sort_index().loc["bcg", "DL"]
    ratio = (f"RR {math.exp(ref['estimate']):.2f} [95% CI {math.exp(ref['ci_lb']):.2f}, "
             f"{math.exp(ref['ci_ub']):.2f}]")
    assert ratio in text
    assert f"{ref['tau2']:.4f}" in text


def test_pool_options_reach_the_engine(bcg_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = json.loads(_pool(bcg_csv, capsys, "--format", "json", "--test", "knha",
                           "--level", "0.9"))
    assert out["test"] == "knha"
    assert out["level"] == 0.9
    assert out["test_df"] == 12


def test_pool_bad_level_is_one_line(bcg_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["pool", str(bcg_csv), "--label", "label", "--yi", "yi", "--vi", "vi", "--level", "95"]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith("metabridge: error: level must be in (0, 1)")


@pytest.mark.parametrize("command", ["reproduce", "backends", "conventions", "compare", "pool",
                                     "report", "simulate"])
def test_every_subcommand_help_has_an_example(command: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    text = capsys.readouterr().out
    assert "example:\n  metabridge " + command in text
