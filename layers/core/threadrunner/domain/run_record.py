"""A run together with the loop's bookkeeping that the wire object does not show."""

from __future__ import annotations

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
    tool_rounds: int = 0
    """Model turns with function calls so far."""
    usage: Usage = Field(default_factory=Usage)
    """Usage summed over the finished turns."""
    server_tools: list[FunctionDefinition] = Field(default_factory=list)
    """The definitions of the run's server tools, from the registry when the run started."""
    vector_store_ids: list[str] = Field(default_factory=list)
    """The vector stores ``file_search`` reads, from the thread's or assistant's tool resources."""
    task_token: str | None = None
    """While the run waits for tool outputs: the token that resumes the loop."""
    waiting_step_id: str | None = None
    """While the run waits for tool outputs: the ``tool_calls`` step whose calls the client answers."""
    claims: dict[str, str] = Field(default_factory=dict)
    """Ids and marks fixed by the first attempt of a task (the message, steps, the announcement)."""
