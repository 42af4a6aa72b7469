"""The model port on the OpenAI Responses API, in background mode, through the ``openai`` SDK.

Any provider that speaks the Responses API works: the base URL and the key are configuration.
The SDK retries 429, 5xx and timeouts itself (``max_retries``, exponential backoff with
jitter); what still fails after that becomes a threadrunner error the state machine retries
or turns into ``last_error``.

The calls go through the SDK's own request methods (``client.post``/``client.get``, its documented
way to any path) and the answer is read into the few fields the loop uses (:class:`_Response`):
the SDK's typed ``Response`` is a union of hundreds of models whose validators take about 0.4 s to
build on a cold start, for fields the loop never reads.

With ``streaming`` (``MODEL_STREAMING``, the default) a response is created with ``stream: true``, so
that runs' streams can follow it (the Responses API streams a background response, and takes its
stream up again from a sequence number, only when it was created streaming): the create reads the
stream until the response has started, and leaves it; the response goes on in the background.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx2
import openai
from pydantic import BaseModel, ConfigDict, ValidationError

from ..domain.common import LastError, Usage
from ..domain.model_turn import FunctionCallRequest, InputMessage, ModelTurn, TurnEvent, TurnRequest
from ..errors import ModelRateLimited, ModelRequestRejected, ModelUnavailable
from ..observability import logger


class ResponsesModelClient:
    """:class:`threadrunner.ports.ModelClient` on ``client.responses``."""

    def __init__(self, client: openai.OpenAI | Callable[[], openai.OpenAI], streaming: bool = True) -> None:
        # A factory lets the key be re-read when its cache expires (a rotated secret).
        self._client = client if callable(client) else (lambda: client)
        self._streaming = streaming

    def create(self, request: TurnRequest) -> ModelTurn:
        params = _create_params(request)
        if not self._streaming:
            return self._call(lambda client: client.post("/responses", body=params, cast_to=object))
        return self._call(
            lambda client: _started(
                client.post(
                    "/responses",
                    body=params | {"stream": True},
                    cast_to=object,
                    stream=True,
                    stream_cls=openai.Stream[object],
                )
            )
        )

    def events(self, response_id: str, after: int | None = None) -> Iterator[TurnEvent]:
        query = {"stream": "true"} | ({"starting_after": str(after)} if after is not None else {})
        try:
            stream = self._client().get(
                f"/responses/{quote(response_id, safe='')}",
                cast_to=object,
                options={"params": query},
                stream=True,
                stream_cls=openai.Stream[object],
            )
            with stream:
                for event in stream:
                    yield _event(event)
        except (openai.APIError, httpx2.HTTPError) as exc:
            logger.warning("model stream broken", extra={"detail": str(exc)[:500]})
            raise ModelUnavailable("The model provider's stream broke.") from exc

    def retrieve(self, response_id: str) -> ModelTurn:
        return self._call(lambda client: client.get(f"/responses/{quote(response_id, safe='')}", cast_to=object))

    def cancel(self, response_id: str) -> ModelTurn:
        return self._call(
            lambda client: client.post(f"/responses/{quote(response_id, safe='')}/cancel", cast_to=object)
        )

    def _call(self, operation: Callable[[openai.OpenAI], object]) -> ModelTurn:
        # What the provider says goes to the logs only: it can name the provider's account or key, and
        # last_error is read by every tenant.
        try:
            answer = operation(self._client())
            return _turn(_Response.model_validate(answer))
        except ValidationError as exc:
            logger.warning("model provider answer unreadable", extra={"detail": str(exc)[:500]})
            raise ModelUnavailable("The model provider's answer could not be read.") from exc
        except openai.RateLimitError as exc:
            logger.warning("model provider rate limiting", extra={"detail": exc.message})
            raise ModelRateLimited("The model provider is rate limiting (HTTP 429).") from exc
        except (openai.APIConnectionError, httpx2.HTTPError) as exc:  # the second: a stream that broke
            logger.warning("model provider unreachable", extra={"detail": str(exc)})
            raise ModelUnavailable("The model provider could not be reached.") from exc
        except openai.APIStatusError as exc:
            logger.warning("model provider error", extra={"status": exc.status_code, "detail": exc.message})
            if exc.status_code >= 500:
                raise ModelUnavailable(f"The model provider is unavailable (HTTP {exc.status_code}).") from exc
            raise ModelRequestRejected(f"The model provider refused the request (HTTP {exc.status_code}).") from exc


def _create_params(request: TurnRequest) -> dict[str, Any]:
    items: list[dict[str, Any]] = [{"role": m.role, "content": _content(m)} for m in request.messages]
    items += [{"type": "function_call_output", "call_id": o.call_id, "output": o.output} for o in request.tool_outputs]
    params: dict[str, Any] = {
        "model": request.model,
        "input": items,
        "background": True,
        "store": True,  # a background response must be stored to be retrieved later
        "metadata": request.metadata,
        "parallel_tool_calls": request.parallel_tool_calls,
    }
    optional = {
        "instructions": request.instructions,
        "previous_response_id": request.previous_response_id,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "max_output_tokens": request.max_output_tokens,
    }
    params |= {key: value for key, value in optional.items() if value is not None}
    tools: list[dict[str, Any]] = []
    if request.tools:
        tools += [
            {
                "type": "function",
                "name": tool.name,
                "description": tool.description or "",
                "parameters": tool.parameters or {"type": "object", "properties": {}},
                # The Responses API defaults to strict schemas; Assistants-era schemas rarely qualify.
                "strict": bool(tool.strict),
            }
            for tool in request.tools
        ]
    if request.code_interpreter:
        tools.append({"type": "code_interpreter", "container": {"type": "auto"}})
    if tools:
        params["tools"] = tools
        params["tool_choice"] = _tool_choice(request.tool_choice)
    text_format = _text_format(request.response_format)
    if text_format is not None:
        params["text"] = {"format": text_format}
    return params


def _content(message: InputMessage) -> str | list[dict[str, Any]]:
    """A message's content: its text, with its images as ``input_image`` parts (their URLs, read files as data)."""
    if not message.images:
        return message.text
    parts: list[dict[str, Any]] = [{"type": "input_text", "text": message.text}] if message.text else []
    parts += [{"type": "input_image", "image_url": image.url, "detail": image.detail} for image in message.images]
    return parts


