"""The ``shell`` step kind: run a command with ``<shell> -c`` in its own process group."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, ClassVar

from runwright import processes
from runwright.errors import FatalStepError, StepError
from runwright.redaction import Redactor, StreamMasker
from runwright.steps.base import StepContext

#: Most bytes kept per stream; the tail is kept because that is where errors are.
OUTPUT_CAP = 1024 * 1024
#: How long a cancelled command gets between SIGTERM and SIGKILL.
KILL_GRACE = 2.0
#: How long to keep reading after the shell exits, for output still in flight.
PIPE_GRACE = 2.0
#: Stderr lines quoted in the failure message.
STDERR_LINES = 20
_POLL = 0.02


class CommandFailed(StepError):
    """The command exited with a non-zero status; ``output`` holds what it printed."""

    def __init__(self, message: str, *, output: dict[str, Any]) -> None:
        super().__init__(message, output=output)
        self.output = output


class ShellStep:
    """``uses: shell`` — ``with: {run, cwd, env, shell, parse}``."""

    name: ClassVar[str] = "shell"
    version: ClassVar[str] = "1"
    pure: ClassVar[bool] = False
    accepts: ClassVar[frozenset[str] | None] = frozenset({"run", "cwd", "env", "shell", "parse"})
    requires: ClassVar[frozenset[str]] = frozenset({"run"})

    def capabilities(self, params: Mapping[str, Any]) -> frozenset[str]:
        """A command can do anything its user can: run, write, reach the network."""
        return frozenset({"shell", "write_workspace", "network"})

    def code_version(self, params: Mapping[str, Any], ctx_dir: Path) -> str | None:
        """The command text is already in ``params``; nothing else to hash."""
        return None

    async def run(self, ctx: StepContext, params: Mapping[str, Any]) -> dict[str, Any]:
        """Run the command; return ``{stdout, stderr, exit_code}`` (plus ``json``)."""
        command = params.get("run")
        if not isinstance(command, str) or not command.strip():
            raise FatalStepError(f"step '{ctx.step_id}': with.run must be a non-empty string")
        parse = params.get("parse")
        if parse not in (None, "json"):
            raise FatalStepError(
                f"step '{ctx.step_id}': with.parse must be 'json' or omitted, not {parse!r}"
            )
        env = _build_env(ctx, params.get("env"))
        cwd = _resolve_cwd(ctx, params.get("cwd"))
        argv, script = _shell_argv(ctx, params.get("shell", "bash"), command, env)

        transport, capture = await _spawn(argv, cwd=cwd, env=env, ctx=ctx, script=script)
        capture.attach(ctx.redactor, ctx.log)
        pgid = transport.get_pid()
        try:
            await asyncio.shield(capture.exited)
            try:
                await asyncio.wait_for(asyncio.shield(capture.closed), PIPE_GRACE)
            except TimeoutError:
                # A background process still holds our pipes; waiting for it
                # would hang the step until its timeout.
                capture.note(2, "\n[runwright: a background process kept the pipes open]\n")
        except asyncio.CancelledError:
            await _terminate_group(pgid, capture)
            raise
        finally:
            capture.finish()
            transport.close()

        exit_code = transport.get_returncode()
        assert exit_code is not None  # exited has resolved
        output: dict[str, Any] = {
            "stdout": capture.stdout.text(),
            "stderr": capture.stderr.text(),
            "exit_code": exit_code,
        }
        if exit_code != 0:
            tail = "\n".join(output["stderr"].rstrip("\n").splitlines()[-STDERR_LINES:])
            how = f"command exited with {exit_code}"
            if exit_code < 0:
                with contextlib.suppress(ValueError):
                    how = f"command was killed by {signal.Signals(-exit_code).name}"
            raise CommandFailed(f"{how}: {tail}" if tail else how, output=output)
        if parse == "json":
            try:
                output["json"] = json.loads(output["stdout"])
            except json.JSONDecodeError as exc:
                raise StepError(
                    f"step '{ctx.step_id}': stdout is not valid JSON ({exc}); "
                    f"it starts with: {output['stdout'][:200]!r}"
                ) from exc
        return output


class _Tail:
    """Keeps at most ``OUTPUT_CAP`` trailing bytes of a stream, counting what it drops.

    It is fed text that is already masked: cutting raw output could keep the
    last characters of a secret whose beginning was cut away.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._dropped = 0

    def feed(self, text: str) -> None:
        self._buf += text.encode("utf-8", errors="surrogateescape")
        excess = len(self._buf) - OUTPUT_CAP
        if excess > 0:
            del self._buf[:excess]
            self._dropped += excess

    def text(self) -> str:
        body = self._buf.decode("utf-8", errors="replace")
        if self._dropped:
            body = f"[runwright: {self._dropped} earlier bytes truncated]\n{body}"
        return body


