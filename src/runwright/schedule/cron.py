"""Cron fire times: pure functions over epoch seconds, computed in a schedule's time zone.

Expressions have the five classic fields (minute hour day month weekday) and are
evaluated by `cronsim <https://pypi.org/project/cronsim/>`_ on time-zone-aware
datetimes, so DST is handled like Debian cron does: a fire time that does not
exist (02:30 on the spring-forward night) moves to the first minute that does,
and one that happens twice (02:30 on the fall-back night) fires once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cronsim import CronSim, CronSimError

from runwright.errors import ConfigError
from runwright.spec.suggest import did_you_mean, suggest

#: Catch-up policies for fire times missed while no scheduler ran; see :func:`due`.
CATCHUP_POLICIES = ("none", "latest", "all")
DEFAULT_CATCHUP = "latest"
#: How late (seconds) a fire time may be handled and still count as on time (``none``).
GRACE = 60
#: Most fire times :func:`due` returns at once under ``all``.
DEFAULT_LIMIT = 1000

FIELDS = ("minute", "hour", "day", "month", "weekday")
_VALUES = {
    "minute": "0-59",
    "hour": "0-23",
    "day": "1-31 (a day the month has)",
    "month": "1-12 or JAN-DEC",
    "weekday": "0-7 or SUN-SAT (0 and 7 are Sunday)",
}
# cronsim names fields in its messages ("Bad day-of-month"); ours are the --cron help's.
_CRONSIM_FIELDS = {
    "minute": "minute",
    "hour": "hour",
    "day-of-month": "day",
    "month": "month",
    "day-of-week": "weekday",
}


def zone(tz: str) -> ZoneInfo:
    """The time zone named ``tz``; :class:`ConfigError` with a suggestion when unknown."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    hint = did_you_mean(tz, available_timezones()) or (
        "; use an IANA name such as 'UTC' or 'Europe/Paris'"
    )
    raise ConfigError(f"--tz {tz!r} is not a known time zone{hint}")


def validate_catchup(catchup: str) -> None:
    """Raise :class:`ConfigError` unless ``catchup`` is one of :data:`CATCHUP_POLICIES`."""
    if catchup not in CATCHUP_POLICIES:
        raise ConfigError(
            f"--catchup {catchup!r} is not a policy; {suggest(catchup, CATCHUP_POLICIES)}"
        )


def validate(expr: str, tz: str) -> None:
    """Raise :class:`ConfigError` naming the bad field when ``expr`` or ``tz`` is invalid.

    An expression that is well formed but never fires (say ``0 0 31 4 *``) is
    refused too: a schedule that can never start a run is a mistake.
    """
    next_after(expr, tz, time.time())


def _sim(expr: str, start: datetime, *, reverse: bool = False) -> CronSim:
    fields = expr.split()
    if len(fields) != len(FIELDS):
        raise ConfigError(
            f"--cron {expr!r}: expected {len(FIELDS)} fields ({' '.join(FIELDS)}),"
            f" got {len(fields)}"
        )
    try:
        return CronSim(expr, start, reverse=reverse)
    except CronSimError as exc:
        # "Bad minute" and the like; anything else still names the expression.
        name = _CRONSIM_FIELDS.get(str(exc).removeprefix("Bad ").strip())
        if name is None:
            raise ConfigError(f"--cron {expr!r}: {exc}") from None
        value = fields[FIELDS.index(name)]
        raise ConfigError(
            f"--cron {expr!r}: bad {name} field {value!r}; use {_VALUES[name]},"
            " a range (1-5), a list (1,15) or a step (*/5)"
        ) from None


def _times(sim: Iterator[datetime]) -> Iterator[int]:
    return (int(dt.timestamp()) for dt in sim)


def next_after(expr: str, tz: str, t: float) -> int:
    """The first fire time strictly after epoch ``t``, in epoch seconds.

    Raises :class:`ConfigError` for a bad expression or time zone, or one that
    never fires (cronsim gives up after 50 years without a match).
    """
    after = math.floor(t)
    start = datetime.fromtimestamp(after, zone(tz))
    for f in _times(_sim(expr, start)):
        # cronsim walks local wall-clock time; on a fall-back night the first
        # match can lie before ``t`` in real time. Skip it: it already fired.
        if f > t:
            return f
    raise ConfigError(f"--cron {expr!r} never fires; check the day and month fields")


def latest_at_or_before(expr: str, tz: str, t: float) -> int | None:
    """The newest fire time at or before epoch ``t`` (None if none in 50 years)."""
    start = datetime.fromtimestamp(math.floor(t) + 1, zone(tz))
    for f in _times(_sim(expr, start, reverse=True)):
        if f <= t:  # same wall-clock caveat as in next_after
            return f
    return None


def due(
    expr: str,
    tz: str,
    next_fire: int,
    now: float,
    catchup: str,
    *,
    limit: int = DEFAULT_LIMIT,
) -> list[int]:
    """The fire times to start runs for now, oldest first.

    The candidates are the fire times ``f`` with ``next_fire <= f <= now``: the
    ones not handled yet. Usually there is one; more after a scheduler downtime.

    - ``all``: every candidate, oldest first, at most ``limit`` of them (the
      caller continues from the last one returned on its next call).
    - ``latest`` (default): only the newest candidate; older ones are skipped.
    - ``none``: only the newest candidate, and only if it is on time
      (``now - f <= GRACE``); a fire missed by more than :data:`GRACE` seconds
      is skipped, so a downtime starts nothing.

    Raises :class:`ConfigError` for an unknown policy or a bad expression.
    """
    validate_catchup(catchup)
    if next_fire > now:
        return []
    if catchup == "all":
        fires: list[int] = []
        start = datetime.fromtimestamp(next_fire - 1, zone(tz))
        for f in _times(_sim(expr, start)):
            if f > now or len(fires) >= limit:
                break
            if f >= next_fire and (not fires or f > fires[-1]):
                fires.append(f)
        return fires
    newest = latest_at_or_before(expr, tz, now)
    if newest is None or newest < next_fire:
        return []
    if catchup == "none" and now - newest > GRACE:
        return []
    return [newest]


def fire_time_iso(t: int, tz: str) -> str:
    """Epoch seconds as an ISO 8601 time in the schedule's zone, e.g. for ``schedule list``."""
    return datetime.fromtimestamp(t, zone(tz)).isoformat()
