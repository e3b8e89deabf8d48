"""nox sessions: tests, validate (cross-engine reproduction), lint, bench.

R with metafor must be installed on the machine for the metafor engine
(``python3 bootstrap.py --no-run`` installs it on Debian when run as root).
"""

from __future__ import annotations

import shutil

import nox

nox.options.sessions = ["lint", "tests", "validate"]
nox.options.reuse_existing_virtualenvs = True

EXTRAS = "all,dev" if shutil.which("R") else "pythonmeta,dev"


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (README's test command), on every installed engine."""
    session.install(f".[{EXTRAS}]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def validate(session: nox.Session) -> None:
    """Every published target on every engine; exit 1 on FAIL (or missing engine in CI)."""
    session.install(f".[{EXTRAS}]")
    session.run("python", "validation/validate.py", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the whole tree."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session
def bench(session: nox.Session) -> None:
    """Speed and memory figures (printed, never asserted)."""
    session.install(f".[{EXTRAS}]", "pymare")
    session.run("python", "validation/bench.py", *session.posargs)
