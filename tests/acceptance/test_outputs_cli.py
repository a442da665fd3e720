"""Reading what steps produced through the real CLI: output, logs, export, show, CI lines.

Every command runs as a subprocess, which is not a terminal: `run` prints one plain
line per finished step there. The canary secret goes through every one of them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from clitools import clean_env, cli, wait_until

CANARY = "canary-0123456789abcdef-SECRET-zz"

PIPELINE = """
name: outputs
steps:
  - id: hello
    uses: shell
    cache: true
    with: {run: "echo hello; echo warn >&2"}
  - id: each
    uses: python
    needs: [hello]
    cache: true
    for_each: [1, 2, 3]
    with: {function: "steps:square", args: {n: "{{ item }}"}}
  - id: big
    uses: python
    needs: [hello]
    with: {function: "steps:big"}
  - id: ship
    uses: approval
    needs: [each, big]
    with: {prompt: "Ship it?"}
"""

STEPS = """
def square(n):
    return {"n": n, "square": n * n}

def big():
    return "x" * 40000

def explode(n):
    helper = n + 1
    raise ValueError(f"bad input {helper}")
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def run_cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runwright", *args],
        cwd=cwd,
        env={**clean_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def newest(cwd: Path) -> str:
    runs = json.loads(cli(cwd, "runs", "--json").stdout)
    return str(runs[0]["run_id"])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The pipeline run twice (the second from the cache) and approved; (dir, first, second)."""
    root = tmp_path_factory.mktemp("outputs")
    write(root, "p.yaml", PIPELINE)
    write(root, "steps.py", STEPS)
    ids = []
    for _ in range(2):
        waiting = cli(root, "run", "p.yaml")
        assert waiting.returncode == 10, waiting.stderr
        ids.append(newest(root))
    approved = cli(root, "approve", ids[0], "ship", "--comment", "lgtm")
    assert approved.returncode == 0, approved.stderr
    assert "ship  succeeded" in approved.stderr  # the plain line for what this process did
    assert "hello  " not in approved.stderr  # and nothing from before it
    return root, ids[0], ids[1]


def test_output_prints_values_blobs_resolved(project: tuple[Path, str, str]) -> None:
    root, first, _ = project
    hello = cli(root, "output", first, "hello")
    assert hello.returncode == 0, hello.stderr
    assert hello.stdout.splitlines() == ["stdout: hello", "stderr: warn", "exit_code: 0"]
    raw = json.loads(cli(root, "output", first, "hello", "--json").stdout)
    assert raw == {"stdout": "hello\n", "stderr": "warn\n", "exit_code": 0}
    items = json.loads(cli(root, "output", first, "each", "--json").stdout)
    assert items == [{"n": n, "square": n * n} for n in (1, 2, 3)]
    one = json.loads(cli(root, "output", first, "each", "--item", "1", "--json").stdout)
    assert one == {"n": 2, "square": 4}
    big = cli(root, "output", first, "big", "--json")
    assert json.loads(big.stdout) == "x" * 40000  # stored as a blob, read back whole
    decision = json.loads(cli(root, "output", first, "ship", "--json").stdout)
    assert decision["approved"] is True and decision["comment"] == "lgtm"


def test_unknown_run_step_or_item_is_exit_4_with_a_hint(project: tuple[Path, str, str]) -> None:
    root, first, _ = project
    cases = [
        (["output", first, "helo"], "did you mean 'hello'?"),
        (["output", first, "each", "--item", "9"], "its items are 0..2"),
        (["output", first, "hello", "--item", "0"], "not a for_each step"),
        (["output", "nope", "hello"], "no run 'nope'"),
        (["logs", first, "eahc"], "did you mean 'each'?"),
    ]
    for args, hint in cases:
        result = cli(root, *args)
        assert result.returncode == 4, (args, result.stdout, result.stderr)
        assert hint in result.stderr and "Traceback" not in result.stderr


def test_logs_print_every_step_prefixed_by_step_and_attempt(
    project: tuple[Path, str, str],
) -> None:
    root, first, _ = project
    every = cli(root, "logs", first)
    assert every.returncode == 0, every.stderr
    assert every.stdout.splitlines() == ["hello#1 stdout| hello", "hello#1 stderr| warn"]
    one = lines(cli(root, "logs", first, "hello", "--json").stdout)
    assert [(c["step_id"], c["attempt"], c["stream"], c["text"]) for c in one] == [
        ("hello", 1, "stdout", "hello\n"),
        ("hello", 1, "stderr", "warn\n"),
    ]


def test_export_carries_outputs_by_reference_or_inline(project: tuple[Path, str, str]) -> None:
    root, first, _ = project
    by_ref = [r for r in lines(cli(root, "export", first).stdout) if r["type"] == "output"]
    refs = {(r["step_id"], r["item"]): r for r in by_ref}
    assert set(refs) >= {("hello", None), ("each", None), ("each", 0), ("big", None)}
    assert all("value" not in r for r in by_ref)
    assert refs[("big", None)]["blob"] and refs[("big", None)]["size"] == 40002
    assert refs[("hello", None)]["blob"] is None and refs[("hello", None)]["size"] > 0
    inline = [
        r
        for r in lines(cli(root, "export", first, "--with-outputs").stdout)
        if r["type"] == "output"
    ]
    values = {(r["step_id"], r["item"]): r["value"] for r in inline}
    assert values[("big", None)] == "x" * 40000
    assert values[("each", 2)] == {"n": 3, "square": 9}


def test_show_marks_cached_steps_and_previews_outputs(project: tuple[Path, str, str]) -> None:
    root, first, second = project
    details = json.loads(cli(root, "show", second, "--json").stdout)
    steps = {s["step_id"]: s for s in details["steps"]}
    assert steps["hello"]["state"] == "cached" and steps["hello"]["cached"]
    assert steps["each"]["cached"] and steps["each"]["items_cached"] == 3
    assert not steps["big"]["cached"]
    human = cli(root, "show", second)
    assert human.returncode == 0, human.stderr
    each_line = next(line for line in human.stdout.splitlines() if line.lstrip().startswith("each"))
    assert "(cached)" in each_line and "3/3 cached" in each_line
    hello_line = next(line for line in human.stdout.splitlines() if "hello" in line)
    assert "exit 0: hello" in hello_line
    first_show = json.loads(cli(root, "show", first, "--json").stdout)
    first_steps = {s["step_id"]: s for s in first_show["steps"]}
    assert not first_steps["each"]["cached"] and first_steps["each"]["items_cached"] == 0


def test_run_outside_a_terminal_prints_one_line_per_finished_step(tmp_path: Path) -> None:
    write(tmp_path, "steps.py", STEPS)
    write(
        tmp_path,
        "p.yaml",
        """
        name: ci
        steps:
          - id: ok
            uses: shell
            with: {run: "echo fine"}
          - id: boom
            uses: python
            needs: [ok]
            retry: {attempts: 2, initial_delay: 0s}
            with: {function: "steps:explode", args: {n: 1}}
        """,
    )
    result = cli(tmp_path, "run", "p.yaml")
    assert result.returncode == 1
    plain = result.stderr.splitlines()
    assert any(line.startswith("ok  succeeded  ") and line.endswith("attempt 1") for line in plain)
    assert any(
        line.startswith("boom  failed  ") and "attempt 1, retrying: ValueError: bad input 2" in line
        for line in plain
    ), plain
    assert any("attempt 2: ValueError: bad input 2" in line for line in plain), plain
    # The traceback: a hint in show, the whole of it in logs.
    run_id = newest(tmp_path)
    show = cli(tmp_path, "show", run_id)
    assert f"traceback of boom: runwright logs {run_id} boom" in show.stdout
    logs = cli(tmp_path, "logs", run_id, "boom").stdout
    assert "boom#1 traceback| Traceback (most recent call last):" in logs
    assert "boom#2 traceback| ValueError: bad input 2" in logs
    assert "in explode" in logs and 'raise ValueError(f"bad input {helper}")' in logs
    json_run = cli(tmp_path, "run", "p.yaml", "--json")
    assert json_run.stderr.count("boom  failed") == 0  # --json stays quiet


def test_logs_follow_shows_a_running_step_live_and_ends_with_the_run(tmp_path: Path) -> None:
    write(
        tmp_path,
        "p.yaml",
        """
        name: live
        steps:
          - id: slow
            uses: shell
            with:
              run: |
                echo started
                while [ ! -f go ]; do sleep 0.05; done
                echo finished
        """,
    )
    env = clean_env()
    runner = subprocess.Popen(
        [sys.executable, "-m", "runwright", "run", "p.yaml"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    follower: subprocess.Popen[str] | None = None
    try:
        run_id = wait_until(
            lambda: json.loads(cli(tmp_path, "runs", "--json").stdout or "[]"), timeout=30
        )[0]["run_id"]
        out_path = tmp_path / "follow.out"
        with out_path.open("w") as out:
            follower = subprocess.Popen(
                [sys.executable, "-m", "runwright", "logs", run_id, "--follow"],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        assert wait_until(lambda: "slow#1 stdout| started" in out_path.read_text(), timeout=30)
        assert runner.poll() is None and follower.poll() is None  # live: the step still runs
        (tmp_path / "go").write_text("")
        assert follower.wait(timeout=60) == 0  # ends by itself with the run
        assert out_path.read_text().splitlines() == [
            "slow#1 stdout| started",
            "slow#1 stdout| finished",
        ]
        assert runner.wait(timeout=60) == 0
    finally:
        for proc in (runner, follower):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL) if proc is runner else proc.kill()
                proc.wait(timeout=10)


def test_a_canary_secret_reaches_no_command_output_and_no_database_byte(tmp_path: Path) -> None:
    write(
        tmp_path,
        "steps.py",
        """
        import os

        def leak():
            secret = os.environ["MY_API_KEY"]
            raise RuntimeError("token " + secret)
        """,
    )
    write(
        tmp_path,
        "p.yaml",
        """
        name: canary
        steps:
          - id: out
            uses: shell
            with:
              run: |
                printf '%s' "$MY_API_KEY"; head -c 1048559 /dev/zero | tr '\\0' x
          - id: split
            uses: shell
            with:
              run: |
                printf 'k=%s' "${MY_API_KEY:0:15}"; sleep 0.6; echo "${MY_API_KEY:15}"
          - id: err
            uses: shell
            needs: [out]
            on_failure: continue
            with:
              run: |
                printf '%s' "$MY_API_KEY" >&2; head -c 1984 /dev/zero | tr '\\0' e >&2; exit 2
          - id: py
            uses: python
            needs: [out]
            on_failure: continue
            with: {function: "steps:leak"}
        """,
    )
    secret = {"MY_API_KEY": CANARY}
    ran = run_cli(tmp_path, "run", "p.yaml", env=secret)
    assert ran.returncode == 0, ran.stderr
    run_id = newest(tmp_path)
    texts = [ran.stdout, ran.stderr]
    for args in (
        ["show", run_id],
        ["show", run_id, "--json"],
        ["export", run_id, "--with-outputs"],
        ["tail", run_id],
        ["logs", run_id],
        ["logs", run_id, "--json"],
        ["output", run_id, "out", "--json"],
    ):
        result = run_cli(tmp_path, *args, env=secret)
        assert result.returncode == 0, (args, result.stderr)
        texts += [result.stdout, result.stderr]
    assert "k=***" in run_cli(tmp_path, "logs", run_id, "split").stdout
    texts += [p.read_bytes().decode("latin-1") for p in (tmp_path / ".runwright").iterdir()]
    fragments = [CANARY[i : i + 8] for i in range(len(CANARY) - 7)]
    assert [f for t in texts for f in fragments if f in t] == []
