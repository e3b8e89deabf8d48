"""Are engines registered, probed and reported honestly, and their quirks contained?"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import metabridge as mb
from metabridge.backends import REGISTRY, get_backend
from metabridge.conventions import CONVENTIONS

#: Q < df: three nearly identical estimates with wide CIs.
HOMOGENEOUS = dict(yi=[0.10, 0.11, 0.12], sei=[0.3, 0.3, 0.3])


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        env={**os.environ, **env}, check=False, timeout=300,
    )


def test_registry_and_capabilities() -> None:
    table = mb.capabilities()
    assert list(table.index) == list(REGISTRY) == ["statsmodels", "pythonmeta", "metafor",
                                                   "pymare", "pimeta"]
    assert table.loc["statsmodels", ["FE", "DL", "PM"]].all()
    assert not table.loc["statsmodels", "REML"]
    assert table.loc["pythonmeta", ["FE", "DL"]].all()
    assert not table.loc["pythonmeta", "PM"]
    assert table.loc["metafor", ["FE", "DL", "REML", "PM", "SJ", "EB"]].all()
    assert table.loc["pimeta", ["FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"]].all()
    assert not table.loc["pimeta", ["HSk", "PMM"]].any()


def test_unknown_names_are_clear_errors() -> None:
    studies = mb.datasets.bcg()
    with pytest.raises(mb.UnknownBackendError, match="registered: statsmodels, pythonmeta"):
        mb.pool(studies, "DL", "stata")
    with pytest.raises(mb.UnknownMethodError, match="metabridge knows: FE, DL"):
        mb.pool(studies, "DerSimonian", "statsmodels")


def test_method_an_engine_lacks_names_the_engines_that_have_it() -> None:
    with pytest.raises(mb.UnsupportedMethodError) as info:
        mb.pool(mb.datasets.bcg(), "REML", "statsmodels")
    assert info.value.supported_by == ("metafor", "pymare", "pimeta")
    with pytest.raises(mb.UnsupportedMethodError, match="statsmodels, metafor"):
        mb.pool(mb.datasets.bcg(), "PM", "pythonmeta")


def test_method_names_are_case_insensitive() -> None:
    assert mb.pool(mb.datasets.bcg(), "dl", "statsmodels").method == "DL"


def test_statsmodels_dl_is_truncated_at_zero_and_says_so() -> None:
    studies = mb.StudySet.from_effects(**HOMOGENEOUS)
    result = mb.pool(studies, "DL", "statsmodels")
    assert result.extra["tau2_untruncated"] < 0  # statsmodels' own value
    assert result.tau2 == 0.0
    fe = mb.pool(studies, "FE", "statsmodels")
    assert result.estimate == fe.estimate
    assert result.se == fe.se
    assert "statsmodels.dl_untruncated" in result.conventions
    assert result.extra["i2_untruncated"] < 0
    assert result.i2 == 0.0


def test_derived_statistics_are_labelled() -> None:
    result = mb.pool(mb.datasets.bcg(), "DL", "statsmodels")
    assert result.derived == {"z", "p", "pi_low", "pi_high", "ci_low", "ci_high", "q_p"}
    assert ("Computed by metabridge, not by statsmodels: ci_high, ci_low, p, pi_high, pi_low, "
            "q_p, z" in result.summary())
    pm = mb.pool(mb.datasets.bcg(), "DL", "pythonmeta")
    assert {"z", "p", "q_p", "h2"} <= pm.derived
    assert isinstance(pm.extra["p_engine"], str)  # PythonMeta's table-interpolated string


def test_every_convention_attached_to_a_result_is_documented() -> None:
    keys = {c.key for c in CONVENTIONS}
    for engine in mb.available_backends():
        for method in sorted(get_backend(engine).methods):
            result = mb.pool(mb.datasets.bcg(), method, engine)
            assert set(result.conventions) <= keys
            assert all(note.startswith("[") for note in result.notes)


def test_disabling_r_leaves_the_python_engines_working() -> None:
    proc = run_python(
        """
        import json, metabridge as mb
        status = mb.backend_status().set_index("backend")
        r = mb.pool(mb.datasets.bcg(), "DL", "statsmodels")
        p = mb.pool(mb.datasets.bcg(), "DL", "pythonmeta")
        try:
            mb.pool(mb.datasets.bcg(), "DL", "metafor")
            err = None
        except mb.BackendUnavailableError as exc:
            err = str(exc)
        print(json.dumps({"available": list(mb.available_backends()),
                          "reason": status.loc["metafor", "reason"], "error": err,
                          "same": abs(r.estimate - p.estimate) < 1e-12}))
        """,
        METABRIDGE_DISABLE_R="1",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["available"] == ["statsmodels", "pythonmeta", "pymare", "pimeta"]
    assert "METABRIDGE_DISABLE_R" in out["reason"]
    assert out["error"].startswith("backend 'metafor' is not available: disabled by")
    assert out["same"]


def test_missing_rpy2_is_reported_with_what_to_install() -> None:
    proc = run_python(
        """
        import sys
        sys.modules["rpy2"] = None  # as if rpy2 were not installed
        import metabridge as mb
        print(mb.backend_status().set_index("backend").loc["metafor", "reason"])
        print(mb.available_backends())
        """
    )
    assert proc.returncode == 0, proc.stderr
    reason, available = proc.stdout.strip().splitlines()[-2:]
    assert "rpy2 is not installed" in reason
    assert "metabridge[r]" in reason
    assert "metafor" not in available


def test_missing_pythonmeta_is_reported() -> None:
    proc = run_python(
        """
        import sys
        sys.modules["PythonMeta"] = None
        import metabridge as mb
        print(mb.backend_status().set_index("backend").loc["pythonmeta", "reason"])
        print(mb.pool(mb.datasets.bcg(), "FE", "statsmodels").k)
        """
    )
    assert proc.returncode == 0, proc.stderr
    reason, k = proc.stdout.strip().splitlines()[-2:]
    assert "metabridge[pythonmeta]" in reason
    assert k == "13"


def test_pythonmeta_does_not_touch_the_users_logging() -> None:
    proc = run_python(
        """
        import logging, json
        root = logging.getLogger()
        before = (root.level, list(root.handlers))
        import metabridge as mb
        mb.pool(mb.datasets.bcg(), "DL", "pythonmeta")
        after = (root.level, list(root.handlers))
        print(json.dumps({"same": before == after, "level": root.level,
                          "handlers": len(root.handlers)}))
        """
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"same": True, "level": 30, "handlers": 0}


@pytest.mark.parametrize(("error", "expected"), [
    (ImportError("/usr/lib/R/lib/libR.so: undefined symbol: R_getVar"),
     "rpy2 does not fit the installed R"),
    (RuntimeError("R_HOME not defined, and no R command in the PATH."),
     "R is not installed or not on PATH"),
    (OSError("cannot load library 'libR.so'"), "R is not installed or not on PATH"),
    (RuntimeError("something else"), "rpy2 could not start R"),
])
def test_rpy2_failures_are_explained(error: BaseException, expected: str) -> None:
    from metabridge.backends.metafor import _explain_rpy2_failure

    reason = _explain_rpy2_failure(error)
    assert reason.startswith(expected)
    assert str(error) in reason


def test_missing_metafor_package_is_explained(metafor: str, tmp_path, monkeypatch) -> None:
    from metabridge.backends import metafor as adapter

    script = tmp_path / "metabridge.R"
    script.write_text("suppressPackageStartupMessages(library(metafor_is_not_installed))\n")
    monkeypatch.setattr(adapter, "r_script", lambda: script)
    reason = adapter._start()
    assert isinstance(reason, str)
    assert reason.startswith("the R package metafor is not installed")
    assert "r-cran-metafor" in reason


def test_metafor_runs_from_another_thread(metafor: str) -> None:
    """Dask runs tasks in worker threads; rpy2 keeps its conversion rules in a
    ContextVar that a new thread starts without (NotImplementedError before the fix)."""
    import threading

    import numpy as np

    from metabridge.methods import METHODS

    rng = np.random.default_rng(3)
    y, v = rng.normal(size=(4, 5)), rng.uniform(0.01, 0.1, size=(4, 5))
    engine = get_backend(metafor)
    here = engine.pool_batch(y, v, METHODS["DL"], 0.95).estimate
    there: list = []
    thread = threading.Thread(target=lambda: there.append(
        engine.pool_batch(y, v, METHODS["DL"], 0.95).estimate))
    thread.start()
    thread.join()
    assert there, "pool_batch raised in the thread"
    assert np.array_equal(there[0], here)  # same R, same data: the same numbers


def test_starting_r_leaves_child_processes_environment_alone(metafor: str) -> None:
    """rpy2 prepends R's and the system's library folders to LD_LIBRARY_PATH after R is
    loaded; a child Python (a Dask worker) inheriting it may load another libpython."""
    proc = run_python(
        """
        import os
        before = os.environ.get("LD_LIBRARY_PATH")
        import metabridge as mb
        assert "metafor" in mb.available_backends()
        print(repr(before == os.environ.get("LD_LIBRARY_PATH")))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "True"
