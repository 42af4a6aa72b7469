"""What the local stack's work would be billed on AWS, counted while a :class:`Meter` is on (``make bench``): the
Lambda invocations and their billed duration, the API's requests, and DynamoDB's read and write request units.
Step Functions' state transitions are read from the executions' histories instead.

DynamoDB is billed as DynamoDB counts (its developer guide, "Read/write capacity mode"): a read request unit per
4 KB an item read holds (half of one for an eventually consistent read; a query counts the items it returns
together), a write request unit per KB of the item written (an update: of the item after it), twice that inside a
transaction. Sizes are DynamoDB's (:func:`.limits.item_size`); an update's item is read back from moto, a deleted
item counts as one unit (it is gone when the meter looks).
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from . import limits
from .template import ACCOUNT, REGION


@dataclass
class Bill:
    """What was used, by what."""

    invocations: Counter[str] = field(default_factory=Counter)
    """Lambda invocations, by function (logical id)."""
    gb_seconds: float = 0.0
    """Their billed duration (each rounded up to the millisecond) times their memory."""
    billed_ms: int = 0
    api_requests: int = 0
    read_units: float = 0.0
    write_units: float = 0.0

    def __sub__(self, before: Bill) -> Bill:
        return Bill(
            invocations=self.invocations - before.invocations,
            gb_seconds=self.gb_seconds - before.gb_seconds,
            billed_ms=self.billed_ms - before.billed_ms,
            api_requests=self.api_requests - before.api_requests,
            read_units=self.read_units - before.read_units,
            write_units=self.write_units - before.write_units,
        )


class Meter:
    """Counts into a :class:`Bill` while it is on (:meth:`on`); off, every call returns at once."""

    def __init__(self) -> None:
        self._bill = Bill()
        self._lock = threading.Lock()
        self._on = 0

    @contextmanager
    def on(self) -> Iterator[None]:
        with self._lock:
            self._on += 1
        try:
            yield
        finally:
            with self._lock:
                self._on -= 1

    def bill(self) -> Bill:
        """What was counted so far (subtract an earlier bill for what came between)."""
        with self._lock:
            bill = self._bill
            return Bill(
                Counter(bill.invocations),
                bill.gb_seconds,
                bill.billed_ms,
                bill.api_requests,
                bill.read_units,
                bill.write_units,
            )

    def invoked(self, function: str, memory_mb: int, seconds: float) -> None:
        if not self._on:
            return
        billed = math.ceil(seconds * 1000)
        with self._lock:
            self._bill.invocations[function] += 1
            self._bill.billed_ms += billed
            self._bill.gb_seconds += billed / 1000 * memory_mb / 1024

    def requested(self) -> None:
        """A request to the API (API Gateway bills each)."""
        if not self._on:
            return
        with self._lock:
            self._bill.api_requests += 1

    def dynamodb(self, operation: str, request: bytes, answer: bytes) -> None:
        """A DynamoDB call and its answer, as they went over the wire."""
        if not self._on:
            return
        sent = json.loads(request or b"{}")
        got = json.loads(answer or b"{}")
        reads, writes = _units(operation, sent, got)
        with self._lock:
            self._bill.read_units += reads
            self._bill.write_units += writes


def _read(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / 4096)) * (1.0 if consistent else 0.5)


def _write(size: int) -> float:
    return float(max(1, math.ceil(size / 1024)))


def _units(operation: str, sent: dict[str, Any], got: dict[str, Any]) -> tuple[float, float]:
    """(read units, write units) of one call."""
    consistent = bool(sent.get("ConsistentRead"))
    if operation == "GetItem":
        return _read(limits.item_size(got.get("Item", {})), consistent), 0.0
    if operation in ("Query", "Scan"):
        return _read(sum(limits.item_size(item) for item in got.get("Items", [])), consistent), 0.0
    if operation == "BatchGetItem":
        items = [item for found in got.get("Responses", {}).values() for item in found]
        return sum(_read(limits.item_size(item), False) for item in items), 0.0
    if operation == "TransactGetItems":
        return sum(2 * _read(limits.item_size(found.get("Item", {})), True) for found in got.get("Responses", [])), 0.0
    if operation == "PutItem":
        return 0.0, _write(limits.item_size(sent["Item"]))
    if operation == "UpdateItem":
        return 0.0, _write(_stored_size(sent["TableName"], sent["Key"]))
    if operation == "DeleteItem":
        return 0.0, 1.0
    if operation == "BatchWriteItem":
        requests = [request for table in sent.get("RequestItems", {}).values() for request in table]
        return 0.0, sum(
            _write(limits.item_size(r["PutRequest"]["Item"])) if "PutRequest" in r else 1.0 for r in requests
        )
    if operation == "TransactWriteItems":
        return 0.0, sum(2 * _transact_write(item) for item in sent.get("TransactItems", []))
    return 0.0, 0.0


def _transact_write(item: dict[str, Any]) -> float:
    if "Put" in item:
        return _write(limits.item_size(item["Put"]["Item"]))
    if "Update" in item:
        return _write(_stored_size(item["Update"]["TableName"], item["Update"]["Key"]))
    return 1.0  # a delete, a condition check


def _stored_size(table_name: str, key: dict[str, Any]) -> int:
    """The size of the item as moto holds it now (0 when it holds none)."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = dynamodb_backends[ACCOUNT][REGION].get_table(table_name)
    parts = [DynamoType(key[name]) for name in (table.hash_key_attr, table.range_key_attr) if name]
    item = table.get_item(parts[0], parts[1] if len(parts) > 1 else None)
    return limits.item_size(item.attrs) if item is not None else 0
