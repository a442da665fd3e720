"""Progress of a run, fed by its committed events.

On a terminal: a live bar plus the steps running now, each with what it reports
while it runs (an ``llm`` step's reply streaming in; never stored). Elsewhere (CI logs, a
pipe): one plain line per finished step on stderr, so the log shows what happened.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable
from contextlib import suppress
from typing import TYPE_CHECKING, TypeVar

from runwright.api import Session
from runwright.cli.output import err, markup
from runwright.errors import StoreUnavailable
from runwright.events import Event, EventType
from runwright.store.records import RunRecord

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.progress import Progress, TaskID

T = TypeVar("T")
_FINAL = {EventType.STEP_SUCCEEDED, EventType.STEP_SKIPPED}
_SHOWN_RUNNING = 8
#: Seconds between looks for finished steps when printing plain lines.
_LINES_POLL = 0.25
#: Characters of an error quoted in a plain line.
_ERROR_CHARS = 200


def _label(e: Event) -> str:
    return f"{e.step_id}" if e.item is None else f"{e.step_id}[{e.item}]"


def step_line(e: Event, started: float | None) -> str | None:
    """The plain line for an event that ends an attempt (None for other events)."""
    took = f"{e.ts - started:.2f}s" if started is not None else "-"
    attempt = f"attempt {e.attempt}" if e.attempt else ""
    if e.type is EventType.STEP_SUCCEEDED:
        if e.data.get("cached"):
            return f"{_label(e)}  cached"
        if "items" in e.data:
            return f"{_label(e)}  succeeded  {e.data['items']} items"
        return f"{_label(e)}  succeeded  {took}  {attempt}"
    if e.type in (EventType.STEP_FAILED, EventType.STEP_RETRYING):
        error = " ".join(str(e.data.get("error", "")).split())
        if len(error) > _ERROR_CHARS:
            error = error[: _ERROR_CHARS - 1] + "…"
        retry = ", retrying" if e.type is EventType.STEP_RETRYING else ""
        return f"{_label(e)}  failed  {took}  {attempt}{retry}: {error}"
    if e.type is EventType.STEP_SKIPPED:
        return f"{_label(e)}  skipped  ({e.data.get('reason', '')})"
    if e.type is EventType.STEP_WAITING:
        return f"{_label(e)}  waiting for approval"
    return None


class RunProgress:
    """Counts steps and items from events; renders a bar plus the steps running now."""

    def __init__(self, session: Session, *, live: bool, quiet: bool) -> None:
        self.session = session
        self.live = live
        self.quiet = quiet
        #: Plain lines per finished step (not on a terminal); only for what happens from now.
        self.lines = not live and not quiet
        self.since = time.time()
        self._started: dict[tuple[str | None, int | None, int | None], float] = {}
        self.run_id: str | None = None
        self.after = 0
        self.total = 0
        self.done = 0
        self.running: dict[tuple[str | None, int | None], float] = {}
        self.failures: list[str] = []
        #: What each running step said last through ``StepContext.progress``.
        self.activity: dict[tuple[str | None, int | None], str] = {}
        self._bar: tuple[Progress, TaskID] | None = None
        if live:
            # Only a live display listens: steps elsewhere compute nothing for it.
            session.on_progress = self.on_activity

    def _progress_bar(self) -> tuple[Progress, TaskID]:
        # Built (and Rich's live display imported) only for a terminal.
        if self._bar is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
            )
            self._bar = bar, bar.add_task("starting", total=None)
        return self._bar

    def on_activity(self, step: str, item: int | None, text: str) -> None:
        """A running step's activity (called in this process, between renders)."""
        self.activity[(step, item)] = text
        # A pure step's step.started is committed with its result, so the events have
        # not said it runs yet; its activity says so.
        self.running.setdefault((step, item), time.time())

    def on_run(self, run: RunRecord) -> None:
        self.run_id = run.id
        if not self.quiet:
            err.print(markup("run [bold]{}[/] of [bold]{}[/]", run.id, run.pipeline))

    def _apply(self, e: Event) -> None:
        if self.lines:
            self._line(e)
        key = (e.step_id, e.item)
        if e.type is EventType.RUN_STARTED:
            self.total += int(e.data.get("steps", 0))
        elif e.type is EventType.STEP_STARTED:
            self.total += int(e.data.get("items", 0))
            if "items" not in e.data:
                self.running[key] = e.ts
        elif e.type in _FINAL:
            self.running.pop(key, None)
            self.activity.pop(key, None)
            self.done += 1
        elif e.type is EventType.STEP_FAILED:
            self.running.pop(key, None)
            self.activity.pop(key, None)
            label = e.step_id if e.item is None else f"{e.step_id}[{e.item}]"
            self.failures.append(f"{label}: {str(e.data.get('error', ''))[:200]}")
            if e.data.get("on_failure") == "continue":
                self.done += 1
        elif e.type is EventType.STEP_WAITING:
            self.running.pop(key, None)

    def _line(self, e: Event) -> None:
        attempt_key = (e.step_id, e.item, e.attempt)
        if e.type is EventType.STEP_STARTED:
            self._started[attempt_key] = e.ts
            return
        line = step_line(e, self._started.get(attempt_key))
        if line is None:
            return
        self._started.pop(attempt_key, None)
        if e.ts >= self.since:
            # Plain text, not Rich: step ids and errors are data, never markup.
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

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
        from rich.console import Group
        from rich.text import Text

        bar, task = self._progress_bar()
        bar.update(
            task,
            description=self.run_id or "starting",
            total=self.total or None,
            completed=self.done,
        )
        now = time.time()
        lines: list[RenderableType] = [bar]
        for (step, item), since in list(self.running.items())[:_SHOWN_RUNNING]:
            label = step if item is None else f"{step}[{item}]"
            lines.append(Text(f"  ▸ {label}  {now - since:5.1f}s", style="blue"))
            said = self.activity.get((step, item))
            if said:
                # Text, not markup: a model's reply is data. One line, cut to the terminal.
                line = Text(f"      {said}", style="dim", no_wrap=True, overflow="ellipsis")
                lines.append(line)
        if len(self.running) > _SHOWN_RUNNING:
            lines.append(Text(f"  … and {len(self.running) - _SHOWN_RUNNING} more", style="dim"))
        lines.extend(Text(f"  ✗ {f}", style="red") for f in self.failures[-5:])
        return Group(*lines)

    async def follow(self, work: Awaitable[T]) -> T:
        """Await ``work`` while showing progress (when live)."""
        task = asyncio.ensure_future(work)
        if self.lines:
            while not task.done():
                await asyncio.wait([task], timeout=_LINES_POLL)
                with suppress(StoreUnavailable):
                    await self.poll()
            return await task
        if not self.live:
            return await task
        from rich.live import Live

        with Live(self.render(), console=err, refresh_per_second=10, transient=True) as live:
            while not task.done():
                await asyncio.wait([task], timeout=0.1)
                # A lost database is the work's to report (it retries); the bar just pauses.
                with suppress(StoreUnavailable):
                    await self.poll()
                live.update(self.render())
        return await task
