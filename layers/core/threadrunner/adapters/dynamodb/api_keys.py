"""API keys: only their hashes are stored, each bound to one project."""

from __future__ import annotations

from typing import Any

from . import keys
from .codec import GuardedClient, fields, from_attributes, to_attributes


class DynamoDBApiKeys:
    """:class:`threadrunner.ports.ApiKeys` on the table.

    Each key has two items: ``APIKEY#<sha256>`` (the lookup of every request) and a listing entry
    ``APIKEYS`` / ``<name>`` (for listing and revoking by name). Neither holds the key itself.
    """

    def __init__(self, table_name: str, client: Any) -> None:
        self._table = table_name
        self._client = GuardedClient(client)

    def project_for(self, key_hash: str) -> str | None:
        # An eventually consistent read costs half; a new or revoked key is seen within a second.
        item = self._client.get_item(TableName=self._table, Key=keys.api_key(key_hash)).get("Item")
        if item is None or item.get("revoked", {}).get("BOOL", False):
            return None
        return str(item["project"]["S"])

    def put_key(self, key_hash: str, project: str, name: str, created_at: int, hint: str = "") -> None:
        """Store a key's hash for a project under a unique name; ValueError if the name is taken."""
        values = {
            "project": project,
            "name": name,
            "created_at": created_at,
            "revoked": False,
            "hint": hint,
            "key_hash": key_hash,
        }
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                **keys.api_key_entry(name),
                                **to_attributes(values),
                                "entity": {"S": "api_key_entry"},
                            },
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {**keys.api_key(key_hash), **to_attributes(values), "entity": {"S": "api_key"}},
                        }
                    },
                ]
            )
        except self._client.exceptions.TransactionCanceledException as exc:
            raise ValueError(f"a key named {name!r} exists already") from exc

    def list_keys(self) -> list[dict[str, Any]]:
        """Every key's name, project, hint, creation time and whether it is revoked (never the key)."""
        answer = self._client.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": "APIKEYS"}},
        )
        return [fields(from_attributes(item), "key_hash") for item in answer.get("Items", [])]

    def revoke(self, name: str) -> None:
        """Refuse the key from now on (ApiFunction trusts a cached lookup for KEY_CACHE_SECONDS)."""
        entry = self._client.get_item(TableName=self._table, Key=keys.api_key_entry(name)).get("Item")
        if entry is None:
            raise KeyError(f"no key named {name!r}")
        key_hash = entry["key_hash"]["S"]
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": key,
                        "UpdateExpression": "SET revoked = :yes",
                        "ExpressionAttributeValues": {":yes": {"BOOL": True}},
                    }
                }
                for key in (keys.api_key_entry(name), keys.api_key(key_hash))
            ]
        )
