"""The ToolFunction's work: run one server-side call of a run step, at most once."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from pydantic import BaseModel

from ..domain.conversation import cap_output
from ..domain.file_search import FileSearchOutput
from ..domain.run_record import RunRecord, RunRef
from ..domain.tool_call import ToolCall
from ..domain.tools import ToolRegistry, ToolResult
from ..observability import logger
from ..ports import Stores


class ToolCallRef(RunRef):
    """One item of the Map state: which call of which step to run."""

    step_id: str
    call_id: str


class ToolCallReport(BaseModel):
    """What the ToolFunction returns to the Map state: small, the output itself stays in the steps."""

    call_id: str
    name: str = ""
    """The tool."""
    ran: bool
    """False when an earlier attempt had claimed the call already (a retried task)."""
    is_error: bool = False
    duration_ms: int = 0


FileSearcher = Callable[[RunRecord, str, int], FileSearchOutput]
"""Runs a ``file_search`` call: (the run, the call's arguments, the most bytes its output may take)."""


def run_tool_call(
    stores: Stores,
    registry: ToolRegistry,
    ref: ToolCallRef,
    max_output_bytes: int,
    file_searcher: FileSearcher | None = None,
) -> ToolCallReport:
    """Run the call if no attempt ran it before, and store its output, capped to ``max_output_bytes``.

    A call claimed by an attempt that died before storing an output gets an error output instead
    of a second run: a tool with side effects (a payment, an email) must not run twice.
    """
    steps = stores.steps
    call = steps.claim_tool_call(ref.thread_id, ref.run_id, ref.step_id, ref.call_id)
    if call is None:
        for earlier in steps.get_tool_calls(ref.thread_id, ref.run_id, ref.step_id):
            if earlier.call_id == ref.call_id and earlier.status == "running":
                earlier.output = json.dumps({"error": f"{earlier.name} was interrupted and is not run twice"})
                earlier.is_error = True
                steps.record_tool_output(ref.thread_id, earlier)
        return ToolCallReport(call_id=ref.call_id, ran=False)
    if call.kind == "file_search":
        result = _search(stores, ref, call, max_output_bytes, file_searcher)
    else:
        result = registry.execute(call.name, call.arguments)
    call.output = cap_output(result.output, max_output_bytes)
    call.is_error = result.is_error
    call.duration_ms = result.duration_ms
    steps.record_tool_output(ref.thread_id, call)
    return ToolCallReport(
        call_id=call.call_id, name=call.name, ran=True, is_error=result.is_error, duration_ms=result.duration_ms
    )


def _search(
    stores: Stores, ref: ToolCallRef, call: ToolCall, max_output_bytes: int, file_searcher: FileSearcher | None
) -> ToolResult:
    """A ``file_search`` call, run as the registry runs a tool: its output, or an error output the model can read."""
    started = time.monotonic()
    try:
        if file_searcher is None:
            raise RuntimeError("this function searches no vector store")
        record = stores.runs.get_run_record(ref.thread_id, ref.run_id)
        output, is_error = file_searcher(record, call.arguments, max_output_bytes).model_dump_json(), False
    except Exception:
        logger.exception("file_search failed", extra={"call_id": call.call_id})
        output, is_error = json.dumps({"error": "file_search is not available right now; answer without it"}), True
    return ToolResult(output=output, is_error=is_error, duration_ms=int((time.monotonic() - started) * 1000))
