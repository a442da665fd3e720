"""The workspace: the one directory tree a run's steps may write files into.

Every write goes through :class:`Workspace`, which refuses paths that escape the
root (``..``, absolute paths elsewhere, symlinks pointing out), writes
atomically, and reports each change so the engine can record a ``file.written``
event.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from runwright.errors import WorkspaceError

WriteResult = Literal["created", "overwritten", "appended", "nochange"]


@dataclass(frozen=True, slots=True)
class FileWrite:
    """One completed write, as reported to ``on_write``."""

    #: Relative to the workspace root, posix separators.
    path: str
    #: sha256 hex of the whole file content after the write.
    sha256: str
    #: Size of the file after the write.
    bytes: int
    result: WriteResult


class Workspace:
    """A directory tree that step writes are confined to.

    ``on_write`` is called after each successful write (including ``nochange``
    ones, so a step's intended files are all on record).
    """

    def __init__(self, root: Path, *, on_write: Callable[[FileWrite], None] | None = None) -> None:
        self.root: Path = Path(root).resolve()
        self._on_write = on_write

    def bind(self, on_write: Callable[[FileWrite], None] | None) -> Workspace:
        """The same root with another write observer, without resolving the root again."""
        bound = object.__new__(Workspace)
        bound.root = self.root
        bound._on_write = on_write
        return bound

    def resolve(self, path: str | Path) -> Path:
        """Return the absolute, symlink-free path for ``path``, refusing anything outside root.

        Relative paths start at the root. ``..`` segments and symlinks are followed
        first and the result must still lie inside the root, so ``a/../b`` is fine
        but ``../b`` and a link to ``/etc`` are not.
        """
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        # realpath also follows dangling symlinks, so a link to a not-yet-existing
        # file outside the root is caught before anything is created there.
        resolved = Path(os.path.realpath(candidate))
        if not resolved.is_relative_to(self.root):
            raise WorkspaceError(
                f"path '{path}' resolves to '{resolved}', which is outside the workspace "
                f"'{self.root}'; use a path relative to the workspace root and do not "
                "follow '..' or symlinks out of it",
                path=str(path),
                root=str(self.root),
            )
        return resolved

    def write(
        self, path: str | Path, content: str | bytes, *, encoding: str = "utf-8"
    ) -> FileWrite:
        """Atomically replace the file at ``path`` with ``content``.

        Identical content leaves the file untouched (result ``nochange``), so
        mtimes stay meaningful to build tools watching the tree.
        """
        target = self.resolve(path)
        data = content.encode(encoding) if isinstance(content, str) else content
        try:
            st = _stat_or_none(target)
            # Compare sizes first so a large file with other content is never read.
            if st is not None and st.st_size == len(data) and target.read_bytes() == data:
                return self._report(target, data, "nochange")
            target.parent.mkdir(parents=True, exist_ok=True)
            replace_atomically(target, data, mode=None if st is None else stat.S_IMODE(st.st_mode))
        except OSError as exc:
            raise self._failed("write", path, exc) from exc
        return self._report(target, data, "created" if st is None else "overwritten")

    def append(
        self, path: str | Path, content: str | bytes, *, encoding: str = "utf-8"
    ) -> FileWrite:
        """Append ``content`` to the file at ``path``, creating it (and its parents) if needed."""
        target = self.resolve(path)
        data = content.encode(encoding) if isinstance(content, str) else content
        try:
            existed = target.exists()
            if existed and not data:
                return self._report(target, target.read_bytes(), "nochange")
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("ab") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if not existed:
                _fsync_dir(target.parent)
            whole = target.read_bytes()
        except OSError as exc:
            raise self._failed("append to", path, exc) from exc
        return self._report(target, whole, "appended" if existed else "created")

    def read_text(self, path: str | Path, *, encoding: str = "utf-8") -> str:
        """Read a file inside the workspace as text."""
        target = self.resolve(path)
        try:
            return target.read_text(encoding=encoding)
        except OSError as exc:
            raise self._failed("read", path, exc) from exc

    def _report(self, target: Path, data: bytes, result: WriteResult) -> FileWrite:
        written = FileWrite(
            path=target.relative_to(self.root).as_posix(),
            sha256=hashlib.sha256(data).hexdigest(),
            bytes=len(data),
            result=result,
        )
        if self._on_write is not None:
            self._on_write(written)
        return written

    def _failed(self, verb: str, path: str | Path, exc: OSError) -> WorkspaceError:
        reason = exc.strerror or str(exc)
        return WorkspaceError(
            f"cannot {verb} '{path}' in workspace '{self.root}': {reason}; "
            "check that the path is a file (not a directory) and that it is writable",
            path=str(path),
            root=str(self.root),
        )


def _stat_or_none(target: Path) -> os.stat_result | None:
    try:
        return target.stat()
    except FileNotFoundError:
        return None


def replace_atomically(target: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``target`` atomically and durably (temp file, fsync, rename)."""
    # The temp file lives next to the target so os.replace never crosses a
    # filesystem (and is atomic); O_EXCL with a random name avoids clobbering a
    # concurrent writer's temp file, and 0o666 lets the umask decide new files' mode.
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            os.fsync(fh.fileno())
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    # Without this a crash can lose the rename (or the new directory entry) even
    # though the file content itself was synced.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the write still happened
    finally:
        os.close(fd)
