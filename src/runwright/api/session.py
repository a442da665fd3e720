"""The API session: the one entry point the CLI and the HTTP server call."""

from __future__ import annotations

import getpass
import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from runwright.api.reads import SessionReads
from runwright.api.results import RunResult
from runwright.api.runconfig import RunConfigs
from runwright.api.waiting import wait_for_run, waiting_steps
from runwright.engine.approvals import decide
from runwright.engine.commit import Committer
from runwright.engine.context import ProgressSink, RunContext
from runwright.engine.lifecycle import cancel_in_tx, create_run, create_run_in_tx
from runwright.engine.plan import Plan, build_plan
from runwright.engine.recovery import check_not_busy, reconcile
from runwright.engine.worker import Worker
from runwright.errors import SpecChangedError, StateError
from runwright.redaction import Redactor
from runwright.registry import Registry, default_registry
from runwright.settings import DEFAULT_CONCURRENCY, DEFAULT_LEASE_SECONDS, Settings
from runwright.signals import interrupts
from runwright.spec.diff import diff_specs
from runwright.spec.inputs import resolve_inputs
from runwright.spec.loader import LoadedSpec, load_spec, parse_spec
from runwright.states import RunStatus
from runwright.store import open_store
from runwright.store.base import Store, Transaction
from runwright.store.records import RunRecord

#: Plans a session keeps (by spec): enough for the pipelines a worker serves at once.
_PLANS_KEPT = 32

if TYPE_CHECKING:
    from runwright.config import LoadedConfig
    from runwright.engine.governor import Governor

