"""STAND-IN."""

from enum import StrEnum


class PatchState(StrEnum):
    PROPOSED = "proposed"
    REJECTED = "rejected"
