"""API keys: only their hashes are stored."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

KEY_PREFIX = "sk-tr-"


def key_hash(api_key: str) -> str:
    """The SHA-256 of a key, hex: what the table stores and looks keys up by."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    """A fresh random key, shown once to whoever creates it."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def redact(api_key: str) -> str:
    """A key as error messages may show it: its start and end only."""
    return f"{api_key[:6]}***{api_key[-4:]}" if len(api_key) > 12 else "***"


class KeyCache:
    """Recent lookups of API keys, by hash: at most ``max_entries``, unknown keys forgotten sooner than known ones.

    A stream of random wrong keys then costs bounded memory, and each one at most one read per
    ``unknown_seconds``; a revoked key works at most ``known_seconds`` longer.
    """

    def __init__(
        self,
        max_entries: int,
        known_seconds: float,
        unknown_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[str, tuple[str | None, float]] = OrderedDict()
        self._max = max_entries
        self._lifetimes = (known_seconds, unknown_seconds)
        self._clock = clock
        self._lock = threading.Lock()  # one resolver may serve several requests at once (the local stack)

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, digest: str) -> tuple[bool, str | None]:
        """(found, project): whether the cache still knows the key, and its project (``None``: no such key)."""
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return False, None
            project, expires = entry
            if self._clock() >= expires:
                del self._entries[digest]
                return False, None
            self._entries.move_to_end(digest)
            return True, project

    def remember(self, digest: str, project: str | None) -> None:
        """Keep a lookup's answer, forgetting the least recently used one when full."""
        lifetime = self._lifetimes[0] if project is not None else self._lifetimes[1]
        with self._lock:
            self._entries[digest] = (project, self._clock() + lifetime)
            self._entries.move_to_end(digest)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
