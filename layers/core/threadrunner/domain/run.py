"""The run object."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .common import AssistantTool, LastError, Metadata, Usage, WireModel
from .run_status import RunStatus, is_terminal


class RequiredActionFunction(WireModel):
    name: str
    """The function the model called."""
    arguments: str
    """The arguments as a JSON string, as the model wrote them."""


class RequiredActionFunctionToolCall(WireModel):
    id: str
    """The tool call id to answer with ``submit_tool_outputs``."""
    type: Literal["function"] = "function"
    function: RequiredActionFunction


class SubmitToolOutputs(WireModel):
    tool_calls: list[RequiredActionFunctionToolCall]
    """The calls the client must answer."""


class RequiredAction(WireModel):
    type: Literal["submit_tool_outputs"] = "submit_tool_outputs"
    submit_tool_outputs: SubmitToolOutputs


class IncompleteDetails(WireModel):
    reason: Literal["max_completion_tokens", "max_prompt_tokens"]
    """Which token limit stopped the run."""


class TruncationStrategy(WireModel):
    type: Literal["auto", "last_messages"] = "auto"
    """``auto`` or ``last_messages``."""
    last_messages: int | None = None
    """With ``last_messages``, how many recent messages the run reads."""


class Run(WireModel):
    id: str
    """The identifier, ``run_...``."""
    object: Literal["thread.run"] = "thread.run"
    created_at: int
    """Unix seconds when the run was created."""
    thread_id: str
    """The thread the run executes on."""
    assistant_id: str
    """The assistant the run uses."""
    status: RunStatus = "queued"
    """The run's status."""
    required_action: RequiredAction | None = None
    """The tool outputs the client must submit, while the run ``requires_action``."""
    last_error: LastError | None = None
    """Why the run failed, when it did."""
    expires_at: int | None = None
    """Unix seconds when the run expires, while it can."""
    started_at: int | None = None
    """Unix seconds when the run started."""
    cancelled_at: int | None = None
    """Unix seconds when the run was cancelled."""
    failed_at: int | None = None
    """Unix seconds when the run failed."""
    completed_at: int | None = None
    """Unix seconds when the run completed."""
    incomplete_details: IncompleteDetails | None = None
    """Why the run is incomplete, when it is."""
    model: str
    """The model the run uses."""
    instructions: str = ""
    """The instructions the run uses."""
    tools: list[AssistantTool] = Field(default_factory=list)
    """The tools the run may use."""
    metadata: Metadata = Field(default_factory=dict)
    """Key-value pairs of the caller."""
    usage: Usage | None = None
    """Token usage over the run; null until the run is finished."""
    temperature: float | None = None
    """Sampling temperature."""
    top_p: float | None = None
    """Nucleus sampling mass."""
    max_prompt_tokens: int | None = None
    """The most prompt tokens the run may use."""
    max_completion_tokens: int | None = None
    """The most completion tokens the run may use."""
    truncation_strategy: TruncationStrategy = Field(default_factory=TruncationStrategy)
    """How the thread is cut down before each model call."""
    response_format: Any = "auto"
    """The format of the final message."""
    tool_choice: Any = "auto"
    """Which tool the model must call, if any."""
    parallel_tool_calls: bool = True
    """Whether the model may call several tools at once."""

    @property
    def is_terminal(self) -> bool:
        """Whether the run is finished for good."""
        return is_terminal(self.status)
