"""EventsFunction and QueueFunction: users' messages from EventBridge and SQS (docs/users-and-events.md)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.app import conversations
from threadrunner.app.deliveries import bindings, deliver, summary
from threadrunner.app.requests import UserMessageRequested
from threadrunner.config import settings
from threadrunner.domain.user import user_ref
from threadrunner.observability import lambda_handler as entry_point
from threadrunner.observability import log_keys

config = settings()
event_sources = bindings(config.event_source_projects)
queues = bindings(config.queue_projects)
idempotency = IdempotencyConfig(event_key_jmespath="delivery_id", expires_after_seconds=24 * 3600)
processor = BatchProcessor(event_type=EventType.SQS)


@idempotent_function(
    data_keyword_argument="delivery", persistence_store=bootstrap.idempotency_store(), config=idempotency
)
def post(delivery: dict) -> dict:
    request, project = UserMessageRequested.model_validate(delivery["request"]), delivery["project"]
    log_keys(project=project, user=user_ref(request.user_id))
    answer = conversations.post_user_message(
        bootstrap.stores(project), bootstrap.run_loop_control(), request.user_id, request, config.run_defaults
    )
    return summary(answer)


@entry_point(correlation_paths.EVENT_BRIDGE)
def on_event(event: dict, context: LambdaContext) -> dict:
    """An EventBridge event of detail-type ``threadrunner.message.requested``."""
    idempotency.register_lambda_context(context)
    return deliver(f"event:{event.get('id')}", event.get("detail"), str(event.get("source")), event_sources, post)


def _record(record: SQSRecord) -> dict:
    return deliver(f"sqs:{record.message_id}", record.body, record.event_source_arn, queues, post)


@entry_point()
def on_queue(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    """A batch of SQS messages; failed ones are reported so only they return to the queue."""
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
