"""The run loop's state between its tasks, and how errors the state machine catches become ``last_error``.

The ASL file (statemachine/run_loop.asl.json) decides the order of the tasks; it branches on
:attr:`TurnState.outcome` and hands caught errors over as :class:`CaughtError`.
"""

from __future__ import annotations

import json
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, Field, computed_field

from ...domain.common import LastError
from ...domain.run_record import RunRef
from ...errors import ThreadrunnerError
from ...observability import logger

TurnOutcome = Literal["pending", "files_pending", "tool_calls", "completed", "incomplete", "failed", "stopped"]
IncompleteReason = Literal["max_completion_tokens", "max_prompt_tokens"]

MAX_TOOL_ROUNDS_CODE = "max_tool_rounds_exceeded"
"""The ``last_error.code`` of a run stopped by the tool-round cap."""

TOO_MANY_TOOL_CALLS_CODE = "too_many_tool_calls"
"""The ``last_error.code`` of a run whose model asked for more calls in one turn than a turn may make."""

INVALID_RESPONSE_FORMAT_CODE = "invalid_response_format"
"""The ``last_error.code`` of a run whose final message does not match its ``response_format``."""

TURN_TASK_SECONDS = 30
"""The most a task that makes a turn's response runs (StartTurn's and SubmitToolOutputs' function timeout,
template.yaml's Globals): in webhook mode its wait times out only after that and the wait for the webhook, so a
slow creation never sends the loop to poll a turn that has no response yet."""

# Error names of Catch (Lambda errorType or States.*) that map to an API error code other than server_error.
_ERROR_CODES = {
    "ModelRateLimited": "rate_limit_exceeded",
    "ModelRequestRejected": "invalid_prompt",
    "BudgetExceeded": "daily_budget_exceeded",
}


class ToolOutputsMissing(ThreadrunnerError):
    """A turn's tool outputs were to be sent, but some call has none: the run cannot go on."""


class ServerToolUnavailable(ThreadrunnerError):
    """A server tool the run declares is gone from the registry (a new deployment): the run cannot start."""


class RunLoopEnded(ThreadrunnerError):
    """The loop's execution ended (failed, timed out, aborted) before its run did: the reconciler's cause."""


