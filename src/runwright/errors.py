"""The runwright error hierarchy.

Every error a user can see derives from :class:`RunwrightError`; the class
docstring is the default message, and each message says what to do next.

    RunwrightError
    ├── SpecError                 a pipeline file is malformed or invalid
    │   └── ExpressionError       a template failed to render at run time
    ├── InputError                a run input is missing or of the wrong type
    ├── StoreError                the database failed (locked, corrupted, unreachable)
    │   ├── StoreUnavailable      the database cannot be reached now; retried by workers
    │   └── MigrationError        the schema cannot be brought up to date
    ├── NotFoundError             an unknown run id, step id or blob
    │   └── DatabaseMissing       a read found no database (and created none)
    ├── StateError                an operation the current state does not allow
    │   ├── IllegalTransition     a state machine bug: a transition that must not happen
    │   ├── SpecChangedError      resuming against a changed spec without --accept-changes
    │   └── RunBusyError          the run is being executed by a live process
    ├── StepError                 a step failed (classified for retries)
    │   ├── StepTimeout           a step exceeded its timeout
    │   └── FatalStepError        a failure that retrying cannot fix
    │       └── BudgetError       a spending call refused by the cost rules (never retried)
    │           ├── BudgetExceeded    the call's worst-case cost does not fit a budget
    │           └── UnknownPriceError no price is known and budgets.unknown_price = "error"
    │       ├── GovernanceError   a step beyond its trust level
    │       └── PatchError        a patch cannot be recorded, moved or applied as asked
    │           ├── PatchConflict     it does not apply cleanly (``files`` names them)
    │           └── DirtyCheckout     the target branch is checked out with uncommitted changes
    ├── CacheKeyError             a cache key cannot be computed from a step's inputs
    ├── WorkspaceError            a file write outside the workspace or that failed
    ├── GitError                  a git command failed (names it, its exit code, git's words)
    ├── RegistryError             an unknown or duplicate component
    ├── ConfigError               bad settings (database URL, flags)
    └── UsageError                a command used in a way it cannot work (e.g. files exist)

Engine control-flow signals derive from ``BaseException`` so that an
``except Exception`` inside user step code cannot swallow them:

    RunwrightSignal
    └── Cancelled                 the run or attempt was cancelled
"""

from __future__ import annotations

from typing import Any


class RunwrightError(Exception):
    """runwright failed."""

    #: Process exit code the CLI uses for this error.
    exit_code: int = 1

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        self.message = message or (self.__doc__ or "").strip()
        self.fields = fields
        super().__init__(self.message)


class SpecError(RunwrightError):
    """The pipeline spec is invalid; fix the reported fields and run `runwright validate`."""

    exit_code = 2

    def __init__(
        self, message: str | None = None, *, problems: list[str] | None = None, **fields: Any
    ) -> None:
        self.problems = problems or []
        if message is None and self.problems:
            message = "\n".join(self.problems)
        super().__init__(message, **fields)


class ExpressionError(SpecError):
    """A template expression failed to evaluate."""


class TemplateSyntaxError(SpecError):
    """A template in the spec does not parse; fix its syntax."""

    def __init__(self, message: str, *, lineno: int = 1) -> None:
        super().__init__(message, lineno=lineno)
        #: The line of the template (1-based) the parser stopped at.
        self.lineno = lineno


class InputError(RunwrightError):
    """A run input is missing or has the wrong type; pass it with --input key=value."""

    exit_code = 2


class StoreError(RunwrightError):
    """The runwright database failed."""

    exit_code = 3


class StoreUnavailable(StoreError):
    """The database cannot be reached right now (connection lost, server restarting).

    Transient: callers that can retry (a worker) back off and try again.
    """


class MigrationError(StoreError):
    """The database schema cannot be brought up to date."""


class NotFoundError(RunwrightError):
    """Not found."""

    exit_code = 4


class DatabaseMissing(NotFoundError):
    """There is no runwright database there; a read command creates none."""


class StateError(RunwrightError):
    """The operation is not allowed in the current state."""

    exit_code = 5


class IllegalTransition(StateError):
    """An illegal state transition was attempted (this is a runwright bug; please report it)."""


class SpecChangedError(StateError):
    """The pipeline spec changed since the run started; pass --accept-changes to resume anyway."""


class RunBusyError(StateError):
    """The run is being executed by another live process."""


class StepError(RunwrightError):
    """A step failed."""

    retryable: bool = True


class StepTimeout(StepError):
    """The step exceeded its timeout."""


class FatalStepError(StepError):
    """The step failed in a way retrying cannot fix."""

    retryable = False


class BudgetError(FatalStepError):
    """A spending call was refused by the cost rules; it was not made."""

    #: The error class the retry policy sees (``retryable``, ``fatal``, ``budget``…).
    category = "budget"


class BudgetExceeded(BudgetError):
    """The call's worst-case cost does not fit a budget; raise the budget and resume the run."""


class UnknownPriceError(BudgetError):
    """The model's price is unknown; add it under [prices] in runwright.toml."""


class GovernanceError(FatalStepError):
    """A step would do what its trust level does not allow; it did not act."""


class CacheKeyError(RunwrightError):
    """A cache key cannot be computed; make the step's inputs JSON values or set cache: false."""

    exit_code = 2


class WorkspaceError(RunwrightError):
    """A workspace file operation failed."""


class GitError(RunwrightError):
    """A git command failed: the message names it, its exit code and what git said."""


class PatchError(FatalStepError):
    """A patch cannot be recorded, moved or applied as asked (states, scope, branches)."""


class GateFailed(PatchError):
    """A gate command failed on a patch: the patch is rejected (an on_fail loop may retry)."""


class PatchConflict(PatchError):
    """A patch does not apply cleanly; ``files`` names the conflicting paths."""


class DirtyCheckout(PatchError):
    """The target branch is checked out with uncommitted changes; commit or stash them first."""


class RegistryError(RunwrightError):
    """A component is unknown or registered twice."""

    exit_code = 2


class ConfigError(RunwrightError):
    """The configuration is invalid."""

    exit_code = 2


class UsageError(RunwrightError):
    """The command cannot work as given."""

    exit_code = 2


class RunwrightSignal(BaseException):
    """Engine control flow; never caught by user code's ``except Exception``."""


class Cancelled(RunwrightSignal):
    """The run was cancelled."""
