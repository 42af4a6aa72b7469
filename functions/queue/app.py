"""QueueFunction: users' messages from SQS, in batches (docs/users-and-events.md)."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.observability import lambda_handler as entry_point

deliveries = bootstrap.queue_deliveries()
processor = BatchProcessor(event_type=EventType.SQS)


def _record(record: SQSRecord, lambda_context: LambdaContext) -> dict:
    return deliveries.deliver(f"sqs:{record.message_id}", record.body, record.event_source_arn, lambda_context)


@entry_point()
def on_queue(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    """A batch of SQS messages; failed ones are reported so only they return to the queue."""
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
