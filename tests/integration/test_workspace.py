"""Workspace writes on a real filesystem."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from runwright.errors import WorkspaceError
from runwright.workspace import FileWrite, Workspace


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    path.mkdir()
    return path


def leftovers(root: Path) -> list[str]:
    return [p.name for p in root.rglob("*") if p.name.endswith(".tmp")]


def test_root_is_resolved(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert Workspace(tmp_path / "link").root == (tmp_path / "real").resolve()


def test_write_results_and_hashes(root: Path) -> None:
    ws = Workspace(root)
    created = ws.write("a/b/c.txt", "one")
    assert created == FileWrite("a/b/c.txt", sha(b"one"), 3, "created")
    assert (root / "a" / "b" / "c.txt").read_text() == "one"

    overwritten = ws.write(Path("a/b/c.txt"), b"two!")
    assert overwritten == FileWrite("a/b/c.txt", sha(b"two!"), 4, "overwritten")
    assert ws.read_text("a/b/c.txt") == "two!"


def test_identical_content_leaves_the_file_untouched(root: Path) -> None:
    ws = Workspace(root)
    ws.write("f.txt", "same")
    before = (root / "f.txt").stat()
    os.utime(root / "f.txt", ns=(before.st_atime_ns, before.st_mtime_ns - 10**9))
    before = (root / "f.txt").stat()
    result = ws.write("f.txt", "same")
    after = (root / "f.txt").stat()
    assert result == FileWrite("f.txt", sha(b"same"), 4, "nochange")
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)


def test_encoding(root: Path) -> None:
    ws = Workspace(root)
    result = ws.write("latin.txt", "café", encoding="latin-1")
    assert (root / "latin.txt").read_bytes() == "café".encode("latin-1")
    assert result.bytes == 4


def test_append(root: Path) -> None:
    ws = Workspace(root)
    assert ws.append("log/x.log", "a\n").result == "created"
    second = ws.append("log/x.log", b"b\n")
    assert second == FileWrite("log/x.log", sha(b"a\nb\n"), 4, "appended")
    assert ws.append("log/x.log", "").result == "nochange"
    assert ws.read_text("log/x.log") == "a\nb\n"


def test_overwrite_keeps_the_file_mode(root: Path) -> None:
    ws = Workspace(root)
    ws.write("run.sh", "#!/bin/sh\n")
    (root / "run.sh").chmod(0o750)
    ws.write("run.sh", "#!/bin/sh\necho hi\n")
    assert (root / "run.sh").stat().st_mode & 0o777 == 0o750


def test_new_files_follow_the_umask(root: Path) -> None:
    Workspace(root).write("new.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (root / "new.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_writes_are_atomic_and_leave_no_temp_files(root: Path) -> None:
    ws = Workspace(root)
    ws.write("d/f.txt", "1")
    ws.write("d/f.txt", "2")
    ws.write("d/f.txt", "2")
    ws.append("d/f.txt", "3")
    assert leftovers(root) == []
    assert sorted(p.name for p in (root / "d").iterdir()) == ["f.txt"]


def test_failed_write_leaves_no_temp_file(root: Path) -> None:
    ws = Workspace(root)
    (root / "adir").mkdir()
    (root / "adir" / "inner").write_text("keep")
    with pytest.raises(WorkspaceError, match="cannot write 'adir'"):
        ws.write("adir", "x")
    assert leftovers(root) == []
    assert (root / "adir" / "inner").read_text() == "keep"


def test_on_write_is_called_after_each_write(root: Path) -> None:
    seen: list[tuple[FileWrite, str]] = []
    ws = Workspace(root, on_write=lambda w: seen.append((w, (root / w.path).read_text())))
    ws.write("a.txt", "1")
    ws.write("a.txt", "1")
    ws.append("a.txt", "2")
    # The callback sees the file already in its final state.
    assert [(w.result, text) for w, text in seen] == [
        ("created", "1"),
        ("nochange", "1"),
        ("appended", "12"),
    ]


def test_on_write_not_called_when_refused(root: Path) -> None:
    seen: list[FileWrite] = []
    ws = Workspace(root, on_write=seen.append)
    with pytest.raises(WorkspaceError):
        ws.write("../x", "1")
    assert seen == []


@pytest.mark.parametrize("path", ["../escape.txt", "a/../../escape.txt", ".."])
def test_refuses_parent_escapes(root: Path, path: str) -> None:
    ws = Workspace(root)
    with pytest.raises(WorkspaceError) as info:
        ws.write(path, "x")
    message = str(info.value)
    assert repr(path) in message or f"'{path}'" in message
    assert str(root.resolve()) in message
    assert "relative to the workspace root" in message
    assert not (root.parent / "escape.txt").exists()


def test_dotdot_that_stays_inside_is_allowed(root: Path) -> None:
    assert Workspace(root).write("a/../b.txt", "x").path == "b.txt"


def test_refuses_absolute_paths_outside(root: Path, tmp_path: Path) -> None:
    ws = Workspace(root)
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        ws.write(tmp_path / "elsewhere.txt", "x")
    with pytest.raises(WorkspaceError):
        ws.read_text("/etc/hostname")
    assert ws.write(root / "inside.txt", "x").path == "inside.txt"


def test_refuses_symlinks_pointing_outside(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "linkdir").symlink_to(outside)
    (root / "dangling").symlink_to(outside / "new.txt")
    ws = Workspace(root)
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        ws.write("linkdir/x.txt", "x")
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        ws.append("dangling", "x")
    assert list(outside.iterdir()) == []


def test_symlink_inside_is_followed(root: Path) -> None:
    (root / "real").mkdir()
    (root / "alias").symlink_to(root / "real")
    assert Workspace(root).write("alias/f.txt", "x").path == "real/f.txt"


def test_read_missing_file(root: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"cannot read 'nope\.txt'"):
        Workspace(root).read_text("nope.txt")
