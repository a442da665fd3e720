"""Values that used to slip through or crash: booleans as durations, unclosed quotes,
templates nested too deeply (issue 7, items 17, 21 and 22)."""

from __future__ import annotations

import textwrap

import pytest

from runwright.errors import ExpressionError, SpecError
from runwright.spec import Pipeline, parse_spec
from runwright.spec.expressions import CompiledPipeline

BRACKETS_90 = "{{ " + "[" * 90 + "1" + "]" * 90 + " }}"
PLUS_1000 = "{{ " + " + ".join(["1"] * 1000) + " }}"
CONTEXT: dict[str, object] = {"inputs": {}, "steps": {}}


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(textwrap.dedent(text))
    return info.value.problems


@pytest.mark.parametrize("value", ["true", "false"])
def test_boolean_timeouts_are_located_problems(value: str) -> None:
    found = problems(
        f"""\
        name: x
        defaults: {{timeout: {value}}}
        steps:
          - id: a
            uses: shell
            timeout: {value}
        """
    )
    assert [p.split(": ", 2)[:2] for p in found] == [
        ["<string>:2:21", "defaults.timeout"],
        ["<string>:6:14", "steps[0].timeout"],
    ]
    for p in found:
        assert f"expected a duration like 30s, got a boolean ({value})" in p


def test_boolean_retry_delays_are_located_problems() -> None:
    found = problems(
        """\
        name: x
        steps:
          - id: a
            uses: shell
            retry: {attempts: 2, initial_delay: true, max_delay: false}
        """
    )
    assert len(found) == 2
    assert found[0].startswith(
        "<string>:5:41: steps[0].retry.initial_delay: expected a duration like 30s, "
        "got a boolean (true)"
    )
    assert found[1].startswith(
        "<string>:5:58: steps[0].retry.max_delay: expected a duration like 30s, "
        "got a boolean (false)"
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('name: x\nsteps:\n  - id: a\n    with: {run: "echo hi}\n  - id: b\n', "4:17"),
        ("name: 'x\nsteps: []\n\n\n", "1:7"),
        ('name: x\ndescription: "unclosed', "2:14"),
    ],
)
def test_an_unclosed_quote_is_reported_at_the_opening_quote(text: str, where: str) -> None:
    found = problems(text)
    assert found == [
        f"<string>:{where}: pipeline: this quoted string is never closed; add the closing quote"
    ]


def _spec(template: str, *, field: str = "with") -> str:
    value = f"with: {{run: {template!r}}}" if field == "with" else f"if: {template!r}"
    return f"name: deep\nsteps:\n  - id: a\n    uses: shell\n    {value}\n"


@pytest.mark.parametrize("template", [BRACKETS_90, PLUS_1000], ids=["brackets", "plus"])
@pytest.mark.parametrize("field", ["with", "if"])
def test_deep_templates_are_located_problems_at_validation(template: str, field: str) -> None:
    if field == "if":
        template = template[3:-3]  # a bare expression
    found = problems(_spec(template, field=field))
    assert len(found) == 1, found
    where = "5:17" if field == "with" else "5:9"
    assert found[0].startswith(f"<string>:{where}: steps[0].{field}"), found
    assert "expression nested too deeply" in found[0]


@pytest.mark.parametrize("template", [BRACKETS_90, PLUS_1000], ids=["brackets", "plus"])
def test_deep_templates_from_python_are_expression_errors_not_recursion_errors(
    template: str,
) -> None:
    pipeline = Pipeline.model_validate(
        {"name": "deep", "steps": [{"id": "a", "uses": "shell", "with": {"run": template}}]}
    )
    with pytest.raises(ExpressionError, match="expression nested too deeply") as info:
        CompiledPipeline(pipeline).render_with("a", CONTEXT)
    assert info.value.fields["step_id"] == "a"
    assert info.value.fields["field"] == "with.run"


@pytest.mark.parametrize(
    "make",
    [
        lambda n: "{{ " + " + ".join(["1"] * n) + " }}",
        lambda n: "{{ " + "[" * n + "1" + "]" * n + " }}",
        lambda n: "{{ " + "(" * n + "1" + ")" * n + " }}",
        lambda n: "{% if true %}" * n + "x" + "{% endif %}" * n,
    ],
)
def test_every_template_that_validates_also_renders(make: object) -> None:
    # The limit sits below what Jinja and Python can compile: nothing accepted may crash later.
    accepted = 0
    for n in range(1, 120):
        template = make(n)  # type: ignore[operator]
        try:
            spec = parse_spec(_spec(template))
        except SpecError as exc:
            assert "expression nested too deeply" in exc.problems[0], exc.problems
            continue
        accepted += 1
        CompiledPipeline(spec.pipeline).render_with("a", CONTEXT)
    assert accepted >= 20


def test_recursion_while_rendering_is_an_expression_error() -> None:
    # Valid syntax, unbounded depth only at render time (a macro calling itself).
    loaded = parse_spec(
        _spec("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"), path="rec.yaml"
    )
    with pytest.raises(ExpressionError) as info:
        CompiledPipeline(loaded.pipeline).render_with("a", CONTEXT)
    assert str(info.value) == (
        "step 'a' with.run: expression nested too deeply; split it into smaller expressions"
    )
    # Compiled from the loaded file, the error also says where the template is.
    with pytest.raises(ExpressionError) as info:
        loaded.compile().render_with("a", CONTEXT)
    assert str(info.value) == (
        "step 'a' with.run (rec.yaml:5:17): expression nested too deeply; "
        "split it into smaller expressions"
    )
    assert info.value.fields["location"] == "rec.yaml:5:17"
