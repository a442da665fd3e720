"""Loading specs: YAML positions, shape errors, hashing, file handling."""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from pathlib import Path

import pytest

from runwright.errors import SpecError
from runwright.spec import LoadedSpec, Pipeline, load_spec, parse_spec, spec_hash
from runwright.spec.yamlsrc import compose

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = FIXTURES / "good.yaml"
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<field>\S+): (?P<msg>.+; .+)$")


def problems(text: str) -> list[str]:
    """The problem lines parse_spec reports for ``text`` (dedented)."""
    with pytest.raises(SpecError) as info:
        parse_spec(textwrap.dedent(text))
    assert info.value.problems, "a SpecError must list its problems"
    for line in info.value.problems:
        assert LOCATED.match(line), line
    return info.value.problems


def test_good_fixture_loads() -> None:
    spec = load_spec(GOOD)
    assert isinstance(spec, LoadedSpec)
    assert spec.path == GOOD
    assert spec.pipeline.name == "fix-issue"
    assert [s.id for s in spec.pipeline.steps] == ["plan", "implement", "test", "review", "merge"]
    assert spec.pipeline.step("implement").timeout == 5400.0
    retry = spec.pipeline.step("implement").retry
    assert retry is not None
    assert retry.attempts == 2
    assert spec.pipeline.step("merge").needs == ("review",)
    assert spec.pipeline.defaults.timeout == 600.0
    assert spec.source == GOOD.read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", spec.spec_hash)


def test_location_points_at_the_value_and_falls_back_to_parents() -> None:
    spec = load_spec(GOOD)
    assert spec.location("steps", 1, "with", "prompt") == f"{GOOD}:21:40"
    assert spec.location("steps", 1, "timeout") == f"{GOOD}:20:14"
    # A field that is not in the file: the nearest parent that is.
    assert spec.location("steps", 1, "with", "missing", 3) == f"{GOOD}:21:11"
    assert spec.location("steps", 99) == f"{GOOD}:13:3"
    assert parse_spec("name: x\nsteps: [{id: a, uses: s}]").location("name") == "<string>:1:7"


def test_hash_ignores_comments_formatting_and_equivalent_spellings() -> None:
    a = parse_spec("name: x\nsteps:\n  - {id: a, uses: shell, timeout: 30s, needs: []}\n")
    b = parse_spec(
        "# comment\nsteps:\n  - id: a   # trailing\n    uses: shell\n    timeout: 30\n"
        "    needs: []\nname: 'x'\n"
    )
    c = parse_spec("name: x\nsteps:\n  - {id: a, uses: shell, timeout: 31s, needs: []}\n")
    assert a.spec_hash == b.spec_hash
    assert a.spec_hash != c.spec_hash
    assert a.spec_hash == spec_hash(a.pipeline)


EXAMPLES = Path(__file__).parents[3] / "examples"


@pytest.mark.parametrize(
    "path",
    [
        GOOD,
        EXAMPLES / "app-builder" / "pipeline.yaml",
        EXAMPLES / "fix-failing-test" / "project" / "pipeline.yaml",
    ],
    ids=lambda p: p.parent.name,
)
def test_hash_is_the_sha256_of_the_canonical_json_of_what_is_set(path: Path) -> None:
    # The definition (the hash is hashed step by step, and must stay this for stored runs).
    pipeline = load_spec(path).pipeline
    data = pipeline.model_dump(by_alias=True, mode="json", exclude_unset=True)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert spec_hash(pipeline) == hashlib.sha256(text.encode()).hexdigest()


def test_hash_of_unicode_text_and_many_steps() -> None:
    steps = "".join(
        f"  - {{id: s{i}, uses: shell, with: {{run: 'echo é ✓ {i}'}}}}\n" for i in range(30)
    )
    pipeline = parse_spec(f"name: ünï\ndescription: 'a \u2028 b'\nsteps:\n{steps}").pipeline
    data = pipeline.model_dump(by_alias=True, mode="json", exclude_unset=True)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert spec_hash(pipeline) == hashlib.sha256(text.encode()).hexdigest()


def test_hash_of_a_python_built_pipeline_matches_the_yaml_one() -> None:
    built = Pipeline(name="x", steps=[{"id": "a", "uses": "shell", "with": {"run": "ls"}}])
    loaded = parse_spec("name: x\nsteps: [{id: a, uses: shell, with: {run: ls}}]")
    assert spec_hash(built) == loaded.spec_hash


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(SpecError) as info:
        load_spec(missing)
    assert info.value.problems[0].startswith(f"{missing}:1:1: ")
    assert "cannot read" in str(info.value)


