"""The step-kind seam: what the engine asks of every kind of step.

The engine never imports a concrete kind; it looks kinds up in the
:class:`~runwright.registry.Registry` and talks to this protocol.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from runwright.events import EventType, Level
from runwright.redaction import Redactor

if TYPE_CHECKING:
    from runwright.config import LoadedConfig
    from runwright.costs.guard import CallGuard
    from runwright.processes import ProcessGroup
    from runwright.store.base import Store
    from runwright.workspace import Workspace


@dataclass(slots=True)
class StepContext:
    """What a step kind may see and do while one attempt of it runs.

    Events emitted here are buffered and committed in the same transaction as
    the attempt's result, so nothing a step reports is visible before (or lost
    after) its output.
    """

    run_id: str
    step_id: str
    attempt: int
    item: int | None
    #: Stable across attempts of the same step (and item) in the same run.
    idempotency_key: str
    workspace: Workspace
    #: Directory of the pipeline file: relative paths and python imports start here.
    pipeline_dir: Path
    env: Mapping[str, str]
    timeout: float | None = None
    #: The project's runwright.toml as the entry point read it (``None``: built-in defaults).
    config: LoadedConfig | None = None
    _emit: Callable[[EventType, Level, dict[str, Any]], None] | None = field(
        default=None, repr=False
    )
    #: Masks the run's secrets; a kind that cuts text (keeps a tail) masks with it first.
    redactor: Redactor = field(default_factory=lambda: Redactor(()), repr=False)
    _log: Callable[[str, str], None] | None = field(default=None, repr=False)
    _on_process: Callable[[ProcessGroup], Awaitable[None]] | None = field(default=None, repr=False)
    #: The run's database, for state every worker must share (provider circuit breakers
    #: and rate windows); ``None`` outside the engine, where such state is per process.
    store: Store | None = field(default=None, repr=False)
    #: Every call that spends (a model, an agent) goes through this: it reserves against
    #: the budgets before and settles the cost after (``None`` only outside the engine).
    guard: CallGuard | None = field(default=None, repr=False)
    #: Where :meth:`progress` goes: the live display of the process running the attempt,
    #: when it has one; ``None`` (workers, pipes, tests) drops it.
    _progress: Callable[[str], None] | None = field(default=None, repr=False)
    #: Why the previous attempt was sent back for another try (a gate's failing output
    #: with ``on_fail: {retry_step: ...}``); ``None`` otherwise. An agent kind feeds it back.
    feedback: str | None = None

    def emit(self, type: EventType, data: dict[str, Any], level: Level = Level.INFO) -> None:
        """Record an event for this attempt (committed with its result)."""
        if self._emit is not None:
            self._emit(type, level, data)

    def log(self, stream: str, text: str) -> None:
        """Stream output (``stdout``, ``stderr``, ``traceback``) to the run's logs as it comes.

        Pieces may have any size and split lines or secrets anywhere: the engine
        masks each stream as one text and commits it in chunks while the step runs.
        Call it from the event loop's thread (not from an executor thread).
        """
        if self._log is not None:
            self._log(stream, text)

    @property
    def shows_progress(self) -> bool:
        """Whether anyone listens to :meth:`progress` (compute nothing for it otherwise)."""
        return self._progress is not None

    def progress(self, text: str) -> None:
        """Show ``text`` as the step's current activity (replacing the previous one).

        In-process only: never stored, never an event, not part of the output; the
        text is masked with the run's secrets before it is shown.
        """
        if self._progress is not None:
            self._progress(self.redactor.redact(text))

    async def record_process(self, group: ProcessGroup) -> None:
        """Durably record the process group this attempt just started, before it goes on.

        A kind that starts processes calls this right after the start; if it raises
        (the attempt was taken away), the kind must kill the group and re-raise.
        """
        if self._on_process is not None:
            await self._on_process(group)


@dataclass(frozen=True, slots=True)
class WaitForApproval:
    """Returned by a step kind to park its attempt until a person decides.

    The attempt moves to ``waiting`` and holds no worker slot; ``runwright
    approve`` / ``reject`` finishes it.
    """

    prompt: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class StepKind(Protocol):
    """A kind of step (``uses: <name>``)."""

    #: The name used in ``uses:``.
    name: ClassVar[str]
    #: Bumped when the kind's behaviour changes; part of every cache key.
    version: ClassVar[str]
    #: Pure kinds are cached by default; side-effecting kinds are not.
    pure: ClassVar[bool]
    #: The ``with:`` keys the kind accepts, and which are required; ``None`` accepts anything.
    accepts: ClassVar[frozenset[str] | None]
    requires: ClassVar[frozenset[str]]

    def code_version(self, params: Mapping[str, Any], ctx_dir: Path) -> str | None:
        """Extra cache-key material beyond ``params`` (e.g. a python function's source hash).

        A kind whose result depends on the project configuration (the ``llm`` kind: which
        endpoint a model name means) may also define ``config_version(params, *, config,
        **kwargs) -> str | None``; the engine folds its answer into the cache key.

        A cached kind whose result includes workspace files may define ``async
        replay(ctx, params, output)``: called on a cache hit to write them again from
        the cached output (``nochange`` where they are already there).
        """
        ...

    async def run(self, ctx: StepContext, params: Mapping[str, Any]) -> Any:
        """Execute one attempt; return a JSON-compatible output or :class:`WaitForApproval`.

        Raise :class:`~runwright.errors.StepError` (retryable) or
        :class:`~runwright.errors.FatalStepError`; any other exception is treated as a
        retryable step failure. Cancellation arrives as ``asyncio.CancelledError``:
        a kind that starts processes must kill them (their whole process group).
        """
        ...
