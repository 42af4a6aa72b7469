"""The API resolver: routers, error answers, and the one entry point :func:`handle`."""

from __future__ import annotations

import base64
import contextvars
import json
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..app import projects
from ..config import Settings
from ..domain.api_keys import KeyCache, key_hash, redact
from ..domain.files import MAX_REQUEST_FILE_BYTES
from ..errors import RateLimited, StoreUnavailable, ThreadrunnerError, TooManyOpenStreams
from ..observability import log_keys, logger
from ..ports import (
    ApiKeys,
    Embeddings,
    FileContents,
    IndexJobs,
    ModelClient,
    Provider,
    RunControl,
    Stores,
    ToolCatalogue,
    ToolInvoker,
    VectorIndex,
)
from . import (
    assistants,
    console,
    conversations,
    errors,
    files,
    forwarding,
    openapi,
    prompts,
    runs,
    server_tools,
    stream_limits,
    streams,
    threads,
    usage,
    users,
    vector_stores,
)
from .resolver import ConcurrentResolver

app = ConcurrentResolver(enable_validation=True)
for module in (
    assistants,
    threads,
    runs,
    files,
    vector_stores,
    users,
    usage,
    server_tools,
    conversations,
    prompts,
    forwarding,
):
    app.include_router(module.router)


@app.exception_handler(ThreadrunnerError)
def _threadrunner_error(exc: ThreadrunnerError) -> Response:
    return errors.from_error(exc)


@app.exception_handler(RequestValidationError)
def _validation_error(exc: RequestValidationError) -> Response:
    try:
        body = app.current_event.json_body
    except ValueError:
        body = None
    return errors.from_validation(exc, body)


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    logger.exception("unhandled error")
    return errors.error_response(500, errors.SERVER_ERROR, kind="server_error")


@app.not_found
def _not_found(_exc: Exception) -> Response:
    event = app.current_event
    # A base_url without its trailing slash, as the SDK's module-level client keeps it, glues /v1 to the route.
    glued = event.path.startswith("/v1") and not event.path.startswith("/v1/") and app.serves(f"/v1/{event.path[3:]}")
    return errors.unknown_url(event.http_method, event.path, glued)


