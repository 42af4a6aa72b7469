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
    kind: Literal["function", "file_search"] = "function"
    """``file_search``: threadrunner's own search of the run's vector stores (``domain.file_search``)."""
    execution: ToolExecution | None = None
    """A server tool's run (none for the client's calls)."""

    def as_step_item(self, with_content: bool = False) -> dict[str, Any]:
        """The call as a ``tool_calls`` step shows it (a ``file_search`` call's passages ``with_content`` only)."""
        if self.kind != "file_search":
            item = {
                "id": self.call_id,
                "type": "function",
                "function": {"name": self.name, "arguments": self.arguments, "output": self.output},
            }
            return item | ({"execution": self.execution.model_dump()} if self.execution else {})
        from .file_search import FileSearchOutput

        found = FileSearchOutput.read(self.output)
        if found is None:
            return {"id": self.call_id, "type": "file_search", "file_search": {}}
        results = [
            {"file_id": r.file_id, "file_name": r.file_name, "score": r.score}
            | ({"content": [{"type": "text", "text": r.text}]} if with_content else {})
            for r in found.results
        ]
        details = {"ranking_options": found.ranking_options.model_dump(), "results": results}
        return {"id": self.call_id, "type": "file_search", "file_search": details}
