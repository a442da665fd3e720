"""Property tests: no input text makes the loader fail with anything but a located SpecError."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import StrictUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from runwright.errors import ExpressionError, SpecError
from runwright.spec import CompiledPipeline, LoadedSpec, Pipeline, parse_spec
from runwright.spec.yamlsrc import YamlSyntaxError, compose

GOOD = (Path(__file__).parent / "fixtures" / "good.yaml").read_text()
# One line: location, field path (may hold quoted keys), what is wrong; what to do.
LOCATED = re.compile(r"^<string>:[1-9]\d*:[1-9]\d*: (pipeline|[A-Za-z_[][^\n]*?): [^\n]+; [^\n]+$")
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(text: str) -> None:
    """parse_spec returns a LoadedSpec or raises a SpecError whose problems are all located."""
    try:
        loaded = parse_spec(text)
    except SpecError as exc:
        assert exc.problems, "a SpecError must list its problems"
        for problem in exc.problems:
            assert LOCATED.match(problem), problem
            assert "please report" not in problem
        return
    assert isinstance(loaded, LoadedSpec)
    assert re.fullmatch(r"[0-9a-f]{64}", loaded.spec_hash)
    CompiledPipeline(loaded.pipeline)  # whatever validated must compile


@SETTINGS
@given(st.text())
def test_arbitrary_text(text: str) -> None:
    check(text)
    # The pure-Python parser (used where libyaml is missing) must fail as cleanly.
    with contextlib.suppress(YamlSyntaxError):
        compose(text, pure_python=True)


@SETTINGS
@given(st.binary(max_size=300))
def test_arbitrary_bytes_as_latin1(data: bytes) -> None:
    check(data.decode("latin-1"))


WORDS = st.sampled_from(
    ["a", "b", "build", "test", "x y", "", "-", "__", "é", "0", "steps", "inputs", "item"]
)
TEMPLATES = st.sampled_from(
    [
        "{{ steps.a.output }}",
        "{{ steps.b.output.x }}",
        "{{ steps.zz.status }}",
        "{{ inputs.task }}",
        "{{ inputs.nope }}",
        "{{ item }} {{ index }}",
        "{{ env.HOME }}",
        "{% for f in steps.a.output %}{{ f }}{% endfor %}",
        "{% set n = 1 %}{{ n }}",
        "{{ x",
        "{% if %}",
        "{{ steps[item].output | tojson }}",
        "a }} b {{",
        "steps.a.output.ok",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    WORDS,
    TEMPLATES,
    st.sampled_from(["5m", "1h30m", "-1", "soon", "1e999", "nan", "0s", "exponential", "fixed"]),
    st.text(max_size=10),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WORDS, inner, max_size=3),
    max_leaves=8,
)
STEP_KEYS = st.sampled_from(
    ["id", "uses", "with", "needs", "if", "for_each", "retry", "timeout", "cache",
     "on_failure", "labels", "trust", "name", "neds", "wiht", "description"]
)  # fmt: skip
STEP = st.fixed_dictionaries(
    {"id": st.one_of(WORDS, SCALARS), "uses": st.one_of(WORDS, SCALARS)},
    optional={
        "needs": st.one_of(WORDS, st.lists(WORDS, max_size=3), SCALARS),
        "with": st.one_of(st.dictionaries(WORDS, VALUES, max_size=3), SCALARS),
        "if": st.one_of(st.booleans(), TEMPLATES, SCALARS),
        "for_each": st.one_of(TEMPLATES, st.lists(SCALARS, max_size=3)),
        "retry": st.one_of(st.integers(-2, 200), st.dictionaries(WORDS, VALUES, max_size=2)),
        "timeout": SCALARS,
    },
) | st.dictionaries(STEP_KEYS, VALUES, max_size=6)
PIPELINE = st.fixed_dictionaries(
    {"steps": st.one_of(st.lists(STEP, max_size=4), VALUES)},
    optional={
        "name": st.one_of(WORDS, SCALARS),
        "inputs": st.one_of(
            st.dictionaries(
                WORDS,
                st.dictionaries(
                    st.sampled_from(["type", "default", "required", "tpye"]), VALUES, max_size=3
                ),
                max_size=3,
            ),
            SCALARS,
        ),
        "defaults": st.one_of(st.dictionaries(STEP_KEYS, VALUES, max_size=3), SCALARS),
        "budget": VALUES,
        "trust": st.one_of(WORDS, st.sampled_from(["intern", "supervised"])),
        "extra": VALUES,
    },
)


@SETTINGS
@given(PIPELINE)
def test_generated_specs(data: dict[str, Any]) -> None:
    check(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


@st.composite
def mutated_good_spec(draw: st.DrawFn) -> str:
    """The good fixture with a few random edits (deletions, insertions, duplicated lines)."""
    text = GOOD
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "insert", "dup_line", "tab", "replace_word"]))
        pos = draw(st.integers(0, len(text)))
        if op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 20)) :]
        elif op == "insert":
            insert = draw(
                st.sampled_from(["{", "}", ":", "- ", "\n", "  ", "'", '"', "{{", "*a", "&a "])
            )
            text = text[:pos] + insert + text[pos:]
        elif op == "dup_line":
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            text = "\n".join(lines)
        elif op == "tab":
            text = text[:pos] + "\t" + text[pos:]
        else:
            word = draw(st.sampled_from(["plan", "implement", "needs", "with", "inputs", "steps"]))
            text = text.replace(word, draw(WORDS), 1)
    return text


@SETTINGS
@given(mutated_good_spec())
def test_mutated_specs(text: str) -> None:
    check(text)


# The fast path of CompiledPipeline must agree with Jinja itself.
JINJA = ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("xyz"), inner, max_size=3)
    ),
    max_leaves=10,
)
ACCESSOR = st.sampled_from([".x", ".y", "['z']", '["x"]', "[0]", "[1]", ".keys"])


@SETTINGS
@given(
    output=JSON,
    chain=st.lists(ACCESSOR, max_size=3).map("".join),
    prefix=st.sampled_from(["", " ", "pre ", "\n"]),
    suffix=st.sampled_from(["", " ", " post", "\n"]),
)
def test_fast_path_agrees_with_jinja(output: Any, chain: str, prefix: str, suffix: str) -> None:
    source = f"{prefix}{{{{ steps.a.output{chain} }}}}{suffix}"
    pipeline = Pipeline(
        name="p",
        steps=[
            {"id": "a", "uses": "s"},
            {"id": "b", "uses": "s", "needs": ["a"], "with": {"v": source}},
        ],
    )
    context = {"steps": {"a": {"output": output, "status": "succeeded"}}}
    try:
        got: Any = CompiledPipeline(pipeline).render_with("b", context)["v"]
    except ExpressionError as exc:
        got = ("error", str(exc).split(": ", 1)[1])
    try:
        if (
            source.strip() == source.strip(" \n")
            and source.strip().startswith("{{")
            and not (prefix.strip() or suffix.strip())
        ):
            value = JINJA.compile_expression(f"steps.a.output{chain}", undefined_to_none=False)(
                context
            )
            if isinstance(value, Undefined):
                value._fail_with_undefined_error()
            expected: Any = value
        else:
            expected = JINJA.from_string(source).render(context)
    except Exception as exc:
        expected = ("error", str(exc))
    if callable(expected):  # `.keys` resolves to the dict method in both
        assert callable(got)
    elif isinstance(got, tuple) and " has no key " in got[1]:
        # Our own wording for a missing key (with did-you-mean) replaces Jinja's.
        assert isinstance(expected, tuple), expected
        assert re.search(r"has no (attribute|element)|undefined", expected[1]), expected
    else:
        assert got == expected
