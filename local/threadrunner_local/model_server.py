"""The offline model server: a test double of the Responses API, on loopback.

It speaks the subset threadrunner uses (``POST /v1/responses`` in background mode,
``GET /v1/responses/{id}``, ``POST /v1/responses/{id}/cancel``, ``/v1/embeddings``) and what threadrunner
forwards (chat completions, moderations, models, the rest of ``/v1/responses``), and decides with
:mod:`threadrunner_local.model_policy`, a deterministic policy, never a language model.
A response is ``queued``, then ``in_progress``, and finishes ``latency`` seconds after it
was created, so callers really poll. It streams as the Responses API does: a create with
``stream: true`` answers its events (server-sent, each with its ``sequence_number``), and
``GET /v1/responses/{id}?stream=true&starting_after=N`` resumes them; the text arrives in
several deltas spread over the latency. Faults can be injected through ``/_offline/faults``
(HTTP 429, HTTP 500, a response that ends ``failed``, a stream that drops), each for a number
of requests and optionally only for requests whose text contains a marker, so tests can
target one run.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from threadrunner.api.http_server import BodyRefused, read_body
from threadrunner.domain.budget import estimate_tokens

from .http_adapter import LocalHTTPService
from .model_endpoints import MODELS, chat_chunks, chat_completion, model_object, moderation
from .model_policy import decide, formatted
from .model_recall import recall

FAULT_KINDS = {
    "http_429": ("create", "retrieve"),
    "http_500": ("create", "retrieve"),
    "failed": ("create",),
    "bad_json": ("create",),
    "slow": ("create",),
    "ignore_cancel": ("cancel",),
    "drop_stream": ("stream",),
}
"""Each kind of fault, with the requests (``on``) it can hit."""


@dataclass
class Fault:
    kind: str
    """What happens to a matching request:

    * ``http_429`` / ``http_500``: answered with that status instead (``create``, ``retrieve``);
    * ``failed``: the response ends ``failed``; ``bad_json``: its text is not JSON whatever the format;
      ``slow``: it takes ``seconds`` instead of the latency (``create``);
    * ``ignore_cancel``: the cancel is acknowledged but the response finishes anyway (``cancel``);
    * ``drop_stream``: the stream's connection is cut after ``events`` events, with no end (``stream``).
    """
    times: int = 1
    """How many matching requests it hits."""
    match: str | None = None
    """Only requests whose text contains this."""
    on: str = "create"
    """``create``, ``retrieve`` or ``cancel``."""
    seconds: float = 0.0
    """For ``slow``: how long the response takes."""
    events: int = 3
    """For ``drop_stream``: the events sent before the cut."""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(FAULT_KINDS)}")
        if self.on not in FAULT_KINDS[self.kind]:
            raise ValueError(
                f"a {self.kind} fault hits {' or '.join(FAULT_KINDS[self.kind])} requests, not {self.on!r}"
            )


@dataclass
class StoredResponse:
    body: dict[str, Any]
    """The response as it will be once finished."""
    created: float
    finish_at: float
    text: str
    """Every text of the request's conversation, for fault matching."""
    items: list[dict[str, Any]]
    """The conversation up to and including this response's output."""
    fails: bool = False
    cancelled_at: float | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None


DEFAULT_EMBEDDING_DIMENSIONS = 1536
MAX_EMBEDDING_INPUTS = 2048
MAX_EMBEDDING_INPUT_TOKENS = 8192
MAX_EMBEDDING_REQUEST_TOKENS = 300_000
"""OpenAI's limits on ``/v1/embeddings``: inputs a request, tokens an input, tokens a request, which the double
holds with threadrunner's own count of tokens (``estimate_tokens``), so a text too long for the provider fails
here too."""


def embeddings_refusal(counts: list[int]) -> str | None:
    """Why an embeddings request of inputs of ``counts`` tokens is refused, as OpenAI refuses it; ``None`` if not."""
    if len(counts) > MAX_EMBEDDING_INPUTS:
        return f"'input' holds {len(counts)} texts; at most {MAX_EMBEDDING_INPUTS} are embedded at once."
    if counts and max(counts) > MAX_EMBEDDING_INPUT_TOKENS:
        return (
            f"This model's maximum context length is {MAX_EMBEDDING_INPUT_TOKENS} tokens, however you requested "
            f"{max(counts)} tokens in an input. Please reduce your input."
        )
    if sum(counts) > MAX_EMBEDDING_REQUEST_TOKENS:
        return f"The inputs hold {sum(counts)} tokens; at most {MAX_EMBEDDING_REQUEST_TOKENS} are embedded at once."
    return None


