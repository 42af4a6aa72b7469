"""The size limits of the services the local stack emulates, in one place, with how each service measures.

moto enforces some of these loosely or not at all; the local stack enforces them as AWS documents them, so code
that would exceed one fails here first, with the error the service answers. The numbers are AWS's, as documented
in the API reference that botocore 1.44 ships (each operation's documentation) and in the service quotas pages:

* EventBridge ``PutEvents``: the entries of one request together less than 1 MB (raised from 256 KB), each
  entry measured as "Calculating PutEvents event entry size" says (``Time`` 14 bytes, ``Source``,
  ``DetailType``, ``Detail`` and each of ``Resources`` by their UTF-8 bytes).
* Step Functions: a state's, task's or execution's input or output at most 256 KiB as UTF-8
  (``StartExecution`` input and ``SendTaskSuccess`` output included); more fails the execution with
  ``States.DataLimitExceeded``.
* Lambda ``Invoke``: a synchronous request at most 6 MB (6,291,456 bytes) and its response at most 6,291,556
  bytes (the figure Lambda's ``Function.ResponseSizeTooLarge`` error names); an asynchronous request 1 MB.
* DynamoDB: an item at most 400 KB (409,600 bytes), measured as "Item sizes and formats" says (names and
  values in UTF-8, a number 1 byte per two significant digits plus 1, a list or map 3 bytes plus 1 per element).
* SQS: a message at most 1 MiB (1,048,576 bytes, the queues' ``MaximumMessageSize`` default and most, raised
  from 256 KiB), its body and its attributes (names, types and values) counted together.

S3 Vectors' metadata and the embeddings input are bounded where those are emulated (the S3 Vectors patch and
the offline model). :func:`refusal` checks a request before it reaches moto; DynamoDB's item size and the Step
Functions state size are checked inside moto, where the item and the state are known (:mod:`.moto_patches`).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

EVENTBRIDGE_ENTRIES_BYTES = 1_048_576
STATE_PAYLOAD_BYTES = 262_144
LAMBDA_SYNC_REQUEST_BYTES = 6_291_456
LAMBDA_SYNC_RESPONSE_BYTES = 6_291_556
LAMBDA_ASYNC_REQUEST_BYTES = 1_048_576
DYNAMODB_ITEM_BYTES = 409_600
SQS_MESSAGE_BYTES = 1_048_576


@dataclass(frozen=True)
class Refusal:
    """A request a service refuses: its HTTP status, error code and message, as the service answers them."""

    status: int
    code: str
    message: str


def _utf8(text: str | None) -> int:
    return len(text.encode("utf-8")) if text else 0


def entry_size(entry: Mapping[str, Any]) -> int:
    """One PutEvents entry's size, as EventBridge calculates it."""
    size = 14 if entry.get("Time") is not None else 0
    size += _utf8(entry.get("Source")) + _utf8(entry.get("DetailType")) + _utf8(entry.get("Detail"))
    return size + sum(_utf8(resource) for resource in entry.get("Resources") or ())


def _typed(value: Any) -> tuple[str, Any]:
    """(type, value) of an attribute value in the wire format (``{"S": "x"}``) or moto's (``DynamoType``)."""
    if isinstance(value, Mapping):
        kind, inner = next(iter(value.items()))
        return kind, inner
    return value.type, value.value


def _number_size(text: Any) -> int:
    digits = str(Decimal(str(text)).normalize()).lstrip("-").split("E")[0].replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1


def _binary_size(value: Any) -> int:
    return len(value) if isinstance(value, bytes | bytearray) else len(base64.b64decode(value))


