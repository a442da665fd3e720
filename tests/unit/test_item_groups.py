"""ItemGroups: items finishing while a commit is in flight commit together, led by one of them.

The commits here are the tests' own coroutines (what the worker passes in is a real
transaction); the members stand for items' successes: only the grouping is tested.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from runwright.engine.itemgroup import ItemGroups

TIMEOUT = 10


class Commits:
    """Records every commit; the first one waits until released (a commit in flight)."""

    def __init__(self, fail: Any = None) -> None:
        self.calls: list[tuple[str, list[Any]]] = []
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.fail = fail
        self.claimable = 0
        self.handed: list[str] = []

    def _claimed(self, n: int) -> list[Any]:
        """Up to ``n`` of the ``claimable`` ready attempts, next0 first."""
        taken = min(n, self.claimable - len(self.handed))
        out = [f"next{len(self.handed) + i}" for i in range(taken)]
        self.handed.extend(out)
        return out

    async def together(self, members: list[Any]) -> list[Any]:
        self.calls.append(("together", list(members)))
        if self.fail in members:
            raise RuntimeError(f"{self.fail} was fenced")
        return self._claimed(len(members) + 1)  # each member's slot, and one more

    async def alone(self, member: Any) -> list[Any]:
        self.calls.append(("alone", [member]))
        if not self.started.is_set():
            self.started.set()
            await self.release.wait()
        if member == self.fail:
            raise RuntimeError(f"{member} was fenced")
        return self._claimed(2)  # its slot, and one more


async def _wait_queued(groups: ItemGroups, run_id: str, n: int) -> None:
    async with asyncio.timeout(TIMEOUT):
        while len(groups._waiting.get(run_id, [])) < n:
            await asyncio.sleep(0)


async def _start(
    groups: ItemGroups, commits: Commits, members: list[str]
) -> list[asyncio.Task[Any]]:
    """The first member's commit in flight, then the others queued behind it."""
    first = asyncio.create_task(groups.commit("r", members[0], commits.together, commits.alone))
    async with asyncio.timeout(TIMEOUT):
        await commits.started.wait()
    rest = [
        asyncio.create_task(groups.commit("r", m, commits.together, commits.alone))
        for m in members[1:]
    ]
    await _wait_queued(groups, "r", len(rest))
    return [first, *rest]


async def test_items_queued_behind_a_commit_commit_as_one_group() -> None:
    groups, commits = ItemGroups(), Commits()
    tasks = await _start(groups, commits, ["a", "b", "c", "d"])
    commits.claimable = 6
    commits.release.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert commits.calls == [("alone", ["a"]), ("together", ["b", "c", "d"])]
    # a claimed two; the group the other four: one for each member's chain, the rest
    # for its leader (b) to start.
    assert results == [["next0", "next1"], ["next2", "next5"], ["next3"], ["next4"]]
    assert groups.committed == [2, 4]
    assert groups._waiting == {}  # nothing in flight: the next commit goes at once


async def test_items_finishing_in_the_same_turns_join_the_first_ones_commit() -> None:
    groups, commits = ItemGroups(), Commits()
    commits.started.set()  # nothing in flight holds the first commit back
    commits.claimable = 3
    tasks = [
        asyncio.create_task(groups.commit("r", m, commits.together, commits.alone))
        for m in ("a", "b", "c")
    ]
    results = await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert commits.calls == [("together", ["a", "b", "c"])]
    assert results == [["next0"], ["next1"], ["next2"]]


async def test_a_failed_group_commits_each_member_alone_and_only_the_culprit_fails() -> None:
    groups, commits = ItemGroups(), Commits(fail="c")
    tasks = await _start(groups, commits, ["a", "b", "c", "d"])
    commits.release.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), TIMEOUT)
    assert commits.calls == [
        ("alone", ["a"]),
        ("together", ["b", "c", "d"]),
        ("alone", ["b"]),
        ("alone", ["c"]),
        ("alone", ["d"]),
    ]
    assert results[:2] == [[], []] and results[3] == []
    assert isinstance(results[2], RuntimeError) and "c was fenced" in str(results[2])


async def test_a_member_cancelled_while_waiting_is_left_out_of_its_group() -> None:
    groups, commits = ItemGroups(), Commits()
    tasks = await _start(groups, commits, ["a", "b", "c"])
    tasks[1].cancel()
    with pytest.raises(asyncio.CancelledError):
        await tasks[1]
    commits.release.set()
    results = await asyncio.wait_for(asyncio.gather(tasks[0], tasks[2]), TIMEOUT)
    assert results == [[], []]
    assert commits.calls == [("alone", ["a"]), ("alone", ["c"])]  # a group of one: alone


async def test_a_leader_cancelled_mid_commit_hands_its_group_to_the_next_member() -> None:
    class Stuck(Commits):
        async def together(self, members: list[Any]) -> list[Any]:
            self.calls.append(("together", list(members)))
            await asyncio.Event().wait()  # never returns: its leader is cancelled in here
            return []

    groups, stuck = ItemGroups(), Stuck()
    tasks = await _start(groups, stuck, ["a", "b", "c"])
    stuck.release.set()
    await asyncio.wait_for(tasks[0], TIMEOUT)  # a committed alone; b leads {b, c}
    async with asyncio.timeout(TIMEOUT):
        while len(stuck.calls) < 2:
            await asyncio.sleep(0)
    assert stuck.calls[1] == ("together", ["b", "c"])
    tasks[1].cancel()  # b, mid-commit: c must still commit, now on its own
    with pytest.raises(asyncio.CancelledError):
        await tasks[1]
    assert await asyncio.wait_for(tasks[2], TIMEOUT) == []
    assert stuck.calls[2:] == [("alone", ["c"])]
    assert groups._waiting == {}


async def test_a_leader_cancelled_while_gathering_hands_the_gathered_members_on() -> None:
    groups, commits = ItemGroups(), Commits()
    commits.started.set()
    first = asyncio.create_task(groups.commit("r", "a", commits.together, commits.alone))
    await asyncio.sleep(0)  # a leads, and waits a few turns for others to join
    rest = [
        asyncio.create_task(groups.commit("r", m, commits.together, commits.alone))
        for m in ("b", "c")
    ]
    await _wait_queued(groups, "r", 2)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(asyncio.gather(*rest), TIMEOUT) == [[], []]
    assert commits.calls == [("together", ["b", "c"])]  # a never committed
    assert groups._waiting == {}
