"""The errors threadrunner raises on purpose. The API maps each to an OpenAI-style answer."""

from __future__ import annotations


class ThreadrunnerError(Exception):
    """An error with an OpenAI-style ``message``, ``param`` and ``code``."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


class InvalidRequest(ThreadrunnerError):
    """The request is malformed or not allowed in the current state."""


class NotFound(ThreadrunnerError):
    """No object with that id exists for the caller."""

    def __init__(self, kind: str, object_id: str, *, param: str | None = None) -> None:
        super().__init__(f"No {kind} found with id '{object_id}'.", param=param)


class TooLarge(ThreadrunnerError):
    """A file, a part or an upload larger than threadrunner takes (413)."""


class Conflict(ThreadrunnerError):
    """The request cannot be served in the current state, and the caller asked not to wait (409)."""


class WebhookUnverified(ThreadrunnerError):
    """A webhook the deployment's secret did not sign, or signed too long ago (401): nothing of it is read."""


class BudgetExceeded(ThreadrunnerError):
    """A daily token budget is used up: no run starts (429)."""


class StoreUnavailable(ThreadrunnerError):
    """The table cannot be reached or is throttling: nothing can be answered now (503)."""


class TooManyActiveRuns(ThreadrunnerError):
    """The project has as many unfinished runs as it may have at once: no run starts (429)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The project has {limit} unfinished runs, the most it may have at once; retry when one has ended.",
            code="too_many_active_runs",
        )


class TooManyOpenStreams(ThreadrunnerError):
    """The project has as many streamed answers open as it may have at once: no stream starts (429)."""


class RateLimited(ThreadrunnerError):
    """The project made as many requests this minute as it may (429)."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message, code="rate_limit_exceeded")
        self.retry_after_seconds = retry_after_seconds


class RunActive(InvalidRequest):
    """The thread has a run that is not finished yet: it takes no new message and no new run."""

    def __init__(self, thread_id: str, run_id: str, adding_message: bool = False) -> None:
        message = (
            f"Can't add messages to {thread_id} while a run {run_id} is active."
            if adding_message
            else f"Thread {thread_id} already has an active run {run_id}."
        )
        super().__init__(message)


class ConversationLocked(InvalidRequest):
    """A response holds the conversation (or thread) while the provider answers it: nothing else joins it now."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(
            f"Another response is in progress on {conversation_id}; retry when it has ended (a response holds its "
            "conversation from its request until its answer is appended).",
            code="conversation_locked",
        )


class TurnAnswered(Conflict):
    """The turn of this ``Idempotency-Key`` was appended to the conversation already: it is not asked again."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(
            f"The request with this Idempotency-Key was answered and its items are in {conversation_id}; its "
            "answer is not kept for a retry (read the conversation's items).",
            param="Idempotency-Key",
            code="idempotency_answer_unavailable",
        )


RUN_CANCELLED = "RunCancelled"
"""The error a cancel sends to a loop that waits for tool outputs (the state machine catches it)."""


class SandboxUnavailable(ThreadrunnerError):
    """The code sandbox cannot start or be reached: no code runs (a failure of the ``code_interpreter`` tool)."""


class CodeSessionBusy(ThreadrunnerError):
    """Another call of the thread holds its code session: the thread's code runs one call at a time."""


class SessionEnded(ThreadrunnerError):
    """The code session was ended (idle, stopped, or killed with its code): open the thread's session again."""


class InvalidTransition(ThreadrunnerError):
    """A run cannot move to the asked status from the status it is in."""


# Errors of the model provider. The run loop's Lambdas raise them; their class names are the
# error names the state machine's Retry and Catch match, so renaming one means editing the ASL.


class ModelUnavailable(ThreadrunnerError):
    """The provider kept answering 5xx or timing out after the SDK's own retries."""


class ModelRateLimited(ThreadrunnerError):
    """The provider kept answering 429 after the SDK's own retries."""


class ModelCircuitOpen(ThreadrunnerError):
    """The provider's last calls kept failing: new turns fail at once until its circuit lets a call through."""


class ProviderUnreachable(ThreadrunnerError):
    """A forwarded call found no answer from the provider (502)."""


class ProviderTimedOut(ThreadrunnerError):
    """A forwarded call's provider did not answer in time (504)."""


class ModelRequestRejected(ThreadrunnerError):
    """The provider refused the request (4xx other than 429): a bad model name or key, say."""
