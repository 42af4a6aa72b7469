"""ApiFunction: the Assistants API v2 over API Gateway (HTTP API, payload v2)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.api.app import ApiDeps, handle
from threadrunner.config import settings
from threadrunner.observability import logger, tracer

deps = ApiDeps(
    settings=settings(),
    store_for=bootstrap.store,
    loop=bootstrap.run_loop_control(),
    tools=bootstrap.tool_catalogue(),
    keys=bootstrap.api_keys(),
    idempotency_store=bootstrap.idempotency_store(),
)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return handle(event, context, deps)
