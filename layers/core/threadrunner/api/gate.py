"""The gate: what anyone may read, then who the caller is and whether the request may be read at all.

In order: a method the API does not serve (405); the paths open without a key (the OpenAPI document, the console's
static files, the provider's webhooks); the key (401); the project's requests per minute (429); the body's size, type
and text (413, 415, 400). All of it before anything parses the request: Powertools validates a body before any
middleware runs, and a request with a bad key must get its 401 first (docs/architecture.md, "API keys").
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import replace

from ..app import projects
from ..domain.api_keys import key_hash, redact
from ..domain.files import MAX_REQUEST_FILE_BYTES
from ..errors import RateLimited
from ..observability import log_keys
from ..ports import Stores
from . import console, errors, openapi, routes, webhooks
from .scope import Answer, ApiDeps, Incoming, Next, RequestScope

_FORMS = re.compile(r"/v1/files|/v1/uploads/[^/]+/parts")
"""Where files are sent, as ``multipart/form-data``."""
FORM_OVERHEAD_BYTES = 64 * 1024
"""What a form carries beside the file: its boundaries, headers and other fields."""

_PATH_IDS = re.compile(r"/(thread|run)s/((?:thread|run)_[A-Za-z0-9_-]+)")
"""The thread and run ids of a path, for the keys of every log line of the request."""


def admit(incoming: Incoming, next: Next) -> Answer:
    """The stage: an open path answered, a refusal, or the request on with its project's scope."""
    method, path, headers = incoming.method, incoming.path, incoming.headers
    if method not in errors.SERVED_METHODS:  # a browser's preflight carries no key: it learns what is served
        return errors.as_answer(errors.method_not_allowed(method))
    if method == "GET" and path == "/v1/openapi.json":  # open without a key, as the console's files are
        return openapi.answer(routes.app)
    if method == "GET" and console.serves(path):  # static files, no data: the page calls /v1 with its user's key
        return console.answer(path, headers)
    if webhooks.serves(method, path):  # the provider's: its signature lets it in, not a key
        return webhooks.answer(incoming)
    deps = incoming.deps
    scheme, _, api_key = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not api_key.strip():
        return _refusal(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using "
            "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    project = project_for(deps, api_key.strip())
    if project is None:
        return _refusal(401, f"Incorrect API key provided: {redact(api_key.strip())}.", code="invalid_api_key")
    log_keys(project=project, **{f"{kind}_id": value for kind, value in _PATH_IDS.findall(path)})
    stores = deps.stores_for(project)
    try:
        count_request(deps, stores)
    except RateLimited as limited:
        return errors.as_answer(errors.from_error(limited))
    refusal = _refuse_body(incoming, deps.settings.max_request_bytes, form=_FORMS.fullmatch(path) is not None)
    if refusal is not None:
        return refusal
    return next(replace(incoming, admitted=RequestScope(deps, project, stores, incoming.stream_seconds)))


def project_for(deps: ApiDeps, api_key: str) -> str | None:
    """The project of a key; answers are cached (a revoked key stops working after KEY_CACHE_SECONDS)."""
    digest = key_hash(api_key)
    found, project = deps.keys_seen.lookup(digest)
    if not found:
        project = deps.keys.project_for(digest)
        deps.keys_seen.remember(digest, project)
    return project


def count_request(deps: ApiDeps, stores: Stores) -> None:
    """Count the request in the project's minute; :class:`RateLimited` beyond its limit."""
    limit = projects.limits_of(stores.projects.get_policy(), deps.settings.run_defaults).requests_per_minute
    if limit is None:
        return
    now = time.time()
    if not stores.projects.count_request(int(now // 60), limit):
        raise RateLimited(
            f"Rate limit reached: the project may make {limit} requests per minute.",
            retry_after_seconds=60 - int(now % 60),
        )


def _refuse_body(incoming: Incoming, limit: int, form: bool = False) -> Answer | None:
    """413 for a body over the limit, 415 for a body that is not JSON (or, where files are sent, a form);
    ``None`` when the body may be read."""
    event = incoming.event
    body = event.get("body") or ""
    media_type = incoming.headers.get("content-type", "").split(";")[0].strip().lower()
    if form and media_type == "multipart/form-data":
        limit, media_type = MAX_REQUEST_FILE_BYTES + FORM_OVERHEAD_BYTES, "form"
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode("utf-8", "surrogatepass"))
    if size > limit:
        return _refusal(
            413,
            f"The request body of {size} bytes is larger than the limit of {limit} bytes.",
            code="request_too_large",
        )
    if media_type == "form":
        return None
    if body and media_type not in ("application/json", ""):
        expected = "multipart/form-data" if form else "application/json"
        return _refusal(
            415,
            f"Unsupported Content-Type '{media_type}': send the body as {expected}.",
            code="unsupported_media_type",
        )
    if not body:
        return None
    try:
        text = base64.b64decode(body).decode("utf-8") if event.get("isBase64Encoded") else body
    except ValueError:  # binascii.Error and UnicodeDecodeError are both ValueErrors
        return _refusal(400, "We could not parse the JSON body of your request: it is not UTF-8 text.")
    try:
        json.loads(text)
    except RecursionError:
        return _refusal(400, "We could not parse the JSON body of your request: it is nested too deeply.")
    except json.JSONDecodeError:
        pass  # the resolver answers malformed JSON in the hosted API's words
    except ValueError:  # Python refuses integers of more than 4300 digits
        problem = "it holds a number with too many digits"
        return _refusal(400, f"We could not parse the JSON body of your request: {problem}.")
    return None


def _refusal(status: int, message: str, code: str | None = None) -> Answer:
    """An error answered before the resolver runs."""
    return errors.as_answer(errors.error_response(status, message, code=code))