def test_non_utf8_file_and_bom(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(SpecError, match="not UTF-8"):
        load_spec(bad)
    bom = tmp_path / "bom.yaml"
    bom.write_bytes("\ufeffname: x\nsteps: [{id: a, uses: s}]\n".encode())
    assert load_spec(bom).pipeline.name == "x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "<string>:1:1: pipeline: the file is empty"),
        ("# only a comment\n", "<string>:1:1: pipeline: the file is empty"),
        (
            "- a\n- b\n",
            "<string>:1:1: pipeline: expected a mapping with name: and steps:, got a list",
        ),
        ("just text", "<string>:1:1: pipeline: expected a mapping"),
        ("name: x\nsteps: [a\n", "<string>:3:1: pipeline: did not find expected ','"),
        ("a: 1\n---\nb: 2\n", "<string>:2:1: pipeline: found a second YAML document"),
        ("name: \x00\n", "<string>:1:7: pipeline: character #x0000 is not allowed"),
        ("name: *nope\n", "<string>:1:7: pipeline: alias *nope refers to no earlier anchor"),
        ("? [a]\n: b\n", "<string>:1:3: pipeline: a mapping key must be a plain name"),
    ],
)
def test_unparseable_text_gives_one_located_problem(text: str, expected: str) -> None:
    found = problems(text)
    assert len(found) == 1
    assert found[0].startswith(expected), found


@pytest.mark.parametrize(
    "text", ["name: x\nsteps:\n  - id: a\n\tuses: b\n", "name: x\nsteps:\n\t- id: a\n"]
)
def test_tab_indentation_hint(text: str) -> None:
    found = problems(text)
    assert len(found) == 1
    assert found[0].endswith("; indent with spaces, not tabs"), found


def test_duplicate_yaml_keys_are_reported_at_the_second_key() -> None:
    found = problems(
        """\
        name: x
        steps:
          - id: a
            uses: shell
            with:
              run: one
              run: two
        name: y
        """
    )
    assert (
        "<string>:7:7: steps[0].with.run: duplicate key 'run' (first set at line 6)" in (found[0])
    )
    assert found[1].startswith("<string>:8:1: name: duplicate key 'name' (first set at line 1)")


def test_unknown_keys_get_did_you_mean_over_fields_and_aliases() -> None:
    found = problems(
        """\
        name: x
        stpes: []
        steps:
          - id: a
            uses: shell
            neds: [b]
            wiht: {run: ls}
            iff: true
        """
    )
    assert found == [
        "<string>:2:1: pipeline: unknown key 'stpes'; did you mean 'steps'?",
        "<string>:6:5: steps[0]: unknown key 'neds'; did you mean 'needs'?",
        "<string>:7:5: steps[0]: unknown key 'wiht'; did you mean 'with'?",
        "<string>:8:5: steps[0]: unknown key 'iff'; did you mean 'if'?",
    ]


def test_unknown_key_without_a_close_match_lists_the_keys() -> None:
    found = problems("name: x\nsteps: [{id: a, uses: s}]\ndefaults: {zzzz: 1}\n")
    assert found == [
        "<string>:3:12: defaults: unknown key 'zzzz'; use 'on_failure', 'retry' or 'timeout'"
    ]


def test_missing_required_keys() -> None:
    found = problems("description: no name\nsteps:\n  - id: a\n")
    assert "<string>:1:1: pipeline: missing required key 'name'; add name: ..." in found
    assert "<string>:3:5: steps[0]: missing required key 'uses'; add uses: ..." in found


def test_type_errors_name_what_was_expected() -> None:
    found = problems(
        """\
        name: x
        inputs:
          n: {type: strin}
        steps:
          - id: a b
            uses: shell
            if: [1]
            retry: {attempts: 0}
          - id: c
            uses: shell
            retry: yes
        """
    )
    assert found == [
        "<string>:3:13: inputs.n.type: 'strin' is not one of 'array', 'boolean', 'integer', "
        "'number', 'object' or 'string'; did you mean 'string'?",
        "<string>:5:9: steps[0].id: step id 'a b' is not valid; use letters, digits, '_' and "
        "'-', starting with a letter or '_'",
        "<string>:7:9: steps[0].if: expected a string or a boolean, got a list; change the value",
        "<string>:8:23: steps[0].retry.attempts: must be greater than or equal to 1, got 0; "
        "change the value",
        "<string>:11:12: steps[1].retry: expected a mapping or a number of attempts, got true; "
        "write retry: 3",
    ]


