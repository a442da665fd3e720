"""The ``python`` step kind: call ``pkg.mod:func`` with the step's ``args``."""

from __future__ import annotations

import asyncio
import difflib
import functools
import hashlib
import importlib
import inspect
import re
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

from runwright.errors import FatalStepError
from runwright.steps.base import StepContext
from runwright.steps.placement import Placement

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
#: ``package.module:function`` or ``module:Class.method``.
_SPEC = re.compile(rf"{_IDENT}(?:\.{_IDENT})*:{_IDENT}(?:\.{_IDENT})*")
_lock = threading.Lock()
_added_paths: set[str] = set()


@dataclass(frozen=True, slots=True)
class _Target:
    """A resolved function plus what the hot path needs to know about it."""

    spec: str
    func: Callable[..., Any]
    signature: inspect.Signature | None
    #: ``ctx`` can be injected as a keyword argument.
    wants_ctx: bool
    is_async: bool
    code_version: str | None
    placement: Placement = field(default_factory=Placement)


# Keyed by (pipeline_dir, spec): a benchmark of 10,000 trivial steps must not
# re-import, re-inspect or re-hash anything after the first call.
_targets: dict[tuple[str, str], _Target] = {}
#: Frames from these directories lead up to the user's function; the traceback starts after them.
_PLUMBING = (str(Path(__file__).resolve().parent.parent), str(Path(asyncio.__file__).parent))


