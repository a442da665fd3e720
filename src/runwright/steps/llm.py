"""The ``llm`` step kind: one model call, structured replies validated and re-asked.

Thin over :mod:`runwright.providers`: it parses ``with:``, resolves the model,
routes the call (:mod:`runwright.providers.router`: fallback, retries, breakers,
limits) and shapes the output. Cached by default: the key covers the
provider's identity (type, URL), the model, every parameter, the rendered
messages and the schema. Events carry provider, model, tokens and latency,
never the prompt or the reply (those are in the output, stored by reference).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from runwright.config import LoadedConfig
from runwright.config.models import ProjectConfig
from runwright.errors import FatalStepError
from runwright.providers.base import NO_GUARD, CallGuard, CompletionRequest, Message, Role
from runwright.steps.base import StepContext

#: Re-asks after an invalid structured reply, unless ``with.json_retries`` says otherwise.
DEFAULT_JSON_RETRIES = 2
_ROLES: frozenset[str] = frozenset({"system", "user", "assistant"})


class LlmStep:
    """``uses: llm`` — ``with: {model, prompt | messages, system, temperature, max_tokens,
    stop, seed, response_format: text|json, schema, json_retries, files}``.

    ``model`` defaults to the alias ``default`` when runwright.toml has one, else to
    ``local:smollm2`` (the local model: no key, no service). ``schema`` may also be a
    ``.json`` file or a pydantic model (:mod:`runwright.steps.llm_schema`); ``files``
    writes parts of the reply into the workspace (:mod:`runwright.steps.llm_files`).
    """

    name: ClassVar[str] = "llm"
    version: ClassVar[str] = "1"
    pure: ClassVar[bool] = True
    accepts: ClassVar[frozenset[str] | None] = frozenset(
        {
            "model",
            "prompt",
            "messages",
            "system",
            "temperature",
            "max_tokens",
            "stop",
            "seed",
            "response_format",
            "schema",
            "json_retries",
            "files",
        }
    )
    requires: ClassVar[frozenset[str]] = frozenset()

    def capabilities(self, params: Mapping[str, Any]) -> frozenset[str]:
        """A model call spends (through the guard); ``files:`` writes the workspace."""
        return frozenset({"spend", "write_workspace"} if params.get("files") else {"spend"})

    def code_version(self, params: Mapping[str, Any], ctx_dir: Path) -> str | None:
        """The schema a file or a pydantic model gives; the rest is in ``params`` or config."""
        source = params.get("schema")
        if source is None or isinstance(source, Mapping):
            return None  # inline: already part of params
        from runwright.cachekey import canonical_json
        from runwright.steps.llm_schema import resolve_schema

        return canonical_json({"schema": resolve_schema(source, ctx_dir, where="with.schema")})

    def config_version(
        self, params: Mapping[str, Any], *, config: LoadedConfig | None, **kwargs: Any
    ) -> str | None:
        """Which endpoints and models ``with.model`` may be answered by under this config.

        Every candidate of an alias counts (any of them may answer, by the router's
        fallback), in rank order; never a key.
        """
        from runwright.cachekey import canonical_json
        from runwright.providers.resolve import resolve_candidates

        project = (config or LoadedConfig.empty()).config
        model = model_ref(params, project)
        if not isinstance(model, str):
            return None  # run() reports the bad value
        candidates = resolve_candidates(model, project)
        return canonical_json(
            [
                {
                    "provider": c.provider,
                    "type": c.config.type,
                    "base_url": c.config.base_url,
                    "model_file": c.config.model_file,
                    "model_package": c.config.model_package,
                    "model": c.model,
                }
                for c in candidates
            ]
        )

    async def replay(
        self, ctx: StepContext, params: Mapping[str, Any], output: Any, **kwargs: Any
    ) -> None:
        """A cache hit writes ``files:`` again from the cached reply (no model call)."""
        from runwright.steps.llm_files import write_files

        files = params.get("files")
        if files is not None and isinstance(output, Mapping):
            write_files(
                files,
                text=str(output.get("text") or ""),
                value=output.get("json"),
                workspace=ctx.workspace,
                where=f"step '{ctx.step_id}'",
            )

    async def run(self, ctx: StepContext, params: Mapping[str, Any]) -> dict[str, Any]:
        """Call the model; return ``{text, json, model, provider, usage, …}``."""
        from runwright.providers.router import Router
        from runwright.providers.structured import InvalidReply, check_schema, parse_reply
        from runwright.steps.llm_files import check_files, write_files
        from runwright.steps.llm_schema import resolve_schema

        where = f"step '{ctx.step_id}'"
        request = _request(where, params)
        retries = _int(where, params, "json_retries", DEFAULT_JSON_RETRIES, minimum=0) or 0
        schema = resolve_schema(params.get("schema"), ctx.pipeline_dir, where=where)
        check_files(params.get("files"), where=where)
        if schema is not None:
            if request.response_format != "json":
                raise FatalStepError(f"{where}: with.schema needs response_format: json")
            check_schema(schema, where=where)
        loaded = ctx.config or LoadedConfig.empty()
        router = Router(
            loaded.config,
            env=ctx.env,
            store=ctx.store,
            base_dir=loaded.path.parent if loaded.path else ctx.pipeline_dir,
            emit=ctx.emit,
        )
        ref = str(model_ref(params, loaded.config))
        router.candidates(ref)  # an unknown alias or provider fails before anything is sent
        request = _with(request, model=ref, schema=schema)
        # The attempt's budget guard (runwright.costs) wraps every call the router makes,
        # each retry and fallback included: no path spends outside it.
        guard: CallGuard = ctx.guard or NO_GUARD
        usage = {"input_tokens": 0, "output_tokens": 0, "cached_tokens": 0}
        latency = 0.0
        # Summed over re-asks; one unknown price makes the total unknown (never $0).
        cost: float | None = 0.0
        value: Any = None
        # Stream only when a display listens: otherwise the plain request, no overhead.
        tail = ReplyTail(ctx.progress) if ctx.shows_progress else None
        try:
            for turn in range(retries + 1 if request.response_format == "json" else 1):
                routed = await router.complete(
                    ref,
                    request,
                    guard=guard,
                    tags={"reask": turn},
                    on_text=tail.add if tail is not None else None,
                )
                reply = routed.response
                cost = None if cost is None or reply.cost_usd is None else cost + reply.cost_usd
                # A re-ask continues the conversation with the model that gave the reply.
                ref = routed.candidate.ref
                latency += reply.latency_s
                for k in usage:
                    usage[k] += getattr(reply.usage, k)
                if request.response_format != "json":
                    break
                try:
                    value = parse_reply(reply.text, schema)
                    break
                except InvalidReply as bad:
                    if turn == retries:
                        from runwright.providers.structured import quote

                        raise FatalStepError(
                            f"{where}: the model's reply is not valid after {turn + 1} "
                            f"attempt(s): {bad.problem}; its last reply was: "
                            f"{quote(reply.text)!r}"
                        ) from None
                    request = _reask(request, reply.text, bad.problem)
        finally:
            await router.aclose()
        output: dict[str, Any] = {
            "text": reply.text,
            "json": value,
            "model": reply.model,
            "provider": routed.candidate.provider,
            "usage": usage,
            "finish_reason": reply.finish_reason,
            "latency_s": round(latency, 6),
            "cost_usd": cost,
        }
        files = params.get("files")
        if files is not None:
            output["files"] = write_files(
                files, text=reply.text, value=value, workspace=ctx.workspace, where=where
            )
        return output


#: Characters of the reply's last line shown under the step's progress row.
_TAIL_CHARS = 100


class ReplyTail:
    """Shows the last line of a reply as it streams in (through ``StepContext.progress``).

    Display only: the output is the routed response, whatever was shown.
    """

    __slots__ = ("_count", "_line", "_show", "_shown")

    def __init__(self, show: Callable[[str], None]) -> None:
        self._show = show
        self._line = ""
        self._shown = ""
        self._count = 0

    def add(self, piece: str) -> None:
        """One more piece of the reply, in order (a retry's reply simply follows)."""
        self._count += len(piece)
        lines = (self._line + piece).split("\n")
        self._line = lines[-1][-_TAIL_CHARS:]
        # Right after a newline the current line is empty: keep showing the finished one.
        done = [x for x in lines[:-1] if x.strip()]
        self._shown = self._line if self._line.strip() else (done[-1] if done else self._shown)
        self._show(f"{self._count} chars: {self._shown[-_TAIL_CHARS:]}")


def model_ref(params: Mapping[str, Any], config: ProjectConfig) -> Any:
    """``with.model``; else the alias ``default`` if configured; else the local model."""
    if "model" in params and params["model"] is not None:
        return params["model"]
    if "default" in config.models:
        return "default"
    from runwright.providers.local import DEFAULT_MODEL

    return DEFAULT_MODEL


def _request(where: str, params: Mapping[str, Any]) -> CompletionRequest:
    model = params.get("model")
    if model is None:
        model = "default"  # replaced by the resolved model before the call
    if not isinstance(model, str) or not model:
        raise FatalStepError(
            f"{where}: with.model must be 'provider:model' or a model alias from runwright.toml"
        )
    messages: list[Message] = []
    system = params.get("system")
    if system is not None:
        if not isinstance(system, str):
            raise FatalStepError(f"{where}: with.system must be a string")
        messages.append(Message("system", system))
    prompt, given = params.get("prompt"), params.get("messages")
    if (prompt is None) == (given is None):
        raise FatalStepError(f"{where}: give exactly one of with.prompt and with.messages")
    if prompt is not None:
        if not isinstance(prompt, str):
            raise FatalStepError(f"{where}: with.prompt must be a string")
        messages.append(Message("user", prompt))
    else:
        messages.extend(_messages(where, given))
    fmt = params.get("response_format", "text")
    if fmt not in ("text", "json"):
        raise FatalStepError(f"{where}: with.response_format must be 'text' or 'json', not {fmt!r}")
    stop = params.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise FatalStepError(f"{where}: with.stop must be a string or a list of strings")
    temperature = params.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, int | float)
    ):
        raise FatalStepError(f"{where}: with.temperature must be a number")
    return CompletionRequest(
        model=model,
        messages=tuple(messages),
        temperature=None if temperature is None else float(temperature),
        max_tokens=_int(where, params, "max_tokens", None, minimum=1),
        stop=tuple(stop or ()),
        seed=_int(where, params, "seed", None, minimum=None),
        response_format=fmt,
    )


