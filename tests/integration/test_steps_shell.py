"""The shell step kind against real subprocesses."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from fixtures_steps.stepctx import async_wait_until, make_context, process_gone, wait_until

from runwright.errors import FatalStepError, IllegalTransition, StepError
from runwright.processes import ProcessGroup, members, watchdog
from runwright.steps.base import StepContext, StepKind
from runwright.steps.capture import OUTPUT_CAP
from runwright.steps.shell import ShellStep


def run(ctx: StepContext, params: dict[str, Any]) -> Any:
    return asyncio.run(ShellStep().run(ctx, params))


def test_is_a_step_kind() -> None:
    kind = ShellStep()
    assert isinstance(kind, StepKind)
    assert kind.requires <= (kind.accepts or frozenset())
    assert kind.code_version({"run": "true"}, Path()) is None


def test_captures_stdout_stderr_and_exit_code(tmp_path: Path) -> None:
    out = run(make_context(tmp_path), {"run": "echo hello; echo oops >&2"})
    assert out == {"stdout": "hello\n", "stderr": "oops\n", "exit_code": 0}


def test_parse_json(tmp_path: Path) -> None:
    out = run(make_context(tmp_path), {"run": """echo '{"a": [1, 2]}'""", "parse": "json"})
    assert out["json"] == {"a": [1, 2]}


def test_parse_json_failure_quotes_stdout(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="not valid JSON") as info:
        run(make_context(tmp_path), {"run": "echo not-json", "parse": "json"})
    assert "not-json" in str(info.value)


def test_non_zero_exit_raises_with_output(tmp_path: Path) -> None:
    script = "echo partial; for i in $(seq 1 30); do echo line$i >&2; done; exit 3"
    with pytest.raises(StepError) as info:
        run(make_context(tmp_path), {"run": script})
    message = str(info.value)
    assert message.startswith("command exited with 3: ")
    assert "line30" in message and "line11" in message and "line10\n" not in message
    assert info.value.retryable
    output = info.value.output  # type: ignore[attr-defined]
    assert output["exit_code"] == 3
    assert output["stdout"] == "partial\n"


def test_cwd_and_env(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    (ctx.pipeline_dir / "sub").mkdir()
    out = run(ctx, {"run": 'pwd; echo "$GREETING"', "cwd": "sub", "env": {"GREETING": "hi"}})
    assert out["stdout"].splitlines() == [str((ctx.pipeline_dir / "sub").resolve()), "hi"]


def test_default_cwd_is_pipeline_dir(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    assert run(ctx, {"run": "pwd"})["stdout"].strip() == str(ctx.pipeline_dir.resolve())


def test_missing_cwd_is_fatal(tmp_path: Path) -> None:
    with pytest.raises(FatalStepError, match=r"'nope'.*not an existing directory"):
        run(make_context(tmp_path), {"run": "true", "cwd": "nope"})


def test_missing_shell_is_fatal(tmp_path: Path) -> None:
    with pytest.raises(FatalStepError, match="shell 'no-such-shell-xyz' was not found"):
        run(make_context(tmp_path), {"run": "true", "shell": "no-such-shell-xyz"})


def test_other_shell(tmp_path: Path) -> None:
    assert run(make_context(tmp_path), {"run": "echo $0", "shell": "sh"})["stdout"].strip()


def test_non_string_env_value_is_fatal(tmp_path: Path) -> None:
    with pytest.raises(FatalStepError, match="PORT must be a string"):
        run(make_context(tmp_path), {"run": "true", "env": {"PORT": 8080}})


def test_runwright_variables_visible(tmp_path: Path) -> None:
    ctx = make_context(tmp_path, step_id="build", item=4, attempt=2)
    names = [
        "RUNWRIGHT_RUN_ID",
        "RUNWRIGHT_STEP_ID",
        "RUNWRIGHT_ATTEMPT",
        "RUNWRIGHT_IDEMPOTENCY_KEY",
        "RUNWRIGHT_WORKSPACE",
        "RUNWRIGHT_ITEM",
    ]
    script = "; ".join(f'echo "${name}"' for name in names)
    lines = run(ctx, {"run": script})["stdout"].splitlines()
    expected = [ctx.run_id, "build", "2", ctx.idempotency_key, str(ctx.workspace.root), "4"]
    assert lines == expected


def test_no_item_variable_without_item(tmp_path: Path) -> None:
    out = run(make_context(tmp_path), {"run": 'echo "${RUNWRIGHT_ITEM-unset}"'})
    assert out["stdout"] == "unset\n"


def test_output_is_capped_keeping_the_tail(tmp_path: Path) -> None:
    script = f"head -c {3 * OUTPUT_CAP} /dev/zero | tr '\\0' a; echo END"
    out = run(make_context(tmp_path), {"run": script})
    assert out["stdout"].startswith("[runwright: ")
    assert "truncated" in out["stdout"].splitlines()[0]
    assert out["stdout"].endswith("aaaaEND\n")
    assert len(out["stdout"]) < OUTPUT_CAP + 200


def test_background_process_holding_pipes_does_not_hang(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    pidfile = ctx.pipeline_dir / "bg.pid"
    try:
        out = run(ctx, {"run": "sleep 30 & echo $! > bg.pid; echo done"})
        assert out["stdout"] == "done\n"
        assert "a background process kept the pipes open" in out["stderr"]
    finally:
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGKILL)


async def _start_and_cancel(ctx: StepContext, script: str) -> tuple[int, int]:
    task = asyncio.create_task(ShellStep().run(ctx, {"run": script}))
    child_file = ctx.pipeline_dir / "child.pid"
    await async_wait_until(
        lambda: child_file.exists() and child_file.read_text().endswith("\n"),
        what="the background child to start",
    )
    shell_pid = int((ctx.pipeline_dir / "shell.pid").read_text())
    child_pid = int(child_file.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return shell_pid, child_pid


def test_cancellation_kills_the_whole_process_group(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    script = "echo $$ > shell.pid; sleep 60 & echo $! > child.pid; sleep 60"
    shell_pid, child_pid = asyncio.run(_start_and_cancel(ctx, script))
    wait_until(lambda: process_gone(shell_pid), what=f"shell {shell_pid} to die")
    wait_until(lambda: process_gone(child_pid), what=f"child {child_pid} to die")


def test_cancellation_escalates_to_sigkill(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    # Ignored signals are inherited, so neither the shell nor its child obeys SIGTERM.
    script = "trap '' TERM; echo $$ > shell.pid; sleep 60 & echo $! > child.pid; sleep 60"
    started = time.monotonic()
    shell_pid, child_pid = asyncio.run(_start_and_cancel(ctx, script))
    assert time.monotonic() - started < 10
    wait_until(lambda: process_gone(shell_pid), what=f"shell {shell_pid} to die")
    wait_until(lambda: process_gone(child_pid), what=f"child {child_pid} to die")


def test_timeout_via_wait_for_kills_the_command(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)

    async def scenario() -> None:
        task = asyncio.create_task(
            ShellStep().run(ctx, {"run": "echo $$ > shell.pid; exec sleep 60"})
        )
        pidfile = ctx.pipeline_dir / "shell.pid"
        await async_wait_until(lambda: pidfile.exists() and pidfile.read_text().endswith("\n"))
        await asyncio.wait_for(task, 0.05)

    with pytest.raises(TimeoutError):
        asyncio.run(scenario())
    shell_pid = int((ctx.pipeline_dir / "shell.pid").read_text())
    wait_until(lambda: process_gone(shell_pid), what=f"command {shell_pid} to die")


def test_cancellation_while_starting_does_not_wait_for_background_children(
    tmp_path: Path,
) -> None:
    # Cancelling inside asyncio's subprocess start used to kill only the shell and
    # then block until the background child closed the pipes (60 s here).
    async def scenario(ctx: StepContext) -> None:
        task = asyncio.create_task(
            ShellStep().run(ctx, {"run": "sleep 60 & echo $! > child.pid; sleep 60"})
        )
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    for attempt in range(5):
        ctx = make_context(tmp_path / str(attempt))
        started = time.monotonic()
        asyncio.run(scenario(ctx))
        assert time.monotonic() - started < 10
        child_file = ctx.pipeline_dir / "child.pid"
        if child_file.exists() and child_file.read_text().strip():
            child = int(child_file.read_text())
            wait_until(functools.partial(process_gone, child), what=f"child {child} to die")


CANARY = "canary-0123456789abcdef-SECRET-zz"


def _fragments() -> list[str]:
    return [CANARY[i : i + 8] for i in range(len(CANARY) - 7)]


def test_output_is_masked_before_the_cap_cuts_it_and_streamed_as_it_comes(
    tmp_path: Path,
) -> None:
    from runwright.redaction import Redactor

    logged: list[tuple[str, str]] = []
    ctx = make_context(
        tmp_path,
        env={**os.environ, "MY_API_KEY": CANARY},
        redactor=Redactor([CANARY]),
        _log=lambda stream, text: logged.append((stream, text)),
    )
    # Unmasked, the cap's cut would fall 16 characters into the secret.
    script = (
        f"printf '%s' \"$MY_API_KEY\"; head -c {OUTPUT_CAP - 17} /dev/zero | tr '\\0' x; "
        "printf 'a:%s' \"${MY_API_KEY:0:10}\" >&2; sleep 0.2; "
        "printf '%s\\n' \"${MY_API_KEY:10}\" >&2"
    )
    out = run(ctx, {"run": script})
    assert out["stdout"].startswith("***xxx") and out["stderr"] == "a:***\n"
    assert [f for f in _fragments() if f in out["stdout"] + out["stderr"]] == []
    streamed = {s: "".join(t for k, t in logged if k == s) for s in ("stdout", "stderr")}
    assert streamed == {"stdout": out["stdout"], "stderr": "a:***\n"}
    assert len([t for k, t in logged if k == "stdout"]) > 1  # pieces, as they arrived


# -- shell defaults (GitHub Actions': bash --noprofile --norc -eo pipefail, sh -e) -------


def test_bash_stops_at_the_first_failing_command(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="command exited with 1") as info:
        run(make_context(tmp_path), {"run": "false; echo still-ran"})
    assert "still-ran" not in info.value.output["stdout"]  # type: ignore[attr-defined]


def test_bash_pipefail_fails_a_pipeline_with_a_failing_part(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="command exited with 1"):
        run(make_context(tmp_path), {"run": "false | true"})


def test_sh_gets_errexit(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="command exited with 1") as info:
        run(make_context(tmp_path), {"run": "false; echo still-ran", "shell": "sh"})
    assert "still-ran" not in info.value.output["stdout"]  # type: ignore[attr-defined]


def test_a_template_runs_exactly_as_written_without_errexit(tmp_path: Path) -> None:
    out = run(make_context(tmp_path), {"run": "false; echo still-ran", "shell": "bash {0}"})
    assert out["stdout"] == "still-ran\n"


def test_a_template_runs_any_interpreter_on_a_script_file(tmp_path: Path) -> None:
    code = "import sys\nprint(sys.argv[1:])\n"
    out = run(make_context(tmp_path), {"run": code, "shell": "python3 {0} extra"})
    assert out["stdout"] == "['extra']\n"


def test_the_template_script_file_is_deleted_afterwards(tmp_path: Path) -> None:
    out = run(make_context(tmp_path), {"run": 'echo "$0"', "shell": "bash {0}"})
    script = Path(out["stdout"].strip())
    assert script.name.startswith("runwright-step-")
    assert not script.exists()


def test_another_shell_name_runs_with_dash_c_only(tmp_path: Path) -> None:
    out = run(make_context(tmp_path), {"run": "false; echo still-ran", "shell": "dash"})
    assert out["stdout"] == "still-ran\n"


def test_options_without_a_placeholder_are_fatal(tmp_path: Path) -> None:
    with pytest.raises(FatalStepError, match=r"has options but no \{0\}.*'bash -x \{0\}'"):
        run(make_context(tmp_path), {"run": "true", "shell": "bash -x"})


# -- supervision: the watchdog and the attempt's record ------------------------------------


def test_the_group_is_recorded_and_watched_while_the_step_runs_only(tmp_path: Path) -> None:
    recorded: list[ProcessGroup] = []

    async def record(group: ProcessGroup) -> None:
        recorded.append(group)
        assert group.pgid in watchdog().groups  # watched before the step goes on

    ctx = make_context(tmp_path, _on_process=record)
    out = run(ctx, {"run": "echo $$"})
    [group] = recorded
    assert group.pgid == int(out["stdout"]) and group.local
    assert group.pgid not in watchdog().groups


def test_a_refused_record_kills_the_group_and_fails_the_step(tmp_path: Path) -> None:
    started: list[int] = []

    async def refuse(group: ProcessGroup) -> None:
        started.append(group.pgid)
        raise IllegalTransition("attempt 1 is no longer running under w1")

    ctx = make_context(tmp_path, _on_process=refuse)
    with pytest.raises(IllegalTransition):
        run(ctx, {"run": "sleep 60 & sleep 60"})
    [pgid] = started
    wait_until(lambda: not members(pgid), what=f"group {pgid} to die")
    assert pgid not in watchdog().groups


def test_pipefail_sees_a_producer_killed_by_sigpipe(tmp_path: Path) -> None:
    # Why the README and the scaffolded pipeline use `sed -n '1,Np'` rather than `head`.
    with pytest.raises(StepError, match="command exited with 141"):
        run(make_context(tmp_path), {"run": "seq 1 1000000 | head -n 2"})
    out = run(make_context(tmp_path), {"run": "seq 1 1000000 | sed -n '1,2p'"})
    assert out["stdout"] == "1\n2\n"
