"""API keys, by hash: the deployment's, not one project's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeApiKeys:
    """:class:`threadrunner.ports.ApiKeys`, with the administration ``DynamoDBApiKeys`` has beside it (``put_key``,
    ``list_keys``, ``revoke``), so a test can make and revoke keys."""

    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each key's listing entry, by name (its ``key_hash`` included)."""

    def project_for(self, key_hash: str) -> str | None:
        for entry in self.entries.values():
            if entry["key_hash"] == key_hash and not entry["revoked"]:
                return str(entry["project"])
        return None

    def put_key(self, key_hash: str, project: str, name: str, created_at: int, hint: str = "") -> None:
        if name in self.entries:
            raise ValueError(f"a key named {name!r} exists already")
        self.entries[name] = {
            "project": project,
            "name": name,
            "created_at": created_at,
            "revoked": False,
            "hint": hint,
            "key_hash": key_hash,
        }

    def list_keys(self) -> list[dict[str, Any]]:
        return [
            {name: value for name, value in entry.items() if name != "key_hash"}
            for _, entry in sorted(self.entries.items())
        ]

    def revoke(self, name: str) -> None:
        if name not in self.entries:
            raise KeyError(f"no key named {name!r}")
        self.entries[name]["revoked"] = True
