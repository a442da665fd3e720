"""Cross-field checks: needs, cycles, step kinds, template variables."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pytest

from runwright.errors import SpecError
from runwright.spec import parse_spec


@dataclass(frozen=True)
class Kind:
    accepts: frozenset[str] | None
    requires: frozenset[str]


KINDS = {
    "shell": Kind(frozenset({"run", "env", "cwd"}), frozenset({"run"})),
    "llm": Kind(frozenset({"model", "prompt"}), frozenset({"prompt"})),
    "approval": Kind(None, frozenset()),
}


def problems(text: str, kinds: dict[str, Kind] | None = None) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(textwrap.dedent(text), kinds=kinds)
    return info.value.problems


def ok(text: str, kinds: dict[str, Kind] | None = None) -> None:
    parse_spec(textwrap.dedent(text), kinds=kinds)


def test_unknown_needs_with_did_you_mean_and_exact_position() -> None:
    found = problems(
        """\
        name: x
        steps:
          - id: build
            uses: shell
          - id: test
            uses: shell
            needs: [biuld]
          - id: deploy
            uses: shell
            needs:
              - test
              - zzzzz
        """
    )
    assert found == [
        "<string>:7:13: steps[1].needs: step 'test' needs 'biuld', which does not exist; "
        "did you mean 'build'?",
        "<string>:12:9: steps[2].needs: step 'deploy' needs 'zzzzz', which does not exist; "
        "use 'build' or 'test'",
    ]


def test_needs_as_a_single_string_and_needing_itself() -> None:
    found = problems("name: x\nsteps:\n  - {id: a, uses: s, needs: a}\n")
    assert found == ["<string>:3:29: steps[0].needs: step 'a' needs itself; remove 'a'"]


def test_duplicate_step_ids() -> None:
    found = problems("name: x\nsteps:\n  - {id: a, uses: s}\n  - {id: a, uses: t}\n")
    assert found == [
        "<string>:4:10: steps[1].id: duplicate step id 'a' (also steps[0]); "
        "give each step its own id"
    ]


def test_cycles_name_the_cycle_path() -> None:
    found = problems(
        """\
        name: x
        steps:
          - {id: a, uses: s, needs: [c]}
          - {id: b, uses: s, needs: [a]}
          - {id: c, uses: s, needs: [b]}
          - {id: d, uses: s, needs: [e]}
          - {id: e, uses: s, needs: [d, a]}
        """
    )
    assert found == [
        "<string>:3:29: steps[0].needs: steps form a cycle: a -> c -> b -> a; "
        "remove one of these needs",
        "<string>:6:29: steps[3].needs: steps form a cycle: d -> e -> d; remove one of these needs",
    ]


def test_long_chains_do_not_hit_the_recursion_limit() -> None:
    steps = "".join(
        f"  - {{id: s{i}, uses: s, needs: [s{i - 1}], with: {{x: '{{{{ steps.s0.output }}}}'}}}}\n"
        for i in range(1, 3000)
    )
    ok("name: x\nsteps:\n  - {id: s0, uses: s}\n" + steps)
    found = problems("name: x\nsteps:\n  - {id: s0, uses: s, needs: [s2999]}\n" + steps)
    assert len(found) == 1 and "steps form a cycle: s0 -> s2999 -> s2998" in found[0]


def test_step_kinds_are_checked_when_given() -> None:
    text = """\
        name: x
        steps:
          - id: a
            uses: shel
          - id: b
            uses: shell
            with: {run: ls, comand: x}
          - id: c
            uses: llm
            with: {model: m}
          - id: d
            uses: approval
            with: {anything: 1}
        """
    assert problems(text, KINDS) == [
        "<string>:4:11: steps[0].uses: unknown step kind 'shel'; did you mean 'shell'?",
        "<string>:7:21: steps[1].with: unknown key 'comand' for kind 'shell'; "
        "use 'cwd', 'env' or 'run'",
        "<string>:10:11: steps[2].with: kind 'llm' requires 'prompt'; add prompt: ... under with:",
    ]
    ok(text)  # without kinds, kinds are not checked


def test_template_syntax_errors() -> None:
    found = problems(
        """\
        name: x
        steps:
          - id: a
            uses: s
            with: {run: "{{ inputs.x "}
            if: "a b"
        """
    )
    assert found[0].startswith("<string>:5:17: steps[0].with.run: template syntax error: ")
    assert found[0].endswith("; fix the template")
    assert found[1].startswith("<string>:6:9: steps[0].if: template syntax error: ")


def test_undefined_template_variables() -> None:
    found = problems(
        """\
        name: x
        inputs:
          task: {type: string}
        steps:
          - id: a
            uses: s
            with: {run: "{{ inputs.nope }}"}
          - id: b
            uses: s
            with: {run: "{{ steps.a.output }}"}
          - id: c
            uses: s
            needs: [a]
            with:
              run: "{{ steps.zz.output }} {{ steps.a.outptu }} {{ item }} {{ stpes }}"
          - id: d
            uses: s
            needs: [a]
            for_each: "{{ item }}"
            if: "{{ index > 0 }}"
            with: {run: "{{ item }}"}
        """
    )
    assert found == [
        "<string>:7:17: steps[0].with.run: inputs.nope is not a declared input; "
        "declare it under inputs:",
        "<string>:10:17: steps[1].with.run: step 'b' uses steps.a but does not need it; "
        "add 'a' to needs",
        "<string>:15:12: steps[2].with.run: step 'c' uses steps.zz, which does not exist; "
        "use 'a', 'b' or 'd'",
        "<string>:15:12: steps[2].with.run: steps.a has no attribute 'outptu'; "
        "did you mean 'output'?",
        "<string>:15:12: steps[2].with.run: 'item' is only defined in steps with for_each; "
        "add for_each or remove it",
        "<string>:15:12: steps[2].with.run: undefined variable 'stpes'; did you mean 'steps'?",
        "<string>:19:15: steps[3].for_each: 'item' is not available in for_each; "
        "it is only defined in with and cache",
        "<string>:20:9: steps[3].if: 'index' is not available in if; "
        "it is only defined in with and cache",
    ]


def test_did_you_mean_for_inputs() -> None:
    found = problems(
        "name: x\ninputs: {task: {}}\nsteps: [{id: a, uses: s, with: {p: '{{ inputs.tsak }}'}}]\n"
    )
    assert found[0].endswith("inputs.tsak is not a declared input; did you mean 'task'?")


def test_no_false_positives_for_template_locals_filters_and_transitive_needs() -> None:
    ok(
        """\
        name: x
        inputs:
          files: {type: array, default: []}
        steps:
          - id: a
            uses: s
            with:
              loop: "{% for f in inputs.files %}{{ f.name | upper }}{{ loop.index }}{% endfor %}"
              set: "{% set n = inputs.files | length %}{{ n }} {{ n is number }}"
              ns: "{% set ns = namespace(t=0) %}{% set ns.t = 1 %}{{ ns.t }}"
              macro: "{% macro m(v) %}{{ v }}{% endmacro %}{{ m(1) }}"
              builtins: "{{ range(3) | list | tojson }} {{ dict(a=1) }}"
              env: "{{ env.HOME }}"
              methods: "{{ inputs.get('files') }} {{ inputs.items() | list }}"
          - {id: b, uses: s, needs: [a]}
          - id: c
            uses: s
            needs: [b]
            for_each: steps.a.output.files
            if: steps.a.status == 'succeeded' and steps['b'].output
            with:
              deep: {list: ["{{ item }}", "{{ index }}"], from_a: "{{ steps.a.output.x }}"}
              dynamic: "{{ steps[item].output }}"
        """
    )


def test_problems_of_invalid_steps_do_not_hide_the_others() -> None:
    found = problems(
        """\
        name: x
        steps:
          - {id: a, uses: s, timeout: soon, needs: [b]}
          - {id: b, uses: s, neds: [], needs: [a]}
          - {id: c, uses: s, needs: [bb]}
        """
    )
    assert len(found) == 4
    assert "invalid duration 'soon'" in found[0]
    assert "steps form a cycle: a -> b -> a" in found[1]
    assert "unknown key 'neds'" in found[2]
    assert "step 'c' needs 'bb', which does not exist; did you mean 'b'?" in found[3]


def test_trust_levels_are_checked_and_budget_too() -> None:
    found = problems(
        """\
        name: x
        trust: supervised
        budget: {usd: 0}
        steps:
          - {id: a, uses: s, trust: interm, on_violation: ask}
        """
    )
    assert found[0].startswith("<string>:3:15: budget.usd:") and "greater than 0" in found[0]
    assert found[1].startswith("<string>:5:29: steps[0].trust:")
    assert "'interm' is not one of 'autonomous', 'intern', 'student' or 'supervised'" in found[1]
    assert found[1].endswith("did you mean 'intern'?")
    assert len(found) == 2


def test_input_defaults_must_match_their_type() -> None:
    found = problems(
        """\
        name: x
        inputs:
          n: {type: integer, default: "3"}
        steps:
          - {id: a, uses: s}
        """
    )
    assert found == [
        "<string>:3:31: inputs.n.default: default '3' is not of type integer; "
        "change the default or the type",
    ]


def test_labels_must_be_plain_words_so_worker_label_sets_can_match_them() -> None:
    found = problems(
        """\
        name: x
        steps:
          - id: a
            uses: shell
            labels: [gpu, "has space", "a,b"]
            with: {run: "true"}
        """,
        KINDS,
    )
    assert any("steps[0].labels[1]" in p and "has space" in p for p in found)
    assert any("steps[0].labels[2]" in p for p in found)
    ok(
        """\
        name: x
        steps:
          - id: a
            uses: shell
            labels: gpu
            with: {run: "true"}
        """,
        KINDS,
    )