@dataclass
class ApiDeps:
    """The adapters the API runs on; the handler builds them once per container."""

    settings: Settings
    stores_for: Callable[[str], Stores]
    """The stores of one project."""
    run_control: RunControl
    tools: ToolCatalogue
    """The server tools: checked when an assistant or a run declares them, listed at /v1/server_tools."""
    functions: ToolInvoker
    """The Lambda functions that may be tools: their tags are read when one is registered."""
    keys: ApiKeys
    idempotency_store: BasePersistenceLayer
    """Where the answers to requests with an ``Idempotency-Key`` are kept (Powertools idempotency)."""
    model: Callable[[], ModelClient]
    """The model, made on first use: streamed runs follow the responses their loops work on."""
    provider: Callable[[], Provider]
    """The provider's HTTP API, made on first use, for the calls threadrunner forwards (the rest of /v1)."""
    contents: FileContents
    """The bytes of files."""
    jobs: IndexJobs
    """The IndexFunction's queue."""
    index: VectorIndex
    """The vector stores' chunks."""
    embeddings: Callable[[], Embeddings | None]
    """The provider's embeddings, made on first use (``None`` without an embedding model)."""

    def __post_init__(self) -> None:
        self._keys_seen = KeyCache(
            self.settings.key_cache_entries, self.settings.key_cache_seconds, self.settings.unknown_key_cache_seconds
        )
        config = IdempotencyConfig(
            event_key_jmespath="[project, key]",
            payload_validation_jmespath="[method, path, query, body]",
            expires_after_seconds=self.settings.idempotency_hours * 3600,
        )
        self.idempotency_config = config
        self.answer_once = idempotent_function(
            data_keyword_argument="request", persistence_store=self.idempotency_store, config=config
        )(_answer_once)

    def count_request(self, stores: Stores) -> None:
        """Count the request in the project's minute; :class:`RateLimited` beyond its limit."""
        limit = projects.limits_of(stores.projects.get_policy(), self.settings.run_defaults).requests_per_minute
        if limit is None:
            return
        now = time.time()
        if not stores.projects.count_request(int(now // 60), limit):
            raise RateLimited(
                f"Rate limit reached: the project may make {limit} requests per minute.",
                retry_after_seconds=60 - int(now % 60),
            )

    def project_for(self, api_key: str) -> str | None:
        """The project of a key; answers are cached (a revoked key stops working after KEY_CACHE_SECONDS)."""
        digest = key_hash(api_key)
        found, project = self._keys_seen.lookup(digest)
        if not found:
            project = self.keys.project_for(digest)
            self._keys_seen.remember(digest, project)
        return project


_FORMS = re.compile(r"/v1/files|/v1/uploads/[^/]+/parts")
"""Where files are sent, as ``multipart/form-data``."""
FORM_OVERHEAD_BYTES = 64 * 1024
"""What a form carries beside the file: its boundaries, headers and other fields."""

_PATH_IDS = re.compile(r"/(thread|run)s/((?:thread|run)_[A-Za-z0-9_-]+)")
"""The thread and run ids of a path, for the keys of every log line of the request."""
_resolving: contextvars.ContextVar[_Resolving] = contextvars.ContextVar("resolving")


class _NotRemembered(Exception):
    """An answer that is not a success: returned to the caller, not kept for a retry with the same key."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__(answer.get("statusCode"))
        self.answer = answer


@dataclass
class _Resolving:
    """The request ``_answer_once`` answers, and its answer once it has one."""

    event: dict[str, Any]
    lambda_context: LambdaContext
    answer: dict[str, Any] | None = None


KEPT_ANSWER_BYTES = 256 * 1024
"""The largest answer body kept as it is for retries: an idempotency record is one DynamoDB item (400 KB)."""

_READ_BACK = {
    "assistant": "/v1/assistants/{id}",
    "thread": "/v1/threads/{id}",
    "thread.message": "/v1/threads/{thread_id}/messages/{id}",
    "thread.run": "/v1/threads/{thread_id}/runs/{id}",
}
"""Where an object of each kind is read: a retry of a request whose answer was too large to keep reads it back."""


def _answer_once(request: dict[str, Any]) -> dict[str, Any]:
    """Answer a request and return what is kept for its retries: the answer, packed when it is large."""
    resolving = _resolving.get()
    answer: dict[str, Any] = app.resolve(resolving.event, resolving.lambda_context)
    if not 200 <= answer["statusCode"] < 300:
        raise _NotRemembered(answer)
    resolving.answer = answer
    if streams.streamed():  # kept as the run the stream shows: a retry streams it again
        view = streams.view()
        if view is None:  # a forwarded call's stream: the provider's, nothing to give again
            raise _NotRemembered(answer)
        return {"statusCode": answer["statusCode"], "stream": view}
    body = answer.get("body") or ""
    if len(body) <= KEPT_ANSWER_BYTES:
        return answer
    packed = base64.b64encode(zlib.compress(body.encode())).decode()
    if len(packed) <= KEPT_ANSWER_BYTES:
        return {**answer, "body": packed, "packed": True}
    created = json.loads(body)  # too big even packed: keep where the object is read back
    path = _READ_BACK.get(created["object"])
    if path is None:  # an object with no GET of its own (a queued user message): a retry is told, not served twice
        return {"statusCode": answer["statusCode"], "unkept": {"object": created["object"], "id": created["id"]}}
    return {
        "statusCode": answer["statusCode"],
        "read_back": path.format(id=created["id"], thread_id=created.get("thread_id")),
    }


def _replayed(kept: dict[str, Any], event: dict[str, Any], lambda_context: LambdaContext) -> dict[str, Any]:
    """A kept answer as a retry gets it: unpacked, or the object read back as it is now."""
    if kept.get("packed"):
        answer = {key: value for key, value in kept.items() if key != "packed"}
        return {**answer, "body": zlib.decompress(base64.b64decode(kept["body"])).decode()}
    if "unkept" in kept:
        return _refuse(
            409,
            f"The request with this Idempotency-Key succeeded ({kept['unkept']['object']} {kept['unkept']['id']}), "
            "but its answer was too large to keep for a retry.",
            code="idempotency_answer_unavailable",
            param="Idempotency-Key",
        )
    if "stream" in kept:
        try:
            return _as_answer(streams.again(runs.router, kept["stream"]))  # a router reads the request's context
        except ThreadrunnerError as gone:  # the thread was deleted since
            return _as_answer(errors.from_error(gone))
    if "read_back" in kept:
        http = {**event["requestContext"]["http"], "method": "GET", "path": kept["read_back"]}
        read = {**event, "rawPath": kept["read_back"], "body": None, "rawQueryString": ""}
        read["requestContext"] = {**event["requestContext"], "http": http}
        return app.resolve(read, lambda_context)
    return kept


def handle(
    event: dict[str, Any], lambda_context: LambdaContext, deps: ApiDeps, stream_seconds: float
) -> dict[str, Any]:
    """Answer one API Gateway HTTP API event, with the headers the hosted API put on every answer.

    ``x-request-id`` is API Gateway's request id, the ``correlation_id`` of the request's log lines;
    ``openai-processing-ms`` is the time the function spent on it. A streamed run's answer has for body an
    iterator of its events' text, lasting at most ``stream_seconds`` (the entry point writes or joins it).
    """
    started = time.perf_counter()
    try:
        answer = _handle(event, lambda_context, deps, stream_seconds)
    except (StoreUnavailable, IdempotencyPersistenceLayerError) as unavailable:
        # The table failed outside the resolver (key check, limits, idempotency records): else API Gateway would
        # answer its own bare 500, without a request id.
        logger.warning("table unavailable", extra={"error": type(unavailable).__name__})
        answer = _as_answer(errors.from_error(StoreUnavailable("The service is unavailable; retry shortly.")))
    headers = answer.get("headers") or {}
    headers["x-request-id"] = event.get("requestContext", {}).get("requestId") or lambda_context.aws_request_id
    headers["openai-processing-ms"] = str(round((time.perf_counter() - started) * 1000))
    # Every answer leaves a line, refusals too (without the key): what a support ticket's request id finds.
    http = event.get("requestContext", {}).get("http", {})
    path = users.without_user_ids(http.get("path", ""))
    logger.info("request", extra={"method": http.get("method"), "path": path, "status": answer["statusCode"]})
    return {**answer, "headers": headers}


def _handle(
    event: dict[str, Any], lambda_context: LambdaContext, deps: ApiDeps, stream_seconds: float
) -> dict[str, Any]:
    """The answer itself. The key is checked before anything parses the request."""
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    method = event.get("requestContext", {}).get("http", {}).get("method", "")
    path = event.get("rawPath", "")
    if method not in errors.SERVED_METHODS:  # a browser's preflight carries no key: it learns what is served
        return _as_answer(errors.method_not_allowed(method))
    if method == "GET" and path == "/v1/openapi.json":  # open without a key, as the console's files are
        return openapi.answer(app)
    if method == "GET" and console.serves(path):  # static files, no data: the page calls /v1 with its user's key
        return console.answer(path, headers)
    scheme, _, api_key = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not api_key.strip():
        return _refuse(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using "
            "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    project = deps.project_for(api_key.strip())
    if project is None:
        return _refuse(401, f"Incorrect API key provided: {redact(api_key.strip())}.", code="invalid_api_key")
    log_keys(project=project, **{f"{kind}_id": value for kind, value in _PATH_IDS.findall(path)})
    stores = deps.stores_for(project)
    try:
        deps.count_request(stores)
    except RateLimited as limited:
        return _as_answer(errors.from_error(limited))
    refusal = _refuse_body(event, headers, deps.settings.max_request_bytes, form=_FORMS.fullmatch(path) is not None)
    if refusal is not None:
        return refusal
    app.append_context(
        stores=stores,
        run_control=deps.run_control,
        tools=deps.tools,
        functions=deps.functions,
        settings=deps.settings,
        model=deps.model,
        provider=deps.provider,
        stream_seconds=stream_seconds,
        contents=deps.contents,
        jobs=deps.jobs,
        index=deps.index,
        embeddings=deps.embeddings,
    )
    try:
        return stream_limits.counted(
            stores,
            deps.settings.run_defaults,
            event,
            stream_seconds,
            lambda: _answer(event, lambda_context, deps, project, headers.get("idempotency-key")),
        )
    except TooManyOpenStreams as refused:
        return _as_answer(errors.from_error(refused))


def _answer(
    event: dict[str, Any], lambda_context: LambdaContext, deps: ApiDeps, project: str, key: str | None
) -> dict[str, Any]:
    method = event.get("requestContext", {}).get("http", {}).get("method", "")
    if method != "POST" or not key:
        return app.resolve(event, lambda_context)
    # A retried POST with the same key gets the first answer, and creates nothing new.
    deps.idempotency_config.register_lambda_context(lambda_context)
    request = {
        "project": project,
        "key": key,
        "method": method,
        "path": event.get("rawPath"),
        "query": event.get("rawQueryString"),
        "body": event.get("body"),
    }
    resolving = _Resolving(event, lambda_context)
    token = _resolving.set(resolving)
    try:
        kept = deps.answer_once(request=request)
        # The request answered now gets its whole answer; a retry gets the kept one.
        return resolving.answer or _replayed(kept, event, lambda_context)
    except _NotRemembered as failed:
        return failed.answer
    except IdempotencyAlreadyInProgressError:
        return _refuse(
            409,
            "A request with this Idempotency-Key is still being processed; retry later.",
            code="idempotency_key_in_use",
        )
    except IdempotencyValidationError:
        return _refuse(
            400,
            "This Idempotency-Key was already used with a different request.",
            code="idempotency_key_reused",
            param="Idempotency-Key",
        )
    finally:
        _resolving.reset(token)


def _refuse_body(
    event: dict[str, Any], headers: dict[str, str], limit: int, form: bool = False
) -> dict[str, Any] | None:
    """413 for a body over the limit, 415 for a body that is not JSON (or, where files are sent, a form);
    ``None`` when the body may be read."""
    body = event.get("body") or ""
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if form and media_type == "multipart/form-data":
        limit, media_type = MAX_REQUEST_FILE_BYTES + FORM_OVERHEAD_BYTES, "form"
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode("utf-8", "surrogatepass"))
    if size > limit:
        return _refuse(
            413,
            f"The request body of {size} bytes is larger than the limit of {limit} bytes.",
            code="request_too_large",
        )
    if media_type == "form":
        return None
    if body and media_type not in ("application/json", ""):
        expected = "multipart/form-data" if form else "application/json"
        return _refuse(
            415,
            f"Unsupported Content-Type '{media_type}': send the body as {expected}.",
            code="unsupported_media_type",
        )
    if not body:
        return None
    try:
        text = base64.b64decode(body).decode("utf-8") if event.get("isBase64Encoded") else body
    except ValueError:  # binascii.Error and UnicodeDecodeError are both ValueErrors
        return _refuse(400, "We could not parse the JSON body of your request: it is not UTF-8 text.")
    try:
        json.loads(text)
    except RecursionError:
        return _refuse(400, "We could not parse the JSON body of your request: it is nested too deeply.")
    except json.JSONDecodeError:
        pass  # the resolver answers malformed JSON in the hosted API's words
    except ValueError:  # Python refuses integers of more than 4300 digits
        return _refuse(400, "We could not parse the JSON body of your request: it holds a number with too many digits.")
    return None


def _refuse(status: int, message: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """An error answered before the resolver runs."""
    return _as_answer(errors.error_response(status, message, code=code, param=param))


def _as_answer(response: Response) -> dict[str, Any]:
    """A response as the handler answers API Gateway."""
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": "application/json", **{k: str(v) for k, v in response.headers.items()}},
        "body": response.body,
        "isBase64Encoded": False,
    }
