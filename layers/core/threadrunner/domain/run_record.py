"""A run together with the loop's bookkeeping that the wire object does not show."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, Field

from .common import FunctionDefinition, Usage
from .run import Run


class RunRef(BaseModel):
    """What identifies a run everywhere: the state machine's input, every loop Lambda's event."""

    project: str
    thread_id: str
    run_id: str


class RunRecord(BaseModel):
    run: Run
    response_id: str | None = None
    """The model response of the current turn."""
    turn_started_at_ms: int | None = None
    """When the current turn was asked of the model (Unix ms): the start of the steps it makes."""
    tool_rounds: int = 0
    """Model turns with function calls so far."""
    usage: Usage = Field(default_factory=Usage)
    """Usage summed over the finished turns."""
    server_tools: list[FunctionDefinition] = Field(default_factory=list)
    """The definitions of the run's server tools, from the registry when the run started, and ``code_interpreter``'s
    when threadrunner runs the run's code."""
    vector_store_ids: list[str] = Field(default_factory=list)
    """The vector stores ``file_search`` reads, from the thread's or assistant's tool resources."""
    task_token: str | None = None
    """While the run waits for tool outputs: the token that resumes the loop."""
    waiting_step_id: str | None = None
    """While the run waits for tool outputs: the ``tool_calls`` step whose calls the client answers."""
    claims: dict[str, str] = Field(default_factory=dict)
    """Ids and marks fixed by the first attempt of a task (the message, steps, the announcement)."""

    @property
    def message_ids(self) -> list[str]:
        """The messages the run's turns claimed, oldest first (a claimed id may name nothing: a cancel can beat
        the write)."""
        return claimed_messages(self.claims)


MESSAGE_SLOT = "message:"


def claimed_messages(claims: Mapping[str, str]) -> list[str]:
    """The message ids among a run's claims, oldest first (ids sort by creation time)."""
    return sorted(value for slot, value in claims.items() if slot.startswith(MESSAGE_SLOT))


def message_slot(response_id: str) -> str:
    """The claim of the message a model turn's text becomes: the loop and a run's stream give it one id."""
    return MESSAGE_SLOT + response_id


def message_step_slot(response_id: str) -> str:
    """The claim of the ``message_creation`` step of a turn's message."""
    return f"message_step:{response_id}"


def tool_step_slot(response_id: str) -> str:
    """The claim of the ``tool_calls`` step of a turn's function calls."""
    return f"step:{response_id}"
