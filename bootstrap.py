#!/usr/bin/env python3
"""Set up metabridge on a fresh machine, then run its main job.

    python3 bootstrap.py            # set up, then reproduce Cheng & Song 2025 on every engine
    python3 bootstrap.py --no-run   # set up only
    python3 bootstrap.py --require-all   # as CI: fail if any engine (R/metafor) is missing
    python3 bootstrap.py --browser       # also install chromium for the browser test (root)

Steps: (1) R with metafor: installed from Debian packages when missing and we are
root (apt-get), else a message saying what to install; with ``--browser`` also
Debian's chromium, which tests/test_browser.py drives headless to open the report
(playwright's own browser download is not used); (2) a virtual environment
in .venv with metabridge and its extras; (3) ``metabridge reproduce``, which
prints the published-vs-computed table and writes ./metabridge-report.
Needs only python3 (>= 3.11) to start.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
R_PACKAGES = ["r-base-core", "r-cran-metafor", "r-cran-metadat"]
APT = ["apt-get", "install", "-y", "--no-install-recommends", *R_PACKAGES]  # as printed


def say(message: str) -> None:
    print(f"[bootstrap] {message}", flush=True)


def run(command: list[str], **kwargs: object) -> None:
    say("$ " + " ".join(command))
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def metafor_ready() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(
        ["Rscript", "-e", "suppressPackageStartupMessages(library(metafor))"],
        capture_output=True, check=False,
    )
    return probe.returncode == 0


def ensure_r() -> bool:
    """True when R with metafor is usable (installing it if we can)."""
    if metafor_ready():
        say("R with metafor found.")
        return True
    if can_apt():
        apt_install(R_PACKAGES)
        if metafor_ready():
            return True
    say("R with the metafor package is not available, so the metafor engine will be missing.")
    say("Install it with:  sudo " + " ".join(APT))
    say("(or install R and run install.packages(c('metafor', 'metadat')) in R), then rerun.")
    say("Continuing with the statsmodels and PythonMeta engines.")
    return False


BROWSER = "/usr/bin/chromium"


def ensure_browser() -> bool:
    """True when headless chromium is installed for the browser test (installing it if root)."""
    if Path(BROWSER).exists():
        say("chromium found.")
        return True
    if can_apt():
        apt_install(["chromium"])
        if Path(BROWSER).exists():
            return True
    say("chromium is not available, so tests/test_browser.py will skip.")
    say("Install it with:  sudo apt-get install -y chromium")
    return False


def can_apt() -> bool:
    return shutil.which("apt-get") is not None and hasattr(os, "geteuid") and os.geteuid() == 0


def apt_install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update"], env=env)
    run(["apt-get", "install", "-y", "--no-install-recommends", *packages], env=env)


def ensure_venv(with_r: bool) -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        made = subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=False)
        if made.returncode != 0:  # Debian's python3 without ensurepip
            shutil.rmtree(VENV, ignore_errors=True)
            if not can_apt():
                raise SystemExit("[bootstrap] python3 cannot create a virtual environment; "
                                 "install it with: sudo apt-get install python3-venv")
            apt_install(["python3-venv"])
            run([sys.executable, "-m", "venv", str(VENV)])
    run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    extras = "all,dev" if with_r else "pythonmeta,dev"
    run([str(python), "-m", "pip", "install", "--quiet", f"{ROOT}[{extras}]"])
    return python


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-run", action="store_true", help="set up only")
    parser.add_argument("--require-all", action="store_true",
                        help="fail if R/metafor cannot be set up or any engine is missing")
    parser.add_argument("--browser", action="store_true",
                        help="install chromium for the browser test (apt, as root); with "
                        "--require-all, fail without it")
    args = parser.parse_args()
    if sys.version_info < (3, 11):  # noqa: UP036 (runs under any python3)
        say(f"metabridge needs Python >= 3.11; this is {sys.version.split()[0]}.")
        return 1
    with_r = ensure_r()
    if args.require_all and not with_r:
        return 1
    if args.browser and not ensure_browser() and args.require_all:
        return 1
    python = ensure_venv(with_r)
    if args.no_run:
        say(f"Set up in {VENV}. Run: {VENV}/bin/metabridge reproduce")
        return 0
    command = [str(python), "-m", "metabridge", "reproduce", "--out",
               str(ROOT / "metabridge-report")]
    if args.require_all:
        command.append("--require-all")
    say("$ " + " ".join(command))
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
