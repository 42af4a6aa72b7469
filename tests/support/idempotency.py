"""Powertools idempotency records in memory: what the DynamoDB persistence layer keeps, without a table."""

from __future__ import annotations

import time

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord


class MemoryRecords(BasePersistenceLayer):
    """The records, by idempotency key (``<function>.<module>.<name>#<hash>``)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, DataRecord] = {}

    def _get_record(self, idempotency_key: str) -> DataRecord:
        if idempotency_key not in self.records:
            raise IdempotencyItemNotFoundError
        return self.records[idempotency_key]

    def _put_record(self, data_record: DataRecord) -> None:
        existing = self.records.get(data_record.idempotency_key)
        now = time.time()
        # As the DynamoDB layer's conditional put: a record is taken again only once it expired, or once the request
        # it is in progress for ran out of time.
        if existing is not None and not (
            (existing.expiry_timestamp or 0) < now
            or (existing.status == "INPROGRESS" and (existing.in_progress_expiry_timestamp or 0) < now * 1000)
        ):
            self._validate_payload(data_payload=data_record, stored_data_record=existing)
            raise IdempotencyItemAlreadyExistsError(old_data_record=existing)
        self.records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self.records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self.records.pop(data_record.idempotency_key, None)
