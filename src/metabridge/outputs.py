"""Output folders that never lose a user's file: :class:`OutputFolder`.

Every command that writes files (``metabridge reproduce --out DIR``, reports)
goes through one :class:`OutputFolder`.  Before any work it checks that the
folder can be written and that none of the files it will write would replace a
file metabridge did not write; while writing it records each file it wrote, with
its SHA-256, in ``.metabridge-manifest.json`` inside the folder.  A later run may
replace a file only if the manifest lists it and it is unchanged since (a report
the user edited is theirs); ``force=True`` (``--force``) overrides that.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Iterable
from os import PathLike
from pathlib import Path
from typing import Any

from .errors import OutputError

MANIFEST = ".metabridge-manifest.json"
#: Manifest value of a file metabridge began to write (a crash may leave it half-written).
PENDING = "pending"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class OutputFolder:
    """A folder metabridge writes into, replacing only files it wrote itself.

    >>> folder = OutputFolder("report")          # doctest: +SKIP
    >>> folder.check(["report.md", "figures/fig1.png"])   # before any work
    >>> folder.write_text("report.md", text)     # records the file in the manifest
    """

    def __init__(self, path: str | PathLike[str], *, force: bool = False) -> None:
        if not isinstance(path, str | PathLike):
            raise OutputError(f"the output folder must be a path, got {path!r}")
        if not str(path).strip():
            raise OutputError(
                "the output folder name is empty; name a folder, e.g. --out metabridge-report "
                "(an empty name would write into the current folder)"
            )
        self.path = Path(path)
        self.force = bool(force)

    def __repr__(self) -> str:
        return f"OutputFolder({str(self.path)!r}, force={self.force})"

    # ------------------------------------------------------------ checks
    def check(self, names: Iterable[str], subfolders: Iterable[str] = ()) -> None:
        """Raise :class:`OutputError` unless every file of ``names`` (paths relative to
        the folder) can be written without replacing a file metabridge did not write.

        Files already in ``subfolders`` (e.g. "figures", whose file names depend on the
        data) count as names too: every one must be metabridge's, unchanged.
        """
        if self.path.exists() and not self.path.is_dir():
            raise OutputError(f"output folder {str(self.path)!r} is a file; name a new or "
                              "existing folder")
        self._probe_writable()
        names = list(names)
        for sub in subfolders:
            if (self.path / sub).exists() and not (self.path / sub).is_dir():
                raise OutputError(f"{str(self.path / sub)!r} is a file; metabridge needs a "
                                  "folder there")
            if (self.path / sub).is_dir():
                names += [p.relative_to(self.path).as_posix()
                          for p in sorted((self.path / sub).rglob("*")) if p.is_file()]
        foreign, changed = [], []
        for name in dict.fromkeys(names):
            target = self._target(name)
            for parent in list(target.relative_to(self.path).parents)[:-1]:
                if (self.path / parent).exists() and not (self.path / parent).is_dir():
                    raise OutputError(f"{str(self.path / parent)!r} is a file; metabridge needs "
                                      "a folder there")
            if target.is_dir():
                raise OutputError(f"{str(target)!r} is a folder; metabridge needs to write a "
                                  "file there")
            if not self._replaceable(name):
                (changed if name in self._manifest() else foreign).append(name)
        if foreign or changed:
            held = "; ".join(
                f"{', '.join(files)} ({why})" for files, why in (
                    (foreign, "not written by metabridge"),
                    (changed, "changed since metabridge wrote it")) if files)
            raise OutputError(
                f"output folder {str(self.path)!r} already holds {held}; metabridge never "
                "overwrites such files: choose another folder, move them away, or pass --force "
                "(force=True)"
            )

    def _probe_writable(self) -> None:
        """Create and delete a temporary file where the folder is (or will be created)."""
        where = self.path
        while not where.exists():
            if where.parent == where:
                break
            where = where.parent
        if not where.is_dir():
            raise OutputError(
                f"cannot create output folder {str(self.path)!r}: {str(where)!r} is a file")
        try:
            with tempfile.TemporaryFile(dir=where):
                pass
        except OSError as exc:
            raise OutputError(
                f"cannot write to output folder {str(self.path)!r}: {str(where)!r} is not "
                "writable "
                f"({exc.strerror or exc})"
            ) from None

    def _target(self, name: str) -> Path:
        target = self.path / name
        if Path(name).is_absolute() or ".." in Path(name).parts or name == MANIFEST:
            raise OutputError(f"{name!r} is not a file name inside the output folder")
        return target

    def _manifest(self) -> dict[str, str]:
        try:
            data = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        files = data.get("files") if isinstance(data, dict) else None
        return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}

    def _replaceable(self, name: str) -> bool:
        target = self._target(name)
        if self.force or not target.exists():
            return True
        recorded = self._manifest().get(name)
        return recorded == PENDING or (recorded is not None and recorded == _digest(target))

    # ------------------------------------------------------------ writing
    def _record(self, name: str, value: str) -> None:
        files = self._manifest()
        files[name] = value
        manifest = {"written_by": "metabridge", "files": dict(sorted(files.items()))}
        (self.path / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n",
                                          encoding="utf-8")

    def write(self, name: str, writer: Callable[[Path], Any]) -> Path:
        """Call ``writer(path)`` for ``name`` inside the folder and record the file.

        Refuses (``OutputError``) to replace a file metabridge did not write; an
        operating-system error (disk full, permissions) becomes an ``OutputError``.
        """
        target = self._target(name)
        if not self._replaceable(name):
            raise OutputError(f"{str(target)!r} exists and metabridge did not write it "
                              "(or it changed since); not overwritten (pass --force, force=True)")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._record(name, PENDING)
            writer(target)
            self._record(name, _digest(target))
        except OSError as exc:
            raise OutputError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from exc
        return target

    def write_text(self, name: str, text: str) -> Path:
        """Write ``text`` (UTF-8) to ``name`` inside the folder."""
        return self.write(name, lambda path: path.write_text(text, encoding="utf-8"))