class _Capture(asyncio.SubprocessProtocol):
    # A protocol rather than StreamReaders: data is folded into the capped tails
    # as it arrives (no unbounded buffering), and process exit is observed
    # separately from pipe closure, which Process.wait() on 3.11 conflates.
    # Each stream is decoded and masked as one text (a secret split between two
    # reads is still masked), then kept in its tail and streamed to the run's logs.

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.stdout = _Tail()
        self.stderr = _Tail()
        self.exited: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._decoders = {fd: codecs.getincrementaldecoder("utf-8")("replace") for fd in (1, 2)}
        self._maskers: dict[int, StreamMasker] | None = None
        self._log: Callable[[str, str], None] = _no_log
        #: What arrived before attach(): the start of the process races with it.
        self._early: list[tuple[int, bytes]] = []

    def attach(self, redactor: Redactor, log: Callable[[str, str], None]) -> None:
        """Start masking, keeping and logging output (with what arrived before)."""
        self._maskers = {1: redactor.stream(), 2: redactor.stream()}
        self._log = log
        early, self._early = self._early, []
        for fd, raw in early:
            self._take(fd, self._decoders[fd].decode(raw))

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        raw = data.encode() if isinstance(data, str) else data
        if self._maskers is None:
            self._early.append((fd, raw))
        else:
            self._take(fd, self._decoders[fd].decode(raw))

    def note(self, fd: int, text: str) -> None:
        """Add runwright's own remark to a stream, in order with the output."""
        self._take(fd, self._decoders[fd].decode(b"", final=True) + text)

    def finish(self) -> None:
        """The streams ended: release what the maskers and decoders held back."""
        if self._maskers is None:
            return
        for fd, masker in self._maskers.items():
            self._put(fd, masker.feed(self._decoders[fd].decode(b"", final=True)) + masker.flush())
        self._maskers = None

    def _take(self, fd: int, text: str) -> None:
        if self._maskers is not None:
            self._put(fd, self._maskers[1 if fd == 1 else 2].feed(text))

    def _put(self, fd: int, safe: str) -> None:
        if safe:
            (self.stdout if fd == 1 else self.stderr).feed(safe)
            self._log("stdout" if fd == 1 else "stderr", safe)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        # Called once the process has exited and every pipe is closed.
        self.process_exited()
        if not self.closed.done():
            self.closed.set_result(None)


def _no_log(stream: str, text: str) -> None:
    pass


def _build_env(ctx: StepContext, extra: Any) -> dict[str, str]:
    if extra is None:
        extra = {}
    if not isinstance(extra, Mapping):
        raise FatalStepError(
            f"step '{ctx.step_id}': with.env must be a mapping of names to strings"
        )
    env = dict(ctx.env)
    for key, value in extra.items():
        if not isinstance(value, str):
            raise FatalStepError(
                f"step '{ctx.step_id}': with.env.{key} must be a string, not "
                f"{type(value).__name__}; quote it in the YAML"
            )
        env[str(key)] = value
    env.update(
        RUNWRIGHT_RUN_ID=ctx.run_id,
        RUNWRIGHT_STEP_ID=ctx.step_id,
        RUNWRIGHT_ATTEMPT=str(ctx.attempt),
        RUNWRIGHT_IDEMPOTENCY_KEY=ctx.idempotency_key,
        RUNWRIGHT_WORKSPACE=str(ctx.workspace.root),
    )
    if ctx.item is not None:
        env["RUNWRIGHT_ITEM"] = str(ctx.item)
    return env


def _resolve_cwd(ctx: StepContext, cwd: Any) -> Path:
    if cwd is None:
        return ctx.pipeline_dir
    if not isinstance(cwd, str):
        raise FatalStepError(f"step '{ctx.step_id}': with.cwd must be a string path")
    path = ctx.pipeline_dir / cwd
    if not path.is_dir():
        raise FatalStepError(
            f"step '{ctx.step_id}': cwd '{cwd}' ({path}) is not an existing directory; "
            f"paths are relative to the pipeline directory {ctx.pipeline_dir}"
        )
    return path


#: ``with.shell`` names that get GitHub Actions' defaults (fail on the first failing
#: command, and in a pipeline on any failing part); other names run ``NAME -c``.
SHELL_DEFAULTS: dict[str, tuple[str, ...]] = {
    "bash": ("--noprofile", "--norc", "-eo", "pipefail", "-c"),
    "sh": ("-e", "-c"),
}


def _shell_argv(
    ctx: StepContext, shell: Any, command: str, env: Mapping[str, str]
) -> tuple[tuple[str, ...], Path | None]:
    """The argv to run ``command`` with, and the script file it needs (deleted afterwards).

    ``bash``/``sh`` get GitHub Actions' defaults; another bare name runs ``NAME -c``;
    a template with ``{0}`` (``"bash {0}"``, ``"python3 {0}"``) runs exactly as
    written, ``{0}`` replaced by the path of a file holding the command.
    """
    if not isinstance(shell, str) or not shell.strip():
        raise FatalStepError(f"step '{ctx.step_id}': with.shell must be an executable name")
    if "{0}" not in shell:
        if len(shell.split()) > 1:
            raise FatalStepError(
                f"step '{ctx.step_id}': with.shell {shell!r} has options but no {{0}}; "
                f"write it as a template such as '{shell} {{0}}' ({{0}} is the script file)"
            )
        flags = SHELL_DEFAULTS.get(Path(shell).name, ("-c",))
        return (_find_shell(ctx, shell, env), *flags, command), None
    try:
        words = shlex.split(shell)
    except ValueError as exc:
        raise FatalStepError(f"step '{ctx.step_id}': with.shell {shell!r}: {exc}") from exc
    executable = _find_shell(ctx, words[0], env)
    fd, name = tempfile.mkstemp(prefix="runwright-step-", suffix=".sh")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(command)
    return (executable, *(w.replace("{0}", name) for w in words[1:])), Path(name)