def embedding_of(text: str, dimensions: int) -> list[float]:
    """A text's embedding in the double: its words and their three-letter pieces hashed into ``dimensions`` counts,
    normalised. Not a language model's: texts are near when they share words (or pieces of words), which is what
    the tests of search need, the same text always giving the same vector."""
    vector = [0.0] * dimensions
    for word in re.findall(r"[^\W_]+", text.lower()):
        features = [word] + [word[i : i + 3] for i in range(max(1, len(word) - 2))]
        for feature in features:
            digest = hashlib.sha256(feature.encode()).digest()
            vector[int.from_bytes(digest[:4], "big") % dimensions] += 1.0 if digest[4] % 2 else -1.0
    norm = sum(value * value for value in vector) ** 0.5
    return [value / norm for value in vector] if norm else vector


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _text_of(item: dict[str, Any]) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(item.get("output", item.get("arguments", "")))


def function_call_item(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A ``function_call`` output item of a response."""
    return {
        "type": "function_call",
        "id": f"fc_{call_id.removeprefix('call_')}",
        "call_id": call_id,
        "name": name,
        "arguments": json.dumps(arguments),
        "status": "completed",
    }


def _response_body(
    response_id: str,
    request: dict[str, Any],
    output: list[dict[str, Any]],
    usage: tuple[int, int],
    status: str,
    incomplete: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Responses API ``response`` object for ``request`` with ``output`` and (input, output) token ``usage``."""
    usage_in, usage_out = usage
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "background": request.get("background") is True,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": request.get("model"),
        "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": request.get("previous_response_id"),
        "store": request.get("store", True),
        "temperature": request.get("temperature", 1.0),
        "top_p": request.get("top_p", 1.0),
        "text": {"format": (request.get("text") or {}).get("format") or {"type": "text"}},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools") or [],
        "truncation": "disabled",
        "metadata": request.get("metadata") or {},
        "usage": {
            "input_tokens": usage_in,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": usage_out,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage_in + usage_out,
        },
    }


MAX_RESPONSES = 5000
"""The responses the double keeps (the oldest go first): a long-running ``make run`` holds bounded memory."""
MAX_REQUESTS = 1000
"""The create requests ``/_offline/requests`` shows, the latest ones."""


