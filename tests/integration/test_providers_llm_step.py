"""The llm step through the real engine, against the loopback LLM server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from enginetools import dump_tables

from clitools import clean_env
from llmserver import LLMServer, Reply
from runwright.api import Session
from runwright.events import Event, EventType
from runwright.settings import Settings
from runwright.states import RunStatus

CANARY = "sk-canary-0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"
Write = Callable[[str, str], Path]

SCHEMA = {
    "type": "object",
    "properties": {"files": {"type": "array", "items": {"type": "string"}}},
    "required": ["files"],
    "additionalProperties": False,
}


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as s:
        yield s


def configure(tmp_path: Path, server: LLMServer, *, extra: str = "") -> Settings:
    (tmp_path / "runwright.toml").write_text(
        f"""
[providers.loop]
type = "openai"
base_url = "{server.openai_url}"
api_key_env = "LOOP_KEY"
timeout = 5

[models.planner]
candidates = ["loop:plan-model", "openai:gpt-4.1-mini"]
{extra}
"""
    )
    env = {**clean_env(), "LOOP_KEY": CANARY}
    return Settings.from_env(env, cwd=tmp_path, db=str(tmp_path / ".runwright" / "r.db"))


async def run(settings: Settings, path: Path, **kw: Any) -> tuple[Any, list[Event], Any]:
    async with Session(settings) as s:
        result = await s.start_run(path, **kw)
        events = await s.events(result.run_id, limit=10_000)
        outputs = {
            a.step_id: await s.store.output(result.run_id, a.step_id, -1)
            for a in (await s.details(result.run_id)).attempts
            if a.state.value in ("succeeded", "cached")
        }
    return result, events, outputs


def of(events: list[Event], kind: EventType) -> list[Event]:
    return [e for e in events if e.type is kind]


async def test_a_prompt_is_answered_and_recorded_without_the_prompt_in_events(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    settings = configure(tmp_path, server)
    path = write(
        "p.yaml",
        """
        name: ask
        inputs: {task: {type: string}}
        steps:
          - id: plan
            uses: llm
            with:
              model: planner
              system: You plan.
              prompt: "Plan: {{ inputs.task }}"
              temperature: 0
              max_tokens: 40
              seed: 3
              stop: ["END"]
        """,
    )
    result, events, outputs = await run(settings, path, inputs={"task": "build a kite"})
    assert result.status is RunStatus.SUCCEEDED, result.error
    out = outputs["plan"]
    assert out == {
        "text": "echo: Plan: build a kite",
        "json": None,
        "model": "plan-model",
        "provider": "loop",
        "usage": {"input_tokens": 11, "output_tokens": 7, "cached_tokens": 0},
        "finish_reason": "stop",
        "latency_s": out["latency_s"],
        "cost_usd": None,
    }
    [sent] = server.requests
    assert sent.body["model"] == "plan-model"
    assert sent.body["messages"][0] == {"role": "system", "content": "You plan."}
    assert (sent.body["temperature"], sent.body["max_tokens"], sent.body["seed"]) == (0, 40, 3)
    [request] = of(events, EventType.LLM_REQUEST)
    [response] = of(events, EventType.LLM_RESPONSE)
    assert request.data["provider"] == "loop" and request.data["model"] == "plan-model"
    assert response.data["input_tokens"] == 11 and response.data["output_tokens"] == 7
    assert response.data["latency_s"] > 0
    everything = json.dumps([e.to_json() for e in events])
    # The rendered prompt and the reply stay out of events (run.started holds the inputs).
    assert "Plan: build a kite" not in everything
    assert CANARY not in everything


async def test_a_second_run_is_a_cache_hit_with_no_request_and_config_changes_miss(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    path = write(
        "p.yaml",
        """
        name: cached
        steps:
          - {id: plan, uses: llm, with: {model: planner, prompt: same question}}
        """,
    )
    first, _, _ = await run(configure(tmp_path, server), path)
    assert first.status is RunStatus.SUCCEEDED
    second, events, outputs = await run(configure(tmp_path, server), path)
    assert second.status is RunStatus.SUCCEEDED
    assert len(server.requests) == 1  # the hit made no network call
    assert of(events, EventType.CACHE_HIT) and not of(events, EventType.LLM_REQUEST)
    assert outputs["plan"]["text"] == "echo: same question"
    # The same spec against another endpoint is another key: provider identity counts.
    with LLMServer() as other:
        third, events, _ = await run(configure(tmp_path, other), path)
        assert third.status is RunStatus.SUCCEEDED
        assert len(other.requests) == 1
    assert not of(events, EventType.CACHE_HIT)


async def test_an_invalid_structured_reply_is_re_asked_with_the_violation(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    settings = configure(tmp_path, server)
    server.script(
        Reply(text="Sure! Here are the files: a.py"),
        Reply(text='{"files": "a.py"}'),
        Reply(text='```json\n{"files": ["a.py", "b.py"]}\n```'),
    )
    path = write(
        "p.yaml",
        f"""
        name: structured
        steps:
          - id: plan
            uses: llm
            with:
              model: "loop:m"
              prompt: List the files.
              response_format: json
              schema: {json.dumps(SCHEMA)}
        """,
    )
    result, events, outputs = await run(settings, path)
    assert result.status is RunStatus.SUCCEEDED, result.error
    assert outputs["plan"]["json"] == {"files": ["a.py", "b.py"]}
    assert outputs["plan"]["usage"]["input_tokens"] == 33  # three calls, summed
    first, second, third = (r.body for r in server.requests)
    assert first["response_format"]["json_schema"]["schema"] == SCHEMA
    assert second["messages"][-2] == {
        "role": "assistant",
        "content": "Sure! Here are the files: a.py",
    }
    assert "not valid JSON" in second["messages"][-1]["content"]
    assert "['files']: 'a.py' is not of type 'array'" in third["messages"][-1]["content"]
    assert [e.data["reask"] for e in of(events, EventType.LLM_RESPONSE)] == [0, 1, 2]


async def test_a_reply_that_stays_invalid_fails_showing_reply_and_violation(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    settings = configure(tmp_path, server)
    server.script(*[Reply(text='{"files": 3}')] * 5)
    path = write(
        "p.yaml",
        f"""
        name: structured
        steps:
          - id: plan
            uses: llm
            with:
              model: "loop:m"
              prompt: List the files.
              response_format: json
              json_retries: 1
              schema: {json.dumps(SCHEMA)}
        """,
    )
    result, _, _ = await run(settings, path)
    assert result.status is RunStatus.FAILED
    assert len(server.requests) == 2  # the first ask and one re-ask, then stop
    assert "not valid after 2 attempt(s)" in (result.error or "")
    assert "3 is not of type 'array'" in (result.error or "")
    assert '{"files": 3}' in (result.error or "")


async def test_a_refused_key_fails_at_once_and_the_key_is_nowhere_in_the_database(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    settings = configure(tmp_path, server)
    server.script(Reply.error(401, f"Incorrect API key provided: {CANARY}"))
    path = write(
        "p.yaml",
        """
        name: denied
        steps:
          - id: plan
            uses: llm
            retry: {attempts: 3, initial_delay: 0}
            with: {model: planner, prompt: hi}
        """,
    )
    result, events, _ = await run(settings, path)
    assert result.status is RunStatus.FAILED
    assert len(server.requests) == 1  # 401 is fatal: the retry policy is not used
    assert "answered 401" in (result.error or "")
    assert "Incorrect API key provided: ***" in (result.error or "")
    assert CANARY not in json.dumps([e.to_json() for e in events])
    assert not [v for v in dump_tables(settings.database_url) if CANARY in str(v)]
    files = list((tmp_path / ".runwright").glob("r.db*"))  # the database, its WAL
    assert files
    assert not [f for f in files if CANARY.encode() in f.read_bytes()]


async def test_server_errors_are_retried_by_the_router_not_the_step_policy(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    # The router retries a retryable provider failure itself; a step-level retry on
    # top would multiply the calls, so the step does not retry (no step.retrying).
    settings = configure(tmp_path, server, extra="")
    server.script(Reply.error(500), Reply.error(429, "busy", Retry_After="0"))
    path = write(
        "p.yaml",
        """
        name: flaky
        steps:
          - id: plan
            uses: llm
            retry: {attempts: 3, initial_delay: 0}
            with: {model: planner, prompt: hi}
        """,
    )
    result, events, outputs = await run(settings, path)
    assert result.status is RunStatus.SUCCEEDED, result.error
    assert len(server.requests) == 3
    assert outputs["plan"]["text"] == "echo: hi"
    assert of(events, EventType.STEP_RETRYING) == []
    assert [e.data["try"] for e in of(events, EventType.LLM_REQUEST)] == [1, 2, 3]


async def test_bad_with_values_are_reported_before_any_request(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    settings = configure(tmp_path, server)
    path = write(
        "p.yaml",
        """
        name: bad
        steps:
          - {id: a, uses: llm, with: {model: plannr, prompt: hi}}
        """,
    )
    result, _, _ = await run(settings, path)
    assert result.status is RunStatus.FAILED
    assert "did you mean 'planner'?" in (result.error or "")
    assert server.requests == []


async def test_an_anthropic_provider_answers_structured_output_through_tool_use(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    extra = f"""
[providers.claude]
type = "anthropic"
base_url = "{server.url}"
api_key_env = "LOOP_KEY"
"""
    settings = configure(tmp_path, server, extra=extra)
    server.script(Reply(text='{"files": ["x.py"]}', usage={"cached": 9, "cache_creation": 2}))
    path = write(
        "p.yaml",
        f"""
        name: claude
        steps:
          - id: plan
            uses: llm
            with:
              model: "claude:haiku"
              system: Be terse.
              prompt: Which files?
              response_format: json
              schema: {json.dumps(SCHEMA)}
        """,
    )
    result, events, outputs = await run(settings, path)
    assert result.status is RunStatus.SUCCEEDED, result.error
    assert outputs["plan"]["json"] == {"files": ["x.py"]}
    assert outputs["plan"]["provider"] == "claude"
    assert outputs["plan"]["usage"]["cached_tokens"] == 9
    [sent] = server.requests
    assert sent.protocol == "anthropic"
    assert sent.body["system"] == "Be terse."
    assert sent.body["tools"][0]["input_schema"] == SCHEMA
    [response] = of(events, EventType.LLM_RESPONSE)
    assert response.data["cache_creation_tokens"] == 2
