"""Fault injection for crash tests: kill this process at a named point of a step's commit.

Set ``RUNWRIGHT_FAULT=POINT:STEP`` (or ``POINT:STEP[ITEM]`` for one for_each
item) in the environment of ``runwright run`` or ``runwright worker``; the
entry point reads it into :class:`~runwright.settings.Settings`, never at
import time. The process SIGKILLs itself, as a crash would, when the commit of
that step's result reaches the point:

- ``during_commit``: inside the committing transaction, every write of it made,
  before COMMIT: the database rolls it back, so the step has acted but did not
  commit and must run again.
- ``after_commit``: right after COMMIT, before this process starts anything
  else (the commit may have claimed and started the next steps): nothing that
  committed may run again.

It exists for tests of the durability guarantee; nothing else should set it.
"""

from __future__ import annotations

import enum
import logging
import os
import re
import signal
from dataclasses import dataclass

from runwright.errors import ConfigError
from runwright.store.records import NO_ITEM, AttemptRecord

log = logging.getLogger("runwright.worker")
_FORM = re.compile(r"^(?P<point>[a-z_]+):(?P<step>[^\s\[\]:]+)(?:\[(?P<item>\d+)\])?$")


class FaultPoint(enum.StrEnum):
    DURING_COMMIT = "during_commit"
    AFTER_COMMIT = "after_commit"


@dataclass(frozen=True, slots=True)
class Fault:
    """Where to kill this process: at ``point`` of the commit of ``step_id`` (and ``item``)."""

    point: FaultPoint
    step_id: str
    item: int = NO_ITEM

    @classmethod
    def parse(cls, text: str) -> Fault:
        """Parse ``POINT:STEP`` or ``POINT:STEP[ITEM]`` (the RUNWRIGHT_FAULT form)."""
        m = _FORM.match(text.strip())
        points = ", ".join(p.value for p in FaultPoint)
        if m is None or m["point"] not in {p.value for p in FaultPoint}:
            raise ConfigError(
                f"RUNWRIGHT_FAULT={text!r} is not POINT:STEP or POINT:STEP[ITEM] with POINT one "
                f"of {points}; unset it to run without fault injection"
            )
        item = int(m["item"]) if m["item"] is not None else NO_ITEM
        return cls(FaultPoint(m["point"]), m["step"], item)

    def hit(self, point: FaultPoint, a: AttemptRecord) -> None:
        """SIGKILL this process if ``a``'s commit has reached this fault's point."""
        if point is not self.point or (a.step_id, a.item) != (self.step_id, self.item):
            return
        log.warning(
            "RUNWRIGHT_FAULT: killing this process %s of %s attempt %d",
            point.value.replace("_", " "),
            a.step_id if a.item == NO_ITEM else f"{a.step_id}[{a.item}]",
            a.number,
            extra={"event": "fault.injected", "run_id": a.run_id},
        )
        os.kill(os.getpid(), signal.SIGKILL)
