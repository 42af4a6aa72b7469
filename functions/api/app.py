"""ApiFunction: the Assistants API v2 over API Gateway (HTTP API, payload v2); and the StreamingApiFunction's code.

Two entry points on one container's adapters: ``lambda_handler`` behind API Gateway's HTTP API, which
buffers answers, so a streamed run's events come all at once; ``stream_handler`` behind a server that
writes them as they come (``serve.py`` under the Lambda Web Adapter, and the local stack).
"""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.api.app import ApiDeps, handle
from threadrunner.api.streams import joined
from threadrunner.config import settings
from threadrunner.observability import lambda_handler as entry_point

BUFFERED_STREAM_SECONDS = 25.0
"""How long a streamed run may be followed behind API Gateway's HTTP API: it waits 30 s at most for an answer."""
STREAM_SECONDS = 840.0
"""How long a streamed run may be followed behind the function URL: a function runs 15 minutes at most."""

bootstrap.prepare_snapshot(("dynamodb", "stepfunctions", "lambda"))
deps = ApiDeps(
    settings=settings(),
    stores_for=bootstrap.stores,
    run_control=bootstrap.run_control(),
    tools=bootstrap.tool_catalogue(),
    functions=bootstrap.tool_invoker(),
    keys=bootstrap.api_keys(),
    idempotency_store=bootstrap.idempotency_store(),
    model=bootstrap.model_client,
    provider=bootstrap.provider,
    contents=bootstrap.file_contents(),
    jobs=bootstrap.index_jobs(),
    index=bootstrap.vector_index(),
    embeddings=bootstrap.embeddings,
    webhooks=bootstrap.webhooks(),
)


@entry_point(correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return joined(handle(event, context, deps, BUFFERED_STREAM_SECONDS))


@entry_point(correlation_paths.API_GATEWAY_HTTP)
def stream_handler(event: dict, context: LambdaContext) -> dict:
    return handle(event, context, deps, STREAM_SECONDS)