def attribute_size(value: Any) -> int:
    """The size of one attribute value, as DynamoDB counts it."""
    kind, inner = _typed(value)
    if kind == "S":
        return _utf8(inner)
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return _binary_size(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(_utf8(v) for v in inner)
    if kind == "NS":
        return sum(_number_size(v) for v in inner)
    if kind == "BS":
        return sum(_binary_size(v) for v in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + _utf8(name) + attribute_size(v) for name, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def item_size(attributes: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> int:
    """An item's size: every attribute's name and value."""
    pairs = attributes.items() if isinstance(attributes, Mapping) else attributes
    return sum(_utf8(name) + attribute_size(value) for name, value in pairs)


def message_size(body: str, attributes: Mapping[str, Any] | None) -> int:
    """An SQS message's size: its body, and each attribute's name, data type and value."""
    size = _utf8(body)
    for name, attribute in (attributes or {}).items():
        size += _utf8(name) + _utf8(attribute.get("DataType"))
        if "StringValue" in attribute:
            size += _utf8(attribute["StringValue"])
        if "BinaryValue" in attribute:
            size += _binary_size(attribute["BinaryValue"])
    return size


def _payload_size(payload: Any) -> int:
    if payload is None:
        return 0
    if isinstance(payload, str):
        return _utf8(payload)
    if isinstance(payload, bytes | bytearray):
        return len(payload)
    if hasattr(payload, "seek"):  # a stream: measured without being consumed
        start = payload.tell()
        end = payload.seek(0, 2)
        payload.seek(start)
        return int(end - start)
    return len(json.dumps(payload).encode())


def _too_long(member: str, size: int, limit: int) -> Refusal:
    return Refusal(
        400,
        "ValidationException",
        f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
        f"Member must have length less than or equal to {limit} (it has {size} bytes)",
    )


def refusal(prefix: str, operation: str, params: Mapping[str, Any]) -> Refusal | None:
    """The answer of a service to a request over one of its limits; ``None`` when the request is within them.

    ``prefix`` is the service's IAM prefix (``events``, ``states``, ``lambda``, ``sqs``).
    """
    if prefix == "events" and operation == "PutEvents":
        size = sum(entry_size(entry) for entry in params.get("Entries", []))
        if size > EVENTBRIDGE_ENTRIES_BYTES:
            return Refusal(
                400,
                "ValidationException",
                f"Total size of the entries in the request is over the limit ({size} bytes, at most "
                f"{EVENTBRIDGE_ENTRIES_BYTES}).",
            )
    elif prefix == "states" and operation == "StartExecution":
        size = _utf8(params.get("input"))
        if size > STATE_PAYLOAD_BYTES:
            return _too_long("input", size, STATE_PAYLOAD_BYTES)
    elif prefix == "states" and operation == "SendTaskSuccess":
        size = _utf8(params.get("output"))
        if size > STATE_PAYLOAD_BYTES:
            return _too_long("output", size, STATE_PAYLOAD_BYTES)
    elif prefix == "lambda" and operation == "Invoke":
        asynchronous = params.get("InvocationType") == "Event"
        limit = LAMBDA_ASYNC_REQUEST_BYTES if asynchronous else LAMBDA_SYNC_REQUEST_BYTES
        size = _payload_size(params.get("Payload"))
        if size > limit:
            return Refusal(
                413,
                "RequestEntityTooLargeException",
                f"Request must be smaller than {limit} bytes for the Invoke operation",
            )
    elif prefix == "sqs" and operation in ("SendMessage", "SendMessageBatch"):
        messages = params.get("Entries", []) if operation == "SendMessageBatch" else [params]
        sizes = [message_size(m.get("MessageBody", ""), m.get("MessageAttributes")) for m in messages]
        if any(size > SQS_MESSAGE_BYTES for size in sizes):
            return Refusal(
                400,
                "InvalidParameterValue",
                f"One or more parameters are invalid. Reason: Message must be shorter than {SQS_MESSAGE_BYTES} bytes.",
            )
        if sum(sizes) > SQS_MESSAGE_BYTES:
            return Refusal(
                400, "BatchRequestTooLong", f"Batch requests cannot be longer than {SQS_MESSAGE_BYTES} bytes."
            )
    return None
