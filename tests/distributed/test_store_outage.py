"""Every store call on the execution path survives a lost connection (injected at each call).

The real thing is tested in test_pg_restart.py: a server restarted at whatever
point it happens to hit. Here the point is every point: the store (a real SQLite
file) is wrapped so that every third call, transactions included, first fails
with :class:`StoreUnavailable`, exactly as a cut connection reports itself. A call
site that does not retry then fails the run or the step, deterministically.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from runwright.api import Session
from runwright.engine.serving import ServingWorker
from runwright.engine.worker import Worker
from runwright.errors import StoreUnavailable
from runwright.settings import Settings
from runwright.states import AttemptState, RunStatus
from runwright.store.base import Store, Transaction

ITEMS = 12
#: Store methods that never touch the database, or that the retry itself calls.
PASS_THROUGH = {"work_signal", "reset_connections", "close", "iter_events"}

PIPELINE = """
name: outage
steps:
  - id: list
    uses: python
    with: {function: "outage_steps:items", args: [ITEMS]}
  - id: fan
    uses: python
    needs: [list]
    for_each: "{{ steps.list.output }}"
    cache: true
    with: {function: "outage_steps:double", args: ["{{ item }}"]}
  - id: check
    uses: shell
    needs: [fan]
    if: "{{ steps.fan.output | length == ITEMS }}"
    with: {run: "echo ok"}
  - id: total
    uses: python
    needs: [fan, check]
    with: {function: "outage_steps:total", args: ["{{ steps.fan.output }}"]}
""".replace("ITEMS", str(ITEMS))

STEPS = """
def items(n):
    return list(range(n))

def double(x):
    return 2 * x

def total(values):
    return sum(values)
"""


class Outage:
    """A store whose every ``every``-th call loses its connection before doing anything."""

    def __init__(self, store: Store, every: int = 3) -> None:
        self._store = store
        self.every = every
        self.calls = 0
        self.cuts = 0

    def _cut(self, what: str) -> None:
        self.calls += 1
        if self.calls % self.every == 0:
            self.cuts += 1
            raise StoreUnavailable(f"cannot reach the database ({what}: injected cut)")

    def transaction(self) -> Any:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Transaction]:
        self._cut("transaction")
        async with self._store.transaction() as tx:
            yield tx

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name in PASS_THROUGH or not asyncio.iscoroutinefunction(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            self._cut(name)
            return await attr(*args, **kwargs)

        return call


async def _run(tmp_path: Path, mode: str) -> tuple[Session, str, Outage]:
    (tmp_path / "outage_steps.py").write_text(STEPS)
    (tmp_path / "outage.yaml").write_text(PIPELINE)
    settings = Settings(
        database_url=str(tmp_path / ".runwright" / "runwright.db"), project_dir=tmp_path
    )
    session = Session(settings)
    await session.__aenter__()
    queued = await session.start_run(tmp_path / "outage.yaml", detach=True)
    run = await session.store.get_run(queued.run_id)
    outage = Outage(session.store)
    store: Store = outage  # type: ignore[assignment]
    if mode == "drive":
        worker = Worker(store, concurrency=4)
        await worker.start()
        try:
            assert await worker.drive(session.run_context(run)) is RunStatus.SUCCEEDED
        finally:
            await worker.stop()
    else:
        serving = ServingWorker(store, concurrency=4, lease_seconds=3)

        async def load(run_id: str) -> Any:
            return session.run_context(await store.get_run(run_id))

        await serving.start()
        task = asyncio.create_task(serving.serve(load))
        try:
            async with asyncio.timeout(60):
                while not (status := (await session.store.get_run(run.id)).status).finished:
                    assert not task.done(), task
                    await asyncio.sleep(0.05)
            assert status is RunStatus.SUCCEEDED
        finally:
            serving.request_stop(immediate=False)
            await task
            await serving.stop()
    return session, run.id, outage


@pytest.mark.parametrize("mode", ["drive", "serve"])
async def test_a_cut_at_any_store_call_is_waited_out_never_a_failure(
    tmp_path: Path, mode: str
) -> None:
    session, run_id, outage = await _run(tmp_path, mode)
    try:
        assert outage.cuts >= 15, outage.calls  # cuts landed all over the execution path
        attempts = await session.store.attempts(run_id)
        assert not [a for a in attempts if a.state is AttemptState.FAILED], attempts
        done = [a for a in attempts if a.state is AttemptState.SUCCEEDED]
        assert sorted((a.step_id, a.item) for a in done) == sorted(
            [("list", -1), ("fan", -1), ("check", -1), ("total", -1)]
            + [("fan", i) for i in range(ITEMS)]
        )
        total = await session.store.output(run_id, "total", -1)
        assert json.loads(json.dumps(total)) == sum(2 * i for i in range(ITEMS))
    finally:
        await session.__aexit__(None, None, None)
