"""The console (docs/console.md): the files of a page that shows a project's runs, served without a key.

They hold no data. The page asks ``/v1`` for everything with the API key its user signs in with, so it shows
what that key's project may read, and nothing else. The headers keep the browser to the page's own files: no
inline script or style, nothing from elsewhere, no framing, no referrer.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from .. import errors

ROOT = "/console"

_FILES = {
    ROOT: ("index.html", "text/html; charset=utf-8"),
    ROOT + "/": ("index.html", "text/html; charset=utf-8"),
    ROOT + "/console.js": ("console.js", "text/javascript; charset=utf-8"),
    ROOT + "/console.css": ("console.css", "text/css; charset=utf-8"),
}
"""What each path serves: a file of this folder and its type."""

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Checked with the browser every time (a 304 while unchanged): a deployment's new files show at once.
    "Cache-Control": "no-cache",
}


def serves(path: str) -> bool:
    """Whether ``path`` is the console's (the page, its files, or a file it does not have)."""
    return path == ROOT or path.startswith(ROOT + "/")


@functools.cache
def _file(name: str) -> tuple[str, str]:
    """A file's text and its entity tag."""
    text = (Path(__file__).parent / name).read_text(encoding="utf-8")
    return text, '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def answer(path: str, headers: dict[str, str]) -> dict[str, Any]:
    """The file at ``path`` as the handler answers API Gateway: 304 when the browser's copy (``If-None-Match``,
    in the lower-cased request ``headers``) is current, 404 for a path the console does not have."""
    found = _FILES.get(path)
    if found is None:
        missing = errors.error_response(404, f"Invalid URL (GET {path})", code="unknown_url")
        return {
            "statusCode": 404,
            "headers": {"Content-Type": "application/json"},
            "body": missing.body,
            "isBase64Encoded": False,
        }
    name, content_type = found
    text, tag = _file(name)
    if tag in {seen.strip().removeprefix("W/") for seen in headers.get("if-none-match", "").split(",")}:
        return {"statusCode": 304, "headers": {**HEADERS, "ETag": tag}, "body": "", "isBase64Encoded": False}
    return {
        "statusCode": 200,
        "headers": {**HEADERS, "Content-Type": content_type, "ETag": tag},
        "body": text,
        "isBase64Encoded": False,
    }
