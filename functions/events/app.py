"""EventsFunction: users' messages from EventBridge (docs/users-and-events.md)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.app.deliveries import bindings, deliver
from threadrunner.config import settings
from threadrunner.observability import lambda_handler as entry_point

sources = bindings(settings().event_source_projects)
deliveries = bootstrap.deliveries()
bootstrap.prepare_snapshot(("dynamodb", "stepfunctions"))


@entry_point(correlation_paths.EVENT_BRIDGE)
def on_event(event: dict, context: LambdaContext) -> dict:
    """An EventBridge event of detail-type ``threadrunner.message.requested``."""
    deliveries.config.register_lambda_context(context)
    return deliver(f"event:{event.get('id')}", event.get("detail"), str(event.get("source")), sources, deliveries.post)
