"""IndexFunction: the vector stores' indexing jobs from their queue (docs/files.md): a file indexed, a deleted file
or store forgotten; and the jobs its dead-letter queue took, ended."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.observability import lambda_handler as entry_point

indexing = bootstrap.indexing()
processor = BatchProcessor(event_type=EventType.SQS)


def _record(record: SQSRecord) -> None:
    indexing.take(record.body, record.event_source_arn, int(record.attributes.approximate_receive_count or 1))


@entry_point()
def on_jobs(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    """A batch of jobs; failed ones are reported so only they return to the queue (and are retried)."""
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
