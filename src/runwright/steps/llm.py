"""The ``llm`` step kind: one model call, structured replies validated and re-asked.

Thin over :mod:`runwright.providers`: it parses ``with:``, resolves the model,
calls the provider and shapes the output. Cached by default: the key covers the
provider's identity (type, URL), the model, every parameter, the rendered
messages and the schema. Events carry provider, model, tokens and latency,
never the prompt or the reply (those are in the output, stored by reference).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from runwright.config import LoadedConfig
from runwright.errors import FatalStepError
from runwright.events import EventType
from runwright.providers.base import (
    CompletionRequest,
    CompletionResponse,
    Message,
    Provider,
    Role,
)
from runwright.steps.base import StepContext

#: Re-asks after an invalid structured reply, unless ``with.json_retries`` says otherwise.
DEFAULT_JSON_RETRIES = 2
_ROLES: frozenset[str] = frozenset({"system", "user", "assistant"})


class LlmStep:
    """``uses: llm`` — ``with: {model, prompt | messages, system, temperature, max_tokens,
    stop, seed, response_format: text|json, schema, json_retries}``."""

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
        }
    )
    requires: ClassVar[frozenset[str]] = frozenset({"model"})

    def code_version(self, params: Mapping[str, Any], ctx_dir: Path) -> str | None:
        """Everything the call depends on is in ``params`` or the configuration."""
        return None

    def config_version(
        self, params: Mapping[str, Any], *, config: LoadedConfig | None, **kwargs: Any
    ) -> str | None:
        """Which endpoint and model ``with.model`` means under this configuration."""
        from runwright.cachekey import canonical_json
        from runwright.providers.resolve import resolve_model

        model = params.get("model")
        if not isinstance(model, str):
            return None  # run() reports the bad value
        target = resolve_model(model, (config or LoadedConfig.empty()).config)
        provider = target.config
        return canonical_json(
            {
                "provider": target.provider,
                "type": provider.type,
                "base_url": provider.base_url,
                "model_file": provider.model_file,
                "model_package": provider.model_package,
                "model": target.model,
            }
        )

    async def run(self, ctx: StepContext, params: Mapping[str, Any]) -> dict[str, Any]:
        """Call the model; return ``{text, json, model, provider, usage, …}``."""
        from runwright.providers.factory import build_provider
        from runwright.providers.resolve import resolve_model
        from runwright.providers.structured import InvalidReply, check_schema, parse_reply

        where = f"step '{ctx.step_id}'"
        request = _request(where, params)
        retries = _int(where, params, "json_retries", DEFAULT_JSON_RETRIES, minimum=0) or 0
        schema = params.get("schema")
        if schema is not None:
            if request.response_format != "json":
                raise FatalStepError(f"{where}: with.schema needs response_format: json")
            check_schema(schema, where=where)
        loaded = ctx.config or LoadedConfig.empty()
        target = resolve_model(str(params["model"]), loaded.config)
        provider = build_provider(target.provider, target.config, env=ctx.env)
        request = _with(request, model=target.model, schema=schema)
        usage = {"input_tokens": 0, "output_tokens": 0, "cached_tokens": 0}
        latency = 0.0
        # Summed over re-asks; one unknown price makes the total unknown (never $0).
        cost: float | None = 0.0
        value: Any = None
        try:
            for turn in range(retries + 1 if request.response_format == "json" else 1):
                ctx.emit(EventType.LLM_REQUEST, _request_event(target.provider, request, turn))
                reply = await _spend(ctx, target.provider, provider, request)
                cost = None if cost is None or reply.cost_usd is None else cost + reply.cost_usd
                ctx.emit(EventType.LLM_RESPONSE, _response_event(target.provider, reply, turn))
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
            await provider.aclose()
        return {
            "text": reply.text,
            "json": value,
            "model": reply.model,
            "provider": target.provider,
            "usage": usage,
            "finish_reason": reply.finish_reason,
            "latency_s": round(latency, 6),
            "cost_usd": cost,
        }


async def _spend(
    ctx: StepContext, provider_name: str, provider: Provider, request: CompletionRequest
) -> CompletionResponse:
    """One provider call, through the attempt's cost guard (reserve, call, settle)."""
    if ctx.guard is None:  # outside the engine: nothing to charge, the cost stays unknown
        return await provider.complete(request)
    from runwright.costs.guard import Target

    return await ctx.guard(
        Target(provider_name, request.model), request, lambda: provider.complete(request)
    )


def _request(where: str, params: Mapping[str, Any]) -> CompletionRequest:
    model = params.get("model")
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


def _request_event(provider: str, request: CompletionRequest, turn: int) -> dict[str, Any]:
    return {
        "provider": provider,
        "model": request.model,
        "messages": len(request.messages),
        "max_tokens": request.max_tokens,
        "response_format": request.response_format,
        "reask": turn,
    }


def _response_event(provider: str, reply: CompletionResponse, turn: int) -> dict[str, Any]:
    return {
        "provider": provider,
        "model": reply.model,
        **reply.usage.to_json(),
        "latency_s": round(reply.latency_s, 6),
        "cost_usd": reply.cost_usd,
        "finish_reason": reply.finish_reason,
        "reask": turn,
    }
