"""Who may approve: `approvers:` enforced through the real CLI (issue 7, item 14)."""

from __future__ import annotations

import getpass
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from clitools import clean_env

GATED_YAML = """
name: release
steps:
  - id: gate
    uses: approval
    with: {prompt: "Ship it?", approvers: [alice, bob]}
  - id: ship
    uses: shell
    needs: [gate]
    with:
      run: >-
        echo '{{ steps.gate.output.approved }} {{ steps.gate.output.by }}
        {{ steps.gate.output.comment }}' > shipped.txt
"""


def rw(cwd: Path, *args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    if user is not None:
        env["RUNWRIGHT_USER"] = user
    return subprocess.run(
        [sys.executable, "-m", "runwright", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def last_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.stdout.strip(), (result.returncode, result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def parked(tmp_path: Path, spec: str = GATED_YAML) -> str:
    (tmp_path / "release.yaml").write_text(textwrap.dedent(spec).lstrip())
    result = rw(tmp_path, "run", "release.yaml", "--json")
    assert result.returncode == 10, (result.stdout, result.stderr)
    run_id: str = last_json(result)["run_id"]
    return run_id


def events(tmp_path: Path, run_id: str, type_: str) -> list[dict[str, Any]]:
    result = rw(tmp_path, "tail", run_id, "--json", "--type", type_)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def status(tmp_path: Path, run_id: str) -> str:
    value: str = last_json(rw(tmp_path, "show", run_id, "--json"))["status"]
    return value


def test_someone_not_among_the_approvers_is_refused_and_told_who_may(tmp_path: Path) -> None:
    run_id = parked(tmp_path)
    for args, user in (
        (["--as", "mallory"], None),
        ([], "mallory"),  # RUNWRIGHT_USER
        ([], None),  # the OS user, who is neither alice nor bob
    ):
        refused = rw(tmp_path, "approve", run_id, "gate", *args, user=user)
        assert refused.returncode == 5, (refused.stdout, refused.stderr)
        assert "Traceback" not in refused.stderr
        who = "mallory" if (args or user) else getpass.getuser()
        assert f"'{who}' may not approve step 'gate'" in refused.stderr
        assert "'alice', 'bob'" in refused.stderr
        assert "--as" in refused.stderr
    rejected = rw(tmp_path, "reject", run_id, "gate", "--as", "mallory", "--reason", "no")
    assert rejected.returncode == 5, rejected.stderr
    assert "may not reject" in rejected.stderr
    # Nothing was decided: the run still waits, no decision event exists.
    assert status(tmp_path, run_id) == "waiting"
    assert events(tmp_path, run_id, "approval.granted") == []
    assert events(tmp_path, run_id, "approval.rejected") == []
    assert not (tmp_path / "shipped.txt").exists()


def test_an_approver_approves_and_the_decider_is_recorded(tmp_path: Path) -> None:
    run_id = parked(tmp_path)
    # RUNWRIGHT_USER names someone else; --as wins.
    done = rw(tmp_path, "approve", run_id, "gate", "--as", "bob", "--comment", "lgtm", user="eve")
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert status(tmp_path, run_id) == "succeeded"
    # The output {approved, by, comment}, as a dependent step reads it.
    assert (tmp_path / "shipped.txt").read_text() == "True bob lgtm\n"
    [granted] = events(tmp_path, run_id, "approval.granted")
    assert granted["data"] == {"by": "bob", "comment": "lgtm"}
    [requested] = events(tmp_path, run_id, "approval.requested")
    assert requested["data"]["approvers"] == ["alice", "bob"]


def test_runwright_user_identifies_the_approver(tmp_path: Path) -> None:
    run_id = parked(tmp_path)
    done = rw(tmp_path, "approve", run_id, "gate", user="alice")
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert (tmp_path / "shipped.txt").read_text() == "True alice None\n"


def test_an_approver_rejects_and_is_recorded(tmp_path: Path) -> None:
    run_id = parked(tmp_path)
    done = rw(tmp_path, "reject", run_id, "gate", "--as", "alice", "--reason", "not today")
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert status(tmp_path, run_id) == "failed"
    [rejected] = events(tmp_path, run_id, "approval.rejected")
    assert rejected["data"] == {"by": "alice", "reason": "not today"}


def test_without_approvers_anyone_decides_as_the_os_user(tmp_path: Path) -> None:
    run_id = parked(tmp_path, GATED_YAML.replace(", approvers: [alice, bob]", ""))
    done = rw(tmp_path, "approve", run_id, "gate")
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert (tmp_path / "shipped.txt").read_text() == f"True {getpass.getuser()} None\n"
    [granted] = events(tmp_path, run_id, "approval.granted")
    assert granted["data"]["by"] == getpass.getuser()


def test_approvers_that_are_not_a_list_of_names_are_refused_by_validate(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(GATED_YAML.replace("[alice, bob]", "alice").lstrip())
    result = rw(tmp_path, "validate", "p.yaml", "--json")
    assert result.returncode == 2, (result.stdout, result.stderr)
    [problem] = json.loads(result.stdout)["problems"]
    assert (problem["line"], problem["path"]) == (5, "steps[0].with.approvers")
    assert problem["message"] == "approvers must be a list of names; write approvers: [alice]"
