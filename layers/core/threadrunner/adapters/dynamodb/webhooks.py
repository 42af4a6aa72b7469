"""The provider's webhooks: which run waits on which response, and the deliveries received (docs/run-loop.md,
"Webhooks"). The deployment's, not one project's: the partitions ``webhook#response#...`` and
``webhook#delivery#...``, each item kept for the days the provider retries a webhook."""

from __future__ import annotations

from typing import Any

from ...domain.common import now
from ...domain.run_record import RunRef
from ...ports import Delivery
from . import keys
from .codec import GuardedClient

KEPT_SECONDS = 3 * 86400
"""How long both are kept: OpenAI retries a webhook it was not answered 2xx for up to 72 hours."""


class DynamoDBResponseWebhooks:
    """:class:`threadrunner.ports.ResponseWebhooks` on the table."""

    def __init__(self, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = GuardedClient(client)

    def expect(self, response_id: str, ref: RunRef) -> None:
        item = {
            **keys.webhook_response(response_id),
            "project": {"S": ref.project},
            "thread_id": {"S": ref.thread_id},
            "run_id": {"S": ref.run_id},
            "ttl": {"N": str(now() + KEPT_SECONDS)},
        }
        self._client.put_item(TableName=self._table, Item=item)

    def expected(self, response_id: str) -> RunRef | None:
        # Strongly consistent: the turn wrote it just before it looked at its response for the last time; a webhook
        # sent after that look must find it, or the turn waits until it polls.
        key = keys.webhook_response(response_id)
        item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        if item is None:
            return None
        return RunRef(project=item["project"]["S"], thread_id=item["thread_id"]["S"], run_id=item["run_id"]["S"])

    def receive(self, webhook_id: str, timestamp: int) -> Delivery:
        key = keys.webhook_delivery(webhook_id)
        item = {**key, "timestamp": {"N": str(timestamp)}, "ttl": {"N": str(now() + KEPT_SECONDS)}}
        try:
            # Each webhook-id once: two deliveries of one id racing, one is first.
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(PK)")
        except self._client.exceptions.ConditionalCheckFailedException:
            seen = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item", {})
            return "replayed" if seen.get("timestamp", {}).get("N") == str(timestamp) else "retried"
        return "first"
