"""The `runwright` command line, run as a real subprocess: exit codes and what it prints."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from clitools import clean_env, cli, wait_until

LOCATION = re.compile(r"\.yaml:(\d+):(\d+):")

STEPS_PY = """
def build():
    return "built"


def double(n):
    if not isinstance(n, int):
        raise TypeError(f"n is {type(n).__name__}, not int")
    return n * 2
"""


def start(cwd: Path, *args: str, name: str = "bg") -> subprocess.Popen[str]:
    """Start the CLI in the background, in its own session; output goes to NAME.out/.err."""
    with (cwd / f"{name}.out").open("w") as out, (cwd / f"{name}.err").open("w") as err:
        return subprocess.Popen(  # the child keeps its own copies of out and err
            [sys.executable, "-m", "runwright", *args],
            cwd=cwd,
            env=clean_env(),
            stdout=out,
            stderr=err,
            text=True,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen[str]) -> None:
    """Make sure a background CLI is gone at the end of a test (whatever happened)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def ok_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def last_json(result: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(result.stdout.strip().splitlines()[-1])


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def assert_clean_error(result: subprocess.CompletedProcess[str], code: int) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.strip(), "an error must say what went wrong"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def states(details: dict[str, Any]) -> dict[str, str]:
    return {s["step_id"]: s["state"] for s in details["steps"]}


def newest_run(cwd: Path) -> str | None:
    runs = ok_json(cli(cwd, "runs", "--json"))
    return runs[0]["run_id"] if runs else None


def group_alive(pgid: int) -> bool:
    """Whether any non-zombie process is still in process group ``pgid`` (Linux /proc)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


# --- basics ------------------------------------------------------------------------------


def test_version_and_unknown_command(tmp_path: Path) -> None:
    from runwright._version import __version__

    version = cli(tmp_path, "--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"runwright {__version__}"

    bogus = cli(tmp_path, "frobnicate")
    assert_clean_error(bogus, 2)
    assert "Usage:" in bogus.stderr
    assert "frobnicate" in bogus.stderr


def test_graph_and_schema(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    mermaid = cli(tmp_path, "graph", "pipeline.yaml")
    assert mermaid.returncode == 0, mermaid.stderr
    assert "flowchart TD" in mermaid.stdout
    assert re.search(r"^\s*files --> inspect$", mermaid.stdout, re.M), mermaid.stdout

    dot = cli(tmp_path, "graph", "pipeline.yaml", "--format", "dot")
    assert dot.returncode == 0, dot.stderr
    assert "digraph" in dot.stdout
    assert '"files" -> "inspect"' in dot.stdout

    schema = ok_json(cli(tmp_path, "schema"))
    assert "$schema" in schema
    assert "steps" in json.dumps(schema)


# --- the quickstart pipeline: run, report, cache, and reading runs back ----------------------


@dataclass
class Project:
    dir: Path
    repo: Path
    files: list[str]
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """`runwright init` next to a real git repository, then the pipeline run twice."""
    root = tmp_path_factory.mktemp("project")
    repo = root / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "README.md").write_text("# demo\n\nhello\n")
    (repo / "src" / "main.py").write_text("print('hi')\nprint('bye')\n")
    (repo / "notes.txt").write_text("one\n")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=Tester"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "first"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True, env=clean_env())
    files = ["README.md", "notes.txt", "src/main.py"]

    init = cli(root, "init")
    assert init.returncode == 0, init.stderr
    assert "wrote" in init.stdout and "pipeline.yaml" in init.stdout
    first = cli(root, "run", "pipeline.yaml", "--input", f"repo={repo}", "--json")
    second = cli(root, "run", "pipeline.yaml", "--input", f"repo={repo}", "--json")
    return Project(root, repo, files, first, second)


def test_init_refuses_to_overwrite(project: Project) -> None:
    again = cli(project.dir, "init")
    assert again.returncode == 2  # usage: the files exist
    assert "--force" in again.stderr
    assert "Traceback" not in again.stderr


def test_run_writes_report_naming_every_file(project: Project) -> None:
    result = ok_json(project.first)
    assert result["status"] == "succeeded"
    assert re.fullmatch(r"[a-z0-9]+", result["run_id"])
    report = (project.dir / "REPORT.md").read_text()
    assert "# Repository report: repo" in report
    assert f"{len(project.files)} files inspected" in report
    for name in project.files:
        assert f"`{name}`" in report, report
    assert "Tester" in report


def test_second_run_hits_the_cache_then_cache_clear_empties_it(project: Project) -> None:
    second = ok_json(project.second)
    assert second["status"] == "succeeded"
    assert second["run_id"] != ok_json(project.first)["run_id"]

    hits = cli(project.dir, "tail", second["run_id"], "--json", "--type", "cache.hit")
    assert hits.returncode == 0, hits.stderr
    events = json_lines(hits.stdout)
    assert len(events) == len(project.files)
    assert {e["type"] for e in events} == {"cache.hit"}
    assert {e["step_id"] for e in events} == {"inspect"}
    assert all(e["data"]["from_run"] == ok_json(project.first)["run_id"] for e in events)

    stats = ok_json(cli(project.dir, "cache", "stats", "--json"))
    assert stats["entries"] == len(project.files)
    assert stats["hits"] >= len(project.files)
    assert stats["bytes"] > 0

    cleared = ok_json(cli(project.dir, "cache", "clear", "--json"))
    assert cleared == {"deleted": len(project.files)}
    assert ok_json(cli(project.dir, "cache", "stats", "--json"))["entries"] == 0


def test_runs_show_tail_and_export(project: Project) -> None:
    first, second = ok_json(project.first)["run_id"], ok_json(project.second)["run_id"]
    runs = ok_json(cli(project.dir, "runs", "--json"))
    assert [r["run_id"] for r in runs] == [second, first]  # newest first
    assert {r["status"] for r in runs} == {"succeeded"}

    details = ok_json(cli(project.dir, "show", first, "--json"))
    assert details["run_id"] == first
    assert details["inputs"]["repo"] == str(project.repo)
    assert states(details) == dict.fromkeys(
        ["facts", "files", "contributors", "inspect", "report"], "succeeded"
    )
    inspect = next(s for s in details["steps"] if s["step_id"] == "inspect")
    assert (inspect["items"], inspect["items_done"]) == (len(project.files),) * 2

    tail = cli(project.dir, "tail", first, "--json")
    assert tail.returncode == 0, tail.stderr
    events = json_lines(tail.stdout)
    assert events[0]["type"] == "run.started" and events[-1]["type"] == "run.succeeded"
    assert all(e["run_id"] == first for e in events)
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert any(e["type"] == "file.written" for e in events)

    only_files = json_lines(cli(project.dir, "tail", first, "--json", "--step", "files").stdout)
    assert only_files and {e["step_id"] for e in only_files} == {"files"}
    assert [e["type"] for e in only_files] == ["step.started", "step.succeeded"]
    errors = cli(project.dir, "tail", first, "--json", "--level", "error")
    assert errors.returncode == 0 and errors.stdout == ""  # a clean run has no errors

    export = cli(project.dir, "export", first, "--format", "jsonl")
    assert export.returncode == 0, export.stderr
    rows = json_lines(export.stdout)
    assert rows[0]["type"] == "run" and rows[0]["run_id"] == first
    assert "name: repo-report" in rows[0]["spec_source"]
    attempts = [r for r in rows if r["type"] == "attempt"]
    assert {a["step_id"] for a in attempts} >= {"facts", "files", "inspect", "report"}
    exported_events = [r for r in rows if "seq" in r]
    assert [e["seq"] for e in exported_events] == [e["seq"] for e in events]


def test_export_rows_say_what_they_are(project: Project) -> None:
    run_id = ok_json(project.first)["run_id"]
    rows = json_lines(cli(project.dir, "export", run_id).stdout)
    assert {r["type"] for r in rows} == {"run", "attempt", "output", "event"}
    events = [r for r in rows if r["type"] == "event"]
    assert events[0]["event_type"] == "run.started"


# --- validation ------------------------------------------------------------------------------

BAD_SPECS = {
    "malformed": (
        'name: x\nsteps:\n  - id: a\n    uses: shell\n    with: {run: "echo [1"\n',
        None,
        "check the indentation",
    ),
    "unknown_key": (
        "name: x\nsteps:\n  - id: a\n    uses: shell\n    with: {run: echo}\n"
        "  - id: b\n    uses: shell\n    neds: [a]\n    with: {run: echo}\n",
        8,
        "did you mean 'needs'",
    ),
    "unknown_needs": (
        "name: x\nsteps:\n  - id: a\n    uses: shell\n    needs: [zz]\n    with: {run: echo}\n",
        5,
        "'zz'",
    ),
    "cycle": (
        "name: x\nsteps:\n  - id: a\n    uses: shell\n    needs: [b]\n    with: {run: echo}\n"
        "  - id: b\n    uses: shell\n    needs: [a]\n    with: {run: echo}\n",
        None,
        "cycle",
    ),
    "undefined_variable": (
        "name: x\ninputs:\n  s: {type: string, default: a}\nsteps:\n  - id: a\n"
        '    uses: shell\n    with: {run: "echo {{ inputs.nope }}"}\n',
        7,
        "inputs.nope",
    ),
    "unknown_kind": (
        "name: x\nsteps:\n  - id: a\n    uses: shel\n    with: {run: echo}\n",
        4,
        "did you mean 'shell'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_validate_reports_problems_with_location(tmp_path: Path, case: str) -> None:
    text, line, message = BAD_SPECS[case]
    (tmp_path / f"{case}.yaml").write_text(text)
    result = cli(tmp_path, "validate", f"{case}.yaml")
    assert_clean_error(result, 2)
    where = LOCATION.search(result.stderr)
    assert where, result.stderr
    assert f"{case}.yaml:" in result.stderr
    if line is not None:
        assert int(where.group(1)) == line, result.stderr
    assert message in result.stderr


def test_validate_accepts_a_good_pipeline(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    result = ok_json(cli(tmp_path, "validate", "pipeline.yaml", "--json"))
    assert (result["valid"], result["pipeline"], result["steps"]) == (True, "repo-report", 5)


# --- errors: unknown runs, broken and busy databases, broken steps -------------------------


@pytest.mark.parametrize("command", ["show", "resume", "cancel"])
def test_unknown_run_id_exits_4(tmp_path: Path, command: str) -> None:
    write(tmp_path, "p.yaml", "name: p\nsteps:\n  - {id: a, uses: shell, with: {run: 'true'}}\n")
    assert cli(tmp_path, "run", "p.yaml").returncode == 0  # a database with another run
    result = cli(tmp_path, command, "nosuchrun")
    assert_clean_error(result, 4)
    assert "no run 'nosuchrun'" in result.stderr


def test_corrupted_database_exits_3_and_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / ".runwright" / "runwright.db"
    db.parent.mkdir()
    garbage = bytes(range(256)) * 40
    db.write_bytes(garbage)
    write(tmp_path, "p.yaml", "name: p\nsteps:\n  - id: a\n    uses: shell\n    with: {run: ':'}\n")

    for args in (["runs"], ["run", "p.yaml"]):
        result = cli(tmp_path, *args)
        assert_clean_error(result, 3)
        assert str(db) in result.stderr
        assert "corrupted" in result.stderr
    assert db.read_bytes() == garbage
    assert sorted(p.name for p in db.parent.iterdir()) == ["runwright.db"]


def test_locked_database_is_waited_for_not_failed(tmp_path: Path) -> None:
    write(tmp_path, "p.yaml", "name: p\nsteps:\n  - id: a\n    uses: shell\n    with: {run: ':'}\n")
    assert cli(tmp_path, "run", "p.yaml").returncode == 0  # creates the database
    db = tmp_path / ".runwright" / "runwright.db"

    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    proc = start(tmp_path, "run", "p.yaml", "--json")
    try:
        fds = Path(f"/proc/{proc.pid}/fd")

        def opened_db() -> bool:
            try:
                return any(fd.readlink() == db.resolve() for fd in fds.iterdir())
            except OSError:
                return False

        assert wait_until(opened_db, 15), "runwright never opened the database"
        # While the lock is held it waits (well inside its 10 s busy timeout).
        assert not wait_until(lambda: proc.poll() is not None, 0.5), (
            tmp_path / "bg.err"
        ).read_text()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    try:
        assert proc.wait(timeout=15) == 0, (tmp_path / "bg.err").read_text()
    finally:
        stop(proc)
    result = json.loads((tmp_path / "bg.out").read_text().splitlines()[-1])
    assert result["status"] == "succeeded"


@pytest.mark.parametrize(
    ("function", "expected"),
    [("steps:biuld", "did you mean 'build'"), ("nosuchmodule:f", "cannot import module")],
)
def test_python_step_with_missing_function_fails_clearly(
    tmp_path: Path, function: str, expected: str
) -> None:
    write(tmp_path, "steps.py", STEPS_PY)
    write(
        tmp_path,
        "p.yaml",
        f"""
        name: missing
        steps:
          - id: a
            uses: python
            with: {{function: "{function}"}}
    """,
    )
    result = cli(tmp_path, "run", "p.yaml", "--json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    outcome = last_json(result)
    assert outcome["status"] == "failed"
    assert expected in outcome["error"]

    errors = json_lines(
        cli(tmp_path, "tail", outcome["run_id"], "--json", "--level", "error").stdout
    )
    assert [e["type"] for e in errors] == ["step.failed", "run.failed"]
    assert {e["level"] for e in errors} == {"error"}
    assert expected in errors[0]["data"]["error"]


# --- approvals -----------------------------------------------------------------------------

APPROVAL_YAML = """
name: release
steps:
  - id: build
    uses: python
    with: {function: "steps:build"}
  - id: gate
    uses: approval
    needs: [build]
    with: {prompt: "Ship it?"}
  - id: ship
    uses: shell
    needs: [gate]
    with: {run: "echo {{ steps.build.output }} > shipped.txt"}
"""


def test_approval_parks_the_run_and_approve_continues_it(tmp_path: Path) -> None:
    write(tmp_path, "steps.py", STEPS_PY)
    write(tmp_path, "release.yaml", APPROVAL_YAML)

    parked = cli(tmp_path, "run", "release.yaml")
    assert parked.returncode == 10, parked.stderr
    match = re.search(r"runwright approve (\S+) gate", parked.stdout)
    assert match, parked.stdout
    run_id = match.group(1)
    assert f"runwright reject {run_id} gate" in parked.stdout
    waiting = ok_json(cli(tmp_path, "show", run_id, "--json"))
    assert waiting["status"] == "waiting"
    assert states(waiting) == {"build": "succeeded", "gate": "waiting", "ship": "pending"}
    assert not (tmp_path / "shipped.txt").exists()

    approved = ok_json(cli(tmp_path, "approve", run_id, "gate", "--comment", "ok", "--json"))
    assert (approved["run_id"], approved["status"]) == (run_id, "succeeded")
    assert (tmp_path / "shipped.txt").read_text() == "built\n"
    assert states(ok_json(cli(tmp_path, "show", run_id, "--json"))) == dict.fromkeys(
        ["build", "gate", "ship"], "succeeded"
    )


def test_reject_fails_the_run(tmp_path: Path) -> None:
    write(tmp_path, "steps.py", STEPS_PY)
    write(tmp_path, "release.yaml", APPROVAL_YAML)

    parked = cli(tmp_path, "run", "release.yaml", "--json")
    assert parked.returncode == 10, parked.stderr
    outcome = last_json(parked)
    assert (outcome["status"], outcome["waiting_for"]) == ("waiting", ["gate"])

    rejected = cli(tmp_path, "reject", outcome["run_id"], "gate", "--reason", "no", "--json")
    assert rejected.returncode == 1, rejected.stderr
    result = last_json(rejected)
    assert result["status"] == "failed"
    assert "no" in result["error"]
    assert not (tmp_path / "shipped.txt").exists()
    details = ok_json(cli(tmp_path, "show", outcome["run_id"], "--json"))
    assert states(details) == {"build": "succeeded", "gate": "failed", "ship": "pending"}

    again = cli(tmp_path, "approve", outcome["run_id"], "gate")
    assert_clean_error(again, 5)
    assert "not waiting" in again.stderr


def test_failed_approval_does_not_claim_it_approved(tmp_path: Path) -> None:
    write(tmp_path, "steps.py", STEPS_PY)
    write(tmp_path, "release.yaml", APPROVAL_YAML)
    run_id = last_json(cli(tmp_path, "run", "release.yaml", "--json"))["run_id"]
    result = cli(tmp_path, "approve", run_id, "nosuchstep")
    assert_clean_error(result, 4)
    assert "no step 'nosuchstep'" in result.stderr
    assert not re.search(r"^approved\b", result.stderr, re.M), result.stderr


# --- stopping runs: cancel and Ctrl-C ----------------------------------------------------------

SLOW_YAML = """
name: slow
steps:
  - id: nap
    uses: shell
    with: {run: "echo $$ > nap.pid; test -f go || exec sleep 30"}
  - id: after
    uses: shell
    needs: [nap]
    with: {run: "echo done > after.txt"}
"""


def test_cancel_stops_a_running_run_and_resume_finishes_it(tmp_path: Path) -> None:
    write(tmp_path, "slow.yaml", SLOW_YAML)
    proc = start(tmp_path, "run", "slow.yaml", "--json")
    try:
        assert wait_until((tmp_path / "nap.pid").exists, 20), "the nap step never started"
        run_id = newest_run(tmp_path)
        assert run_id

        def nap_running() -> bool:
            details = ok_json(cli(tmp_path, "show", run_id, "--json"))
            return states(details)["nap"] == "running"

        assert wait_until(nap_running, 10)
        cancelled = cli(tmp_path, "cancel", run_id)
        assert cancelled.returncode == 0, cancelled.stderr
        assert f"runwright resume {run_id}" in cancelled.stdout
        assert proc.wait(timeout=10) == 11
    finally:
        stop(proc)
    outcome = json.loads((tmp_path / "bg.out").read_text().splitlines()[-1])
    assert (outcome["run_id"], outcome["status"]) == (run_id, "cancelled")
    details = ok_json(cli(tmp_path, "show", run_id, "--json"))
    assert details["status"] == "cancelled"
    assert states(details) == {"nap": "cancelled", "after": "pending"}
    assert not (tmp_path / "after.txt").exists()

    (tmp_path / "go").touch()
    resumed = ok_json(cli(tmp_path, "resume", run_id, "--json"))
    assert (resumed["run_id"], resumed["status"]) == (run_id, "succeeded")
    assert resumed["reopened"] == {"cancelled": ["nap"]}
    assert (tmp_path / "after.txt").read_text() == "done\n"


def test_ctrl_c_twice_stops_at_once_and_kills_the_step(tmp_path: Path) -> None:
    write(tmp_path, "slow.yaml", SLOW_YAML)
    pid_file = tmp_path / "nap.pid"
    proc = start(tmp_path, "run", "slow.yaml")
    try:
        assert wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), 20)
        step_pgid = os.getpgid(int(pid_file.read_text()))
        assert step_pgid != proc.pid and group_alive(step_pgid)  # the step has its own group

        os.kill(proc.pid, signal.SIGINT)
        err = tmp_path / "bg.err"
        assert wait_until(lambda: "stopping:" in err.read_text(), 10), err.read_text()
        assert proc.poll() is None  # graceful: the running step may finish
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=10) == 11, err.read_text()
    finally:
        stop(proc)
    assert "Traceback" not in (tmp_path / "bg.err").read_text()
    assert wait_until(lambda: not group_alive(step_pgid), 5), "the step's processes survived"
    assert "cancelled" in (tmp_path / "bg.out").read_text()


# --- inputs and spec changes ---------------------------------------------------------------


def test_inputs_from_file_and_flags_are_typed(tmp_path: Path) -> None:
    write(tmp_path, "steps.py", STEPS_PY)
    write(
        tmp_path,
        "inp.yaml",
        """
        name: inp
        inputs:
          n: {type: integer}
          who: {type: string, default: world}
        steps:
          - id: calc
            uses: python
            with: {function: "steps:double", args: {n: "{{ inputs.n }}"}}
          - id: say
            uses: shell
            needs: [calc]
            with: {run: "echo {{ inputs.who }} {{ steps.calc.output }} > said.txt"}
    """,
    )
    (tmp_path / "in.json").write_text(json.dumps({"n": 21, "who": "file"}))

    result = ok_json(
        cli(tmp_path, "run", "inp.yaml", "--inputs", "in.json", "--input", "n=5", "--json")
    )
    assert result["status"] == "succeeded"
    assert (tmp_path / "said.txt").read_text() == "file 10\n"
    assert ok_json(cli(tmp_path, "show", result["run_id"], "--json"))["inputs"] == {
        "n": 5,
        "who": "file",
    }

    bad = cli(tmp_path, "run", "inp.yaml", "--input", "n=abc")
    assert_clean_error(bad, 2)
    assert "'n'" in bad.stderr and "integer" in bad.stderr
    missing = cli(tmp_path, "run", "inp.yaml")
    assert_clean_error(missing, 2)
    assert "'n'" in missing.stderr


def test_spec_change_blocks_resume_until_accepted(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "chg.yaml",
        """
        name: chg
        steps:
          - id: first
            uses: shell
            with: {run: "echo one >> first.log"}
          - id: second
            uses: shell
            needs: [first]
            with: {run: "test -f ok"}
    """,
    )
    failed = cli(tmp_path, "run", "chg.yaml", "--json")
    assert failed.returncode == 1, failed.stderr
    run_id = last_json(failed)["run_id"]

    spec.write_text(spec.read_text().replace("test -f ok", "test -f ok2"))
    blocked = cli(tmp_path, "resume", run_id)
    assert_clean_error(blocked, 5)
    assert "step 'second' changed" in blocked.stderr
    assert "--accept-changes" in blocked.stderr
    assert "'first'" not in blocked.stderr  # only what changed is listed

    (tmp_path / "ok2").touch()
    accepted = ok_json(cli(tmp_path, "resume", run_id, "--accept-changes", "--json"))
    assert (accepted["run_id"], accepted["status"]) == (run_id, "succeeded")
    assert (tmp_path / "first.log").read_text() == "one\n"  # committed work was not redone

    done = cli(tmp_path, "resume", run_id)
    assert_clean_error(done, 5)
    assert "already succeeded" in done.stderr
