"""Rendering templates at run time: native values, text, if, for_each, errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from runwright.errors import ExpressionError
from runwright.spec import CompiledPipeline, Pipeline, load_spec, parse_spec

GOOD = Path(__file__).parent / "fixtures" / "good.yaml"


def compiled(text: str) -> CompiledPipeline:
    return CompiledPipeline(parse_spec(textwrap.dedent(text)).pipeline)


def context(**steps: Any) -> dict[str, Any]:
    return {
        "inputs": {"task": "fix the bug", "n": 3, "dry_run": False},
        "steps": {sid: {"output": out, "status": "succeeded"} for sid, out in steps.items()},
        "env": {"HOME": "/home/me"},
    }


PIPE = compiled(
    """\
    name: x
    inputs: {task: {}, n: {type: integer}, dry_run: {type: boolean}}
    steps:
      - id: a
        uses: s
        with: {run: ls, opts: {deep: [1, {x: y}]}}
      - id: b
        uses: s
        needs: [a]
        with:
          files: "{{ steps.a.output.files }}"
          first: "  {{ steps.a.output.files[0] }}\\n"
          count: "{{ steps.a.output.files | length }}"
          text: "Task: {{ inputs.task }} ({{ inputs.n }} times)"
          nested: {list: ["{{ inputs.n }}", literal, "{{ steps.a.status }}"]}
          raw: "{{ steps.a.output | tojson }}"
          home: "{{ env.HOME }}"
          jinja: "{% for f in steps.a.output.files %}[{{ f }}]{% endfor %}"
          mapped: "{{ steps.a.output.files | map('upper') }}"
      - id: c
        uses: s
        needs: [b]
        for_each: "{{ steps.a.output.files }}"
        if: steps.b.output.ok
        with: {prompt: "Review {{ item }} #{{ index }}", item: "{{ item }}"}
      - id: d
        uses: s
        needs: [a]
        for_each: [x, "{{ inputs.task }}"]
        if: "{{ inputs.dry_run }}"
      - id: e
        uses: s
        needs: [a]
        for_each: steps.a.output.count
        if: false
      - id: f
        uses: s
        if: "{{ inputs.task }}"
    """
)
CTX = context(a={"files": ["x.py", "y.py"], "count": 2}, b={"ok": True})


def test_with_renders_native_values_and_text() -> None:
    out = PIPE.render_with("b", CTX)
    assert out == {
        "files": ["x.py", "y.py"],
        "first": "x.py",
        "count": 2,
        "text": "Task: fix the bug (3 times)",
        "nested": {"list": [3, "literal", "succeeded"]},
        "raw": '{"count": 2, "files": ["x.py", "y.py"]}',
        "home": "/home/me",
        "jinja": "[x.py][y.py]",
        "mapped": ["X.PY", "Y.PY"],
    }


def test_steps_without_templates_return_a_fresh_copy() -> None:
    first = PIPE.render_with("a", CTX)
    assert first == {"run": "ls", "opts": {"deep": [1, {"x": "y"}]}}
    first["run"] = "changed"
    assert PIPE.render_with("a", CTX)["run"] == "ls"
    assert PIPE.render_with("d", CTX) == {}


def test_item_and_index() -> None:
    ctx = {**CTX, "item": "x.py", "index": 0}
    assert PIPE.render_with("c", ctx) == {"prompt": "Review x.py #0", "item": "x.py"}


def test_if_accepts_bools_bare_expressions_and_templates() -> None:
    assert PIPE.evaluate_if("a", CTX) is True  # no `if`
    assert PIPE.evaluate_if("c", CTX) is True
    assert PIPE.evaluate_if("c", context(a={}, b={"ok": 0})) is False
    assert PIPE.evaluate_if("d", CTX) is False
    assert PIPE.evaluate_if("d", {**CTX, "inputs": {**CTX["inputs"], "dry_run": True}}) is True
    assert PIPE.evaluate_if("e", CTX) is False
    # Text is read as a word: "false", "no", "0", "" mean no.
    for word, expected in [
        ("false", False),
        ("No", False),
        ("0", False),
        ("", False),
        ("yes", True),
        ("anything", True),
    ]:
        assert PIPE.evaluate_if("f", {"inputs": {"task": word}}) is expected, word


def test_for_each_accepts_lists_and_expressions() -> None:
    assert PIPE.evaluate_for_each("c", CTX) == ["x.py", "y.py"]
    assert PIPE.evaluate_for_each("d", CTX) == ["x", "fix the bug"]
    with pytest.raises(ExpressionError, match=r"step 'e' for_each: expected a list, got 2"):
        PIPE.evaluate_for_each("e", CTX)
    with pytest.raises(ExpressionError, match="has no for_each"):
        PIPE.evaluate_for_each("a", CTX)


def test_errors_name_the_step_and_field() -> None:
    bad = context(a={"files": 5}, b={})
    with pytest.raises(ExpressionError) as info:
        PIPE.render_with("b", bad)
    assert str(info.value) == "step 'b' with.first: int object has no element 0"
    with pytest.raises(ExpressionError) as info:
        PIPE.evaluate_if("c", context(a={}, b={"k": 1}))
    assert str(info.value) == "step 'c' if: steps.b.output has no key 'ok'; did you mean 'k'?"
    with pytest.raises(ExpressionError) as info:
        PIPE.render_with("c", CTX)  # no item in the context
    assert str(info.value) == "step 'c' with.prompt: 'item' is undefined"


def test_error_text_for_a_missing_output_key() -> None:
    pipe = compiled(
        """\
        name: x
        steps:
          - {id: a, uses: s}
          - {id: b, uses: s, needs: [a], with: {prompt: "{{ steps.a.output.txt }}"}}
        """
    )
    with pytest.raises(ExpressionError) as info:
        pipe.render_with("b", context(a={"text": "hi"}))
    assert str(info.value) == (
        "step 'b' with.prompt: steps.a.output has no key 'txt'; did you mean 'text'?"
    )


def test_a_typo_in_an_output_key_gets_did_you_mean_or_the_keys() -> None:
    pipe = compiled(
        """\
        name: x
        steps:
          - {id: a, uses: s}
          - {id: b, uses: s, needs: [a], with: {run: "echo {{ steps.a.output.stdot }}"}}
          - {id: c, uses: s, needs: [a], with: {run: "{{ steps.a.output.zzz | upper }}"}}
        """
    )
    out = {"stdout": "hi", "stderr": "", "exit_code": 0}
    with pytest.raises(ExpressionError) as info:
        pipe.render_with("b", context(a=out))
    assert str(info.value) == (
        "step 'b' with.run: steps.a.output has no key 'stdot'; did you mean 'stdout'?"
    )
    with pytest.raises(ExpressionError) as info:
        pipe.render_with("c", context(a=out))
    assert str(info.value) == (
        "step 'c' with.run: steps.a.output has no key 'zzz'; "
        "its keys are 'exit_code', 'stderr', 'stdout'"
    )


def test_sandbox_refuses_unsafe_access() -> None:
    pipe = compiled(
        """\
        name: x
        inputs: {l: {type: array}}
        steps:
          - id: a
            uses: s
            with:
              mutate: "{{ inputs.l.append(1) }}"
        """
    )
    with pytest.raises(ExpressionError, match=r"step 'a' with\.mutate: access to attribute"):
        pipe.render_with("a", {"inputs": {"l": []}})


def test_references_and_uses_env() -> None:
    assert PIPE.references("a") == frozenset()
    assert PIPE.references("b") == {"a"}
    assert PIPE.references("c") == {"a", "b"}
    assert PIPE.uses_env("b") is True
    assert PIPE.uses_env("c") is False
    good = CompiledPipeline(load_spec(GOOD).pipeline)
    assert good.references("review") == {"plan", "implement", "test"}
    dynamic = compiled(
        """\
        name: x
        inputs: {k: {}}
        steps:
          - {id: a, uses: s}
          - {id: b, uses: s, needs: [a]}
          - {id: c, uses: s}
          - {id: d, uses: s, needs: [b], with: {x: "{{ steps[inputs.k].output }}"}}
          - {id: e, uses: s, needs: [a], with: {x: "{{ steps.items() | list }}"}}
        """
    )
    assert dynamic.references("d") == {"a", "b"}  # any ancestor may be read
    assert dynamic.references("e") == {"a"}


def test_fast_path_matches_jinja_on_unusual_values() -> None:
    pipe = compiled(
        """\
        name: x
        steps:
          - {id: a, uses: s}
          - id: b
            uses: s
            needs: [a]
            with:
              none: "v={{ steps.a.output.v }}"
              neg: "{{ steps.a.output.l[1] }}"
              quoted: "{{ steps.a.output['k'] }}"
              keys_method: "{{ steps.a.output.keys }}"
        """
    )
    out = pipe.render_with("b", context(a={"v": None, "l": [1, 2], "k": {"z": 1}, "keys": 5}))
    assert out["none"] == "v=None"
    assert out["neg"] == 2
    assert out["quoted"] == {"z": 1}
    assert callable(out["keys_method"])  # Jinja resolves .keys to the dict method, as documented


def test_python_built_pipeline_compiles() -> None:
    pipeline = Pipeline(
        name="x",
        steps=[
            {"id": "a", "uses": "s"},
            {"id": "b", "uses": "s", "needs": ["a"], "with": {"v": "{{ steps.a.output }}"}},
        ],
    )
    assert CompiledPipeline(pipeline).render_with("b", context(a=[1])) == {"v": [1]}


def test_unknown_step_id() -> None:
    with pytest.raises(ExpressionError, match="unknown step 'zz'"):
        PIPE.render_with("zz", CTX)


def test_plain_lookups_render_without_importing_jinja(tmp_path: Path) -> None:
    # In a fresh interpreter: a spec of plain text and plain lookups never needs Jinja
    # (start-up time), and one filter brings it in and renders through it.
    spec = tmp_path / "p.yaml"
    spec.write_text(
        "name: p\nsteps:\n  - id: a\n    uses: shell\n    with: {run: 'echo {{ inputs.x }}'}\n"
        "inputs:\n  x: {type: string, default: hi}\n"
    )
    code = (
        "import sys; from runwright.spec import CompiledPipeline, load_spec;"
        f"p = CompiledPipeline(load_spec({str(spec)!r}).pipeline);"
        "ctx = {'inputs': {'x': 'hi'}, 'steps': {}};"
        "print(p.render_with('a', ctx)['run'], 'jinja2' in sys.modules);"
        "p = CompiledPipeline(load_spec(sys.argv[1]).pipeline);"
        "print(p.render_with('a', ctx)['run'], 'jinja2' in sys.modules)"
    )
    upper = tmp_path / "upper.yaml"
    upper.write_text(spec.read_text().replace("{{ inputs.x }}", "{{ inputs.x | upper }}"))
    out = subprocess.run(
        [sys.executable, "-c", code, str(upper)], capture_output=True, text=True, check=True
    )
    assert out.stdout.split("\n")[:2] == ["echo hi False", "echo HI True"]
