"""The agent step's ``with:``: checked before anything runs, errors that say what to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runwright.agents.task import ScopeRule, parse_task
from runwright.errors import FatalStepError


def parse(**params: Any) -> Any:
    return parse_task({"agent": "a", "prompt": "p", **params}, step_id="s", base_dir=Path("/p"))


def test_defaults_and_paths() -> None:
    task = parse(repo="../r", writable=["out", "~/cache"], scope={"write": "src/**"})
    assert task.repo == Path("/r") and task.base == "HEAD" and task.session == "new"
    assert task.writable == (Path("/p/out"), Path("~/cache").expanduser())
    assert task.scope == ScopeRule(("src/**",), None) and not task.sandboxed


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"prompt": None}, "with.prompt is required"),
        ({"sandbox": "docker"}, "with.sandbox must be 'none' or 'bwrap'"),
        ({"network": "yes"}, "with.network must be true or false"),
        ({"timeout": 0}, "with.timeout must be a positive number"),
        ({"max_turns": 1.5}, "with.max_turns must be a positive integer"),
        ({"allowed_tools": [1]}, "with.allowed_tools must be a list of strings"),
        ({"scope": {"read": []}}, "with.scope must be a mapping"),
        ({"scope": {"max_lines_changed": -1}}, "max_lines_changed must be a number >= 0"),
        ({"session": 3}, "with.session must be 'new', 'resume' or a session id"),
    ],
)
def test_bad_values_are_named(params: dict[str, Any], message: str) -> None:
    with pytest.raises(FatalStepError, match="step 's': ") as info:
        parse(**params)
    assert message in str(info.value)


def test_records_round_trip_and_are_removed_with_their_worktree(tmp_path: Path) -> None:
    from runwright.agents import records
    from runwright.agents.process import Finished

    paths = records.Paths(tmp_path, "run-s-1")
    assert records.load_result(paths) is None and records.started_session(paths) is None
    records.record_start(paths, agent="a", session="s-1")
    records.record_result(paths, agent="a", finished=Finished(0, "out", "err", 1.5))
    assert records.started_session(paths) == "s-1"
    assert records.load_result(paths) == Finished(0, "out", "err", 1.5)
    paths.result.write_text("{torn")  # a write cut short reads as no result
    assert records.load_result(paths) is None
    assert set(records.remove(tmp_path, "run-s-1")) == {paths.started, paths.result}
    assert list(tmp_path.iterdir()) == []
