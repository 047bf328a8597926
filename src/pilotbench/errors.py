"""pilotbench's own exceptions. Third-party errors are translated into these at the boundary.

    PilotbenchError
    ├── UsageError            bad input from the user: config, flags, files (exit status 2)
    │   └── ConfigError       a configuration file or entry that cannot be used
    ├── StoreError            the results database cannot be used (not SQLite, newer schema, ...)
    │   └── StoreUnavailable  the store did not answer (connection lost or refused, locked too long):
    │                         a write to try again later, not a refusal of the records
    ├── ProviderError         a model call failed; `kind` says what the runner should do:
    │   │                     rate_limit (wait, retry, not a test attempt), transient (bounded
    │   │                     retries with backoff), fatal (stop using the lane or model),
    │   │                     quota (park the key)
    │   └── ContextLengthError  the conversation no longer fits the model's context: fatal for
    │                         that test only, and the test's outcome (never retried)
    ├── LimitsError           (limits.errors) a lane or key pool that takes no more calls
    │   ├── LaneDisabled      a lane stopped for good
    │   │   └── LaneParked    a lane's quota is spent for the rest of the run
    │   └── NoUsableLane      every lane of a key pool is disabled or parked for good
    └── InfraError            (runner.calls) a call that cannot succeed: the test is stored as an
        │                     infrastructure error, never as a model failure
        └── ModelStopped      the model cannot be used any more in this run

Every one of them reaching the command line is printed on one line with exit status 2. A tool error
is never an exception: it is an observation for the model (benchmark.types.ToolResult). Nor are the
signals the runner uses to end a conversation (runner.calls.ContextLimit, models.human.PlayerTimeout):
they are outcomes of a test, caught where the test is played.
"""

from __future__ import annotations

ERROR_KINDS = ("rate_limit", "transient", "fatal", "quota")


class PilotbenchError(Exception):
    """Base class for every error pilotbench raises on purpose."""


class UsageError(PilotbenchError):
    """Bad input from the user; the CLI prints the message on one line and exits with status 2."""


class ConfigError(UsageError):
    pass


class StoreError(PilotbenchError):
    """The results database cannot be used, or did not answer."""


class StoreUnavailable(StoreError):
    """The store could not be reached or did not answer in time; the same write may succeed later."""


class ProviderError(PilotbenchError):
    """A classified model-call failure. The message never contains an API key."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        scope: str = "lane",
    ) -> None:
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown provider error kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        # "lane" (this key), "model" (every lane of the model: bad deployment, bad parameter) or
        # "test" (this conversation only: a content filter, a context-length limit)
        self.scope = scope

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.kind!r}, {str(self)!r}, status={self.status})"


class ContextLengthError(ProviderError):
    """The provider refused the request because the conversation is longer than the model's
    context (OpenAI's ``context_length_exceeded``, vLLM's, llama.cpp's and Azure's wordings).
    It concerns this conversation only: the runner ends the test there, as the model's outcome
    (stop reason ``context_length``), and neither retries it nor stops the model."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__("fatal", message, status=status, scope="test")