def _messages(where: str, given: Any) -> list[Message]:
    if not isinstance(given, list) or not given:
        raise FatalStepError(
            f"{where}: with.messages must be a non-empty list of {{role, content}}"
        )
    out: list[Message] = []
    for i, m in enumerate(given):
        if not (
            isinstance(m, Mapping)
            and set(m) == {"role", "content"}
            and m["role"] in _ROLES
            and isinstance(m["content"], str)
        ):
            raise FatalStepError(
                f"{where}: with.messages[{i}] must be {{role: system|user|assistant, "
                "content: a string}}"
            )
        role: Role = m["role"]
        out.append(Message(role, m["content"]))
    return out


def _int(
    where: str, params: Mapping[str, Any], key: str, default: int | None, *, minimum: int | None
) -> int | None:
    value = params.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FatalStepError(f"{where}: with.{key} must be an integer")
    if minimum is not None and value < minimum:
        raise FatalStepError(f"{where}: with.{key} must be at least {minimum}")
    return value


def _with(request: CompletionRequest, *, model: str, schema: Any) -> CompletionRequest:
    from dataclasses import replace

    return replace(request, model=model, schema=schema)


def _reask(request: CompletionRequest, reply: str, problem: str) -> CompletionRequest:
    from dataclasses import replace

    from runwright.providers.structured import reask_message

    return replace(
        request,
        messages=(
            *request.messages,
            Message("assistant", reply),
            Message("user", reask_message(problem)),
        ),
    )
