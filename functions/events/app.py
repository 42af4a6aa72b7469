"""EventsFunction: users' messages from EventBridge (docs/users-and-events.md)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.observability import lambda_handler as entry_point

deliveries = bootstrap.event_deliveries()


@entry_point(correlation_paths.EVENT_BRIDGE)
def on_event(event: dict, context: LambdaContext) -> dict:
    """An EventBridge event of detail-type ``threadrunner.message.requested``."""
    return deliveries.deliver(f"event:{event.get('id')}", event.get("detail"), str(event.get("source")), context)
