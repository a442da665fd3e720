"""The llm step's ``files:`` and ``schema:`` sources: the real engine, a loopback server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from clitools import clean_env
from llmserver import LLMServer, Reply
from runwright.api import Session
from runwright.events import Event, EventType
from runwright.settings import Settings
from runwright.states import RunStatus
from runwright.steps.llm_files import blocks

Write = Callable[[str, str], Path]

FENCED = """Here you are.

```python path=app.py
print("hi")
```

```markdown
<!-- file: docs/README.md -->
# App
```

```text
not named
```
"""


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as s:
        yield s


def configure(tmp_path: Path, server: LLMServer) -> Settings:
    (tmp_path / "runwright.toml").write_text(
        f'[providers.loop]\ntype = "openai"\nbase_url = "{server.openai_url}"\ntimeout = 5\n'
    )
    return Settings.from_env(clean_env(), cwd=tmp_path, db=str(tmp_path / ".runwright" / "r.db"))


async def run(settings: Settings, path: Path) -> tuple[Any, list[Event], dict[str, Any]]:
    async with Session(settings) as s:
        result = await s.start_run(path)
        events = await s.events(result.run_id, limit=10_000)
        outputs = {
            a.step_id: await s.store.output(result.run_id, a.step_id, -1)
            for a in (await s.details(result.run_id)).attempts
            if a.state.value in ("succeeded", "cached")
        }
    return result, events, outputs


def written(events: list[Event]) -> dict[str, str]:
    return {e.data["path"]: e.data["result"] for e in events if e.type is EventType.FILE_WRITTEN}


def test_named_blocks_are_found_by_info_string_or_first_line() -> None:
    found = blocks(FENCED)
    assert [(b.name, b.language) for b in found] == [
        ("app.py", "python"),
        ("docs/README.md", "markdown"),
        (None, "text"),
    ]
    assert found[0].content == 'print("hi")\n'
    assert found[1].content == "# App\n"  # the naming line is not written


async def test_files_blocks_writes_every_named_block_then_nochange(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    path = write(
        "p.yaml",
        """
        name: blocks
        steps:
          - {id: gen, uses: llm, cache: false, with: {model: "loop:m", prompt: go, files: blocks}}
        """,
    )
    server.script(Reply(text=FENCED), Reply(text=FENCED))
    settings = configure(tmp_path, server)
    result, events, outputs = await run(settings, path)
    assert result.status is RunStatus.SUCCEEDED, result.error
    assert (tmp_path / "app.py").read_text() == 'print("hi")\n'
    assert (tmp_path / "docs" / "README.md").read_text() == "# App\n"
    assert written(events) == {"app.py": "created", "docs/README.md": "created"}
    assert [f["path"] for f in outputs["gen"]["files"]] == ["app.py", "docs/README.md"]
    again, events, _ = await run(settings, path)
    assert again.status is RunStatus.SUCCEEDED
    assert written(events) == {"app.py": "nochange", "docs/README.md": "nochange"}


async def test_files_from_json_fields_a_list_and_an_explicit_mapping(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    reply = {
        "files": [{"path": "src/a.py", "content": "A = 1\n"}, {"path": "b.txt", "content": "b"}],
        "summary": "two files",
        "meta": {"n": 2},
    }
    server.script(Reply(text=json.dumps(reply)), Reply(text="```\nprint(1)\n```"))
    path = write(
        "p.yaml",
        """
        name: fields
        steps:
          - id: plan
            uses: llm
            with: {model: "loop:m", prompt: go, response_format: json, files: json.files}
          - id: more
            uses: llm
            needs: [plan]
            with:
              model: "loop:m"
              prompt: again
              files: {main.py: block, reply.txt: text}
          - id: fields
            uses: llm
            needs: [more]
            with:
              model: "loop:m"
              prompt: "{{ steps.plan.output.text }}"
              response_format: json
              files:
                SUMMARY.md: json.summary
                meta.json: json.meta
                first.py: json.files.0.content
        """,
    )
    server.script(Reply(text=json.dumps(reply)))
    result, events, _ = await run(configure(tmp_path, server), path)
    assert result.status is RunStatus.SUCCEEDED, result.error
    assert (tmp_path / "src" / "a.py").read_text() == "A = 1\n"
    assert (tmp_path / "b.txt").read_text() == "b"
    assert (tmp_path / "main.py").read_text() == "print(1)\n"  # the only block, unnamed
    assert (tmp_path / "reply.txt").read_text() == "```\nprint(1)\n```"
    assert (tmp_path / "SUMMARY.md").read_text() == "two files"
    assert json.loads((tmp_path / "meta.json").read_text()) == {"n": 2}
    assert (tmp_path / "first.py").read_text() == "A = 1\n"
    assert len(written(events)) == 7


async def test_a_missing_field_and_an_escaping_path_fail_the_step_with_the_fix(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    path = write(
        "p.yaml",
        """
        name: bad
        steps:
          - id: gen
            uses: llm
            with: {model: "loop:m", prompt: go, response_format: json, files: {x.py: json.code}}
        """,
    )
    server.script(Reply(text='{"other": 1}'))
    result, _, _ = await run(configure(tmp_path, server), path)
    assert result.status is RunStatus.FAILED
    assert "no json.code" in str(result.error) and "with.schema" in str(result.error)
    escape = write(
        "e.yaml",
        """
        name: escape
        steps:
          - id: gen
            uses: llm
            with: {model: "loop:m", prompt: go, response_format: json, files: json.files}
        """,
    )
    server.script(Reply(text='{"files": [{"path": "../evil.py", "content": "x"}]}'))
    result, _, _ = await run(configure(tmp_path, server), escape)
    assert result.status is RunStatus.FAILED
    assert "outside the workspace" in str(result.error)
    assert not (tmp_path.parent / "evil.py").exists()


async def test_a_malformed_files_value_fails_before_any_request(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    path = write(
        "p.yaml",
        """
        name: bad
        steps:
          - {id: gen, uses: llm, with: {model: "loop:m", prompt: go, files: {a.py: jsn.x}}}
        """,
    )
    result, _, _ = await run(configure(tmp_path, server), path)
    assert result.status is RunStatus.FAILED
    assert "use block, text, json or json.FIELD" in str(result.error)
    assert server.requests == []


SCHEMA = {
    "type": "object",
    "properties": {"verdict": {"type": "string", "enum": ["pass", "fail"]}},
    "required": ["verdict"],
}


async def test_schema_from_a_file_is_sent_and_its_content_is_in_the_cache_key(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "verdict.json").write_text(json.dumps(SCHEMA))
    path = write(
        "p.yaml",
        """
        name: fromfile
        steps:
          - id: qa
            uses: llm
            with:
              {model: "loop:m", prompt: judge, response_format: json, schema: schemas/verdict.json}
        """,
    )
    server.script(Reply(text='{"verdict": "pass"}'), Reply(text='{"verdict": "fail", "why": "x"}'))
    settings = configure(tmp_path, server)
    result, _, outputs = await run(settings, path)
    assert result.status is RunStatus.SUCCEEDED, result.error
    assert outputs["qa"]["json"] == {"verdict": "pass"}
    assert server.requests[0].body["response_format"]["json_schema"]["schema"] == SCHEMA
    _, events, _ = await run(settings, path)
    assert any(e.type is EventType.CACHE_HIT for e in events) and len(server.requests) == 1
    # Editing the file is another key: the step calls the model again.
    (tmp_path / "schemas" / "verdict.json").write_text(
        json.dumps({**SCHEMA, "properties": {**SCHEMA["properties"], "why": {"type": "string"}}})
    )
    again, events, _ = await run(settings, path)
    assert again.status is RunStatus.SUCCEEDED
    assert len(server.requests) == 2 and not any(e.type is EventType.CACHE_HIT for e in events)


async def test_schema_from_a_pydantic_model_next_to_the_pipeline(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    (tmp_path / "verdicts.py").write_text(
        "from typing import Literal\nfrom pydantic import BaseModel\n\n"
        "class Verdict(BaseModel):\n    verdict: Literal['pass', 'fail']\n    score: int\n"
    )
    path = write(
        "p.yaml",
        """
        name: frommodel
        steps:
          - id: qa
            uses: llm
            with:
              {model: "loop:m", prompt: judge, response_format: json, schema: "verdicts:Verdict"}
        """,
    )
    server.script(
        Reply(text='{"verdict": "maybe", "score": 1}'),
        Reply(text='{"verdict": "pass", "score": 3}'),
    )
    result, _, outputs = await run(configure(tmp_path, server), path)
    assert result.status is RunStatus.SUCCEEDED, result.error
    assert outputs["qa"]["json"] == {"verdict": "pass", "score": 3}  # the invalid one was re-asked
    sent = server.requests[0].body["response_format"]["json_schema"]["schema"]
    assert sent["required"] == ["verdict", "score"]


async def test_a_schema_file_that_does_not_exist_is_named(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    path = write(
        "p.yaml",
        """
        name: nofile
        steps:
          - id: qa
            uses: llm
            with: {model: "loop:m", prompt: j, response_format: json, schema: nope.json}
        """,
    )
    result, _, _ = await run(configure(tmp_path, server), path)
    assert result.status is RunStatus.FAILED
    assert "nope.json" in str(result.error) and "relative to the pipeline" in str(result.error)
    assert server.requests == []


async def test_a_cache_hit_writes_the_files_again_without_a_call(
    tmp_path: Path, write: Write, server: LLMServer
) -> None:
    path = write(
        "p.yaml",
        """
        name: hit
        steps:
          - {id: gen, uses: llm, with: {model: "loop:m", prompt: go, files: blocks}}
        """,
    )
    server.script(Reply(text=FENCED))
    settings = configure(tmp_path, server)
    first, _, _ = await run(settings, path)
    assert first.status is RunStatus.SUCCEEDED, first.error
    # Same workspace: a hit, recorded as nochange writes.
    _, events, _ = await run(settings, path)
    assert any(e.type is EventType.CACHE_HIT for e in events)
    assert written(events) == {"app.py": "nochange", "docs/README.md": "nochange"}
    # Another workspace: the hit still leaves the files the call made.
    other = tmp_path / "elsewhere"
    async with Session(settings) as s:
        result = await s.start_run(path, workspace=other)
        events = await s.events(result.run_id, limit=1000)
    assert result.status is RunStatus.SUCCEEDED
    assert any(e.type is EventType.CACHE_HIT for e in events)
    assert written(events) == {"app.py": "created", "docs/README.md": "created"}
    assert (other / "app.py").read_text() == 'print("hi")\n'
    assert len(server.requests) == 1