def test_bad_durations_are_located() -> None:
    found = problems(
        """\
        name: x
        defaults: {timeout: 10 minutes}
        steps:
          - id: a
            uses: shell
            timeout: "-5"
            retry: {initial_delay: 2x}
        """
    )
    assert found[0].startswith("<string>:2:21: defaults.timeout: invalid duration '10 minutes';")
    assert found[1].startswith("<string>:6:14: steps[0].timeout: invalid duration '-5'")
    assert found[2].startswith("<string>:7:28: steps[0].retry.initial_delay: invalid duration")


def test_empty_steps_and_wrong_container() -> None:
    assert problems("name: x\nsteps: []\n") == [
        "<string>:2:8: steps: a pipeline needs at least one step; add one under steps:"
    ]
    assert problems("name: x\nsteps: {a: 1}\n") == [
        "<string>:2:8: steps: expected a list, got a mapping; change the value"
    ]


def test_huge_integers_and_deep_nesting_are_problems_not_crashes() -> None:
    found = problems("name: x\nsteps: [{id: a, uses: s, timeout: 1" + "0" * 5000 + "}]\n")
    assert found[0].startswith("<string>:2:35: steps[0].timeout: cannot read")
    found = problems("name: x\nsteps: [{id: a, uses: s, timeout: 1" + "0" * 400 + "}]\n")
    assert "the duration is too large" in found[0]
    found = problems("name: x\nsteps: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nesting is deeper than" in found[0]


def test_alias_bombs_are_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    found = problems("\n".join(lines))
    assert "expands to more than" in found[0]


def test_anchors_and_merge_keys_work() -> None:
    spec = parse_spec(
        textwrap.dedent(
            """\
            name: x
            steps:
              - &base {id: a, uses: shell, with: {run: ls}, timeout: 5}
              - <<: *base
                id: b
            """
        )
    )
    assert spec.pipeline.step("b").with_ == {"run": "ls"}
    assert spec.pipeline.step("b").timeout == 5.0


def test_keys_are_taken_as_written_yes_no_on_off() -> None:
    spec = parse_spec("name: x\nsteps: [{id: a, uses: s, with: {on: yes, 1: no, null: ~}}]\n")
    assert spec.pipeline.step("a").with_ == {"on": True, "1": False, "null": None}


def test_dates_stay_text_and_unknown_tags_are_problems() -> None:
    spec = parse_spec("name: x\nsteps: [{id: a, uses: s, with: {day: 2024-01-02}}]\n")
    assert spec.pipeline.step("a").with_ == {"day": "2024-01-02"}
    found = problems("name: !!python/object:os.system x\nsteps: [{id: a, uses: s}]\n")
    assert found == [
        "<string>:1:7: name: unsupported tag tag:yaml.org,2002:python/object:os.system; "
        "remove the tag"
    ]


def test_path_is_used_as_the_file_name() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec("name: 1\n", path="pipelines/p.yaml")
    assert all(p.startswith("pipelines/p.yaml:") for p in info.value.problems)


def test_pure_python_parser_gives_the_same_data_and_positions() -> None:
    text = GOOD.read_text() + "extra: &x {a: 1, a: 2}\nmore: *x\n"
    fast, slow = compose(text), compose(text, pure_python=True)
    assert fast.data == slow.data
    assert fast.problems == slow.problems
    assert len(fast.problems) == 1
    for path in [("steps", 3, "with", "prompt"), ("inputs", "task", "type"), ("more",)]:
        assert fast.source_map.value(path) == slow.source_map.value(path)
        assert fast.source_map.key(path) == slow.source_map.key(path)


@pytest.mark.parametrize("pure_python", [False, True])
@pytest.mark.parametrize(
    "text",
    [
        "steps: " + "[" * 5000 + "]" * 5000,
        "steps: " + "{a: " * 1200 + "1" + "}" * 1200,
        "steps:\n" + "".join(" " * (i + 1) + "-\n" for i in range(1200)),
    ],
    ids=["flow-sequences", "flow-mappings", "block-sequences"],
)
def test_our_nesting_limit_wins_over_the_parsers_own(text: str, pure_python: bool) -> None:
    # libyaml >= 0.2.6 has its own limit of 1,000 levels; ours (100) must decide, with our
    # message and the position where our limit was crossed, whichever parser runs.
    from runwright.spec.yamlsrc import MAX_DEPTH, YamlSyntaxError, compose

    with pytest.raises(YamlSyntaxError) as caught:
        compose(text, pure_python=pure_python)
    assert f"nesting is deeper than {MAX_DEPTH} levels" in str(caught.value)
    assert caught.value.mark.line < 200
