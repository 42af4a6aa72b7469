"""ToolFunction: runs one server-side tool call per invocation, or lists the deployment's tools (the catalogue)."""

import importlib
import os

from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.app.embeddings import metered
from threadrunner.app.tool_calls import ToolCallRef, ToolRunner
from threadrunner.app.vector_stores import file_search_call
from threadrunner.config import settings
from threadrunner.domain.file_search import FileSearchOutput
from threadrunner.domain.lambda_tools import deployment_tools
from threadrunner.domain.run_record import RunRecord
from threadrunner.domain.tools import default_registry
from threadrunner.observability import add_metric, log_keys, logger
from threadrunner.observability import lambda_handler as entry_point
from threadrunner.ports import Stores

config = settings()
bootstrap.prepare_snapshot(("dynamodb", "lambda"))
for module in filter(None, (name.strip() for name in config.tool_modules.split(","))):
    importlib.import_module(module)  # registers the module's tools

MARGIN_SECONDS = 5.0
"""Kept from the invocation's time to store the output after the last retry."""


def _file_searcher(stores: Stores):
    def search(record: RunRecord, arguments: str, max_output_bytes: int) -> FileSearchOutput:
        # The index and the embeddings are made for the first search only: other tools need neither.
        index, embeddings = bootstrap.vector_index(), metered(bootstrap.embeddings(), stores, config.run_defaults)
        return file_search_call(stores, index, embeddings, record, arguments, max_output_bytes)

    return search


runner = ToolRunner(
    default_registry,
    bootstrap.tool_invoker(),
    bootstrap.circuits(),
    deployment_tools(config.server_tools, default_registry.names(), config.functions_arn),
    version=os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
    file_searcher=_file_searcher,
)


@entry_point()
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    if event.get("catalogue"):
        return {"tools": [definition.model_dump() for definition in runner.catalogue()]}
    ref = ToolCallRef.model_validate(event)
    log_keys(project=ref.project, thread_id=ref.thread_id, run_id=ref.run_id, call_id=ref.call_id)
    budget = context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS
    report = runner.run(bootstrap.stores(ref.project), ref, config.max_tool_output_bytes, budget)
    if report.execution is not None:
        # The audit trail of server tools: one line per execution (docs/operations.md queries it).
        logger.info("tool execution", extra=report.execution.model_dump())
        add_metric("ToolDuration", "Milliseconds", report.execution.duration_ms, tool=report.name)
        add_metric("ToolErrors", "Count", int(report.is_error))
    return report.model_dump()
