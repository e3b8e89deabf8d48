"""Files shipped beside the code: the R side (``r/``) and the validation targets.

An installed wheel carries them inside the package (``metabridge/_r``,
``metabridge/_validation``); a source checkout has them at the repository root.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent  # src/metabridge -> repository root


def _first_existing(*candidates: Path) -> Path:
    for path in candidates:
        if path.exists():
            return path
    raise FileNotFoundError(
        "metabridge resource not found; looked in: " + ", ".join(str(p) for p in candidates)
    )


def r_script() -> Path:
    """Path of ``metabridge.R``."""
    return _first_existing(_PACKAGE / "_r" / "metabridge.R", _CHECKOUT / "r" / "metabridge.R")


def targets_file() -> Path:
    """Path of the published targets, ``validation/targets.toml``."""
    return _first_existing(
        _PACKAGE / "_validation" / "targets.toml", _CHECKOUT / "validation" / "targets.toml"
    )