Notify = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def _os_user() -> str:
    """Who is deciding when neither ``--as`` nor ``RUNWRIGHT_USER`` says."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no USER/LOGNAME and no passwd entry (some containers)
        return "unknown"


class Session(SessionReads):
    """An open runwright database plus the component registry.

    ``async with Session(settings) as s: await s.start_run("pipeline.yaml")``
    """

    def __init__(
        self, settings: Settings, *, registry: Registry | None = None, create: bool = True
    ) -> None:
        """``create=False`` (read commands): a missing SQLite database raises
        :class:`~runwright.errors.DatabaseMissing` instead of being created."""
        self.settings = settings
        self.create = create
        self._registry = registry
        self._store: Store | None = None
        self.redactor = Redactor.from_env(settings.env, settings.secret_names)
        self._configs = RunConfigs(settings, self.redactor)
        #: Plans by (spec path, spec text): a worker serving many runs of one pipeline
        #: parses and plans it once (a plan holds nothing of a run; the text, not just
        #: the hash, because error positions come from it).
        self._plans: OrderedDict[tuple[str | None, str], Plan] = OrderedDict()
        #: Shows running steps' activity (streamed model replies) where this process
        #: executes them; set by a live display, never stored.
        self.on_progress: ProgressSink | None = None

    async def __aenter__(self) -> Session:
        self._store = open_store(
            self.settings.database_url, synchronous=self.settings.synchronous, create=self.create
        )
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._store is not None:
            await self._store.close()

    @property
    def store(self) -> Store:
        assert self._store is not None, "use Session as an async context manager"
        return self._store

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = default_registry()
        return self._registry

    def load(self, path: str | Path) -> LoadedSpec:
        """Load and validate a pipeline file against the known step kinds."""
        return load_spec(path, kinds=self.registry.kinds())

    # -- executing ------------------------------------------------------------------------

    async def start_run(
        self,
        path: str | Path,
        *,
        inputs: Mapping[str, Any] | None = None,
        inputs_are_strings: bool = False,
        no_cache: bool = False,
        concurrency: int = DEFAULT_CONCURRENCY,
        workspace: str | Path | None = None,
        detach: bool = False,
        local: bool = True,
        handle_signals: bool = False,
        notify: Notify = _quiet,
        on_run: Callable[[RunRecord], None] | None = None,
    ) -> RunResult:
        """Validate and record a pipeline run, then execute it.

        ``detach`` only records it (workers pick it up). Otherwise it executes
        in-process when ``local`` (the default), or waits while ``runwright
        worker`` processes execute it (what the CLI does on PostgreSQL).
        """
        plan, fields = self._prepare(
            path, inputs, strings=inputs_are_strings, no_cache=no_cache, workspace=workspace
        )
        run = await create_run(self.store, plan=plan, **fields)
        if on_run is not None:
            on_run(run)
        if detach:
            return RunResult(run.id, run.status)
        return await self._execute(
            run, plan, local, concurrency=concurrency, handle_signals=handle_signals, notify=notify
        )

    def _prepare(
        self,
        path: str | Path,
        inputs: Mapping[str, Any] | None,
        *,
        strings: bool,
        no_cache: bool = False,
        workspace: str | Path | None = None,
    ) -> tuple[Plan, dict[str, Any]]:
        loaded = self.load(path)
        plan = build_plan(loaded.pipeline, self.registry, loaded.compile())
        resolved = resolve_inputs(loaded.pipeline, inputs or {}, strings=strings)
        options: dict[str, Any] = {"no_cache": no_cache}
        if workspace is not None:
            options["workspace"] = str(Path(workspace).resolve())
        return plan, {
            "spec_hash": loaded.spec_hash,
            "spec_source": loaded.source,
            "spec_path": str(Path(path).resolve()),
            "inputs": resolved,
            "options": options,
            "redacted_inputs": json.loads(self.redactor.redact(json.dumps(resolved))),
        }

    async def create_run_in_tx(
        self,
        tx: Transaction,
        path: str | Path,
        *,
        inputs: Mapping[str, Any] | None = None,
        inputs_are_strings: bool = False,
    ) -> RunRecord:
        """Validate a pipeline and record a run of it inside the caller's transaction.

        The run is left for workers to execute (a schedule fire commits this way).
        """
        plan, fields = self._prepare(path, inputs, strings=inputs_are_strings)
        return await create_run_in_tx(tx, plan=plan, **fields)

    async def resume(
        self,
        run_id: str,
        *,
        accept_changes: bool = False,
        concurrency: int = DEFAULT_CONCURRENCY,
        local: bool = True,
        handle_signals: bool = False,
        notify: Notify = _quiet,
        on_run: Callable[[RunRecord], None] | None = None,
    ) -> RunResult:
        """Re-run what had not committed in a crashed, killed, failed or cancelled run."""
        run = await self.store.get_run(run_id)
        if run.status is RunStatus.SUCCEEDED:
            raise StateError(f"run {run.id} already succeeded; there is nothing to resume")
        await check_not_busy(self.store, run, lease_seconds=DEFAULT_LEASE_SECONDS)
        loaded, changes = self._current_spec(run, notify)
        if changes and not accept_changes:
            raise SpecChangedError(
                f"the pipeline changed since run {run.id} started:\n  - "
                + "\n  - ".join(changes)
                + f"\nresume with --accept-changes to run the rest with the new spec, or "
                f"restore {run.spec_path}"
            )
        plan = build_plan(loaded.pipeline, self.registry, loaded.compile())
        async with self.store.transaction() as tx:
            report = await reconcile(
                tx, run, plan, (loaded.spec_hash, loaded.source) if changes else None
            )
        if on_run is not None:
            on_run(run)
        result = await self._execute(
            await self.store.get_run(run.id),
            plan,
            local,
            concurrency=concurrency,
            handle_signals=handle_signals,
            notify=notify,
        )
        return RunResult(
            result.run_id,
            result.status,
            result.error,
            {k: v for k, v in report.items() if v},
            result.waiting_for,
        )

    def _current_spec(self, run: RunRecord, notify: Notify) -> tuple[LoadedSpec, list[str]]:
        pinned = parse_spec(run.spec_source, path=run.spec_path, kinds=self.registry.kinds())
        if not run.spec_path or not Path(run.spec_path).exists():
            notify(f"{run.spec_path} is gone; resuming with the spec pinned in the run")
            return pinned, []
        current = self.load(run.spec_path)
        if current.spec_hash == run.spec_hash:
            return current, []
        return current, diff_specs(pinned.pipeline, current.pipeline) or ["the spec changed"]

    @property
    def distributed(self) -> bool:
        """Whether the CLI leaves execution to worker processes by default (PostgreSQL)."""
        return self.settings.database_url.startswith(("postgresql://", "postgres://"))

    async def _execute(
        self,
        run: RunRecord,
        plan: Plan,
        local: bool,
        *,
        concurrency: int,
        handle_signals: bool,
        notify: Notify,
    ) -> RunResult:
        if local:
            return await self._drive(
                run, plan, concurrency=concurrency, handle_signals=handle_signals, notify=notify
            )
        return await wait_for_run(self.store, run.id, notify=notify)

    def run_context(self, run: RunRecord, plan: Plan | None = None) -> RunContext:
        """What a worker needs to execute attempts of ``run`` (plan from its pinned spec)."""
        if plan is None:
            plan = self._plan_of(run)
        pipeline_dir = Path(run.spec_path).parent if run.spec_path else self.settings.project_dir
        config, redactor = self._configs.for_run(run)
        return RunContext(
            run_id=run.id,
            plan=plan,
            committer=Committer(plan, redactor),
            inputs=run.inputs,
            env=self.settings.env,
            pipeline_dir=pipeline_dir,
            workspace_root=Path(run.options.get("workspace") or pipeline_dir),
            no_cache=bool(run.options.get("no_cache")),
            config=config,
            progress=self.on_progress,
            governor=self._governor(plan, config),
        )

    def _plan_of(self, run: RunRecord) -> Plan:
        key = (run.spec_path, run.spec_source)
        plan = self._plans.get(key)
        if plan is None:
            pinned = parse_spec(run.spec_source, path=run.spec_path, kinds=self.registry.kinds())
            plan = build_plan(pinned.pipeline, self.registry, pinned.compile())
            self._plans[key] = plan
            if len(self._plans) > _PLANS_KEPT:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        return plan

    def _governor(self, plan: Plan, config: LoadedConfig | None) -> Governor | None:
        """The run's trust policy, or ``None`` when every step is autonomous (no checks)."""
        from runwright.config.trust import TrustConfig
        from runwright.governance.policy import TrustPolicy, promotions_loader

        # No file: the default [trust], without the rest of the config models.
        trust = config.config.trust if config is not None else TrustConfig()
        if not TrustPolicy.needed(plan.pipeline, trust):
            return None
        return TrustPolicy(plan.pipeline, trust, promotions_loader(self.store))

    async def _drive(
        self, run: RunRecord, plan: Plan, *, concurrency: int, handle_signals: bool, notify: Notify
    ) -> RunResult:
        rc = self.run_context(run, plan)
        worker = Worker(self.store, concurrency=concurrency, fault=self.settings.fault)
        await worker.start()
        try:
            with interrupts(worker, notify) if handle_signals else nullcontext():
                status = await worker.drive(rc)
        finally:
            await worker.stop()
        error = None
        if status not in (RunStatus.SUCCEEDED, RunStatus.WAITING):  # these record no error
            error = (await self.store.get_run(run.id)).error
        waiting = await waiting_steps(self.store, run.id) if status is RunStatus.WAITING else []
        return RunResult(run.id, status, error, waiting_for=waiting)

    async def cancel(self, run_id: str, *, reason: str = "cancelled by user") -> RunRecord:
        run = await self.store.get_run(run_id)
        if run.status.finished:
            raise StateError(f"run {run.id} is already {run.status}; nothing to cancel")
        async with self.store.transaction() as tx:
            await cancel_in_tx(tx, run.id, reason=reason)
        return await self.store.get_run(run.id)

    async def decide(
        self,
        run_id: str,
        step_id: str,
        *,
        approve: bool,
        by: str | None = None,
        note: str | None = None,
        continue_run: bool = True,
        concurrency: int = DEFAULT_CONCURRENCY,
        local: bool = True,
        handle_signals: bool = False,
        notify: Notify = _quiet,
    ) -> RunResult:
        """Approve or reject a waiting step; then carry on with the run if nobody else is."""
        run = await self.store.get_run(run_id)
        pinned = parse_spec(run.spec_source, path=run.spec_path, kinds=self.registry.kinds())
        plan = build_plan(pinned.pipeline, self.registry, pinned.compile())
        was = run.status
        status = await decide(
            self.store,
            Committer(plan, self.redactor),
            run.id,
            step_id,
            approve=approve,
            by=by or _os_user(),
            note=note,
        )
        if continue_run and was is RunStatus.WAITING and status is RunStatus.RUNNING:
            return await self._execute(
                await self.store.get_run(run.id),
                plan,
                local,
                concurrency=concurrency,
                handle_signals=handle_signals,
                notify=notify,
            )
        final = await self.store.get_run(run.id)
        return RunResult(run.id, final.status, final.error)
