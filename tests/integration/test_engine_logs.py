"""Step logs end to end (both databases): streamed, masked before any cut, tracebacks kept.

The canary secret is placed across every place output is cut: the 1 MiB output
cap of a shell step, the 2,000-character error tail, and the boundary between two
log chunks. Neither it nor any 8-character fragment of it may reach the database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from enginetools import Write, dump_tables, run, settings_for

from runwright.api import Session
from runwright.settings import Settings
from runwright.states import RunStatus
from runwright.steps.capture import OUTPUT_CAP

CANARY = "canary-0123456789abcdef-SECRET-zz"


def fragments(secret: str = CANARY, size: int = 8) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def leaks(text: str) -> list[str]:
    return [f for f in fragments() if f in text]


def secret_settings(db_url: str, tmp_path: Path) -> Settings:
    base = settings_for(db_url, tmp_path)
    return Settings(
        database_url=db_url, project_dir=tmp_path, env={**base.env, "MY_API_KEY": CANARY}
    )


def raw_texts(db_url: str, tmp_path: Path) -> list[str]:
    """Every value of every table, plus (SQLite) the raw bytes of the files, WAL included."""
    texts = [
        v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in dump_tables(db_url)
    ]
    if not db_url.startswith("postgresql://"):
        texts += [p.read_bytes().decode("latin-1") for p in Path(db_url).parent.iterdir()]
    return texts


STEPS_PY = """
import os

def explode(n):
    # The secret in the message and in a local the traceback shows the source line of.
    secret = os.environ["MY_API_KEY"]
    raise ValueError(f"bad input {n}: {secret}")
"""


async def test_a_secret_across_every_cut_never_reaches_the_database(
    db_url: str, tmp_path: Path, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runwright.engine import logwriter

    # Small chunks (not a power of two) so the output is cut into many of them.
    monkeypatch.setattr(logwriter, "CHUNK_CHARS", 4099)
    monkeypatch.setenv("MY_API_KEY", CANARY)  # python steps run in this process
    write("steps.py", STEPS_PY)
    # Unmasked, the 1 MiB cut would land mid-secret (masked, it falls in the y's).
    cap_fill = OUTPUT_CAP - len(CANARY) // 2 - 1
    tail_fill = 2000 - len(CANARY) // 2  # so does the 2,000-character error tail
    spec = write(
        "p.yaml",
        f"""
        name: leaks
        steps:
          - id: big
            uses: shell
            with:
              run: |
                head -c 100 /dev/zero | tr '\\0' y; printf '%s' "$MY_API_KEY"
                head -c {cap_fill} /dev/zero | tr '\\0' x
          - id: tail
            uses: shell
            on_failure: continue
            with:
              run: |
                printf '%s' "$MY_API_KEY" >&2; head -c {tail_fill} /dev/zero | tr '\\0' e >&2
                exit 1
          - id: split
            uses: shell
            with:
              run: |
                printf 'a:%s' "${{MY_API_KEY:0:12}}"; sleep 0.3
                printf '%s:b\\n' "${{MY_API_KEY:12}}"
          - id: py
            uses: python
            needs: [big, split]
            on_failure: continue
            with: {{function: "steps:explode", args: {{n: 1}}}}
        """,
    )
    settings = secret_settings(db_url, tmp_path)
    result, details, _ = await run(settings, spec)
    assert result.status is RunStatus.SUCCEEDED, result
    states = {s.step_id: s.state for s in details.steps}
    assert states == {"big": "succeeded", "tail": "failed", "split": "succeeded", "py": "failed"}
    async with Session(settings) as s:
        big = await s.output(result.run_id, "big")
        chunks = [c async for c in s.logs(result.run_id)]
    assert big["stdout"].startswith(
        "[runwright: 86 earlier bytes truncated]\n" + "y" * 14 + "***xxx"
    )
    assert leaks(big["stdout"]) == []
    by_step: dict[str, str] = {}
    for c in chunks:
        by_step[c.step_id] = by_step.get(c.step_id, "") + c.text
    assert by_step["split"] == "a:***:b\n"
    big_chunks = [c for c in chunks if c.step_id == "big"]
    assert len(big_chunks) > 100 and max(len(c.text) for c in big_chunks) <= 4099
    assert [c.seq for c in big_chunks] == list(range(len(big_chunks)))
    assert by_step["big"].startswith("y" * 100 + "***xxx")
    assert by_step["tail"].startswith("***eee")
    assert "Traceback (most recent call last)" in by_step["py"]
    assert "in explode" in by_step["py"] and "ValueError: bad input 1: ***" in by_step["py"]
    assert "runwright/engine" not in by_step["py"]  # starts at the user's code
    assert [c.stream for c in chunks if c.step_id == "py"] == ["traceback"] * len(
        [c for c in chunks if c.step_id == "py"]
    )
    py = next(s for s in details.steps if s.step_id == "py")
    assert py.traceback and py.error == "ValueError: bad input 1: ***"
    texts = raw_texts(db_url, tmp_path)
    assert any("a:***:b" in t for t in texts)  # the dump does hold the masked logs
    assert [f for t in texts for f in leaks(t)] == []


async def test_cut_outputs_and_error_tails_keep_no_fragment_of_a_secret(
    db_url: str, tmp_path: Path, write: Write
) -> None:
    # Issue 7 item 20, through what existed before logs: the output cap and the error tail.
    spec = write(
        "p.yaml",
        f"""
        name: cuts
        steps:
          - id: big
            uses: shell
            with:
              run: |
                printf '%s' "$MY_API_KEY"; head -c {OUTPUT_CAP - 16} /dev/zero | tr '\\0' x
          - id: tail
            uses: shell
            with:
              run: |
                printf '%s' "$MY_API_KEY" >&2; head -c 1984 /dev/zero | tr '\\0' e >&2; exit 1
        """,
    )
    result, _, events = await run(secret_settings(db_url, tmp_path), spec)
    assert result.status is RunStatus.FAILED
    assert any(e.type == "step.log" and "***eee" in e.data["stderr"] for e in events)
    assert [f for t in raw_texts(db_url, tmp_path) for f in leaks(t)] == []


async def test_a_running_steps_output_is_committed_before_it_ends(
    db_url: str, tmp_path: Path, write: Write
) -> None:
    spec = write(
        "p.yaml",
        """
        name: live
        steps:
          - id: slow
            uses: shell
            with:
              run: |
                echo first
                while [ ! -f go ]; do sleep 0.02; done
                echo second
        """,
    )
    settings = settings_for(db_url, tmp_path)
    async with Session(settings) as s:
        runner = asyncio.create_task(s.start_run(spec))
        seen: list[str] = []
        async with Session(settings) as reader:
            while not runner.done():
                runs = await reader.runs()
                if runs:
                    seen = [c.text async for c in reader.logs(runs[0].id, "slow")]
                    if seen:
                        break
                await asyncio.sleep(0.02)
            assert seen == ["first\n"]  # committed while the step still runs
            assert not runner.done()
            (tmp_path / "go").write_text("")
            result = await runner
            final = [c async for c in reader.logs(result.run_id, "slow", follow=True)]
    assert result.status is RunStatus.SUCCEEDED
    assert "".join(c.text for c in final) == "first\nsecond\n"
    assert [c.attempt for c in final] == [1, 1] and [c.seq for c in final] == [0, 1]
