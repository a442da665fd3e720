"""The public API is exactly what runwright/__init__.py promises, and every name resolves."""

import subprocess
import sys

import runwright

EXPECTED = {
    "AttemptState",
    "Cancelled",
    "Event",
    "EventType",
    "FileWrite",
    "Level",
    "RunDetails",
    "RunResult",
    "RunStatus",
    "RunwrightError",
    "Session",
    "Settings",
    "SpecError",
    "StateError",
    "StepContext",
    "StepError",
    "StepKind",
    "StoreError",
    "WaitForApproval",
    "Workspace",
    "__version__",
    "graph",
    "init",
    "json_schema",
    "validate",
}


def test_all_is_pinned_and_resolves() -> None:
    assert set(runwright.__all__) == EXPECTED
    for name in runwright.__all__:
        assert getattr(runwright, name) is not None, name


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        runwright.nope  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError("runwright.nope resolved")


def test_import_is_lazy() -> None:
    # `import runwright` must not pull in the engine, pydantic or jinja (start-up time).
    code = (
        "import sys, runwright; print(sorted(m for m in ('pydantic', 'jinja2', 'typer', "
        "'runwright.engine', 'runwright.api') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_retry_delays_grow_and_are_capped() -> None:
    from runwright.spec.models import RetryPolicy

    policy = RetryPolicy(attempts=5, initial_delay=1, max_delay=5, jitter=False)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
    jittered = RetryPolicy(attempts=5, initial_delay=4, max_delay=60)
    assert all(2 <= jittered.delay(1) <= 4 for _ in range(50))
    assert RetryPolicy(backoff="fixed", initial_delay=3, jitter=False).delay(7) == 3