def _find_shell(ctx: StepContext, shell: str, env: Mapping[str, str]) -> str:
    # Look it up on the PATH the command will get, as exec would.
    found = shutil.which(shell, path=env.get("PATH", os.defpath))
    if found is None:
        raise FatalStepError(
            f"step '{ctx.step_id}': shell '{shell}' was not found on PATH; install it or set "
            "with.shell to an available shell (for example 'sh')"
        )
    return found


async def _spawn(
    argv: tuple[str, ...],
    *,
    cwd: Path,
    env: Mapping[str, str],
    ctx: StepContext | None = None,
    script: Path | None = None,
    stdin: int | IO[bytes] = subprocess.DEVNULL,
) -> tuple[asyncio.SubprocessTransport, _Capture]:
    """Start the command as the leader of a new process group that dies with this process.

    The group is registered with this process's watchdog and recorded in the
    attempt (``ctx.record_process``) before this returns; ``script`` is deleted
    once the command is done. ``stdin`` is what the command reads (default: nothing).
    """
    try:
        transport, capture = await _start(argv, cwd=cwd, env=env, stdin=stdin)
    except BaseException:
        _forget(None, script)
        raise
    pgid = transport.get_pid()
    group = processes.describe(pgid)
    processes.watchdog().add(group)
    capture.closed.add_done_callback(lambda _: _forget(pgid, script))
    if ctx is not None:
        try:
            await ctx.record_process(group)
        except BaseException:
            # Not recorded (the attempt was taken away, or cancelled): nothing may run on.
            try:
                await _terminate_group(pgid, capture)
            finally:
                transport.close()
            raise
    return transport, capture


def _forget(pgid: int | None, script: Path | None) -> None:
    if pgid is not None:
        processes.watchdog().remove(pgid)
    if script is not None:
        script.unlink(missing_ok=True)


async def _start(
    argv: tuple[str, ...],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdin: int | IO[bytes] = subprocess.DEVNULL,
) -> tuple[asyncio.SubprocessTransport, _Capture]:
    loop = asyncio.get_running_loop()
    spawn = asyncio.ensure_future(
        loop.subprocess_exec(
            lambda: _Capture(loop),
            *argv,
            stdin=stdin,
            cwd=cwd,
            env=env,
            # Leading its own process group lets cancellation kill everything the
            # command started, not just the shell.
            start_new_session=True,
        )
    )
    try:
        # Shielded because asyncio's own cleanup of a cancelled start kills only
        # the shell and then waits for its pipes, which a background child can
        # hold open for as long as it lives.
        return await asyncio.shield(spawn)
    except asyncio.CancelledError:
        try:
            transport, capture = await asyncio.shield(spawn)
        except asyncio.CancelledError:
            spawn.add_done_callback(_kill_started)
            raise
        except Exception:
            raise asyncio.CancelledError from None  # it never started; nothing to stop
        try:
            await _terminate_group(transport.get_pid(), capture)
        finally:
            transport.close()
        raise


def _kill_started(spawn: asyncio.Future[tuple[asyncio.SubprocessTransport, _Capture]]) -> None:
    # Last resort when cancelled twice: no grace period, but nothing left running.
    if spawn.cancelled() or spawn.exception() is not None:
        return
    transport, _ = spawn.result()
    _signal_group(transport.get_pid(), signal.SIGKILL)
    transport.close()


async def _terminate_group(pgid: int, capture: _Capture) -> None:
    """SIGTERM the group, give it ``KILL_GRACE`` seconds, then SIGKILL what is left."""
    try:
        _signal_group(pgid, signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + KILL_GRACE
        while not (capture.exited.done() and not _group_alive(pgid)):
            if loop.time() > deadline:
                _signal_group(pgid, signal.SIGKILL)
                break
            await asyncio.sleep(_POLL)
        # Reap the shell so no zombie is left behind.
        await asyncio.shield(capture.exited)
    except asyncio.CancelledError:
        # Cancelled again while cleaning up: do not wait, but never leave the group alive.
        _signal_group(pgid, signal.SIGKILL)
        raise


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """Whether any process that is not a zombie is left in the group."""
    if not Path("/proc/self/stat").exists():
        # Without /proc, zombies look alive: at worst this waits out the grace period.
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    # Zombies still count for killpg(pgid, 0), and a reparented grandchild may
    # never be reaped in a container, so read the process states from /proc.
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name: state ppid pgrp ...
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
