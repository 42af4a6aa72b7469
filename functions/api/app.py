"""ApiFunction: the Assistants API v2 over API Gateway (HTTP API, payload v2)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.api.app import ApiDeps, handle
from threadrunner.config import settings
from threadrunner.observability import lambda_handler as entry_point

bootstrap.prepare_snapshot(("dynamodb", "stepfunctions", "lambda"))
deps = ApiDeps(
    settings=settings(),
    stores_for=bootstrap.stores,
    loop=bootstrap.run_loop_control(),
    tools=bootstrap.tool_catalogue(),
    keys=bootstrap.api_keys(),
    idempotency_store=bootstrap.idempotency_store(),
)


@entry_point(correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return handle(event, context, deps)