@dataclass
class OfflineModel:
    """The state of the double: stored responses, pending faults, the requests it saw."""

    latency: float = 1.0
    api_key: str = ""
    responses: OrderedDict[str, StoredResponse] = field(default_factory=OrderedDict)
    faults: list[Fault] = field(default_factory=list)
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_REQUESTS))
    lock: threading.Lock = field(default_factory=threading.Lock)
    kept_in: Path | None = None
    """A file where its responses outlive the process, as a provider's stored responses do (``make run``)."""
    store: bool = True
    """Whether it keeps responses, as a provider's response store does. Off (as vLLM's is by default), a response
    is answered and forgotten: retrieving it, its input items and ``previous_response_id`` find nothing, and
    background mode is refused. threadrunner's conversations need no store."""

    def __post_init__(self) -> None:
        if self.kept_in is None:
            return
        if self.kept_in.exists():
            for line in self.kept_in.read_bytes().splitlines():
                try:
                    kept = json.loads(line)
                    stored = None if "deleted" in kept else StoredResponse(**kept)
                except (ValueError, TypeError):
                    break  # a last line cut by a kill
                if stored is None:
                    self.responses.pop(kept["deleted"], None)
                    continue
                self.responses[stored.body["id"]] = stored
                self.responses.move_to_end(stored.body["id"])
        while len(self.responses) > MAX_RESPONSES:
            self.responses.popitem(last=False)
        lines = b"".join(json.dumps(asdict(stored)).encode() + b"\n" for stored in self.responses.values())
        self.kept_in.write_bytes(lines)  # compacted: one line per response it still has

    def keep(self, stored: StoredResponse) -> None:
        """Store a response under its id (again, when it changed), forgetting the oldest beyond
        :data:`MAX_RESPONSES`."""
        with self.lock:
            self.responses[stored.body["id"]] = stored
            self.responses.move_to_end(stored.body["id"])
            while len(self.responses) > MAX_RESPONSES:
                self.responses.popitem(last=False)
            self._write(asdict(stored))

    def forget(self, response_id: str) -> bool:
        """Delete a response; False if it has none of that id."""
        with self.lock:
            gone = self.responses.pop(response_id, None)
            if gone is not None:
                self._write({"deleted": response_id})
        return gone is not None

    def _write(self, line: dict[str, Any]) -> None:
        if self.kept_in is not None:
            with self.kept_in.open("ab") as out:
                out.write(json.dumps(line).encode() + b"\n")

    def take_fault(self, on: str, text: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.on == on and (fault.match is None or fault.match in text):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def create(self, request: dict[str, Any], fault: Fault | None = None) -> StoredResponse:
        previous = self.responses.get(request.get("previous_response_id") or "")
        if request.get("previous_response_id") and previous is None:
            raise LookupError(f"Previous response with id '{request['previous_response_id']}' not found.")
        raw_input = request.get("input", [])
        new_items = [{"role": "user", "content": raw_input}] if isinstance(raw_input, str) else list(raw_input)
        history = (previous.items if previous else []) + new_items
        self.requests.append(request)
        calls = {item["call_id"]: item for item in history if item.get("type") == "function_call"}
        # The outputs just given: those after the user's last message (a whole conversation holds earlier ones).
        asked = max((n for n, item in enumerate(history) if item.get("role") == "user"), default=-1)
        outputs = [
            (calls[item["call_id"]]["name"], json.loads(calls[item["call_id"]]["arguments"] or "{}"), item["output"])
            for item in history[asked + 1 :]
            if item.get("type") == "function_call_output" and item.get("call_id") in calls
        ]
        user_texts = [_text_of(item) for item in history if item.get("role") == "user"]
        text_format = (request.get("text") or {}).get("format")
        decision = decide(
            request.get("tools") or [],
            user_texts[-1] if user_texts else "",
            outputs,
            request.get("tool_choice", "auto"),
            request.get("parallel_tool_calls", True) is not False,
        )
        if not decision.calls and not outputs:
            decision.text = recall(user_texts) or decision.text
        output: list[dict[str, Any]] = []
        for name, arguments in decision.calls:
            output.append(function_call_item(_id("call"), name, arguments))
        reply = formatted(decision.text, text_format) if not decision.calls else ""
        if fault and fault.kind == "bad_json" and reply:
            reply = "{this is not JSON"
        status, incomplete = "completed", None
        limit = request.get("max_output_tokens")
        if reply and limit and _tokens(reply) > limit:
            reply, status, incomplete = reply[: limit * 4], "incomplete", {"reason": "max_output_tokens"}
        if reply:
            output.append(
                {
                    "type": "message",
                    "id": _id("msg"),
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": reply, "annotations": []}],
                }
            )
        prompt_text = (request.get("instructions") or "") + " ".join(_text_of(item) for item in history)
        usage_in, usage_out = (
            _tokens(prompt_text),
            _tokens(reply + "".join(c["arguments"] for c in output if c["type"] == "function_call")),
        )
        now = time.time()
        body = _response_body(_id("resp"), request, output, (usage_in, usage_out), status, incomplete)
        stored = StoredResponse(
            body=body,
            created=now,
            finish_at=now + (fault.seconds if fault and fault.kind == "slow" else self.latency),
            text=" ".join(_text_of(item) for item in history),
            items=history + output,
            fails=fault is not None and fault.kind == "failed",
        )
        if self.store:
            self.keep(stored)
        else:
            body["store"] = False
        return stored

    def seed(self, response_id: str, user_text: str, output: list[dict[str, Any]]) -> None:
        """Store a finished response under a fixed id (the sample world of ``events/`` refers to it)."""
        now = time.time()
        history: list[dict[str, Any]] = [{"role": "user", "content": user_text}]
        body = _response_body(response_id, {"model": "gpt-4.1-mini"}, output, (_tokens(user_text), 10), "completed")
        self.keep(StoredResponse(body=body, created=now, finish_at=now, text=user_text, items=history + output))

    def view(self, stored: StoredResponse, at: float | None = None) -> dict[str, Any]:
        """The response as a caller sees it now (or ``at`` that time)."""
        now = time.time() if at is None else at
        body = dict(stored.body)
        if stored.cancelled:
            return body | {"status": "cancelled", "output": [], "usage": None}
        if now < stored.finish_at:
            queued = now < stored.created + (stored.finish_at - stored.created) * 0.2
            return body | {"status": "queued" if queued else "in_progress", "output": [], "usage": None}
        if stored.fails:
            return body | {
                "status": "failed",
                "output": [],
                "usage": None,
                "error": {"code": "server_error", "message": "The offline model was told to fail."},
            }
        return body


DELTAS_PER_TEXT = 6
"""Into how many deltas a text (or a call's arguments) is cut when it streams."""


def text_pieces(text: str, count: int = DELTAS_PER_TEXT) -> list[str]:
    """``text`` in about ``count`` pieces that join back to it, cut after spaces where it has them."""
    if not text:
        return []
    words = re.findall(r"\S*\s*", text)[:-1] or [text]
    size = -(-len(words) // count)
    return ["".join(words[start : start + size]) for start in range(0, len(words), size)]


def timeline(model: OfflineModel, stored: StoredResponse) -> list[tuple[float, dict[str, Any]]]:
    """Every event the response streams, with the time it happens, numbered by ``sequence_number``.

    ``response.created`` when it is created, ``response.in_progress`` when it starts, then its output
    items (added, their text or arguments in deltas, done) spread until it finishes, and the final
    ``response.completed`` (or ``failed``, ``incomplete``) when it does. A cancelled response streams
    what happened before the cancel, and no end.
    """
    start, span = stored.created, stored.finish_at - stored.created
    final = model.view(replace(stored, cancelled_at=None), at=stored.finish_at)
    shown = {key: value for key, value in final.items() if key not in ("output", "usage")}
    events: list[tuple[float, dict[str, Any]]] = [
        (start, {"type": "response.created", "response": shown | {"status": "queued", "output": [], "usage": None}}),
        (
            start + span * 0.2,
            {
                "type": "response.in_progress",
                "response": shown | {"status": "in_progress", "output": [], "usage": None},
            },
        ),
    ]
    items: list[dict[str, Any]] = []
    for index, item in enumerate(final["output"]):
        if item["type"] == "message":
            text = "".join(part.get("text", "") for part in item["content"])
            part = {"type": "output_text", "text": "", "annotations": []}
            items.append(
                {
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": item | {"status": "in_progress", "content": []},
                }
            )
            items.append(
                {
                    "type": "response.content_part.added",
                    "item_id": item["id"],
                    "output_index": index,
                    "content_index": 0,
                    "part": part,
                }
            )
            for piece in text_pieces(text):
                items.append(
                    {
                        "type": "response.output_text.delta",
                        "item_id": item["id"],
                        "output_index": index,
                        "content_index": 0,
                        "delta": piece,
                    }
                )
            items.append(
                {
                    "type": "response.output_text.done",
                    "item_id": item["id"],
                    "output_index": index,
                    "content_index": 0,
                    "text": text,
                }
            )
            items.append(
                {
                    "type": "response.content_part.done",
                    "item_id": item["id"],
                    "output_index": index,
                    "content_index": 0,
                    "part": part | {"text": text},
                }
            )
        elif item["type"] == "function_call":
            items.append(
                {
                    "type": "response.output_item.added",
                    "output_index": index,
                    "item": item | {"status": "in_progress", "arguments": ""},
                }
            )
            for piece in text_pieces(item["arguments"], 3):
                items.append(
                    {
                        "type": "response.function_call_arguments.delta",
                        "item_id": item["id"],
                        "output_index": index,
                        "delta": piece,
                    }
                )
            items.append(
                {
                    "type": "response.function_call_arguments.done",
                    "item_id": item["id"],
                    "output_index": index,
                    "arguments": item["arguments"],
                }
            )
        items.append({"type": "response.output_item.done", "output_index": index, "item": item})
    for position, event in enumerate(items):
        events.append((start + span * (0.2 + 0.8 * (position + 1) / (len(items) + 1)), event))
    ending = {"completed": "response.completed", "incomplete": "response.incomplete"}.get(
        final["status"], "response.failed"
    )
    events.append((stored.finish_at, {"type": ending, "response": final}))
    numbered = [(at, event | {"sequence_number": number}) for number, (at, event) in enumerate(events)]
    if stored.cancelled_at is not None:
        return [(at, event) for at, event in numbered if at <= stored.cancelled_at]
    return numbered


def _handler(model: OfflineModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, code: str | None = None) -> None:
            # retry-after-ms keeps the SDK's retries of injected faults short.
            headers = {"retry-after-ms": "100"} if status in (429, 500) else None
            self._send(
                status,
                {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}},
                headers,
            )

        def _body(self) -> Any:
            return json.loads(read_body(self) or b"{}")

        def _authorized(self) -> bool:
            presented = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            if model.api_key and presented != model.api_key:
                # Worded as OpenAI words it, with the start and end of the key: what must never reach a tenant.
                self._error(401, f"Incorrect API key provided: {presented[:3]}***{presented[-4:]}.", "invalid_api_key")
                return False
            return True

        def _fault(self, on: str, text: str) -> Fault | None:
            fault = model.take_fault(on, text)
            if fault and fault.kind == "http_429":
                self._error(429, "Rate limit reached (injected by the offline model).", "rate_limit_exceeded")
            elif fault and fault.kind == "http_500":
                self._error(500, "The server had an error (injected by the offline model).")
            return fault

        def _guarded(self, serve: Callable[[], None]) -> None:
            try:
                serve()
            except BodyRefused as refused:
                self.close_connection = True  # the unread body must not be taken for the next request
                self._error(refused.status, str(refused))
            except ValueError as exc:  # a body that is not JSON
                self._error(400, f"The body is not JSON: {exc}")
            except Exception as exc:  # a double answers whatever it is sent; a dropped connection explains nothing
                self._error(500, f"The offline model failed on this request: {type(exc).__name__}: {exc}")

        def do_POST(self) -> None:
            self._guarded(self._post)

        def do_GET(self) -> None:
            self._guarded(self._get)

        def do_DELETE(self) -> None:
            self._guarded(self._delete)

        def _post(self) -> None:
            path = self.path.split("?")[0]
            body = self._body()
            if path == "/_offline/faults":
                try:
                    model.faults.append(Fault(**body))
                except (TypeError, ValueError) as exc:
                    return self._error(400, str(exc))
                return self._send(200, {"faults": len(model.faults)})
            if path == "/_offline/config":
                model.latency = float(body.get("latency", model.latency))
                model.store = bool(body.get("store", model.store))
                return self._send(200, {"latency": model.latency, "store": model.store})
            if not self._authorized():
                return None
            if path == "/v1/embeddings":
                return self._embeddings(body)
            if path == "/v1/chat/completions":
                return self._chat(body)
            if path == "/v1/moderations":
                return self._send(200, moderation(body))
            if path == "/v1/responses/input_tokens":
                count = _tokens(json.dumps(body.get("input", "")))
                return self._send(200, {"object": "response.input_tokens", "input_tokens": count})
            if path == "/v1/responses":
                text = json.dumps(body.get("input", ""))
                if body.get("background") is True and not model.store:
                    return self._error(400, "Background mode needs the response store, which is disabled.")
                fault = self._fault("create", text)
                if fault and fault.kind.startswith("http_"):
                    return None
                try:
                    stored = model.create(body, fault)
                except LookupError as exc:
                    return self._error(400, str(exc), "previous_response_not_found")
                if body.get("stream"):
                    return self._stream(stored, after=-1)
                if body.get("background") is not True:  # answered when it ends, as the API does
                    time.sleep(max(0.0, stored.finish_at - time.time()))
                return self._send(200, model.view(stored))
            match = re.fullmatch(r"/v1/responses/([^/]+)/cancel", path)
            if match and match.group(1) in model.responses:
                stored = model.responses[match.group(1)]
                if model.view(stored)["status"] not in ("queued", "in_progress"):
                    return self._error(400, "Only a response that is still running can be cancelled.")
                fault = model.take_fault("cancel", stored.text)
                if not (fault and fault.kind == "ignore_cancel"):
                    stored.cancelled_at = time.time()
                    model.keep(stored)
                return self._send(200, model.view(stored))
            return self._error(404, f"Invalid URL (POST {path})")

        def _get(self) -> None:
            path = self.path.split("?")[0]
            if path == "/_offline/requests":
                return self._send(200, {"requests": list(model.requests)})
            if not self._authorized():
                return None
            if path == "/v1/models":
                return self._send(200, {"object": "list", "data": [model_object(name) for name in MODELS]})
            match = re.fullmatch(r"/v1/models/([^/]+)", path)
            if match:
                if match.group(1) not in MODELS:
                    return self._error(404, f"The model '{match.group(1)}' does not exist", "model_not_found")
                return self._send(200, model_object(match.group(1)))
            match = re.fullmatch(r"/v1/responses/([^/]+)/input_items", path)
            if match and match.group(1) in model.responses:
                items = [item for item in model.responses[match.group(1)].items if item.get("type") != "function_call"]
                page = [{"id": f"item_{n}", **item} for n, item in enumerate(items)]
                ends = {"first_id": page[0]["id"], "last_id": page[-1]["id"]} if page else {}
                return self._send(200, {"object": "list", "data": page, "has_more": False} | ends)
            match = re.fullmatch(r"/v1/responses/([^/]+)", path)
            if match and match.group(1) in model.responses:
                stored = model.responses[match.group(1)]
                query = dict(parse_qsl(urlsplit(self.path).query))
                if query.get("stream") == "true":
                    return self._stream(stored, after=int(query.get("starting_after", "-1")))
                if self._fault("retrieve", stored.text):
                    return None
                return self._send(200, model.view(stored))
            return self._error(404, f"No response found with id '{path.rsplit('/', 1)[-1]}'.")

        def _embeddings(self, body: dict[str, Any]) -> None:
            """Deterministic embeddings: texts that share words are near each other (``embedding_of``)."""
            texts = body.get("input")
            texts = [texts] if isinstance(texts, str) else texts
            dimensions = body.get("dimensions") or DEFAULT_EMBEDDING_DIMENSIONS
            if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts) or not 0 < dimensions <= 4096:
                return self._error(400, "input must be a string or an array of strings; dimensions 1 to 4096.")
            counts = [estimate_tokens(text) for text in texts]
            refused = embeddings_refusal(counts)
            if refused:
                return self._error(400, refused)
            data = [
                {"object": "embedding", "index": index, "embedding": embedding_of(text, dimensions)}
                for index, text in enumerate(texts)
            ]
            tokens = sum(counts)
            usage = {"prompt_tokens": tokens, "total_tokens": tokens}
            return self._send(200, {"object": "list", "data": data, "model": body.get("model", ""), "usage": usage})

        def _chat(self, body: dict[str, Any]) -> None:
            """A chat completion, after the latency; streamed as chunks spread over it with ``stream: true``."""
            if self._fault("create", json.dumps(body.get("messages", ""))):
                return None  # an injected HTTP error was answered
            model.requests.append(body)
            completion = chat_completion(body)
            if not body.get("stream"):
                time.sleep(model.latency)
                return self._send(200, completion)
            include_usage = ((body.get("stream_options") or {}).get("include_usage")) is True
            pieces = text_pieces(completion["choices"][0]["message"]["content"] or "")
            chunks = chat_chunks(completion, pieces, include_usage)
            self._start_stream()
            for chunk in chunks:
                time.sleep(model.latency / len(chunks))
                self._write_chunk(f"data: {json.dumps(chunk)}\n\n")
            self._write_chunk("data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            return None

        def _start_stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

        def _write_chunk(self, text: str) -> None:
            data = text.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _stream(self, stored: StoredResponse, after: int) -> None:
            """The response's events after ``after``, each sent when it happens, as server-sent events."""
            fault = model.take_fault("stream", stored.text)
            self._start_stream()
            try:
                for sent, (at, event) in enumerate(timeline(model, stored)[after + 1 :]):
                    if fault and sent == fault.events:
                        self.close_connection = True  # cut, as a dropped connection is: no last chunk
                        return
                    time.sleep(max(0.0, at - time.time()))
                    if stored.cancelled_at is not None and at > stored.cancelled_at:
                        break
                    self._write_chunk(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n")
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the reader left: the response goes on without it

        def _delete(self) -> None:
            if self.path == "/_offline/faults":
                model.faults.clear()
                return self._send(200, {"faults": 0})
            match = re.fullmatch(r"/v1/responses/([^/]+)", self.path)
            if match and self._authorized():
                if not model.forget(match.group(1)):
                    return self._error(404, f"No response found with id '{match.group(1)}'.")
                return self._send(200, {"id": match.group(1), "object": "response", "deleted": True})
            return self._error(404, f"Invalid URL (DELETE {self.path})")

    return Handler


class OfflineModelServer(LocalHTTPService):
    """The double, served on ``127.0.0.1`` in a background thread."""

    def __init__(
        self, latency: float = 1.0, api_key: str = "", port: int = 0, kept_in: Path | None = None, store: bool = True
    ) -> None:
        self.model = OfflineModel(latency=latency, api_key=api_key, kept_in=kept_in, store=store)
        super().__init__(port, _handler(self.model), "offline-model")
