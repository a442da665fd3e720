"""A tiny calculator with a bug for an agent to fix."""


def add(a: int, b: int) -> int:
    """The sum of a and b."""
    return a - b
