"""Live progress of a run on a terminal, fed by the run's committed events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from contextlib import suppress
from typing import TypeVar

from rich.console import Group, RenderableType
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from runwright.api import Session
from runwright.cli.output import err, markup
from runwright.errors import StoreUnavailable
from runwright.events import Event, EventType
from runwright.store.records import RunRecord

T = TypeVar("T")
_FINAL = {EventType.STEP_SUCCEEDED, EventType.STEP_SKIPPED}
_SHOWN_RUNNING = 8


class RunProgress:
    """Counts steps and items from events; renders a bar plus the steps running now."""

    def __init__(self, session: Session, *, live: bool, quiet: bool) -> None:
        self.session = session
        self.live = live
        self.quiet = quiet
        self.run_id: str | None = None
        self.after = 0
        self.total = 0
        self.done = 0
        self.running: dict[tuple[str | None, int | None], float] = {}
        self.failures: list[str] = []
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        )
        self.task = self.bar.add_task("starting", total=None)

    def on_run(self, run: RunRecord) -> None:
        self.run_id = run.id
        if not self.quiet:
            err.print(markup("run [bold]{}[/] of [bold]{}[/]", run.id, run.pipeline))

    def _apply(self, e: Event) -> None:
        key = (e.step_id, e.item)
        if e.type is EventType.RUN_STARTED:
            self.total += int(e.data.get("steps", 0))
        elif e.type is EventType.STEP_STARTED:
            self.total += int(e.data.get("items", 0))
            if "items" not in e.data:
                self.running[key] = e.ts
        elif e.type in _FINAL:
            self.running.pop(key, None)
            self.done += 1
        elif e.type is EventType.STEP_FAILED:
            self.running.pop(key, None)
            label = e.step_id if e.item is None else f"{e.step_id}[{e.item}]"
            self.failures.append(f"{label}: {str(e.data.get('error', ''))[:200]}")
            if e.data.get("on_failure") == "continue":
                self.done += 1
        elif e.type is EventType.STEP_WAITING:
            self.running.pop(key, None)

    async def poll(self) -> None:
        if self.run_id is None:
            return
        while True:
            batch = await self.session.store.events(self.run_id, after=self.after, limit=5000)
            for event in batch:
                self._apply(event)
            if len(batch) < 5000:
                break
            self.after = batch[-1].seq or self.after
        if batch:
            self.after = batch[-1].seq or self.after

    def render(self) -> RenderableType:
        self.bar.update(
            self.task,
            description=self.run_id or "starting",
            total=self.total or None,
            completed=self.done,
        )
        now = time.time()
        lines: list[RenderableType] = [self.bar]
        for (step, item), since in list(self.running.items())[:_SHOWN_RUNNING]:
            label = step if item is None else f"{step}[{item}]"
            lines.append(Text(f"  ▸ {label}  {now - since:5.1f}s", style="blue"))
        if len(self.running) > _SHOWN_RUNNING:
            lines.append(Text(f"  … and {len(self.running) - _SHOWN_RUNNING} more", style="dim"))
        lines.extend(Text(f"  ✗ {f}", style="red") for f in self.failures[-5:])
        return Group(*lines)

    async def follow(self, work: Awaitable[T]) -> T:
        """Await ``work`` while showing progress (when live)."""
        task = asyncio.ensure_future(work)
        if not self.live:
            return await task
        with Live(self.render(), console=err, refresh_per_second=10, transient=True) as live:
            while not task.done():
                await asyncio.wait([task], timeout=0.1)
                # A lost database is the work's to report (it retries); the bar just pauses.
                with suppress(StoreUnavailable):
                    await self.poll()
                live.update(self.render())
        return await task
