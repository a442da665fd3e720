"""The python step kind, importing real modules written into the pipeline directory."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from fixtures_steps.stepctx import make_context

from runwright.errors import FatalStepError
from runwright.steps.base import StepContext, StepKind
from runwright.steps.python import PythonStep
from runwright.workspace import FileWrite

MODULE = """
import asyncio
import threading


def add(a, b=10):
    return {"sum": a + b, "thread": threading.current_thread().name}


async def slow_double(x):
    await asyncio.sleep(0)
    return x * 2


def with_ctx(name, ctx):
    return f"{name} in {ctx.step_id}"


def writes(ctx, path, text):
    return ctx.workspace.write(path, text).result


def boom(message):
    raise KeyError(message)


def raises_type_error():
    return len(5)


def _private():
    pass


not_callable = 3
"""


def write_module(ctx: StepContext, source: str = MODULE) -> str:
    """Write ``source`` as a uniquely named module (sys.modules is process-wide)."""
    name = "rwpystep_" + uuid.uuid4().hex[:10]
    (ctx.pipeline_dir / f"{name}.py").write_text(textwrap.dedent(source))
    return name


def run(ctx: StepContext, params: dict[str, Any]) -> Any:
    return asyncio.run(PythonStep().run(ctx, params))


def test_is_a_step_kind() -> None:
    kind = PythonStep()
    assert isinstance(kind, StepKind)
    assert kind.requires <= (kind.accepts or frozenset())


def test_kwargs_run_off_the_event_loop(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    mod = write_module(ctx)
    out = run(ctx, {"function": f"{mod}:add", "args": {"a": 1, "b": 2}})
    assert out["sum"] == 3
    assert out["thread"] != "MainThread"


def test_positional_args(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    mod = write_module(ctx)
    assert run(ctx, {"function": f"{mod}:add", "args": [5]})["sum"] == 15


def test_async_function_is_awaited(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    mod = write_module(ctx)
    assert run(ctx, {"function": f"{mod}:slow_double", "args": {"x": 21}}) == 42


def test_ctx_is_injected(tmp_path: Path) -> None:
    ctx = make_context(tmp_path, step_id="greet")
    mod = write_module(ctx)
    assert run(ctx, {"function": f"{mod}:with_ctx", "args": ["hello"]}) == "hello in greet"
    assert run(ctx, {"function": f"{mod}:with_ctx", "args": {"name": "kw"}}) == "kw in greet"


def test_writes_through_the_workspace(tmp_path: Path) -> None:
    writes: list[FileWrite] = []
    ctx = make_context(tmp_path, writes=writes)
    mod = write_module(ctx)
    params = {"function": f"{mod}:writes", "args": {"path": "out/a.txt", "text": "hi"}}
    assert run(ctx, params) == "created"
    assert (ctx.workspace.root / "out" / "a.txt").read_text() == "hi"
    assert [w.path for w in writes] == ["out/a.txt"]


def test_repeated_calls_reuse_the_resolved_function(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    mod = write_module(ctx)
    params = {"function": f"{mod}:add", "args": {"a": 1}}

    async def many() -> list[Any]:
        return [await PythonStep().run(ctx, params) for _ in range(50)]

    assert all(out["sum"] == 11 for out in asyncio.run(many()))
    assert list(sys.modules).count(mod) == 1


def test_import_error_is_fatal_and_actionable(tmp_path: Path) -> None:
    ctx = make_context(tmp_path, step_id="load")
    with pytest.raises(FatalStepError) as info:
        run(ctx, {"function": "rw_missing_pkg_xyz.mod:f"})
    message = str(info.value)
    assert "cannot import module 'rw_missing_pkg_xyz.mod' for step 'load'" in message
    assert "No module named 'rw_missing_pkg_xyz'" in message
    assert f"modules are searched in {ctx.pipeline_dir} and PYTHONPATH" in message


def test_broken_module_is_fatal(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    mod = write_module(ctx, "raise RuntimeError('bad config')\n")
    with pytest.raises(FatalStepError, match="RuntimeError: bad config"):
        run(ctx, {"function": f"{mod}:f"})


def test_missing_function_suggests_a_public_callable(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    mod = write_module(ctx)
    with pytest.raises(
        FatalStepError, match=r"has no attribute 'ad'; did you mean 'add'\?"
    ) as info:
        run(ctx, {"function": f"{mod}:ad"})
    assert "_private" not in str(info.value)
    assert "not_callable" not in str(info.value)


@pytest.mark.parametrize("spec", ["no_colon_here", ":f", "mod:", 42])
def test_malformed_spec_is_fatal(tmp_path: Path, spec: Any) -> None:
    with pytest.raises(FatalStepError, match=r"package\.module:function"):
        run(make_context(tmp_path), {"function": spec})


def test_a_dot_for_the_colon_gets_the_fix(tmp_path: Path) -> None:
    with pytest.raises(FatalStepError, match=r"got 'mysteps\.hello'; use 'mysteps:hello'$"):
        run(make_context(tmp_path), {"function": "mysteps.hello"})
    # The same check, before anything runs (what `runwright validate` reports).
    assert PythonStep.check_with({"function": "pkg.mod.f"}) == [
        ("function", "'pkg.mod.f' is not 'module:function'; use 'pkg.mod:f'")
    ]
    assert PythonStep.check_with({"function": "pkg.mod:f"}) == []
    assert PythonStep.check_with({"function": "{{ inputs.f }}"}) == []  # known at run time


def test_not_callable_is_fatal(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    mod = write_module(ctx)
    with pytest.raises(FatalStepError, match="is not callable"):
        run(ctx, {"function": f"{mod}:not_callable"})


def test_bad_call_signature_is_fatal(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    mod = write_module(ctx)
    with pytest.raises(FatalStepError, match=r"cannot call .*:add\(a, b=10\)") as info:
        run(ctx, {"function": f"{mod}:add", "args": {"c": 1}})
    assert "missing a required argument: 'a'" in str(info.value)


def test_bad_args_type_is_fatal(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    mod = write_module(ctx)
    with pytest.raises(FatalStepError, match=r"with\.args must be a mapping"):
        run(ctx, {"function": f"{mod}:add", "args": "1"})


def test_exceptions_inside_the_function_propagate_unchanged(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    mod = write_module(ctx)
    with pytest.raises(KeyError, match="from user code"):
        run(ctx, {"function": f"{mod}:boom", "args": ["from user code"]})
    # A TypeError raised inside the function is the function's failure, not a bad call.
    with pytest.raises(TypeError) as info:
        run(ctx, {"function": f"{mod}:raises_type_error"})
    assert not isinstance(info.value, FatalStepError)


def test_code_version_is_stable_and_specific(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    mod = write_module(ctx)
    kind = PythonStep()
    add = kind.code_version({"function": f"{mod}:add"}, ctx.pipeline_dir)
    assert add is not None and len(add) == 64
    assert add == kind.code_version({"function": f"{mod}:add"}, ctx.pipeline_dir)
    assert add != kind.code_version({"function": f"{mod}:boom"}, ctx.pipeline_dir)


CODE_VERSION_SCRIPT = """
import sys
from pathlib import Path
from runwright.steps.python import PythonStep
print(PythonStep().code_version({"function": sys.argv[2]}, Path(sys.argv[1])))
"""


def _code_version_in_fresh_process(pipeline_dir: Path, spec: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", CODE_VERSION_SCRIPT, str(pipeline_dir), spec],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    return result.stdout.strip()


def test_code_version_changes_when_the_source_changes(tmp_path: Path) -> None:
    # A new process, as when a run is resumed after the user edited the function.
    ctx = make_context(tmp_path)
    module = ctx.pipeline_dir / "rw_versioned_mod.py"
    module.write_text("def f():\n    return 1\n\n\ndef g():\n    return 0\n")
    before = _code_version_in_fresh_process(ctx.pipeline_dir, "rw_versioned_mod:f")
    module.write_text("def f():\n    return 2\n\n\ndef g():\n    return 0\n")
    after = _code_version_in_fresh_process(ctx.pipeline_dir, "rw_versioned_mod:f")
    assert before != after
    assert len(before) == 64
    # Editing another function leaves this one's version alone.
    module.write_text("def f():\n    return 2\n\n\ndef g():\n    return 99\n")
    assert _code_version_in_fresh_process(ctx.pipeline_dir, "rw_versioned_mod:f") == after


PLACED = """
import threading, time
from pathlib import Path

def where(marker):
    # The 8th call is slow: it runs on the loop by then, and sends the function back.
    calls = Path(marker)
    n = len(calls.read_text()) if calls.exists() else 0
    calls.write_text("x" * (n + 1))
    if n == 7:
        time.sleep(0.1)
    return threading.current_thread() is threading.main_thread()
"""


def test_a_quick_sync_function_moves_to_the_loop_and_a_slow_run_sends_it_back(
    tmp_path: Path,
) -> None:
    from runwright.steps.placement import DEMOTE_S, PROOF_RUNS

    ctx = make_context(tmp_path)
    mod = write_module(ctx, PLACED)
    params = {"function": f"{mod}:where", "args": [str(tmp_path / "calls")]}

    async def calls() -> list[bool]:
        return [await PythonStep().run(ctx, params) for _ in range(20)]

    on_loop = asyncio.run(calls())
    assert on_loop[:PROOF_RUNS] == [False] * PROOF_RUNS  # threads until proven quick
    assert DEMOTE_S < 0.1 and True in on_loop[PROOF_RUNS:8]
    # Call 8 took 0.1 s (on the loop or in a thread): every call after it runs in a thread.
    assert on_loop[8:] == [False] * 12
