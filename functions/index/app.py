"""IndexFunction: the vector stores' indexing jobs from their queue (docs/files.md): a file indexed, a deleted file
or store forgotten; and the jobs its dead-letter queue took, ended."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.app.indexing import Indexer
from threadrunner.config import settings
from threadrunner.domain.vector_stores import IndexJob
from threadrunner.observability import lambda_handler as entry_point
from threadrunner.observability import log_keys

config = settings()
bootstrap.prepare_snapshot(("dynamodb", "s3", "s3vectors"))
indexer = Indexer(bootstrap.file_contents(), bootstrap.vector_index(), bootstrap.embeddings(), config.run_defaults)
processor = BatchProcessor(event_type=EventType.SQS)


def _record(record: SQSRecord) -> None:
    job = IndexJob.model_validate_json(record.body)
    log_keys(project=job.project, vector_store_id=job.vector_store_id, file_id=job.file_id)
    stores = bootstrap.stores(job.project)
    if record.event_source_arn == config.index_dead_letter_queue_arn:
        indexer.give_up(stores, job)  # every delivery ended the function (memory, time): the file ends failed
    else:
        indexer.run(stores, job, int(record.attributes.approximate_receive_count or 1))


@entry_point()
def on_jobs(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    """A batch of jobs; failed ones are reported so only they return to the queue (and are retried)."""
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
