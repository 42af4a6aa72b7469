"""Items and attributes: how wire objects are written to DynamoDB and read back, and what DynamoDB refuses."""

from __future__ import annotations

import json
import re
from decimal import Decimal, DecimalException
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from ...domain.common import Usage
from ...errors import InvalidRequest, NotFound, StoreUnavailable
from ...observability import logger

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

KEY_ATTRIBUTES = ("PK", "SK", "entity")
UPDATED_IN_PLACE = ("claims",)
"""The maps the store updates in place (``claims.<slot>``): they stay DynamoDB maps."""

_UNAVAILABLE = {
    "InternalServerError",
    "ServiceUnavailable",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
}
"""Error codes that say DynamoDB cannot serve now, not that the request is wrong."""


def to_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attributes of ``values``: scalars as DynamoDB types, objects and arrays as JSON documents.

    Objects and arrays hold what clients send (tool schemas, response formats, content parts), whose
    map keys and numbers DynamoDB's map type cannot always hold (an empty key, more than 38 digits).
    As a JSON document (a Binary attribute) they round-trip exactly. Only the maps the store updates
    in place stay DynamoDB maps.
    """
    attributes = {}
    for key, value in values.items():
        if isinstance(value, dict | list) and key not in UPDATED_IN_PLACE:
            attributes[key] = {"B": json.dumps(value, separators=(",", ":")).encode()}
            continue
        # DynamoDB numbers are Decimals; a JSON round trip turns every float into one.
        plain = json.loads(json.dumps(value), parse_float=Decimal)
        try:
            attributes[key] = _serializer.serialize(plain)
        except (DecimalException, TypeError) as exc:
            raise InvalidRequest(
                "The request holds a number that cannot be stored: numbers keep 38 digits, between 1E-130 and 1E+126."
            ) from exc
    return attributes


def _from_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _from_number(item) for key, item in value.items()}
    if isinstance(value, set):
        return {_from_number(item) for item in value}
    return value


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    """The plain values of an item, as :func:`to_attributes` wrote them."""
    return {
        key: json.loads(value["B"]) if "B" in value else _from_number(_deserializer.deserialize(value))
        for key, value in item.items()
    }


def fields(item: dict[str, Any], *internal: str) -> dict[str, Any]:
    """The wire object's fields of an item: keys and bookkeeping removed."""
    hidden = set(KEY_ATTRIBUTES) | set(internal)
    return {key: value for key, value in item.items() if key not in hidden}


def plain(value: Any) -> Any:
    """A value as it is stored: models as their fields."""
    return value.model_dump() if isinstance(value, BaseModel) else value


def usage_of(item: dict[str, Any]) -> Usage:
    """The usage an item counts in ``usage_prompt`` / ``usage_completion``."""
    prompt, completion = item.get("usage_prompt", 0), item.get("usage_completion", 0)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def reason_codes(error: ClientError) -> list[str]:
    """Why each item of a cancelled transaction failed, in order (``None`` for the ones that did not)."""
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def checked(kind: str, object_id: str) -> str:
    """An id that can name a stored object; any other cannot exist, so it is not found."""
    if not _ID.fullmatch(object_id):
        raise NotFound(kind, object_id[:70])
    return object_id


class GuardedClient:
    """The DynamoDB client, with what it refuses turned into answers instead of crashes.

    A request can hold what passes validation but not DynamoDB (an item over 400 KB, maps nested
    deeper than 32 levels, text with lone surrogates): 400. A DynamoDB that cannot be reached or is
    throttling: :class:`~threadrunner.errors.StoreUnavailable` (503).
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        operation = getattr(self._client, name)

        def call(**arguments: Any) -> Any:
            try:
                return operation(**arguments)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in _UNAVAILABLE:
                    logger.warning("DynamoDB unavailable", extra={"operation": name, "code": code})
                    raise StoreUnavailable("The service is unavailable; retry shortly.") from exc
                if code != "ValidationException":
                    raise
                logger.warning("data refused by DynamoDB", extra={"operation": name, "detail": str(exc)})
                raise InvalidRequest(
                    "The request holds data that cannot be stored: an object over 400 KB, or nested too deeply."
                ) from exc
            except BotoCoreError as exc:  # unreachable, timed out
                logger.warning("DynamoDB unreachable", extra={"operation": name, "detail": str(exc)})
                raise StoreUnavailable("The service is unavailable; retry shortly.") from exc
            except UnicodeEncodeError as exc:
                raise InvalidRequest("The request holds text that is not valid Unicode.") from exc

        return call
