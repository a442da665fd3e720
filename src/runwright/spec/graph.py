"""Graph algorithms over step ids: cycles and reachability through ``needs``.

Iterative throughout: a 10,000-step chain must not hit Python's recursion limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet

from runwright.spec.models import StepSpec


def strongly_connected(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """The strongly connected components with more than one step (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(graph[root]))]
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph[nxt])))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def cycle_through(start: str, members: set[str], graph: Mapping[str, Sequence[str]]) -> list[str]:
    """A shortest path start -> ... -> start inside one strongly connected component."""
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in graph[node]:
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if nxt in members and nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return [start, start]  # unreachable for a real component


class Reachability:
    """Answers "does step X (transitively) need step Y?" over the validated steps."""

    def __init__(
        self, by_id: Mapping[str, tuple[int, StepSpec]], all_ids: AbstractSet[str]
    ) -> None:
        self._by_id = by_id
        self._dependents: dict[str, list[str]] | None = None
        # Steps that failed shape validation have unknown needs.
        self.incomplete = bool(all_ids - by_id.keys())
        self._below: dict[str, set[str]] = {}

    @property
    def dependents(self) -> dict[str, list[str]]:
        """The steps that directly need each step; built at the first question that needs it."""
        if self._dependents is None:
            self._dependents = {}
            for sid, (_, step) in self._by_id.items():
                for need in step.needs:
                    self._dependents.setdefault(need, []).append(sid)
        return self._dependents

    def needs(self, step: StepSpec, target: str) -> bool | None:
        """True/False, or None when an invalid step makes it unknowable."""
        if target in step.needs:  # the common case: a direct dependency
            return True
        below = self._below.get(target)
        if below is None:
            # Everything that (transitively) needs `target`, once per target: a long
            # chain whose steps all read its first step stays linear.
            below = set()
            queue = deque(self.dependents.get(target, ()))
            while queue:
                sid = queue.popleft()
                if sid not in below:
                    below.add(sid)
                    queue.extend(self.dependents.get(sid, ()))
            self._below[target] = below
        if step.id in below:
            return True
        return None if self.incomplete else False
