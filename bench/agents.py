"""Agent steps: runwright's cost per agent step over running the agent program bare.

    .venv/bin/python bench/agents.py [FILES]     # a repository of FILES files (default 1000)

First a worktree of the repository made and removed ten times, by bare git
(`git worktree add` + `git worktree remove`) and by runwright (runwright.repo.worktree:
the lock, the exclude file, the recorded base), interleaved so both see the same disk.

Eight agent steps (the tests' agent program, tests/agentprog.py: it writes a file and
prints Claude-Code-style JSON) in one run, in process (no CLI start-up), against the
same eight commands in a shell loop: at concurrency 8 on a fresh repository (every
step checks out its worktree), at concurrency 8 again (the steady state of a worker:
each step takes over a tree of a finished run) and at concurrency 1. Each agent step
also gets its git worktree, commits and diffs the agent's change, and records the cost
and the patch. Numbers are reported, never asserted.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AGENT = HERE.parent / "tests" / "agentprog.py"
N = 8


def make_repo(path: Path, files: int) -> None:
    path.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b"}
    env |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}
    for i in range(files):
        (path / f"f{i}.txt").write_text(f"{i}\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True)


async def engine_run(root: Path, concurrency: int, tag: str) -> float:
    from runwright.api import Session
    from runwright.settings import Settings

    steps = "".join(
        f"  - {{id: a{i}, uses: agent, with: {{agent: fake, prompt: p{i}, "
        f"env: {{AGENTPROG_EDIT: 'out{i}.txt=x'}}}}}}\n"
        for i in range(N)
    )
    pipe = root / "repo" / f"{tag}.yaml"
    pipe.write_text("name: bench\nsteps:\n" + steps)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNWRIGHT_")}
    settings = Settings.from_env(env, cwd=root, db=str(root / "db.sqlite"))
    async with Session(settings) as s:
        started = time.perf_counter()
        result = await s.start_run(pipe, concurrency=concurrency)
        elapsed = time.perf_counter() - started
    assert str(result.status) == "succeeded", result
    return elapsed


def bare_loop(root: Path) -> float:
    script = "".join(
        f"AGENTPROG_EDIT=o{i}.txt=x {AGENT} -p p{i} --output-format json >/dev/null\n"
        for i in range(N)
    )
    started = time.perf_counter()
    subprocess.run(["sh", "-c", script], cwd=root / "repo", check=True)
    return time.perf_counter() - started


def worktree_cycles(repo: Path, rounds: int = 10) -> tuple[float, float]:
    """Median seconds of one create+remove: bare git, then runwright's."""
    from runwright.repo.worktree import create, remove

    bare: list[float] = []
    ours: list[float] = []

    async def one(n: int) -> None:
        wt = await create(repo, base="main", branch=f"bench/{n}", name=f"bench-{n}")
        await remove(wt)

    for n in range(rounds):
        started = time.perf_counter()
        path = str(repo.parent / f"bare-{n}")
        subprocess.run(["git", "worktree", "add", "-q", "-b", f"b{n}", path, "main"], cwd=repo)
        subprocess.run(["git", "worktree", "remove", "--force", path], cwd=repo)
        subprocess.run(["git", "branch", "-q", "-D", f"b{n}"], cwd=repo)
        bare.append(time.perf_counter() - started)
        started = time.perf_counter()
        asyncio.run(one(n))
        ours.append(time.perf_counter() - started)
    return statistics.median(bare), statistics.median(ours)


def main() -> None:
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_repo(root / "repo", files)
        (root / "runwright.toml").write_text(
            f'[agents.fake]\npreset = "claude-code"\nexecutable = "{AGENT}"\n'
        )
        git_cycle, our_cycle = worktree_cycles(root / "repo")
        bare = statistics.median(bare_loop(root) for _ in range(3))
        # A fresh repository: every step checks out its tree.
        cold = asyncio.run(engine_run(root, N, "cold"))
        # Then the steady state of a worker: each step takes over a finished run's tree.
        warm = statistics.median(asyncio.run(engine_run(root, N, f"warm{i}")) for i in range(3))
        seq = statistics.median(asyncio.run(engine_run(root, 1, f"seq{i}")) for i in range(3))
    print(f"repository of {files} files")
    print(
        f"worktree create+remove: bare git {git_cycle * 1000:.0f} ms, "
        f"runwright {our_cycle * 1000:.0f} ms (median of 10)"
    )
    print(f"bare shell loop, {N} agent runs: {bare:.2f} s ({bare / N * 1000:.0f} ms each)")
    for label, took in (
        (f"concurrency {N}, fresh repository (every tree checked out)", cold),
        (f"concurrency {N}, trees of finished runs taken over (median of 3)", warm),
        ("concurrency 1, trees taken over (median of 3)", seq),
    ):
        added = (took - bare) / N * 1000
        print(f"runwright, {N} agent steps, {label}: {took:.2f} s, {added:+.0f} ms per step")


if __name__ == "__main__":
    sys.exit(main())
