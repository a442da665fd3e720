"""Operating workers: labels route steps, drain finishes in-flight work, connections die."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from workertools import Workers, enqueue, run_status, write_pipeline
from workertools import executions as python_executions

from clitools import clean_env, wait_until
from pgtools import terminate_backends
from runwright.states import AttemptState
from runwright.store import open_store
from sideeffects import assert_exactly_once, attempts_of, executions, key_of, shell_log


def _status(db: str, run_id: str) -> str:
    return asyncio.run(run_status(db, run_id))


def _cli(cwd: Path, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runwright", "--db", db, *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _workers_json(cwd: Path, db: str) -> list[dict[str, object]]:
    proc = _cli(cwd, db, "workers", "--json")
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout))


async def _holders(db: str, run_id: str) -> dict[str, str]:
    store = open_store(db)
    try:
        return {
            a.step_id: a.worker_id or ""
            for a in await store.attempts(run_id)
            if str(a.state) == "succeeded"
        }
    finally:
        await store.close()


@pytest.mark.slow
def test_labels_route_steps_to_workers_that_carry_them(tmp_path: Path, workers: Workers) -> None:
    log = tmp_path / "executions.log"
    steps = "\n".join(
        f"""
      - id: plain{i}
        uses: python
        with: {{function: "steps:record", args: ["{log}", "plain{i}"]}}"""
        for i in range(6)
    )
    pipeline = write_pipeline(
        tmp_path,
        f"""
    name: routed
    steps:
      - id: gpu
        uses: python
        labels: [gpu]
        with: {{function: "steps:record", args: ["{log}", "gpu"]}}
      - id: gpu_linux
        uses: python
        labels: [gpu, linux]
        with: {{function: "steps:record", args: ["{log}", "gpu_linux"]}}{steps}
    """,
    )
    run_id = enqueue(tmp_path, workers.db, pipeline)
    plain = workers.start("--no-scheduler")
    assert wait_until(lambda: len(python_executions(log)) == 6, 60), workers.log(plain)
    assert _status(workers.db, run_id) == "running"  # the labelled steps wait for a worker
    gpu = workers.start("--label", "gpu", "--label", "linux", "--no-scheduler")
    assert wait_until(lambda: _status(workers.db, run_id) == "succeeded", 60), workers.log(gpu)
    holders = asyncio.run(_holders(workers.db, run_id))
    ids = {str(w["pid"]): str(w["worker_id"]) for w in _workers_json(tmp_path, workers.db)}
    assert holders["gpu"] == holders["gpu_linux"] == ids[str(gpu.pid)]
    assert {holders[f"plain{i}"] for i in range(6)} == {ids[str(plain.pid)]}


@pytest.mark.slow
def test_sigterm_drains_in_flight_work_then_stops(tmp_path: Path, workers: Workers) -> None:
    log, gate = tmp_path / "executions.log", tmp_path / "gate"
    pipeline = write_pipeline(
        tmp_path,
        f"""
    name: drained
    steps:
      - id: slow
        uses: python
        with: {{function: "steps:block", args: ["{log}", "slow", "{gate}"]}}
      - id: after
        uses: python
        needs: [slow]
        with: {{function: "steps:record", args: ["{log}", "after"]}}
    """,
    )
    run_id = enqueue(tmp_path, workers.db, pipeline)
    worker = workers.start("--no-scheduler")
    assert wait_until(lambda: python_executions(log), 30)
    worker.send_signal(signal.SIGTERM)
    assert wait_until(
        lambda: [w["state"] for w in _workers_json(tmp_path, workers.db)] == ["draining"], 30
    )
    listed = _workers_json(tmp_path, workers.db)[0]
    assert [a["step_id"] for a in listed["attempts"]] == ["slow"]  # type: ignore[union-attr]
    gate.touch()
    assert worker.wait(30) == 0
    assert [k for k, _ in python_executions(log)] == ["slow"]  # `after` was not claimed
    assert [w["state"] for w in _workers_json(tmp_path, workers.db)] == ["stopped"]
    assert _status(workers.db, run_id) == "running"
    holders = asyncio.run(_holders(workers.db, run_id))
    assert set(holders) == {"slow"}
    # Another worker carries on where the drained one stopped.
    workers.start("--no-scheduler")
    assert wait_until(lambda: _status(workers.db, run_id) == "succeeded", 60)


def test_worker_drain_command_stops_an_idle_worker(tmp_path: Path, workers: Workers) -> None:
    worker = workers.start("--no-scheduler")
    assert wait_until(lambda: _workers_json(tmp_path, workers.db), 30)
    worker_id = str(_workers_json(tmp_path, workers.db)[0]["worker_id"])
    drained = _cli(tmp_path, workers.db, "worker", "drain", worker_id[:12], "--json")
    assert drained.returncode == 0, drained.stderr
    assert json.loads(drained.stdout)["state"] == "draining"
    assert worker.wait(30) == 0
    assert [w["state"] for w in _workers_json(tmp_path, workers.db)] == ["stopped"]
    again = _cli(tmp_path, workers.db, "worker", "drain", worker_id)
    assert again.returncode == 5 and "only a live worker can drain" in again.stderr


@pytest.mark.slow
def test_run_completes_when_postgres_kills_every_connection(
    tmp_path: Path, pg_workers: Workers
) -> None:
    log = tmp_path / "side-effects.log"
    chain = "\n".join(
        f"""
      - id: s{i}
        uses: shell
        {f"needs: [s{i - 1}]" if i else ""}
        with: {{run: {shell_log(log)!r}}}
        timeout: 30"""
        for i in range(60)
    )
    pipeline = write_pipeline(tmp_path, f"name: chain\nsteps:{chain}\n")
    pg_workers.start("--no-scheduler", "--concurrency", "2")
    waiter = subprocess.Popen(
        [sys.executable, "-m", "runwright", "--db", pg_workers.db, "run", str(pipeline), "--json"],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_id = ""
    # At each cut: what had committed (read after the cut, so a superset of what had
    # committed at it) and how often each of those had executed by then.
    cuts: list[Counter[tuple[str, int]]] = []
    try:
        killed = 0
        for threshold in (10, 25, 40):
            assert wait_until(lambda t=threshold: executions(log).total() >= t, 60)
            killed += terminate_backends(pg_workers.db)
            run_id = run_id or _only_run(pg_workers.db)
            attempts = attempts_of(pg_workers.db, run_id)
            done = {key_of(a) for a in attempts if a.state is AttemptState.SUCCEEDED}
            cuts.append(Counter({k: n for k, n in executions(log).items() if k[0] in done}))
        out, err = waiter.communicate(timeout=120)
    finally:
        if waiter.poll() is None:
            waiter.kill()
    assert killed >= 3, "the test must actually have cut connections"
    assert waiter.returncode == 0, err
    assert json.loads(out)["run_id"] == run_id
    assert _status(pg_workers.db, run_id) == "succeeded"
    attempts = attempts_of(pg_workers.db, run_id)
    # Each step committed once; a step ran again only in a new attempt, replacing one
    # that had not committed.
    assert_exactly_once(attempts, log, steps={f"s{i}" for i in range(60)})
    final = executions(log)
    for at_cut in cuts:
        assert at_cut, "some steps had committed at each cut"
        # What had committed at a cut never executed again after it.
        assert {k: final[k] for k in at_cut} == dict(at_cut)
    assert {k for k, _ in final} == {key_of(a) for a in attempts}


def _only_run(db: str) -> str:
    async def read() -> str:
        store = open_store(db)
        try:
            (run,) = await store.list_runs()
            return run.id
        finally:
            await store.close()

    return asyncio.run(read())
