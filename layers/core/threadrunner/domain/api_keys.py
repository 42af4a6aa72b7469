"""API keys: only their hashes are stored."""

from __future__ import annotations

import hashlib
import secrets

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
