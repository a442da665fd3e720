"""The step-kind registry, including real entry-point plugins discovered on sys.path."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from fixtures_steps.stepctx import make_context

from runwright.errors import RegistryError
from runwright.registry import BUILTIN_KINDS, Registry, build_registry, default_registry
from runwright.steps.approval import ApprovalStep
from runwright.steps.base import StepKind
from runwright.steps.shell import ShellStep

PLUGIN_MODULE = """
from typing import ClassVar


class EchoStep:
    name: ClassVar[str] = "echo"
    version: ClassVar[str] = "1"
    pure: ClassVar[bool] = True
    accepts: ClassVar[frozenset[str] | None] = frozenset({"text"})
    requires: ClassVar[frozenset[str]] = frozenset({"text"})

    def code_version(self, params, ctx_dir):
        return None

    async def run(self, ctx, params):
        return {"echo": params["text"]}


class ShoutStep(EchoStep):
    name = "shout"


class FakeShell(EchoStep):
    name = "shell"


def register(registry):
    registry.register(ShoutStep())


instance = EchoStep()
"""


class InstallPlugin(Protocol):
    def __call__(self, dist: str, entry_points: dict[str, str], source: str = ...) -> None: ...


@pytest.fixture
def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InstallPlugin]:
    """Install a plugin distribution the way pip would lay it out: module + dist-info."""
    modules: list[str] = []

    def install(dist: str, entry_points: dict[str, str], source: str = PLUGIN_MODULE) -> None:
        site = tmp_path / f"site-{dist}"
        site.mkdir()
        module = f"rwplugin_{dist}"
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        info = site / f"{dist}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        lines = [f"{name} = {module}:{target}" for name, target in entry_points.items()]
        (info / "entry_points.txt").write_text("[runwright.plugins]\n" + "\n".join(lines) + "\n")
        monkeypatch.syspath_prepend(str(site))  # also invalidates import caches
        modules.append(module)

    default_registry.cache_clear()
    yield install
    default_registry.cache_clear()
    for module in modules:
        sys.modules.pop(module, None)


def test_builtins_present() -> None:
    registry = build_registry(plugins=False)
    assert registry.names() == [
        "agent",
        "approval",
        "gate",
        "llm",
        "patch.apply",
        "python",
        "shell",
    ]
    assert all(isinstance(kind, StepKind) for kind in registry.kinds().values())
    # Built-ins are listed by name before they load: each class must carry its table name.
    assert all(kind.name == name for name, kind in registry.kinds().items())
    assert registry.source("shell") == "builtin"
    assert "shell" in registry


def test_default_registry_is_built_once() -> None:
    assert default_registry() is default_registry()
    assert {"approval", "python", "shell"} <= set(default_registry().names())


def test_empty_registry() -> None:
    registry = Registry()
    assert registry.names() == []
    with pytest.raises(RegistryError, match=r"unknown step kind 'x'; known kinds: \(none\)"):
        registry.get("x")


def test_register_and_get() -> None:
    registry = Registry()
    kind = ShellStep()
    registry.register(kind)
    assert registry.get("shell") is kind
    assert dict(registry.kinds()) == {"shell": kind}


def test_duplicate_names_both_sources() -> None:
    registry = Registry()
    registry.register(ShellStep(), source="builtin")
    with pytest.raises(RegistryError) as info:
        registry.register(ShellStep(), source="entry point 'my-shell'")
    message = str(info.value)
    assert "'shell'" in message and "builtin" in message and "entry point 'my-shell'" in message


def test_unknown_suggests_the_closest_name() -> None:
    with pytest.raises(RegistryError) as info:
        build_registry(plugins=False).get("shel")
    assert str(info.value) == (
        "unknown step kind 'shel'; did you mean 'shell'? "
        "known kinds: agent, approval, gate, llm, patch.apply, python, shell"
    )


def test_rejects_non_kinds() -> None:
    registry = Registry()
    with pytest.raises(RegistryError, match="is not a step kind"):
        registry.register(ApprovalStep)  # type: ignore[arg-type]  # the class, not an instance
    with pytest.raises(RegistryError, match="is not a step kind"):
        registry.register(object())  # type: ignore[arg-type]


def test_importing_the_registry_does_not_import_step_modules() -> None:
    code = (
        "import sys, runwright.registry;"
        "print(sorted(m for m in sys.modules if m.startswith('runwright.steps.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['runwright.steps.base']"


def test_a_shell_pipeline_imports_only_the_shell_kind(tmp_path: Path) -> None:
    spec = tmp_path / "p.yaml"
    spec.write_text("name: p\nsteps:\n  - id: a\n    uses: shell\n    with: {run: 'true'}\n")
    code = (
        "import sys; from runwright import api; from runwright.registry import build_registry;"
        f"api.validate({str(spec)!r}, registry=build_registry(plugins=False));"
        "print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    kind_modules = {target.partition(":")[0] for target in BUILTIN_KINDS.values()}
    assert kind_modules & set(out.stdout.split()) == {"runwright.steps.shell"}


def test_the_kinds_view_answers_membership_and_size() -> None:
    registry = build_registry(plugins=False)
    assert "llm" in registry and "llm" in registry.kinds() and "nope" not in registry.kinds()
    with pytest.raises(KeyError):
        registry.kinds()["nope"]
    assert len(registry.kinds()) == len(registry.names()) == 7


def test_entry_point_plugins_are_discovered(install_plugin: InstallPlugin, tmp_path: Path) -> None:
    install_plugin("rwdemo", {"echo": "EchoStep", "more": "register"})
    registry = default_registry()
    assert registry.names() == [
        *("agent", "approval", "echo", "gate", "llm", "patch.apply", "python", "shell"),
        "shout",
    ]
    assert "entry point 'echo = rwplugin_rwdemo:EchoStep'" in registry.source("echo")
    assert "distribution rwdemo" in registry.source("echo")
    # A hook registering without a source is still attributed to its entry point.
    assert "entry point 'more" in registry.source("shout")
    kind = registry.get("echo")
    out = asyncio.run(kind.run(make_context(tmp_path), {"text": "hi"}))
    assert out == {"echo": "hi"}


def test_entry_point_may_be_an_instance(install_plugin: InstallPlugin) -> None:
    install_plugin("rwinst", {"echo": "instance"})
    assert "echo" in build_registry().names()


def test_plugin_that_fails_to_load(install_plugin: InstallPlugin) -> None:
    install_plugin("rwbroken", {"broken": "EchoStep"}, "raise ImportError('needs libfoo')\n")
    with pytest.raises(RegistryError) as info:
        build_registry()
    message = str(info.value)
    assert "entry point 'broken = rwplugin_rwbroken:EchoStep'" in message
    assert "ImportError: needs libfoo" in message


def test_plugin_with_a_missing_attribute(install_plugin: InstallPlugin) -> None:
    install_plugin("rwtypo", {"echo": "EchoStpe"})
    with pytest.raises(RegistryError, match=r"'echo = rwplugin_rwtypo:EchoStpe'.*AttributeError"):
        build_registry()


def test_plugin_clashing_with_a_builtin(install_plugin: InstallPlugin) -> None:
    install_plugin("rwclash", {"shell": "FakeShell"})
    with pytest.raises(RegistryError) as info:
        build_registry()
    message = str(info.value)
    assert "step kind 'shell' from entry point 'shell = rwplugin_rwclash:FakeShell'" in message
    assert "already registered by builtin" in message
