import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runwright.errors import IllegalTransition
from runwright.states import (
    ATTEMPT_TRANSITIONS,
    RUN_TRANSITIONS,
    AttemptState,
    RunStatus,
    check_attempt,
    check_run,
)


def test_final_attempt_states_have_no_way_out() -> None:
    for state in AttemptState:
        if state.finished:
            assert not ATTEMPT_TRANSITIONS.get(state), state


def test_happy_path_is_legal() -> None:
    path = ["pending", "ready", "leased", "running", "succeeded"]
    for old, new in itertools.pairwise(path):
        assert check_attempt(AttemptState(old), AttemptState(new)) == AttemptState(new)


def test_illegal_attempt_transition_raises() -> None:
    with pytest.raises(IllegalTransition, match="succeeded -> running"):
        check_attempt(AttemptState.SUCCEEDED, AttemptState.RUNNING)
    with pytest.raises(IllegalTransition):
        check_attempt(AttemptState.PENDING, AttemptState.RUNNING)


def test_succeeded_run_cannot_resume_but_failed_can() -> None:
    assert check_run(RunStatus.FAILED, RunStatus.RUNNING) is RunStatus.RUNNING
    assert check_run(RunStatus.CANCELLED, RunStatus.RUNNING) is RunStatus.RUNNING
    with pytest.raises(IllegalTransition):
        check_run(RunStatus.SUCCEEDED, RunStatus.RUNNING)


@given(st.lists(st.sampled_from(list(AttemptState)), min_size=1, max_size=12))
def test_any_walk_is_accepted_exactly_when_each_step_is_in_the_table(
    walk: list[AttemptState],
) -> None:
    state = AttemptState.PENDING
    for new in walk:
        legal = new in ATTEMPT_TRANSITIONS.get(state, frozenset())
        if legal:
            state = check_attempt(state, new)
        else:
            with pytest.raises(IllegalTransition):
                check_attempt(state, new)
    assert state in AttemptState


@given(st.sampled_from(list(RunStatus)), st.sampled_from(list(RunStatus)))
def test_run_transitions_match_the_table(old: RunStatus, new: RunStatus) -> None:
    if new in RUN_TRANSITIONS[old]:
        assert check_run(old, new) is new
    else:
        with pytest.raises(IllegalTransition):
            check_run(old, new)
