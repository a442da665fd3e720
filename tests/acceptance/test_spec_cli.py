"""Pipeline files through the real CLI: validate (and --json), inputs, template errors."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from clitools import cli

HELLO_PY = """
def hello(name="world"):
    return f"hello {name}"
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def last_json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.stdout.strip(), (result.returncode, result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def clean_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert "internal error" not in result.stderr
    return result.stderr


# --- validate -----------------------------------------------------------------------------


def test_validate_refuses_a_function_without_a_colon_with_the_fix(tmp_path: Path) -> None:
    write(tmp_path, "mysteps.py", HELLO_PY)
    write(
        tmp_path,
        "p.yaml",
        """
        name: hello
        steps:
          - id: hi
            uses: python
            with: {function: "mysteps.hello"}
        """,
    )
    stderr = clean_error(cli(tmp_path, "validate", "p.yaml"), 2)
    assert (
        "p.yaml:5:22: steps[0].with.function: 'mysteps.hello' is not 'module:function'; "
        "use 'mysteps:hello'"
    ) in stderr
    # run validates before anything starts
    assert "use 'mysteps:hello'" in clean_error(cli(tmp_path, "run", "p.yaml"), 2)


def test_validate_json_prints_the_problems_and_exits_2(tmp_path: Path) -> None:
    write(
        tmp_path,
        "bad.yaml",
        """
        name: bad
        steps:
          - id: a
            uses: shel
          - id: b
            uses: shell
            needs: [aa]
            with: {run: "true"}
        """,
    )
    result = cli(tmp_path, "validate", "bad.yaml", "--json")
    assert result.returncode == 2, (result.stdout, result.stderr)
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["file"] == "bad.yaml"
    assert report["problems"] == [
        {
            "file": "bad.yaml",
            "line": 4,
            "column": 11,
            "path": "steps[0].uses",
            "message": "unknown step kind 'shel'; did you mean 'shell'?",
        },
        {
            "file": "bad.yaml",
            "line": 7,
            "column": 13,
            "path": "steps[1].needs",
            "message": "step 'b' needs 'aa', which does not exist; did you mean 'a'?",
        },
    ]


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("missing.yaml", None, (1, 1)),
        ("syntax.yaml", 'name: x\nsteps:\n  - id: a\n    with: {run: "echo}\n', (4, 17)),
    ],
)
def test_validate_json_for_unreadable_and_unparseable_files(
    tmp_path: Path, name: str, text: str | None, where: tuple[int, int]
) -> None:
    if text is not None:
        (tmp_path / name).write_text(text)
    result = cli(tmp_path, "validate", name, "--json")
    assert result.returncode == 2, (result.stdout, result.stderr)
    [problem] = json.loads(result.stdout)["problems"]
    assert (problem["file"], problem["line"], problem["column"]) == (name, *where)
    assert problem["path"] == "pipeline"


def test_validate_json_of_a_good_file_is_unchanged(tmp_path: Path) -> None:
    write(tmp_path, "ok.yaml", "name: ok\nsteps:\n  - {id: a, uses: shell, with: {run: 'true'}}\n")
    report = last_json(cli(tmp_path, "validate", "ok.yaml", "--json"))
    assert report["valid"] is True
    assert (report["pipeline"], report["steps"]) == ("ok", 1)


@pytest.mark.parametrize(
    "value", ["timeout: true", "timeout: false", "retry: {attempts: 2, initial_delay: true}"]
)
def test_booleans_are_not_durations(tmp_path: Path, value: str) -> None:
    write(tmp_path, "p.yaml", f"name: x\nsteps:\n  - id: a\n    uses: shell\n    {value}\n")
    stderr = clean_error(cli(tmp_path, "validate", "p.yaml"), 2)
    assert "p.yaml:5:" in stderr
    assert "expected a duration like 30s, got a boolean" in stderr


# --- templates nested too deeply ---------------------------------------------------------

