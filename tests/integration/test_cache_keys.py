"""Cache keys that cover file contents: ``cache: {key: "{{ hash_files(...) }}"}`` (issue 7).

Every test runs on a SQLite file and on a PostgreSQL schema (``db_url``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from enginetools import Write, run, settings_for

from runwright.api import Session
from runwright.settings import Settings
from runwright.states import RunStatus

# The step reads a file whose path is its argument: the default key covers the path,
# not what the file holds.
COUNT_PY = """
from pathlib import Path

HERE = Path(__file__).parent

def count_words(pattern):
    with open(HERE / "calls.log", "a") as f:
        f.write("count\\n")
    return sum(len(p.read_text().split()) for p in sorted(HERE.glob(pattern)))
"""


def spec(cache: str) -> str:
    return f"""
        name: words
        steps:
          - id: count
            uses: python
            cache: {cache}
            with: {{function: "count:count_words", args: {{pattern: "docs/*.md"}}}}
    """


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return settings_for(db_url, tmp_path)


def calls(tmp_path: Path) -> int:
    log = tmp_path / "calls.log"
    return len(log.read_text().split()) if log.exists() else 0


async def outcome(settings: Settings, path: Path) -> tuple[str, object, list[str]]:
    result, details, events = await run(settings, path)
    assert result.status is RunStatus.SUCCEEDED, result.error
    async with Session(settings) as s:
        value = await s.store.output(result.run_id, "count", -1)
    state = {st.step_id: st.state for st in details.steps}["count"]
    return state, value, [e.type for e in events if e.type.startswith("cache.")]


async def test_a_changed_file_misses_and_the_same_content_hits(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write("count.py", COUNT_PY)
    path = write("p.yaml", spec("""{key: "{{ hash_files('docs/*.md') }}"}"""))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("one two\n")

    assert await outcome(settings, path) == ("succeeded", 2, ["cache.miss"])
    assert await outcome(settings, path) == ("cached", 2, ["cache.hit"])
    # Different content: a miss and the fresh result (the default key alone would hit: 2).
    (tmp_path / "docs" / "a.md").write_text("one two three\n")
    assert await outcome(settings, path) == ("succeeded", 3, ["cache.miss"])
    # A new matching file counts as a change too.
    (tmp_path / "docs" / "b.md").write_text("four\n")
    assert await outcome(settings, path) == ("succeeded", 4, ["cache.miss"])
    # The same content again (rewritten, new mtime): a hit.
    (tmp_path / "docs" / "b.md").write_text("four\n")
    assert await outcome(settings, path) == ("cached", 4, ["cache.hit"])
    assert calls(tmp_path) == 3


async def test_without_a_key_the_default_key_serves_the_stale_result(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    # What the key is for: the default key covers with: and the code, not files.
    write("count.py", COUNT_PY)
    path = write("p.yaml", spec("true"))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("one two\n")
    assert (await outcome(settings, path))[:2] == ("succeeded", 2)
    (tmp_path / "docs" / "a.md").write_text("one two three\n")
    assert (await outcome(settings, path))[:2] == ("cached", 2)


async def test_a_key_is_added_to_the_default_material_not_a_replacement(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write("count.py", COUNT_PY)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("one\n")
    path = write("p.yaml", spec("{key: v1}"))
    assert (await outcome(settings, path))[0] == "succeeded"
    assert (await outcome(settings, path))[0] == "cached"
    # Same key, different with: -> a miss (with: is still in the key).
    write("p.yaml", spec("{key: v1}").replace('"docs/*.md"', '"docs/a.md"'))
    assert (await outcome(settings, path))[0] == "succeeded"
    # Same with:, new key -> a miss.
    write("p.yaml", spec("{key: v2}").replace('"docs/*.md"', '"docs/a.md"'))
    assert (await outcome(settings, path))[0] == "succeeded"
    assert calls(tmp_path) == 3


async def test_a_pattern_that_matches_nothing_fails_the_step_loudly(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write("count.py", COUNT_PY)
    path = write("p.yaml", spec("""{key: "{{ hash_files('docs/*.md') }}"}"""))
    result, _, _ = await run(settings, path)
    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert f"step 'count' cache.key ({path}:5:18): hash_files('docs/*.md') matched no files" in (
        result.error
    )
    assert calls(tmp_path) == 0


async def test_hash_files_in_with_reaches_the_step_and_its_default_key(
    settings: Settings, write: Write, tmp_path: Path
) -> None:
    write(
        "digest.py",
        """
        from pathlib import Path

        def show(digest):
            with open(Path(__file__).parent / "calls.log", "a") as f:
                f.write(digest + "\\n")
            return digest
        """,
    )
    path = write(
        "p.yaml",
        """
        name: digest
        steps:
          - id: count
            uses: python
            cache: true
            with: {function: "digest:show", args: {digest: "{{ hash_files('docs/*.md') }}"}}
        """,
    )
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("one\n")
    first = await outcome(settings, path)
    assert first[0] == "succeeded"
    assert isinstance(first[1], str) and len(first[1]) == 64
    assert (await outcome(settings, path))[0] == "cached"
    (tmp_path / "docs" / "a.md").write_text("two\n")
    second = await outcome(settings, path)
    assert second[0] == "succeeded" and second[1] != first[1]
