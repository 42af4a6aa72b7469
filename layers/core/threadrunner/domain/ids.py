"""Object ids with the Assistants API prefixes that sort in creation order.

An id is the prefix plus 22 base62 characters encoding a 48-bit millisecond timestamp and
80 random bits. Sorting ids as strings sorts them by creation time, which is what cursor
pagination over DynamoDB sort keys needs; within one millisecond a process keeps them
strictly increasing (the random part is incremented, as ULIDs do).
"""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # ASCII order
_WIDTH = 22  # 62**22 > 2**128
_RANDOM_BITS = 80

_lock = threading.Lock()
_last = 0


def _base62(number: int) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits)).rjust(_WIDTH, "0")


def new_id(prefix: str, separator: str = "_") -> str:
    """Return a new id such as ``msg_0Ab...`` that sorts after every id made before it in this process.

    Parameters
    ----------
    prefix
        The object prefix without separator: ``asst``, ``thread``, ``msg``, ``run``, ``step``, ``file``.
    separator
        ``_``, or ``-`` for files (``file-...``), as the hosted API wrote them.
    """
    global _last
    with _lock:
        value = (int(time.time() * 1000) << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)
        if value <= _last:
            value = _last + 1
        _last = value
    return f"{prefix}{separator}{_base62(value)}"
