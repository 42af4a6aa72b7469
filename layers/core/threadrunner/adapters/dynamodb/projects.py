"""What a project's operator set for it (budget, limits, models, owned vector stores), and its request counts."""

from __future__ import annotations

from ...domain.budget import Budget, ProjectPolicy
from .codec import fields, to_attributes
from .table import Table


class DynamoDBProjects(Table):
    """:class:`threadrunner.ports.ProjectStore`.

    The policy is read once per instance: the entry points make the stores for one request or one task,
    which checks the model, the budget and the limits against the same policy.
    """

    _policy: ProjectPolicy | None = None

    def get_policy(self) -> ProjectPolicy:
        if self._policy is None:
            item = self._get(self.keys.policy())
            if item is not None:
                self._policy = ProjectPolicy.model_validate(fields(item))
            else:
                legacy = self._get(self.keys.legacy_budget())
                self._policy = ProjectPolicy(budget=Budget.model_validate(fields(legacy)) if legacy else None)
        return self._policy

    def set_policy(self, policy: ProjectPolicy) -> None:
        self._client.put_item(**self._put(self.keys.policy(), "policy", policy.model_dump()))
        self._policy = policy

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
