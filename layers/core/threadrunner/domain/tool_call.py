"""A function call the model made during a run, and what became of it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from .run_step import ToolExecution

ToolSide = Literal["server", "client"]
"""``server``: the ToolFunction's registry knows the name and runs it. ``client``: the caller answers it."""

ToolCallStatus = Literal["pending", "running", "completed"]


class ToolCall(BaseModel):
    """One function call of a run step, stored beside the step so outputs can be large."""

    call_id: str
    run_id: str
    step_id: str
    name: str
    arguments: str
    side: ToolSide
    status: ToolCallStatus = "pending"
    output: str | None = None
    is_error: bool = False
    """Whether the output is an ``{"error": ...}`` the registry made from a failure."""
    duration_ms: int | None = None
    kind: Literal["function", "file_search", "code_interpreter"] = "function"
    """``file_search``: threadrunner's own search of the run's vector stores (``domain.file_search``);
    ``code_interpreter``: code run in the thread's sandbox (``domain.code_interpreter``)."""
    execution: ToolExecution | None = None
    """A server tool's run (none for the client's calls)."""
    started_at_ms: int | None = None
    """When a server tool's call was taken up, or the client was asked for the call's output (Unix ms)."""
    completed_at_ms: int | None = None
    """When the output was recorded (Unix ms)."""

    def _timing(self) -> dict[str, Any]:
        """The call's ``timing`` extension as a step shows it; nothing for a call stored before it was kept."""
        if self.started_at_ms is None and self.completed_at_ms is None:
            return {}
        return {"timing": {"started_at_ms": self.started_at_ms, "completed_at_ms": self.completed_at_ms}}

    def as_step_item(self, with_content: bool = False) -> dict[str, Any]:
        """The call as a ``tool_calls`` step shows it (a ``file_search`` call's passages ``with_content`` only)."""
        if self.kind == "code_interpreter":
            from .code_interpreter import step_call

            return step_call(self.call_id, self.arguments, self.output) | self._timing()
        if self.kind != "file_search":
            item = {
                "id": self.call_id,
                "type": "function",
                "function": {"name": self.name, "arguments": self.arguments, "output": self.output},
            }
            return item | ({"execution": self.execution.model_dump()} if self.execution else {}) | self._timing()
        from .file_search import FileSearchOutput

        found = FileSearchOutput.read(self.output)
        if found is None:
            return {"id": self.call_id, "type": "file_search", "file_search": {}} | self._timing()
        results = [
            {"file_id": r.file_id, "file_name": r.file_name, "score": r.score}
            | ({"content": [{"type": "text", "text": r.text}]} if with_content else {})
            for r in found.results
        ]
        details = {"ranking_options": found.ranking_options.model_dump(), "results": results}
        return {"id": self.call_id, "type": "file_search", "file_search": details} | self._timing()
