"""``sandbox: bwrap``: run an agent inside bubblewrap.

The whole file system is mounted read-only, then the worktree (and the paths the
step declares ``writable``) read-write on top; ``/tmp`` is a private tmpfs; the
network is unshared unless the step allows it (``network: true``). The agent
gets its own PID namespace (``--unshare-pid``): when bwrap dies, everything in
the sandbox dies with it, so killing bwrap's process group kills the agent's
whole tree even though ``--new-session`` puts it in a session of its own (which
keeps it from injecting keystrokes into the terminal runwright runs in).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from runwright.errors import FatalStepError

#: The Debian/Ubuntu package that provides bwrap.
PACKAGE = "bubblewrap"


@dataclass(frozen=True, slots=True)
class SandboxSpec:
    """What the sandbox lets the agent touch."""

    #: Directories the agent may write (the worktree first).
    writable: tuple[Path, ...]
    #: Directories that stay visible read-only even under the private /tmp.
    readable: tuple[Path, ...] = ()
    network: bool = False


def find_bwrap(env: Mapping[str, str], *, where: str) -> str:
    """The bwrap executable, or a :class:`FatalStepError` saying how to install it."""
    found = shutil.which("bwrap", path=env.get("PATH", "/usr/bin:/bin"))
    if found is None:
        raise FatalStepError(
            f"{where}: sandbox: bwrap needs bubblewrap, which is not installed "
            f"(no 'bwrap' on PATH); install the Debian package '{PACKAGE}' "
            f"(apt-get install {PACKAGE}) or set sandbox: none"
        )
    return found


def wrap(bwrap: str, argv: Sequence[str], spec: SandboxSpec, *, cwd: Path) -> tuple[str, ...]:
    """``argv`` run inside bubblewrap as ``spec`` describes, starting in ``cwd``."""
    out = [
        bwrap,
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
    ]
    # After the tmpfs: a repository or worktree under /tmp must stay visible.
    for path in spec.readable:
        out += ["--ro-bind", str(path), str(path)]
    for path in spec.writable:
        out += ["--bind", str(path), str(path)]
    if not spec.network:
        out.append("--unshare-net")
    out += [
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--new-session",
        "--setenv",
        "TMPDIR",
        "/tmp",
        "--chdir",
        str(cwd),
        "--",
        *argv,
    ]
    return tuple(out)
