"""``sandbox: bwrap``: the agent runs in bubblewrap (real bwrap; required under CI)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_agent_step import configure, pipeline, start

from agenttools import log_lines, make_repo, require_bwrap, user_state
from clitools import wait_until
from runwright.agents.sandbox import PACKAGE, find_bwrap
from runwright.errors import FatalStepError
from runwright.states import RunStatus


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections (the host's network)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def steps(logs: Path, probe: str, extra: str = "") -> str:
    # The log directory is declared writable: the one place outside the worktree it may write.
    return (
        "  - id: a\n    uses: agent\n    with:\n      agent: fake\n      prompt: go\n"
        f"      sandbox: bwrap\n      writable: ['{logs}']\n{extra}"
        f"      env: {{AGENTPROG_LOG: '{logs / 'a.log'}', AGENTPROG_PROBE: '{probe}', "
        "AGENTPROG_EDIT: ''}\n"
    )


async def test_the_sandbox_blocks_the_network_and_writes_outside_the_worktree(
    tmp_path: Path, listener: int
) -> None:
    require_bwrap()
    repo = make_repo(tmp_path / "repo")
    logs = tmp_path / "logs"
    logs.mkdir()
    outside = tmp_path / "outside.txt"
    readme = repo / "README.md"
    probe = (
        f"connect:127.0.0.1:{listener};connect:127.0.0.1:5432;"
        f"write:{outside};write:{readme};write:inside.txt"
    )
    pipe = pipeline(tmp_path, steps(logs, probe))
    before = user_state(repo)
    result, outputs, _ = await start(configure(tmp_path), pipe)
    assert result.status is RunStatus.SUCCEEDED, result
    [run] = log_lines(logs / "a.log")
    seen = run["probes"]
    assert seen[f"connect:127.0.0.1:{listener}"].startswith("error")
    assert seen["connect:127.0.0.1:5432"].startswith("error")
    assert seen[f"write:{readme}"].startswith("error")
    assert seen["write:inside.txt"] == "ok"
    # Writes outside the worktree never land: /tmp is private, the repository read-only.
    assert not outside.exists()
    assert user_state(repo) == before
    assert outputs["a"]["files"] == ["inside.txt"]


async def test_network_true_lets_the_sandboxed_agent_connect(tmp_path: Path, listener: int) -> None:
    require_bwrap()
    make_repo(tmp_path / "repo")
    logs = tmp_path / "logs"
    logs.mkdir()
    probe = f"connect:127.0.0.1:{listener}"
    pipe = pipeline(tmp_path, steps(logs, probe, "      network: true\n"))
    result, _, _ = await start(configure(tmp_path), pipe)
    assert result.status is RunStatus.SUCCEEDED, result
    [run] = log_lines(logs / "a.log")
    assert run["probes"][probe] == "ok"


def test_missing_bwrap_names_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(FatalStepError) as info:
        find_bwrap({"PATH": str(tmp_path)}, where="step 'a'")
    message = str(info.value)
    assert f"apt-get install {PACKAGE}" in message and "sandbox: none" in message


async def test_the_timeout_kills_everything_inside_the_sandbox(tmp_path: Path) -> None:
    require_bwrap()
    make_repo(tmp_path / "repo")
    marker = f"hang-{tmp_path.name}"
    child = tmp_path / "logs" / "child.pid"
    child.parent.mkdir()
    pipe = pipeline(
        tmp_path,
        "  - id: a\n    uses: agent\n    with:\n      agent: fake\n"
        f"      prompt: {marker}\n      sandbox: bwrap\n      timeout: 1\n"
        f"      writable: ['{child.parent}']\n"
        f"      env: {{AGENTPROG_HANG: '1', AGENTPROG_CHILD: '{child}'}}\n",
    )
    result, _, _ = await start(configure(tmp_path), pipe)
    assert result.status is RunStatus.FAILED
    assert child.exists()  # the grandchild had started, inside the sandbox
    assert wait_until(lambda: not _running(marker), 10), "a sandboxed process survived"


def _running(marker: str) -> bool:
    """Whether any live process has ``marker`` in its command line."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                state = (entry / "stat").read_text().split(") ")[1][0]
                if state != "Z":
                    return True
        except OSError:
            continue
    return False