def _tool_choice(choice: Any) -> Any:
    """Assistants' ``{"type": "function", "function": {"name": ...}}`` is flat in the Responses API."""
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "name": choice.get("function", {}).get("name")}
    return choice or "auto"


def _text_format(response_format: Any) -> dict[str, Any] | None:
    if not isinstance(response_format, dict) or response_format.get("type") in (None, "text"):
        return None
    if response_format["type"] == "json_schema":
        schema = response_format.get("json_schema", {})
        return {"type": "json_schema", **{k: v for k, v in schema.items() if v is not None}}
    return {"type": response_format["type"]}


def _started(stream: openai.Stream[object]) -> object:
    """The response a create's stream shows once the response has started (or ended), the stream left behind.

    Reading on to ``response.in_progress`` rather than leaving at ``response.created``: a stream cut at
    its very first event can leave a background response queued for good. A stream that breaks once the
    response exists still gives the response: it runs in the background, and a second one would cost twice.
    """
    latest: object = None
    try:
        with stream:
            for event in stream:
                if not isinstance(event, dict) or "response" not in event:
                    continue
                latest = event["response"]
                if event.get("type") != "response.created":
                    break
    except (openai.APIConnectionError, httpx2.HTTPError):
        if latest is None:
            raise
    if latest is None:
        raise ModelUnavailable("The model provider's stream ended before the response was created.")
    return latest


_ENDINGS = ("response.completed", "response.failed", "response.incomplete")


def _event(raw: object) -> TurnEvent:
    """A provider's stream event as a run's stream uses it."""
    event = raw if isinstance(raw, dict) else {}
    kind, extra = "other", {}
    match event.get("type"):
        case "response.output_item.added":
            item = event.get("item") or {}
            if item.get("type") in ("message", "function_call"):
                kind = item["type"]
                extra = {"call_id": item.get("call_id") or "", "name": item.get("name") or ""}
        case "response.output_text.delta":
            kind, extra = "text", {"text": event.get("delta") or ""}
        case "response.function_call_arguments.delta":
            kind, extra = "arguments", {"text": event.get("delta") or ""}
        case ending if ending in _ENDINGS:
            kind = "ended"
    return TurnEvent.model_validate(
        {
            "sequence_number": event.get("sequence_number", -1),
            "kind": kind,
            "output_index": event.get("output_index") or 0,
        }
        | extra
    )


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Usage(_Lenient):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


class _Error(_Lenient):
    code: str | None = None
    message: str = ""


class _Content(_Lenient):
    type: str
    text: str = ""


class _Item(_Lenient):
    type: str
    call_id: str = ""
    name: str = ""
    arguments: str = ""
    content: list[_Content] | None = None


class _Response(_Lenient):
    """What the loop reads of a Responses API ``response`` object."""

    id: str
    status: str | None = None
    output: list[_Item] = []
    usage: _Usage | None = None
    error: _Error | None = None

    @property
    def output_text(self) -> str:
        """The text of every ``output_text`` part of the output's messages, as the SDK's property joins it."""
        return "".join(
            part.text
            for item in self.output
            if item.type == "message"
            for part in item.content or []
            if part.type == "output_text"
        )


def _turn(response: _Response) -> ModelTurn:
    usage = None
    if response.usage is not None:
        usage = Usage(
            prompt_tokens=response.usage.input_tokens,
            completion_tokens=response.usage.output_tokens,
            total_tokens=response.usage.total_tokens,
        )
    error = None
    if response.error is not None:
        code = "rate_limit_exceeded" if response.error.code == "rate_limit_exceeded" else "server_error"
        logger.warning("model response failed", extra={"code": response.error.code, "detail": response.error.message})
        error = LastError(code=code, message=f"The model's response failed ({response.error.code}).")
    calls = [
        FunctionCallRequest(call_id=item.call_id, name=item.name, arguments=item.arguments)
        for item in response.output
        if item.type == "function_call"
    ]
    return ModelTurn(
        id=response.id,
        status=response.status or "in_progress",
        output_text=response.output_text,
        function_calls=calls,
        usage=usage,
        error=error,
    )