class PythonStep:
    """``uses: python`` — ``with: {function: "pkg.mod:func", args: dict | list}``."""

    name: ClassVar[str] = "python"
    version: ClassVar[str] = "1"
    pure: ClassVar[bool] = False
    accepts: ClassVar[frozenset[str] | None] = frozenset({"function", "args"})
    requires: ClassVar[frozenset[str]] = frozenset({"function"})

    @staticmethod
    def check_with(with_: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Problems ``validate`` reports before anything runs: a malformed ``function``."""
        spec = with_.get("function")
        if not isinstance(spec, str) or "{" in spec or _SPEC.fullmatch(spec):
            return []
        module, dot, name = spec.rpartition(".")
        if ":" not in spec and dot and _SPEC.fullmatch(f"{module}:{name}"):
            hint = f"use '{module}:{name}'"
        else:
            hint = "write it as 'package.module:function'"
        return [("function", f"{spec!r} is not 'module:function'; {hint}")]

    def capabilities(self, params: Mapping[str, Any]) -> frozenset[str]:
        """Python code can do anything its user can, like a shell command."""
        return frozenset({"shell", "write_workspace", "network"})

    def code_version(self, params: Mapping[str, Any], ctx_dir: Path) -> str | None:
        """sha256 of the function's source (or of its module file), as imported."""
        return resolve(params.get("function"), ctx_dir).code_version

    async def run(self, ctx: StepContext, params: Mapping[str, Any]) -> Any:
        """Call the function; its return value is the step's output."""
        target = resolve(params.get("function"), ctx.pipeline_dir, step_id=ctx.step_id)
        args, kwargs = _arguments(ctx, params.get("args"))
        if target.wants_ctx and "ctx" not in kwargs and not _fills_ctx(target, args):
            kwargs["ctx"] = ctx
        if target.signature is not None:
            try:
                target.signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise FatalStepError(
                    f"step '{ctx.step_id}': cannot call {target.spec}{target.signature} "
                    f"with args {params.get('args')!r}: {exc}; change with.args to match"
                ) from exc
        try:
            if target.is_async:
                result = await target.func(*args, **kwargs)
            else:
                # In a thread, so a blocking function cannot stall other steps; on the
                # loop once it has proven quick (runwright.steps.placement).
                call = functools.partial(target.func, *args, **kwargs)
                result = await target.placement.call(call)
            if inspect.isawaitable(result):
                # A sync wrapper (e.g. a decorator) around a coroutine function.
                result = await result
        except Exception as exc:
            # The error keeps `Type: message`; the whole traceback goes to the logs
            # (masked there like any output) for `runwright logs` and `show`'s hint.
            ctx.log("traceback", format_traceback(exc))
            raise
        return result


def format_traceback(exc: BaseException) -> str:
    """The exception's traceback, starting at the user's code (runwright's frames left out)."""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None and tb.tb_next is not None and _is_plumbing(tb):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _is_plumbing(tb: TracebackType) -> bool:
    filename = tb.tb_frame.f_code.co_filename
    return filename.startswith(_PLUMBING) or "concurrent/futures" in filename


def resolve(spec: Any, pipeline_dir: Path, *, step_id: str | None = None) -> _Target:
    """Import and inspect ``spec`` ("pkg.mod:func") once per pipeline directory."""
    key = (str(pipeline_dir), spec if isinstance(spec, str) else "")
    target = _targets.get(key)
    if target is not None:
        return target
    who = f"step '{step_id}'" if step_id else f"function '{spec}'"
    if not isinstance(spec, str) or ":" not in spec:
        problems = PythonStep.check_with({"function": spec}) if isinstance(spec, str) else []
        hint = f"; {problems[0][1].split('; ', 1)[1]}" if problems else ""
        raise FatalStepError(
            f"{who}: with.function must look like 'package.module:function', got {spec!r}{hint}"
        )
    module_name, _, attr_path = spec.partition(":")
    if not module_name or not attr_path:
        raise FatalStepError(
            f"{who}: with.function must look like 'package.module:function', got {spec!r}"
        )
    with _lock:
        target = _targets.get(key)
        if target is None:
            _add_to_path(pipeline_dir)
            module = _import(module_name, pipeline_dir, who)
            func = _lookup(module, module_name, attr_path, who)
            target = _inspect(spec, func, module)
            _targets[key] = target
    return target


def _add_to_path(pipeline_dir: Path) -> None:
    entry = str(pipeline_dir)
    if entry in _added_paths and sys.path and sys.path[0] == entry:
        return
    # Front of the path: this pipeline's modules win over another pipeline's of the same name.
    if entry in sys.path:
        sys.path.remove(entry)
    sys.path.insert(0, entry)
    _added_paths.add(entry)
    # A directory created after the import system cached its parent listing
    # would otherwise be invisible.
    importlib.invalidate_caches()


def _forget_foreign(module_name: str, pipeline_dir: Path) -> None:
    """Drop a same-named module imported earlier from another pipeline's directory.

    One long-lived process may serve pipelines from many directories, each with its
    own ``steps.py``; without this the first one imported would answer for all.
    Functions already resolved keep working: the cache holds them, not the module.
    """
    top = module_name.partition(".")[0]
    if not ((pipeline_dir / f"{top}.py").is_file() or (pipeline_dir / top).is_dir()):
        return
    cached = sys.modules.get(top)
    origin = getattr(cached, "__file__", None) if cached is not None else None
    if cached is None or (origin and Path(origin).resolve().is_relative_to(pipeline_dir.resolve())):
        return
    for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
        del sys.modules[name]


def _import(module_name: str, pipeline_dir: Path, who: str) -> Any:
    _forget_foreign(module_name, pipeline_dir)
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise FatalStepError(
            f"cannot import module '{module_name}' for {who}: {exc}; modules are searched "
            f"in {pipeline_dir} and PYTHONPATH"
        ) from exc
    except Exception as exc:
        # Retrying re-runs the same broken module code; only an edit fixes it.
        raise FatalStepError(
            f"importing module '{module_name}' for {who} failed: {type(exc).__name__}: {exc}"
        ) from exc


def _lookup(module: Any, module_name: str, attr_path: str, who: str) -> Callable[..., Any]:
    obj: Any = module
    owner = module_name
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            public = sorted(
                n for n in dir(obj) if not n.startswith("_") and callable(getattr(obj, n, None))
            )
            close = difflib.get_close_matches(part, public, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            listing = ", ".join(public) if public else "none"
            raise FatalStepError(
                f"{who}: '{owner}' has no attribute '{part}'{hint} (public callables: {listing})"
            )
        obj = getattr(obj, part)
        owner = f"{owner}.{part}" if owner != module_name else f"{module_name}:{part}"
    if not callable(obj):
        raise FatalStepError(f"{who}: '{module_name}:{attr_path}' is not callable")
    func: Callable[..., Any] = obj
    return func


def _inspect(spec: str, func: Callable[..., Any], module: Any) -> _Target:
    try:
        signature: inspect.Signature | None = inspect.signature(func)
    except (TypeError, ValueError):
        signature = None  # some builtins have no introspectable signature
    wants_ctx = False
    if signature is not None and "ctx" in signature.parameters:
        wants_ctx = signature.parameters["ctx"].kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        )
    is_async = inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - an object with async __call__
    )
    return _Target(spec, func, signature, wants_ctx, is_async, _code_version(func, module))


def _code_version(func: Callable[..., Any], module: Any) -> str | None:
    # Hashed at import time, so the version matches the code that actually runs
    # even if the file is edited while this process keeps the old module.
    try:
        return hashlib.sha256(inspect.getsource(func).encode()).hexdigest()
    except (OSError, TypeError):
        pass
    path = getattr(module, "__file__", None)
    if path:
        try:
            return hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            pass
    return None


def _arguments(ctx: StepContext, raw: Any) -> tuple[list[Any], dict[str, Any]]:
    if raw is None:
        return [], {}
    if isinstance(raw, Mapping):
        return [], {str(k): v for k, v in raw.items()}
    if isinstance(raw, list | tuple):
        return list(raw), {}
    raise FatalStepError(
        f"step '{ctx.step_id}': with.args must be a mapping (keyword arguments) or a list "
        f"(positional arguments), not {type(raw).__name__}"
    )


def _fills_ctx(target: _Target, args: list[Any]) -> bool:
    """Whether the positional ``args`` already reach the ``ctx`` parameter."""
    assert target.signature is not None  # wants_ctx implies a signature
    for index, name in enumerate(target.signature.parameters):
        if name == "ctx":
            return index < len(args)
    return False