class TurnState(BaseModel):
    """The loop's state between tasks (``$.turn``): ids and small control values, never content."""

    response_id: str | None = None
    """The model response of the current turn."""
    outcome: TurnOutcome = "pending"
    """What the last task found; the Choice state branches on it."""
    delay_seconds: int = 0
    """How long the next Wait state waits."""
    polls: int = 0
    """CheckTurn invocations in this turn so far, for the backoff."""
    step_id: str | None = None
    """The ``tool_calls`` step of this turn."""
    server_calls: list[str] = Field(default_factory=list)
    """Call ids the ToolFunction runs (the Map state's items)."""
    client_calls: list[str] = Field(default_factory=list)
    """Call ids the caller must answer."""
    tool_outputs_timeout_seconds: int = 600
    """How long the loop waits for the caller's outputs before the run expires (TimeoutSecondsPath)."""
    incomplete_reason: IncompleteReason | None = None
    """Which token limit ends the run ``incomplete``."""
    last_error: LastError | None = None
    """Why the turn failed, when it did."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_server_calls(self) -> bool:
        """Whether the Map state has calls to run (Choice rules cannot test a list for emptiness)."""
        return bool(self.server_calls)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def has_client_calls(self) -> bool:
        """Whether the caller must answer calls."""
        return bool(self.client_calls)


class CaughtError(BaseModel):
    """What a Catch puts in the state: the error name and its cause."""

    Error: str = "States.Runtime"
    Cause: str | None = None


class LoopState(RunRef):
    """The state machine's whole state: the run's ids, the current turn and, after a Catch, the error."""

    turn: TurnState | None = None
    error: CaughtError | None = None
    task_token: str | None = None
    """Only in the input of a task the loop waits on (``.waitForTaskToken``): for tool outputs, or for a turn's
    webhook."""
    webhook_wait_seconds: int = 0
    """How long a turn waits on its task token for its response's webhook before it polls (``TimeoutSecondsPath``),
    from the execution's input (:func:`webhook_mode`): set when the deployment's provider sends webhooks, 0 when the
    turns poll."""
    webhook_turn_seconds: int = 0
    """The timeout of a task that makes a turn's response, then waits for its webhook: the task's own time
    (:data:`TURN_TASK_SECONDS`) and the wait."""

    webhook_id: str | None = None
    """Only in the state the API has CheckTurn check when a webhook tells that the turn's response ended: the
    delivery's ``webhook-id``."""

    def after(self, turn: TurnState) -> dict[str, Any]:
        """The state the next state gets: this one with ``turn``, without a caught error, task token or webhook."""
        update = {"turn": turn, "error": None, "task_token": None, "webhook_id": None}
        return self.model_copy(update=update).model_dump(exclude_none=True)

    @classmethod
    def after_execution_ended(cls, detail: dict[str, Any]) -> LoopState:
        """The state of a run whose loop execution ended (FAILED, TIMED_OUT, ABORTED) before the run did: its
        input, with the end as the error a Catch would have put there (the reconciler's event)."""
        status = detail["status"]
        logger.warning("run loop execution ended early", extra={"status": status, "cause": detail.get("cause")})
        cause = {"errorType": RunLoopEnded.__name__, "errorMessage": f"The run loop's execution ended {status}."}
        error = CaughtError(Error=_EXECUTION_ERRORS.get(status, "States.Runtime"), Cause=json.dumps(cause))
        return cls.model_validate({**json.loads(detail["input"]), "error": error})


class Metric(NamedTuple):
    """What a task measured, for the handler to publish."""

    name: str
    unit: str
    value: float


class Done(NamedTuple):
    """What a task returns: the turn for the next state, and what it measured."""

    turn: TurnState
    metrics: tuple[Metric, ...] = ()


def webhook_mode(wait_seconds: int) -> dict[str, int]:
    """The fields of the loop's state that say how its turns wait: for their webhooks up to ``wait_seconds``, or,
    with 0, polling."""
    return {
        "webhook_wait_seconds": wait_seconds,
        "webhook_turn_seconds": wait_seconds + TURN_TASK_SECONDS if wait_seconds else 0,
    }


# What a run learns of its execution's end: the loop's own error names where they exist.
_EXECUTION_ERRORS = {"TIMED_OUT": "States.Timeout", "ABORTED": "States.ExecutionAborted", "FAILED": "States.Runtime"}


def last_error_of(caught: CaughtError | None) -> LastError:
    """The ``last_error`` of a caught error: threadrunner's own message, never what else a cause holds."""
    if caught is None:
        return LastError(code="server_error", message="The run failed for an unknown reason.")
    try:  # a task's error cause is its JSON error payload
        payload = json.loads(caught.Cause or "")
    except ValueError:
        payload = None
    ours = isinstance(payload, dict) and payload.get("errorType") in _own_error_names()
    if ours:
        message = str(payload["errorMessage"])
    else:  # an unexpected exception, or Step Functions' own words: internals for the logs, not for tenants
        logger.warning("run failed on an unexpected error", extra={"error": caught.Error, "cause": caught.Cause})
        message = "The run stopped on an internal error."
    return LastError(code=_ERROR_CODES.get(caught.Error, "server_error"), message=f"{caught.Error}: {message}"[:1000])


def _own_error_names() -> set[str]:
    """The names of threadrunner's own errors, whose messages are written for the caller."""
    names, pending = set(), [ThreadrunnerError]
    while pending:
        kind = pending.pop()
        names.add(kind.__name__)
        pending += kind.__subclasses__()
    return names
