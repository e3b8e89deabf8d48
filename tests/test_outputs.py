"""Does metabridge ever lose a user's file, and are its exit statuses what it documents?

``metabridge reproduce --out DIR`` checks every argument before any work (a wrong
``--out`` or ``--format`` costs no engine time and writes nothing), records what it
writes in ``DIR/.metabridge-manifest.json``, and replaces only files the manifest
lists unchanged (``--force`` overrides).  Exit status: 0 all PASS, 1 a FAIL, 2 a
usage or input/output error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import need

from metabridge import cli
from metabridge.errors import OutputError
from metabridge.outputs import MANIFEST, PENDING, OutputFolder

README = Path(__file__).resolve().parents[1] / "README.md"


def run_cli(argv: list[str]) -> int:
    """The exit status of ``metabridge ARGV`` (argparse exits itself for --help and usage)."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any engine work (reproduce) fails the test: the checks must come first."""
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("reproduce() ran although an argument was wrong")

    monkeypatch.setattr("metabridge.reproduce.reproduce", forbidden)


@pytest.mark.usefixtures("no_work")
@pytest.mark.parametrize("argv", [
    ["--out", ""], ["--out", "notes.txt"], ["--out", "."], ["--out", "/proc/report"],
    ["--format", "pdf"], ["--format", "md,pdf"], ["--backend", "stata"], ["--bogus"],
])
def test_usage_errors_exit_2_before_any_work(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("report.md").write_text("my own notes", encoding="utf-8")
    Path("notes.txt").write_text("mine", encoding="utf-8")
    assert run_cli(["reproduce", *argv]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(("metabridge: error:", "usage:"))
    assert Path("report.md").read_text(encoding="utf-8") == "my own notes"
    assert Path("notes.txt").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "report.md"]


def test_help_documents_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["reproduce", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--force" in text
    for code, meaning in (("0", "PASS"), ("1", "FAIL"), ("2", "usage or input/output error")):
        assert any(line.strip().startswith(code) and meaning in line
                   for line in text.splitlines()), (code, meaning)
    readme = README.read_text(encoding="utf-8")
    assert "--force" in readme
    assert "exit status" in readme.lower()


def test_reproduce_rewrites_its_own_files_and_refuses_edited_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    need("statsmodels")
    out = tmp_path / "report"
    argv = ["reproduce", "--backend", "statsmodels", "--format", "csv", "--out", str(out)]
    assert cli.main(argv) == cli.EXIT_PASS
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest["files"]) == {"targets.csv", "numbers.csv"}
    assert cli.main(argv) == cli.EXIT_PASS  # its own, unchanged files: replaced
    (out / "targets.csv").write_text("edited by hand\n", encoding="utf-8")
    capsys.readouterr()
    assert cli.main(argv) == cli.EXIT_USAGE
    assert "targets.csv (changed since metabridge wrote it)" in capsys.readouterr().err
    assert (out / "targets.csv").read_text(encoding="utf-8") == "edited by hand\n"
    assert cli.main([*argv, "--force"]) == cli.EXIT_PASS
    assert (out / "targets.csv").read_text(encoding="utf-8").startswith("outcome,")


def test_output_folder_records_and_guards_every_file(tmp_path: Path) -> None:
    folder = OutputFolder(tmp_path / "out")
    folder.check(["a.md", "figures/b.png"])
    assert not (tmp_path / "out").exists()  # checking writes nothing
    folder.write_text("a.md", "one")
    folder.write("figures/b.png", lambda path: path.write_bytes(b"\x89PNG"))
    folder.write_text("a.md", "two")  # unchanged since written: replaced
    assert (tmp_path / "out" / "a.md").read_text(encoding="utf-8") == "two"
    (tmp_path / "out" / "user.txt").write_text("the user's", encoding="utf-8")
    with pytest.raises(OutputError, match=r"already holds user.txt \(not written by"):
        folder.check(["a.md", "user.txt"])
    with pytest.raises(OutputError, match="exists and metabridge did not write it"):
        folder.write_text("user.txt", "clobbered")
    assert (tmp_path / "out" / "user.txt").read_text(encoding="utf-8") == "the user's"
    OutputFolder(tmp_path / "out", force=True).write_text("user.txt", "forced")
    assert (tmp_path / "out" / "user.txt").read_text(encoding="utf-8") == "forced"


def test_a_half_written_file_stays_metabridges(tmp_path: Path) -> None:
    """A write that failed midway leaves the file marked as metabridge's (pending), so the
    next run may replace it; the failure itself is an OutputError, not a traceback."""
    folder = OutputFolder(tmp_path)

    def fail(path: Path) -> None:
        path.write_text("half", encoding="utf-8")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match=r"cannot write .*a.md.*No space left on device"):
        folder.write("a.md", fail)
    assert json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))["files"] == {
        "a.md": PENDING}
    folder.check(["a.md"])
    folder.write_text("a.md", "whole")


@pytest.mark.parametrize("name", ["../escape.md", "/etc/passwd", MANIFEST])
def test_names_stay_inside_the_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(OutputError, match="is not a file name inside the output folder"):
        OutputFolder(tmp_path).check([name])
