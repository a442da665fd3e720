"""Records of what ``runwright gc`` reads from the store: finished runs' leftovers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EndedProcess:
    """The process group an attempt recorded, where the attempt is no longer in flight.

    Any member of such a group still alive is an orphan (its attempt will never wait
    for it, and its runner's watchdog did not catch it).
    """

    run_id: str
    step_id: str
    item: int
    number: int
    state: str
    worker_id: str | None
    #: The :class:`runwright.processes.ProcessGroup` JSON.
    process: str
