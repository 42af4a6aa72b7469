"""The model port on the OpenAI Responses API, in background mode, through the ``openai`` SDK.

Any provider that speaks the Responses API works: the base URL and the key are configuration.
The SDK retries 429, 5xx and timeouts itself (``max_retries``, exponential backoff with
jitter); what still fails after that becomes a threadrunner error the state machine retries
or turns into ``last_error``.

The calls go through the SDK's own request methods (``client.post``/``client.get``, its documented
way to any path) and the answer is read into the few fields the loop uses (:class:`_Response`):
the SDK's typed ``Response`` is a union of hundreds of models whose validators take about 0.4 s to
build on a cold start, for fields the loop never reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import openai
from pydantic import BaseModel, ConfigDict, ValidationError

from ..domain.common import LastError, Usage
from ..domain.model_turn import FunctionCallRequest, ModelTurn, TurnRequest
from ..errors import ModelRateLimited, ModelRequestRejected, ModelUnavailable
from ..observability import logger


class ResponsesModelClient:
    """:class:`threadrunner.ports.ModelClient` on ``client.responses``."""

    def __init__(self, client: openai.OpenAI | Callable[[], openai.OpenAI]) -> None:
        # A factory lets the key be re-read when its cache expires (a rotated secret).
        self._client = client if callable(client) else (lambda: client)

    def create(self, request: TurnRequest) -> ModelTurn:
        return self._call(lambda client: client.post("/responses", body=_create_params(request), cast_to=object))

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
        except openai.APIConnectionError as exc:
            logger.warning("model provider unreachable", extra={"detail": str(exc)})
            raise ModelUnavailable("The model provider could not be reached.") from exc
        except openai.APIStatusError as exc:
            logger.warning("model provider error", extra={"status": exc.status_code, "detail": exc.message})
            if exc.status_code >= 500:
                raise ModelUnavailable(f"The model provider is unavailable (HTTP {exc.status_code}).") from exc
            raise ModelRequestRejected(f"The model provider refused the request (HTTP {exc.status_code}).") from exc


def _create_params(request: TurnRequest) -> dict[str, Any]:
    items: list[dict[str, Any]] = [{"role": m.role, "content": m.text} for m in request.messages]
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
    if request.file_search_vector_store_ids:
        tools.append({"type": "file_search", "vector_store_ids": request.file_search_vector_store_ids})
    if tools:
        params["tools"] = tools
        params["tool_choice"] = _tool_choice(request.tool_choice)
    text_format = _text_format(request.response_format)
    if text_format is not None:
        params["text"] = {"format": text_format}
    return params


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