DEEP = {
    "brackets": "{{ " + "[" * 90 + "1" + "]" * 90 + " }}",
    "plus": "{{ " + " + ".join(["1"] * 1000) + " }}",
}


@pytest.mark.parametrize("case", sorted(DEEP))
@pytest.mark.parametrize("command", ["validate", "run"])
def test_deep_templates_are_located_spec_problems(tmp_path: Path, case: str, command: str) -> None:
    spec = "name: deep\nsteps:\n  - id: a\n    uses: shell\n    with:\n      run: " + json.dumps(
        "echo " + DEEP[case]
    )
    (tmp_path / "deep.yaml").write_text(spec + "\n")
    stderr = clean_error(cli(tmp_path, command, "deep.yaml"), 2)
    assert "deep.yaml:6:12: steps[0].with.run: template syntax error: " in stderr
    assert "expression nested too deeply" in stderr


# --- inputs ------------------------------------------------------------------------------

INPUTS_YAML = """
name: greet
inputs:
  name: {type: string}
steps:
  - id: hi
    uses: python
    with: {function: "mysteps:hello", args: {name: "{{ inputs.name }}"}}
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--inputs", "in.json"], "input 'name' must be of type string, got list ['a']"),
        (["--input", 'name=["a"]'], "input 'name' must be of type string; got a JSON array"),
        (["-i", 'name={"a": 1}'], "input 'name' must be of type string; got a JSON object"),
    ],
)
def test_a_list_for_a_string_input_is_refused_not_turned_into_text(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    write(tmp_path, "mysteps.py", HELLO_PY)
    write(tmp_path, "greet.yaml", INPUTS_YAML)
    (tmp_path / "in.json").write_text(json.dumps({"name": ["a"]}))
    stderr = clean_error(cli(tmp_path, "run", "greet.yaml", *args), 2)
    assert expected in stderr


def test_typed_values_from_an_inputs_file_still_work(tmp_path: Path) -> None:
    write(tmp_path, "mysteps.py", HELLO_PY)
    write(tmp_path, "greet.yaml", INPUTS_YAML)
    (tmp_path / "in.json").write_text(json.dumps({"name": "[not json"}))
    result = cli(tmp_path, "run", "greet.yaml", "--inputs", "in.json", "--json")
    assert result.returncode == 0, result.stderr
    run_id = last_json(result)["run_id"]
    details = last_json(cli(tmp_path, "show", run_id, "--json"))
    assert details["inputs"] == {"name": "[not json"}


# --- run-time template errors ------------------------------------------------------------


def test_a_typo_in_an_output_key_gets_did_you_mean_at_run_time(tmp_path: Path) -> None:
    write(
        tmp_path,
        "typo.yaml",
        """
        name: typo
        steps:
          - id: x
            uses: shell
            with: {run: "echo hi"}
          - id: y
            uses: shell
            needs: [x]
            with: {run: "echo {{ steps.x.output.stdot }}"}
        """,
    )
    result = cli(tmp_path, "run", "typo.yaml", "--json")
    assert result.returncode == 1, result.stderr
    error = last_json(result)["error"]
    assert (
        "step 'y' with.run (typo.yaml:9:17): "
        "steps.x.output has no key 'stdot'; did you mean 'stdout'?"
    ) in error


def test_recursion_while_rendering_fails_the_step_with_its_location(tmp_path: Path) -> None:
    write(
        tmp_path,
        "rec.yaml",
        """
        name: rec
        steps:
          - id: a
            uses: shell
            with:
              run: "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"
        """,
    )
    assert cli(tmp_path, "validate", "rec.yaml").returncode == 0  # only rendering recurses
    result = cli(tmp_path, "run", "rec.yaml", "--json")
    clean_error(result, 1)
    assert (
        "step 'a' with.run (rec.yaml:6:12): expression nested too deeply"
        in (last_json(result)["error"])
    )
