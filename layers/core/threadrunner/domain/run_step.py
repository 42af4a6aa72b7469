"""The run step object: the audit trail of what a run did."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from .common import LastError, Metadata, Usage, WireModel

RunStepStatus = Literal["in_progress", "cancelled", "failed", "completed", "expired"]


def extension() -> Any:
    """A threadrunner extension field: left out while it is ``None``, so objects stay as the hosted API's where
    there is nothing to add (a client's call has no ``execution``, a step made before timing no ``timing``)."""
    return Field(default=None, exclude_if=lambda value: value is None)


class CallTiming(WireModel):
    """When a tool call ran, in Unix milliseconds (a threadrunner extension, for timelines)."""

    started_at_ms: int | None = None
    """A server tool's call: when the ToolFunction took it up. A client's: when the run asked for its output."""
    completed_at_ms: int | None = None
    """When its output was recorded (a client's: when it was submitted)."""


class StepTiming(WireModel):
    """When a step's model turn and the step itself happened, in Unix milliseconds (a threadrunner extension:
    ``created_at`` and the other ``*_at`` fields count whole seconds, too coarse to see where a run's time went)."""

    turn_started_at_ms: int | None = None
    """When the model was asked for the turn that made the step: at the run's start, or with the tool outputs of
    the step before."""
    created_at_ms: int
    """When the loop saw the turn's answer and made the step."""
    ended_at_ms: int | None = None
    """When the step ended (completed, failed, cancelled or expired); a ``tool_calls`` step completes when its
    outputs go back to the model."""


class MessageCreation(WireModel):
    message_id: str
    """The message the step created."""


class MessageCreationStepDetails(WireModel):
    type: Literal["message_creation"] = "message_creation"
    message_creation: MessageCreation


class FunctionCall(WireModel):
    name: str
    """The function the model called."""
    arguments: str
    """The arguments as a JSON string, as the model wrote them."""
    output: str | None = None
    """The function's output; null until it is known."""


class ToolExecution(WireModel):
    """How a server tool's call ran, for the run step and the audit log (a threadrunner extension)."""

    tool: str
    version: str | None = None
    """A registry tool's: the ToolFunction's version that ran it."""
    function_arn: str | None = None
    """A Lambda tool's: the function that ran."""
    arguments_sha256: str
    """Which arguments, without them."""
    duration_ms: int
    attempts: int
    """How often the tool ran for this call (its retry policy); 0 when its circuit was open."""
    outcome: str
    """``ok``, ``invalid_arguments``, ``failed``, ``timed_out``, ``invalid_output`` or ``circuit_open``."""
    circuit: str
    """The tool's circuit after the call: ``closed``, ``open`` or ``half_open``."""


class FunctionToolCall(WireModel):
    id: str
    """The tool call id, ``call_...``."""
    type: Literal["function"] = "function"
    function: FunctionCall
    execution: ToolExecution | None = extension()
    """A server tool's call: how it ran (a threadrunner extension, absent from the client's calls)."""
    timing: CallTiming | None = extension()
    """When the call ran or was waited for (a threadrunner extension)."""


class FileSearchResultContent(WireModel):
    type: Literal["text"] = "text"
    text: str


class FileSearchResult(WireModel):
    file_id: str
    file_name: str
    score: float
    content: list[FileSearchResultContent] | None = None
    """The passage; only when asked (``include[]=step_details.tool_calls[*].file_search.results[*].content``)."""


class FileSearchRanking(WireModel):
    ranker: Literal["auto", "default_2024_08_21"] = "default_2024_08_21"
    score_threshold: float = 0.0


class FileSearchDetails(WireModel):
    ranking_options: FileSearchRanking | None = None
    results: list[FileSearchResult] | None = None
    """What the search found; null until it ran."""


class FileSearchToolCall(WireModel):
    id: str
    """The tool call id."""
    type: Literal["file_search"] = "file_search"
    file_search: FileSearchDetails = Field(default_factory=FileSearchDetails)
    timing: CallTiming | None = extension()
    """When the search ran (a threadrunner extension)."""


class CodeInterpreterLogs(WireModel):
    type: Literal["logs"] = "logs"
    logs: str
    """What the code printed, and its error."""


class CodeInterpreterImageFile(WireModel):
    file_id: str
    """The image's file (purpose ``assistants_output``)."""


class CodeInterpreterImage(WireModel):
    type: Literal["image"] = "image"
    image: CodeInterpreterImageFile


CodeInterpreterOutput = Annotated[CodeInterpreterLogs | CodeInterpreterImage, Field(discriminator="type")]


class CodeInterpreterDetails(WireModel):
    input: str
    """The code the model ran."""
    outputs: list[CodeInterpreterOutput] = Field(default_factory=list)
    """What it gave back: logs and images; empty until it ran."""


class CodeInterpreterToolCall(WireModel):
    id: str
    """The tool call id."""
    type: Literal["code_interpreter"] = "code_interpreter"
    code_interpreter: CodeInterpreterDetails
    timing: CallTiming | None = extension()
    """When the code ran (a threadrunner extension)."""


ToolCallItem = Annotated[FunctionToolCall | FileSearchToolCall | CodeInterpreterToolCall, Field(discriminator="type")]


class ToolCallsStepDetails(WireModel):
    type: Literal["tool_calls"] = "tool_calls"
    tool_calls: list[ToolCallItem]
    """The calls of one model turn, with their outputs."""


StepDetails = Annotated[MessageCreationStepDetails | ToolCallsStepDetails, Field(discriminator="type")]


class RunStep(WireModel):
    id: str
    """The identifier, ``step_...``."""
    object: Literal["thread.run.step"] = "thread.run.step"
    created_at: int
    """Unix seconds when the step was created."""
    run_id: str
    """The run the step belongs to."""
    assistant_id: str
    """The assistant of the run."""
    thread_id: str
    """The thread of the run."""
    type: Literal["message_creation", "tool_calls"]
    """What the step did."""
    status: RunStepStatus = "in_progress"
    """The step's status."""
    step_details: StepDetails
    """What the step did, in detail."""
    last_error: LastError | None = None
    """Why the step failed, when it did."""
    expired_at: int | None = None
    """Unix seconds when the step expired."""
    cancelled_at: int | None = None
    """Unix seconds when the step was cancelled."""
    failed_at: int | None = None
    """Unix seconds when the step failed."""
    completed_at: int | None = None
    """Unix seconds when the step completed."""
    metadata: Metadata = Field(default_factory=dict)
    """Key-value pairs."""
    usage: Usage | None = None
    """Token usage of the step's model call."""
    timing: StepTiming | None = extension()
    """When the step's model turn and the step happened, in milliseconds (a threadrunner extension; absent from
    steps made before it)."""


def without_contents(step: RunStep) -> RunStep:
    """The step as answered unless ``include[]`` asks for file_search passages: their results without content."""
    if not isinstance(step.step_details, ToolCallsStepDetails):
        return step
    calls = [
        call.model_copy(
            update={
                "file_search": call.file_search.model_copy(
                    update={"results": [r.model_copy(update={"content": None}) for r in call.file_search.results]}
                )
            }
        )
        if isinstance(call, FileSearchToolCall) and call.file_search.results
        else call
        for call in step.step_details.tool_calls
    ]
    return step.model_copy(update={"step_details": step.step_details.model_copy(update={"tool_calls": calls})})
