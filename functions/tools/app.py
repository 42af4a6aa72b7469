"""ToolFunction: runs one server-side tool call per invocation, or lists its tools (the catalogue)."""

import importlib

from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.app.tool_calls import ToolCallRef, run_tool_call
from threadrunner.app.vector_stores import file_search_call
from threadrunner.config import settings
from threadrunner.domain.file_search import FileSearchOutput
from threadrunner.domain.run_record import RunRecord
from threadrunner.domain.tools import default_registry
from threadrunner.observability import add_metric, log_keys, logger
from threadrunner.observability import lambda_handler as entry_point

config = settings()
bootstrap.prepare_snapshot(("dynamodb",))
for module in filter(None, (name.strip() for name in config.tool_modules.split(","))):
    importlib.import_module(module)  # registers the module's tools


@entry_point()
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    if event.get("catalogue"):
        return {"tools": [definition.model_dump() for definition in default_registry.definitions()]}
    ref = ToolCallRef.model_validate(event)
    log_keys(project=ref.project, thread_id=ref.thread_id, run_id=ref.run_id, call_id=ref.call_id)
    stores = bootstrap.stores(ref.project)

    def file_search(record: RunRecord, arguments: str, max_output_bytes: int) -> FileSearchOutput:
        # The index and the embeddings are made for the first search only: other tools need neither.
        index, embeddings = bootstrap.vector_index(), bootstrap.embeddings()
        return file_search_call(stores, index, embeddings, record, arguments, max_output_bytes)

    report = run_tool_call(stores, default_registry, ref, config.max_tool_output_bytes, file_search)
    logger.info(
        "tool call",
        extra={"tool": report.name, "ran": report.ran, "is_error": report.is_error, "duration_ms": report.duration_ms},
    )
    if report.ran:
        add_metric("ToolDuration", "Milliseconds", report.duration_ms, tool=report.name)
        add_metric("ToolErrors", "Count", int(report.is_error))
    return report.model_dump()
