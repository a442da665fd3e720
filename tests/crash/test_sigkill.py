"""SIGKILL a real `runwright` run mid-way, resume it, and check the durability guarantee.

Committed work never runs again; only the attempt(s) in flight at the kill may run twice,
each re-run being a new attempt whose reason is ``resumed``.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from clitools import clean_env, cli, wait_until

STEPS = 20
FAN_ITEMS = 30

CHAIN_STEPS_PY = """
import json
import time


def step(name, index, log):
    with open(log, "a") as f:
        f.write(name + "\\n")
    time.sleep(0.05)  # the step's work: gives the test a window to kill in
    return index


def item(value, log):
    with open(log, "a") as f:
        f.write(f"item{value}\\n")
    time.sleep(0.05)
    return value * 10


def collect(values, out):
    with open(out, "w") as f:
        json.dump(values, f)
    return len(values)
"""


def start(cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start the CLI in its own session (so killpg reaches the steps it spawned)."""
    return subprocess.Popen(
        [sys.executable, "-m", "runwright", *args],
        cwd=cwd,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def log_lines(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def kill_when(proc: subprocess.Popen[bytes], log: Path, lines: int) -> None:
    """SIGKILL the process group once ``log`` holds at least ``lines`` lines."""
    try:
        reached = wait_until(lambda: len(log_lines(log)) >= lines or proc.poll() is not None, 30)
        assert reached, f"the run never logged {lines} lines: {log_lines(log)}"
        assert proc.poll() is None, f"the run ended (code {proc.returncode}) before the kill"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def json_of(cwd: Path, *args: str) -> Any:
    result = cli(cwd, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def only_run_id(cwd: Path) -> str:
    runs = json_of(cwd, "runs")
    assert len(runs) == 1, runs
    return str(runs[0]["run_id"])


def node_attempts(details: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    by_step: dict[str, list[dict[str, Any]]] = {}
    for a in details["attempts"]:
        if a["item"] is None:
            by_step.setdefault(a["step_id"], []).append(a)
    return by_step


def item_attempts(details: dict[str, Any], step: str) -> dict[int, list[dict[str, Any]]]:
    by_item: dict[int, list[dict[str, Any]]] = {}
    for a in details["attempts"]:
        if a["step_id"] == step and a["item"] is not None:
            by_item.setdefault(a["item"], []).append(a)
    return by_item


def assert_reruns_are_resumed(attempts: list[dict[str, Any]], label: str) -> None:
    """Every attempt after the first is a resume of an abandoned predecessor."""
    attempts = sorted(attempts, key=lambda a: a["attempt_id"])
    for before, after in itertools.pairwise(attempts):
        assert before["state"] == "abandoned", (label, attempts)
        assert after["reason"] == "resumed", (label, attempts)
    assert attempts[-1]["state"] == "succeeded", (label, attempts)


def write_chain(tmp_path: Path, log: Path) -> Path:
    (tmp_path / "chain_steps.py").write_text(textwrap.dedent(CHAIN_STEPS_PY).lstrip())
    steps = []
    for i in range(STEPS):
        needs = f"\n    needs: [s{i - 1}]" if i else ""
        steps.append(
            f"  - id: s{i}\n    uses: python{needs}\n"
            f"    with:\n      function: chain_steps:step\n"
            f"      args: {{name: s{i}, index: {i}, log: {json.dumps(str(log))}}}\n"
        )
    path = tmp_path / "chain.yaml"
    path.write_text("name: chain\nsteps:\n" + "".join(steps))
    return path


@pytest.mark.parametrize("kill_at", [1, 5, 10, 15])
def test_sigkill_mid_chain_then_resume_runs_nothing_committed_twice(
    tmp_path: Path, kill_at: int
) -> None:
    log = tmp_path / "calls.log"
    write_chain(tmp_path, log)

    kill_when(start(tmp_path, "run", "chain.yaml"), log, kill_at)
    run_id = only_run_id(tmp_path)

    before = json_of(tmp_path, "show", run_id)
    assert before["status"] == "running"  # killed: nobody got to record an end
    committed = {s["step_id"] for s in before["steps"] if s["state"] == "succeeded"}
    # The log line is written before the commit, so at most the logged steps committed,
    # and in a chain every logged step but the last had to commit for the next to start.
    logged_at_kill = log_lines(log)
    assert committed <= set(logged_at_kill)
    assert len(committed) >= len(set(logged_at_kill)) - 1
    assert committed == {f"s{i}" for i in range(len(committed))}

    resumed = cli(tmp_path, "resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert (result["run_id"], result["status"]) == (run_id, "succeeded")

    counts = Counter(log_lines(log))
    assert set(counts) == {f"s{i}" for i in range(STEPS)}
    twice = {step for step, n in counts.items() if n > 1}
    assert not twice & committed, f"committed steps ran again: {twice & committed}"
    assert len(twice) <= 1, counts
    assert max(counts.values()) <= 2, counts
    # Exactly the step that was in flight and had acted before the kill ran twice.
    in_flight = {s["step_id"] for s in before["steps"] if s["state"] == "running"}
    assert len(in_flight) <= 1, before["steps"]
    assert twice == in_flight & set(logged_at_kill), (counts, in_flight)

    after = json_of(tmp_path, "show", run_id)
    assert after["status"] == "succeeded"
    assert {s["step_id"]: s["state"] for s in after["steps"]} == {
        f"s{i}": "succeeded" for i in range(STEPS)
    }
    attempts = node_attempts(after)
    for step in committed:
        assert len(attempts[step]) == 1, (step, attempts[step])
    for step, rows in attempts.items():
        assert_reruns_are_resumed(rows, step)
    for step in twice:
        assert len(attempts[step]) == 2, (step, attempts[step])


FAN_YAML = """
name: fan
steps:
  - id: list
    uses: shell
    with: {{run: "seq 0 {last}"}}
  - id: fan
    uses: python
    needs: [list]
    for_each: "{{{{ steps.list.output.stdout.split() | map('int') | list }}}}"
    with:
      function: chain_steps:item
      args: {{value: "{{{{ item }}}}", log: {log}}}
  - id: collect
    uses: python
    needs: [fan]
    with:
      function: chain_steps:collect
      args: {{values: "{{{{ steps.fan.output }}}}", out: {out}}}
"""


def fan_state(tmp_path: Path, run_id: str) -> tuple[dict[str, Any], set[int]]:
    """The run's details and the for_each items that had committed."""
    details = json_of(tmp_path, "show", run_id)
    done = {
        item
        for item, rows in item_attempts(details, "fan").items()
        if any(a["state"] == "succeeded" and not a["superseded"] for a in rows)
    }
    return details, done


def test_sigkill_during_for_each_and_during_its_resume(tmp_path: Path) -> None:
    log = tmp_path / "items.log"
    out = tmp_path / "collected.json"
    (tmp_path / "chain_steps.py").write_text(textwrap.dedent(CHAIN_STEPS_PY).lstrip())
    (tmp_path / "fan.yaml").write_text(
        FAN_YAML.format(last=FAN_ITEMS - 1, log=json.dumps(str(log)), out=json.dumps(str(out)))
    )

    # First crash: part-way through the fan-out.
    kill_when(start(tmp_path, "run", "fan.yaml", "--concurrency", "4"), log, 8)
    run_id = only_run_id(tmp_path)
    first_kill = len(log_lines(log))
    _, committed_first = fan_state(tmp_path, run_id)
    assert 0 < len(committed_first) < FAN_ITEMS

    # Second crash: kill the resume itself once it has run more items.
    kill_when(start(tmp_path, "resume", run_id, "--concurrency", "4"), log, first_kill + 8)
    second_kill = len(log_lines(log))
    details, committed_second = fan_state(tmp_path, run_id)
    assert committed_first <= committed_second
    assert len(committed_second) < FAN_ITEMS, "the resume finished before it was killed"
    assert details["status"] == "running"

    resumed = cli(tmp_path, "resume", run_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["status"] == "succeeded"

    lines = log_lines(log)
    counts = Counter(lines)
    assert set(counts) == {f"item{i}" for i in range(FAN_ITEMS)}
    after_first = Counter(lines[first_kill:])
    after_second = Counter(lines[second_kill:])
    assert not {f"item{i}" for i in committed_first} & set(after_first), (
        f"items committed before crash 1 ran again: {lines}"
    )
    assert not {f"item{i}" for i in committed_second} & set(after_second), (
        f"items committed before crash 2 ran again: {lines}"
    )
    # Only what was in flight at a crash (at most 4 items each, concurrency 4) ran again.
    twice = [name for name, n in counts.items() if n > 1]
    assert len(twice) <= 8, counts
    assert max(counts.values()) <= 3, counts

    final = json_of(tmp_path, "show", run_id)
    assert final["status"] == "succeeded"
    fan = next(s for s in final["steps"] if s["step_id"] == "fan")
    assert (fan["state"], fan["items"], fan["items_done"]) == ("succeeded", FAN_ITEMS, FAN_ITEMS)
    for item, rows in item_attempts(final, "fan").items():
        assert_reruns_are_resumed(rows, f"fan[{item}]")
        if item in committed_first:
            assert len(rows) == 1, (item, rows)
    # The for_each output is complete and in order (collected by the dependent step).
    assert json.loads(out.read_text()) == [i * 10 for i in range(FAN_ITEMS)]
