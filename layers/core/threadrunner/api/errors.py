"""Every error the API answers, in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``.

Routes raise; this module alone turns exceptions into status codes and bodies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from ..errors import (
    BudgetExceeded,
    Conflict,
    InvalidRequest,
    InvalidTransition,
    NotFound,
    ProviderTimedOut,
    ProviderUnreachable,
    RateLimited,
    StoreUnavailable,
    ThreadrunnerError,
    TooLarge,
    TooManyActiveRuns,
    TooManyOpenStreams,
    WebhookUnverified,
)
from .wire import ErrorBody, ErrorDetail

_STATUS = {
    NotFound: 404,
    WebhookUnverified: 401,
    InvalidRequest: 400,
    InvalidTransition: 400,
    Conflict: 409,
    TooLarge: 413,
    BudgetExceeded: 429,
    TooManyActiveRuns: 429,
    TooManyOpenStreams: 429,
    RateLimited: 429,
    StoreUnavailable: 503,
    ProviderUnreachable: 502,
    ProviderTimedOut: 504,
}
# OpenAI's error types for a spent quota and for too many requests; the SDK raises both as RateLimitError.
_TYPES = {
    BudgetExceeded: "insufficient_quota",
    TooManyActiveRuns: "requests",
    TooManyOpenStreams: "requests",
    RateLimited: "requests",
    StoreUnavailable: "server_error",
    ProviderUnreachable: "server_error",
    ProviderTimedOut: "server_error",
}
SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"
"""What a 500 says, as the hosted API said it: nothing of what went wrong."""

ACTIVE_RUNS_RETRY_AFTER_SECONDS = 5
"""What a refusal for too many unfinished runs tells the client to wait (runs usually take seconds)."""

_TYPE_NAMES = {
    "string": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "dict": "an object",
    "model_attributes": "an object",
    "model": "an object",
    "list": "an array",
}


def error_response(
    status: int,
    message: str,
    *,
    kind: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = ErrorBody(error=ErrorDetail(message=message, type=kind, param=param, code=code))
    return Response(status_code=status, content_type="application/json", body=body.model_dump_json(), headers=headers)


def as_answer(response: Response) -> dict[str, Any]:
    """A response given without the resolver (a refusal of the front door, a retry's kept stream), as the handler
    answers API Gateway."""
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": "application/json", **{k: str(v) for k, v in response.headers.items()}},
        "body": response.body,
        "isBase64Encoded": False,
    }


SERVED_METHODS = ("GET", "POST", "DELETE")
"""The methods the API answers; any other (``PUT``, ``HEAD``, a browser's ``OPTIONS`` preflight) answers 405."""


def method_not_allowed(method: str) -> Response:
    """405, with the methods the API answers in ``Allow`` (and no CORS headers: browsers of other origins are not
    served, docs/compatibility.md)."""
    allowed = ", ".join(SERVED_METHODS)
    return error_response(
        405,
        f"The method {method[:20]} is not allowed: the API answers {allowed}.",
        code="method_not_allowed",
        headers={"Allow": allowed},
    )


def unknown_url(method: str, path: str, glued: bool = False) -> Response:
    """The 404 of a path no route serves; ``glued`` when it is a route with ``/v1`` glued to it (``/v1assistants``):
    then the message says what to change."""
    message = f"Invalid URL ({method} {path})"
    if glued:
        message += (
            ': the slash after /v1 is missing. The client\'s base_url must end in "/v1/" '
            '(openai.base_url = "https://<host>/v1/", or openai -b https://<host>/v1/).'
        )
    return error_response(404, message, code="unknown_url")


def from_error(exc: ThreadrunnerError) -> Response:
    status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 500)
    kind = next((name for error, name in _TYPES.items() if isinstance(exc, error)), "invalid_request_error")
    wait = exc.retry_after_seconds if isinstance(exc, RateLimited) else ACTIVE_RUNS_RETRY_AFTER_SECONDS
    limited = isinstance(exc, RateLimited | TooManyActiveRuns | TooManyOpenStreams)
    headers = {"retry-after": str(wait)} if limited else None
    return error_response(status, exc.message, kind=kind, param=exc.param, code=exc.code, headers=headers)


_MEMBER_LABEL = re.compile(r".*\[.*|(constrained-)?(str|int|float|bool|bytes|none|list|dict)|[a-z]+(-[a-z]+)+|[A-Z]\w*")
"""How pydantic names the member of a union it tried (``str``, ``constrained-str``, ``list[str]``,
``tagged-union[...]``, ``literal['auto']``, a model's class name): a part of an error's location the caller never
wrote, unless the caller's object has a key of that name."""


def _kinds(location: tuple[Any, ...], body: Any) -> list[str]:
    """What each part of pydantic's location after ``body`` is: ``written`` by the caller (a key, an index), or
    pydantic's name of a union ``member`` or of the ``tag`` of a discriminated union it tried."""
    parts = location[1:]
    kinds, value, tagged = [], body, False
    for index, part in enumerate(parts):
        following = parts[index + 1] if index + 1 < len(parts) else None
        keyed = isinstance(value, dict) and part in value
        member = isinstance(part, str) and not keyed and _MEMBER_LABEL.fullmatch(part) is not None
        is_tag = (
            not tagged
            and isinstance(value, dict)
            and value.get("type") == part
            and (following is None or following in value or part not in value)
        )
        tagged = is_tag
        kinds.append("member" if member else "tag" if is_tag else "written")
        if member or is_tag:
            continue
        value = (
            value.get(part)
            if isinstance(value, dict)
            else (value[part] if isinstance(value, list) and isinstance(part, int) and part < len(value) else None)
        )
    return kinds


def _param(location: tuple[Any, ...], body: Any) -> str | None:
    """``tools[0].function.name`` from pydantic's location, without the parts the caller never wrote."""
    text = ""
    for part, kind in zip(location[1:], _kinds(location, body), strict=True):
        if kind == "written":
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def _relevant(errors: Sequence[Any], body: Any) -> Any:
    """The error to report: for a value that matches no member of a union (``content`` as a string or parts), the
    one of the member that got further into it (a bad part), rather than the first member's (not a string)."""
    first = errors[0]
    location = tuple(first["loc"])
    kinds = _kinds(location, body)
    if "member" not in kinds:
        return first
    union = kinds.index("member") + 1  # where the member's name stands in the location
    return next(
        (e for e in errors[1:] if tuple(e["loc"])[:union] == location[:union] and len(e["loc"]) > union + 1), first
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    for python_type, name in (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a number"),
        (str, "a string"),
        (dict, "an object"),
        (list, "an array"),
    ):
        if isinstance(value, python_type):
            return name
    return "a value"


def from_validation(exc: RequestValidationError, body: Any) -> Response:
    """The first problem of a request that failed validation, worded as the hosted API words it."""
    errors = exc.errors()
    error = errors[0]
    if error["type"] == "literal_error" and len(errors) > 1 and not isinstance(error.get("input"), str):
        # A keyword or an object (response_format, tool_choice): the object's problem, or a wrong type.
        if not isinstance(error.get("input"), dict):
            param = _param(tuple(error["loc"])[:-1], body)
            return error_response(
                400,
                f"Invalid type for '{param}': expected a string or an object, "
                f"but got {_json_type(error.get('input'))} instead.",
                param=param,
                code="invalid_type",
            )
        error = errors[1]
    if error is errors[0]:
        error = _relevant(errors, body)
    kind, location = error["type"], tuple(error["loc"])
    param = _param(location, body)
    if kind == "json_invalid":
        return error_response(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
            "library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
        )
    if kind == "missing":
        if param is None:
            return error_response(
                400, "A JSON object is required as the request body.", code="missing_required_parameter"
            )
        return error_response(
            400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
        )
    if kind == "extra_forbidden":
        return error_response(
            400, f"Unrecognized request argument supplied: {param}", param=param, code="unknown_parameter"
        )
    expected = next((name for prefix, name in _TYPE_NAMES.items() if kind.startswith(prefix)), None)
    if expected is not None and kind.endswith(("_type", "_parsing")):
        target = f"'{param}'" if param else "body"
        return error_response(
            400,
            f"Invalid type for {target}: expected {expected}, but got {_json_type(error.get('input'))} instead.",
            param=param,
            code="invalid_type",
        )
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return error_response(400, f"Invalid value for '{param}': {message}.", param=param, code="invalid_value")
