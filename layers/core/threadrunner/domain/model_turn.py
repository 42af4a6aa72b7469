"""One call of the model, as the run loop sees it, whatever provider serves it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .common import FunctionDefinition, LastError, Usage

TurnStatus = Literal["queued", "in_progress", "completed", "failed", "cancelled", "incomplete"]


class InputImage(BaseModel):
    """An image of a message, as the model is shown it: a URL (the provider fetches it), or a file of the project's,
    which the loop sends as a ``data:`` URL (``data_url`` once read)."""

    url: str | None = None
    file_id: str | None = None
    detail: Literal["auto", "low", "high"] = "auto"


class InputMessage(BaseModel):
    role: Literal["user", "assistant"]
    text: str
    images: list[InputImage] = Field(default_factory=list)


class ToolOutput(BaseModel):
    call_id: str
    output: str


class TurnRequest(BaseModel):
    """What the run loop asks of the model for one turn."""

    model: str
    instructions: str | None = None
    messages: list[InputMessage] = Field(default_factory=list)
    """The thread's messages, for a turn that starts one."""
    tool_outputs: list[ToolOutput] = Field(default_factory=list)
    """Function results, for a turn that continues ``previous_response_id``."""
    previous_response_id: str | None = None
    tools: list[FunctionDefinition] = Field(default_factory=list)
    code_interpreter: bool = False
    """Whether the provider's hosted code interpreter is offered (pass-through; threadrunner's own is a function of
    ``tools``)."""
    tool_choice: Any = "auto"
    parallel_tool_calls: bool = True
    temperature: float | None = None
    top_p: float | None = None
    response_format: Any = "auto"
    max_output_tokens: int | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class FunctionCallRequest(BaseModel):
    call_id: str
    name: str
    arguments: str


class ModelTurn(BaseModel):
    """The state of one model response."""

    id: str
    status: TurnStatus
    output_text: str = ""
    function_calls: list[FunctionCallRequest] = Field(default_factory=list)
    usage: Usage | None = None
    error: LastError | None = None

    @property
    def is_finished(self) -> bool:
        return self.status not in ("queued", "in_progress")


TurnEventKind = Literal["message", "function_call", "text", "arguments", "ended", "other"]


class TurnEvent(BaseModel):
    """One event of a model response's stream, as a run's stream relays it.

    ``message`` / ``function_call``: an output item starts (a call with its ``call_id`` and ``name``);
    ``text``: a delta of the answer's text; ``arguments``: a delta of the arguments of the call at
    ``output_index``; ``ended``: the response finished; ``other``: anything else, kept for its number.
    """

    sequence_number: int
    kind: TurnEventKind
    output_index: int = 0
    text: str = ""
    call_id: str = ""
    name: str = ""
