"""What a project's operator set for it (budget, limits, models, owned vector stores), and its request counts."""

from __future__ import annotations

import time

from ...domain.budget import Budget, ProjectPolicy
from .codec import fields, to_attributes
from .table import Table

POLICY_CACHE_SECONDS = 30.0
"""How long a container trusts its read of a project's policy: a change made elsewhere (``scripts/keys.py``)
applies within this time; one made through this container applies at once."""
_read: dict[tuple[str, str], tuple[ProjectPolicy, float]] = {}
"""The policies this container read, by table and project, with when each read expires."""


class DynamoDBProjects(Table):
    """:class:`threadrunner.ports.ProjectStore`.

    The policy is read at most every :data:`POLICY_CACHE_SECONDS` per container: every request and every task
    of the loop checks it (models, budget, limits), and reading it each time would be a quarter of their reads.
    """

    def get_policy(self) -> ProjectPolicy:
        policy, expires = _read.get((self._table, self.project), (None, 0.0))
        if policy is not None and time.monotonic() < expires:
            return policy
        item = self._get(self.keys.policy())
        if item is not None:
            policy = ProjectPolicy.model_validate(fields(item))
        else:
            legacy = self._get(self.keys.legacy_budget())
            policy = ProjectPolicy(budget=Budget.model_validate(fields(legacy)) if legacy else None)
        self._remember(policy)
        return policy

    def set_policy(self, policy: ProjectPolicy) -> None:
        self._client.put_item(**self._put(self.keys.policy(), "policy", policy.model_dump()))
        self._remember(policy)

    def _remember(self, policy: ProjectPolicy) -> None:
        _read[(self._table, self.project)] = (policy, time.monotonic() + POLICY_CACHE_SECONDS)

    def count_request(self, minute: int, limit: int) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self.keys.requests(minute),
                UpdateExpression="SET #ttl = if_not_exists(#ttl, :expiry) ADD requests :one",
                # One window per minute: its counter takes requests while it is under the limit.
                ConditionExpression="attribute_not_exists(requests) OR requests < :limit",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues=to_attributes({":one": 1, ":limit": limit, ":expiry": minute * 60 + 120}),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def open_stream(self, stream_id: str, expires_at: int, limit: int) -> bool:
        member = f"{expires_at}:{stream_id}"
        for attempt in range(2):
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=self.keys.open_streams(),
                    # The item goes when its last stream would have expired.
                    UpdateExpression="ADD streams :member SET #ttl = :expires_at",
                    # The project's open streams are a set: a stream joins it within the limit, whichever container
                    # serves it, and leaves it as it ends.
                    ConditionExpression="attribute_not_exists(streams) OR size(streams) < :limit",
                    ExpressionAttributeNames={"#ttl": "ttl"},
                    ExpressionAttributeValues={
                        ":member": {"SS": [member]},
                        ":expires_at": {"N": str(expires_at)},
                        ":limit": {"N": str(limit)},
                    },
                )
                return True
            except self._client.exceptions.ConditionalCheckFailedException:
                # A container that died with streams open left them in the set: they hold no place once expired.
                if attempt == 1 or not self._prune_streams():
                    return False
        return False

    def close_stream(self, stream_id: str, expires_at: int) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=self.keys.open_streams(),
            UpdateExpression="DELETE streams :member",
            ExpressionAttributeValues={":member": {"SS": [f"{expires_at}:{stream_id}"]}},
        )

    def _prune_streams(self) -> bool:
        """Take the expired streams out of the project's open ones; whether there were any."""
        item = self._get(self.keys.open_streams()) or {}
        expired = [member for member in item.get("streams", set()) if int(member.split(":", 1)[0]) < time.time()]
        if expired:
            self._client.update_item(
                TableName=self._table,
                Key=self.keys.open_streams(),
                UpdateExpression="DELETE streams :expired",
                ExpressionAttributeValues={":expired": {"SS": expired}},
            )
        return bool(expired)
