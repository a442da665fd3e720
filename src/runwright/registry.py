"""The step-kind registry: how the engine finds the implementation behind ``uses:``.

Kinds come from the built-in table below and from Python entry points in the
group ``runwright.plugins``. Importing this module is cheap, and a built-in kind's
module is imported only when that kind is first looked up: a pipeline of shell
steps never imports the LLM, agent or patch code.
"""

from __future__ import annotations

import difflib
import functools
import importlib
from collections.abc import Iterator, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from runwright.errors import RegistryError
from runwright.steps.base import StepKind

#: Entry-point group that plugins register step kinds under.
PLUGIN_GROUP = "runwright.plugins"

#: Built-in step kinds: name -> "module:Class", imported when the kind is first looked up.
BUILTIN_KINDS: Mapping[str, str] = {
    "agent": "runwright.steps.agent:AgentStep",
    "approval": "runwright.steps.approval:ApprovalStep",
    "gate": "runwright.steps.gate:GateStep",
    "llm": "runwright.steps.llm:LlmStep",
    "patch.apply": "runwright.steps.patch_apply:PatchApplyStep",
    "python": "runwright.steps.python:PythonStep",
    "shell": "runwright.steps.shell:ShellStep",
}

BUILTIN_SOURCE = "builtin"


class Registry:
    """Step kinds by name. ``Registry()`` is empty; :func:`default_registry` fills one."""

    def __init__(self) -> None:
        self._kinds: dict[str, StepKind] = {}
        self._sources: dict[str, str] = {}
        # Built-in kinds not imported yet: name -> "module:Class".
        self._pending: dict[str, str] = {}
        # Lets a plugin's register(registry) hook call register(kind) without a
        # source and still be named correctly in duplicate errors.
        self._default_source = BUILTIN_SOURCE

    def register(self, kind: StepKind, *, source: str | None = None) -> None:
        """Add ``kind`` under ``kind.name``; a name already taken raises :class:`RegistryError`.

        ``source`` says where the kind came from (default ``builtin``, or the entry
        point whose hook is running); it appears in error messages.
        """
        source = source or self._default_source
        if isinstance(kind, type) or not isinstance(kind, StepKind):
            raise RegistryError(
                f"{kind!r} from {source} is not a step kind; register an instance of a class "
                "with name, version, pure, accepts, requires, code_version() and async run()",
                source=source,
            )
        name = kind.name
        if not isinstance(name, str) or not name:
            raise RegistryError(
                f"step kind {kind!r} from {source} has no name; set the class attribute "
                "`name` to the value used in `uses:`",
                source=source,
            )
        if name in self._kinds or name in self._pending:
            raise RegistryError(
                f"step kind '{name}' from {source} is already registered by "
                f"{self._sources[name]}; rename one of them or uninstall the duplicate plugin",
                kind=name,
                source=source,
                existing_source=self._sources[name],
            )
        self._kinds[name] = kind
        self._sources[name] = source

    def register_builtin(self, name: str, target: str) -> None:
        """Add the built-in kind ``name``, imported from ``target`` (module:Class) when used."""
        if name in self._kinds or name in self._pending:
            raise RegistryError(f"step kind '{name}' is already registered", kind=name)
        self._pending[name] = target
        self._sources[name] = BUILTIN_SOURCE

    def get(self, name: str) -> StepKind:
        """Return the kind registered as ``name``; unknown names raise with a suggestion."""
        try:
            return self._kinds[name]
        except KeyError:
            pass
        if name in self._pending:
            return self._load(name)
        known = self.names()
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" did you mean '{close[0]}'?" if close else ""
        listing = ", ".join(known) if known else "(none)"
        raise RegistryError(
            f"unknown step kind '{name}';{hint} known kinds: {listing}",
            kind=name,
            known=known,
        )

    def source(self, name: str) -> str:
        """Where the kind ``name`` came from (``builtin`` or an entry point)."""
        self.get(name)
        return self._sources[name]

    def names(self) -> list[str]:
        """All registered kind names, sorted."""
        return sorted(self._sources)

    def kinds(self) -> Mapping[str, StepKind]:
        """A read-only view of every registered kind, by name; a kind loads when read."""
        return _KindsView(self)

    def __contains__(self, name: object) -> bool:
        return name in self._sources

    def _load(self, name: str) -> StepKind:
        target = self._pending[name]
        module_name, _, attr = target.partition(":")
        cls: Any = getattr(importlib.import_module(module_name), attr)
        kind: StepKind = cls()
        if kind.name != name:
            # The table and the class disagree: a packaging bug, caught by the tests.
            raise RegistryError(
                f"built-in {target} is named '{kind.name}', not '{name}'", kind=name
            )
        self._kinds[name] = kind
        del self._pending[name]
        return kind


class _KindsView(Mapping[str, StepKind]):
    """The registry's kinds as a mapping: membership and names never import a kind."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def __getitem__(self, name: str) -> StepKind:
        if name not in self._registry:
            raise KeyError(name)
        return self._registry.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._registry.names())

    def __len__(self) -> int:
        return len(self._registry.names())

    def __contains__(self, name: object) -> bool:
        return name in self._registry


def _load_entry_point(registry: Registry, ep: EntryPoint) -> None:
    dist = getattr(ep, "dist", None)
    source = f"entry point '{ep.name} = {ep.value}'"
    if dist is not None:
        source += f" (distribution {dist.name})"
    try:
        obj: Any = ep.load()
        if isinstance(obj, type):
            registry.register(obj(), source=source)
        elif isinstance(obj, StepKind):
            registry.register(obj, source=source)
        elif callable(obj):
            registry._default_source = source
            try:
                obj(registry)
            finally:
                registry._default_source = BUILTIN_SOURCE
        else:
            raise TypeError(
                f"{obj!r} is neither a step kind class, a step kind instance nor a callable"
            )
    except RegistryError:
        raise
    except Exception as exc:
        raise RegistryError(
            f"plugin {source} in group '{PLUGIN_GROUP}' failed to load: "
            f"{type(exc).__name__}: {exc}; fix or uninstall the plugin",
            entry_point=ep.name,
            source=source,
        ) from exc


def build_registry(*, plugins: bool = True) -> Registry:
    """Build a fresh registry of the built-in kinds and (optionally) installed plugins.

    Registration is all-or-nothing: a failing plugin raises :class:`RegistryError`
    and no partially filled registry escapes.
    """
    registry = Registry()
    for name, target in BUILTIN_KINDS.items():
        registry.register_builtin(name, target)
    if plugins:
        # Sorted so that which of two clashing plugins "wins" the error message
        # does not depend on sys.path order.
        for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: (e.name, e.value)):
            _load_entry_point(registry, ep)
    return registry


@functools.cache
def default_registry() -> Registry:
    """The process-wide registry: built-ins plus ``runwright.plugins`` entry points.

    Built once per process; call ``default_registry.cache_clear()`` to rebuild
    after installing a plugin.
    """
    return build_registry()
