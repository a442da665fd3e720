"""Cron fire times: next_after in UTC and across DST, due() per catch-up policy, validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runwright.errors import ConfigError
from runwright.schedule.cron import (
    GRACE,
    due,
    fire_time_iso,
    latest_at_or_before,
    next_after,
    validate,
    validate_catchup,
)

EVERY_5 = "*/5 * * * *"


def utc(*args: int) -> int:
    """Epoch seconds of a UTC wall-clock time."""
    return int(datetime(*args, tzinfo=UTC).timestamp())  # type: ignore[misc]


# -- next_after -------------------------------------------------------------------------


def test_next_after_is_strictly_after_in_utc() -> None:
    t = utc(2026, 1, 1, 0, 0)
    assert next_after(EVERY_5, "UTC", t) == utc(2026, 1, 1, 0, 5)
    assert next_after(EVERY_5, "UTC", t - 1) == t
    assert next_after(EVERY_5, "UTC", t + 299.5) == utc(2026, 1, 1, 0, 5)
    assert next_after("0 0 * * *", "UTC", t) == utc(2026, 1, 2)
    assert next_after("0 9 * * MON", "UTC", t) == utc(2026, 1, 5, 9)  # 2026-01-01 is a Thursday


def test_next_after_keeps_local_time_across_spring_forward() -> None:
    # Paris moves from UTC+1 to UTC+2 at 02:00 local on 2026-03-29.
    saturday = utc(2026, 3, 28, 12)
    sunday_9 = next_after("0 9 * * *", "Europe/Paris", saturday)
    assert sunday_9 == utc(2026, 3, 29, 7)  # 09:00 CEST
    assert next_after("0 9 * * *", "Europe/Paris", utc(2026, 3, 27, 12)) == utc(2026, 3, 28, 8)
    assert next_after("0 9 * * *", "Europe/Paris", sunday_9) == utc(2026, 3, 30, 7)
    # 02:30 does not exist that night: it fires at 03:00 CEST instead, once.
    gap = next_after("30 2 * * *", "Europe/Paris", saturday)
    assert gap == utc(2026, 3, 29, 1)
    assert next_after("30 2 * * *", "Europe/Paris", gap) == utc(2026, 3, 30, 0, 30)


def test_next_after_fires_once_in_the_repeated_hour_of_fall_back() -> None:
    # Paris goes from UTC+2 back to UTC+1 at 03:00 local on 2026-10-25; 02:30 happens twice.
    first = next_after("30 2 * * *", "Europe/Paris", utc(2026, 10, 24, 12))
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    assert next_after("30 2 * * *", "Europe/Paris", first) == utc(2026, 10, 26, 1, 30)
    # Asked during the second 02:xx hour: the answer is still tomorrow, never the past.
    assert next_after("30 2 * * *", "Europe/Paris", utc(2026, 10, 25, 1, 15)) == utc(
        2026, 10, 26, 1, 30
    )


def test_minute_steps_follow_real_time_across_fall_back() -> None:
    start = utc(2026, 10, 25, 0, 0)
    fires = due("*/30 * * * *", "Europe/Paris", start, utc(2026, 10, 25, 2, 0), "all")
    assert fires == [start + 1800 * i for i in range(5)]


def test_latest_at_or_before_includes_t() -> None:
    t = utc(2026, 1, 1, 0, 10)
    assert latest_at_or_before(EVERY_5, "UTC", t) == t
    assert latest_at_or_before(EVERY_5, "UTC", t - 1) == t - 300


# -- due --------------------------------------------------------------------------------

F0 = utc(2026, 1, 1, 0, 5)
MISSED = [F0, F0 + 300, F0 + 600, F0 + 900]  # 00:05, 00:10, 00:15, 00:20


@pytest.mark.parametrize("catchup", ["all", "latest", "none"])
def test_nothing_is_due_before_next_fire(catchup: str) -> None:
    assert due(EVERY_5, "UTC", F0, F0 - 1, catchup) == []


@pytest.mark.parametrize("catchup", ["all", "latest", "none"])
def test_a_fire_on_time_is_due_under_every_policy(catchup: str) -> None:
    assert due(EVERY_5, "UTC", F0, F0, catchup) == [F0]
    assert due(EVERY_5, "UTC", F0, F0 + GRACE, catchup) == [F0]


def test_all_returns_every_missed_fire_oldest_first_up_to_limit() -> None:
    now = F0 + 900 + 120  # 00:22
    assert due(EVERY_5, "UTC", F0, now, "all") == MISSED
    assert due(EVERY_5, "UTC", F0, now, "all", limit=2) == MISSED[:2]
    assert due(EVERY_5, "UTC", F0 + 60, now, "all") == MISSED[1:]  # next_fire off the grid


def test_latest_returns_only_the_newest_missed_fire() -> None:
    now = F0 + 900 + 120
    assert due(EVERY_5, "UTC", F0, now, "latest") == [MISSED[-1]]
    # The newest fire time was handled already (next_fire is past it): nothing.
    assert due(EVERY_5, "UTC", MISSED[-1] + 60, now, "latest") == []


def test_none_returns_the_newest_fire_only_when_on_time() -> None:
    late = MISSED[-1] + GRACE + 1
    assert due(EVERY_5, "UTC", F0, late, "none") == []
    assert due(EVERY_5, "UTC", F0, MISSED[-1] + GRACE, "none") == [MISSED[-1]]


# -- validation -------------------------------------------------------------------------


def message(exc: pytest.ExceptionInfo[ConfigError]) -> str:
    assert exc.value.exit_code == 2
    return exc.value.message


def test_wrong_number_of_fields_is_named() -> None:
    with pytest.raises(ConfigError) as exc:
        validate("*/5 * * *", "UTC")
    assert message(exc) == (
        "--cron '*/5 * * *': expected 5 fields (minute hour day month weekday), got 4"
    )
    with pytest.raises(ConfigError, match="got 6"):
        validate("0 */5 * * * *", "UTC")  # seconds are not a field here


@pytest.mark.parametrize(
    ("expr", "field", "value", "hint"),
    [
        ("61 * * * *", "minute", "61", "0-59"),
        ("* 24 * * *", "hour", "24", "0-23"),
        ("0 0 31 2 *", "day", "31", "a day the month has"),
        ("* * * 13 *", "month", "13", "JAN-DEC"),
        ("* * * * 8", "weekday", "8", "SUN-SAT"),
        ("*/0 * * * *", "minute", "*/0", "0-59"),
    ],
)
def test_a_bad_field_is_named_with_its_allowed_values(
    expr: str, field: str, value: str, hint: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        validate(expr, "UTC")
    text = message(exc)
    assert text.startswith(f"--cron {expr!r}: bad {field} field {value!r}; use ")
    assert hint in text


def test_unknown_time_zone_suggests_the_closest() -> None:
    with pytest.raises(ConfigError) as exc:
        validate(EVERY_5, "Europe/Pari")
    assert (
        message(exc) == "--tz 'Europe/Pari' is not a known time zone; did you mean 'Europe/Paris'?"
    )
    with pytest.raises(ConfigError) as exc:
        validate(EVERY_5, "utc")
    assert "did you mean 'UTC'?" in message(exc)
    with pytest.raises(ConfigError) as exc:
        validate(EVERY_5, "../../etc/passwd")
    assert "is not a known time zone" in message(exc)


def test_catchup_policy_is_checked() -> None:
    for policy in ("none", "latest", "all"):
        validate_catchup(policy)
    with pytest.raises(ConfigError) as exc:
        validate_catchup("lates")
    assert message(exc) == "--catchup 'lates' is not a policy; did you mean 'latest'?"
    with pytest.raises(ConfigError, match="--catchup 'every'"):
        due(EVERY_5, "UTC", F0, F0, "every")


def test_valid_expressions_pass() -> None:
    for expr in (EVERY_5, "0 9 * * MON-FRI", "15,45 8-18 1 JAN-JUN *", "0 0 L * *"):
        validate(expr, "America/New_York")


def test_fire_time_iso_is_in_the_schedule_zone() -> None:
    assert fire_time_iso(utc(2026, 3, 29, 7), "Europe/Paris") == "2026-03-29T09:00:00+02:00"
    assert fire_time_iso(utc(2026, 1, 1), "UTC") == "2026-01-01T00:00:00+00:00"
