"""Bounds that keep one tenant's mistakes or floods from costing memory, reads or stalled queues."""

from __future__ import annotations

import json
import secrets

import pytest

from threadrunner.domain.api_keys import KeyCache
from threadrunner.domain.message import Message, text_content
from threadrunner.domain.run import (
    RequiredAction,
    RequiredActionFunction,
    RequiredActionFunctionToolCall,
    Run,
    SubmitToolOutputs,
)
from threadrunner.domain.run_event import MAX_REPLY_BYTES, RunEvent, run_event


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_given_a_flood_of_wrong_keys_when_cached_then_the_cache_stays_bounded():
    cache = KeyCache(max_entries=100, known_seconds=60, unknown_seconds=10, clock=Clock())
    cache.remember("known", "acme")
    for _ in range(5000):
        cache.remember(secrets.token_hex(16), None)
    assert len(cache) == 100
    assert cache.lookup("known") == (False, None)  # pushed out by the flood, looked up again next time


def test_given_known_and_unknown_keys_when_time_passes_then_unknown_ones_are_forgotten_first():
    clock = Clock()
    cache = KeyCache(max_entries=10, known_seconds=60, unknown_seconds=10, clock=clock)
    cache.remember("known", "acme")
    cache.remember("unknown", None)
    clock.now = 9
    assert cache.lookup("unknown") == (True, None) and cache.lookup("known") == (True, "acme")
    clock.now = 10
    assert cache.lookup("unknown") == (False, None) and cache.lookup("known") == (True, "acme")
    clock.now = 60
    assert cache.lookup("known") == (False, None)


def _run(**fields) -> Run:
    return Run(id="run_1", created_at=1, thread_id="thread_1", assistant_id="asst_1", model="m", **fields)


def _eventbridge_size(event: RunEvent) -> int:
    """An entry's size as EventBridge counts it: its strings' UTF-8 bytes."""
    return sum(len(value.encode()) for value in event.entry().values())


@pytest.mark.parametrize("filler", ["é", "\x1f"])
def test_given_a_long_reply_when_announced_then_the_event_fits_eventbridge_and_points_to_the_message(filler):
    reply = Message(
        id="msg_1", created_at=1, thread_id="thread_1", role="assistant", content=text_content(filler * 300_000)
    )

    event = run_event("acme", _run(status="completed"), None, reply)

    assert _eventbridge_size(event) < 256 * 1024
    assert len(json.dumps(event.detail.reply, ensure_ascii=False).encode()) <= MAX_REPLY_BYTES + 2
    detail = event.detail
    assert detail.reply_truncated and detail.message_id == "msg_1" and reply.text.startswith(detail.reply or "")


@pytest.mark.parametrize("filler", ["y", "\x01"], ids=["letters", "raw control characters, six bytes each in JSON"])
def test_given_many_calls_with_long_arguments_when_announced_then_the_event_fits_eventbridge(filler):
    calls = [
        RequiredActionFunctionToolCall(
            id=f"call_{index}", function=RequiredActionFunction(name="f", arguments='{"x": "' + filler * 10_000 + '"}')
        )
        for index in range(64)
    ]
    run = _run(
        status="requires_action",
        required_action=RequiredAction(submit_tool_outputs=SubmitToolOutputs(tool_calls=calls)),
    )

    event = run_event("acme", run, None, None)

    assert _eventbridge_size(event) < 256 * 1024
    assert [c.id for c in event.detail.required_action.submit_tool_outputs.tool_calls] == [c.id for c in calls]
    assert len(run.required_action.submit_tool_outputs.tool_calls[0].function.arguments) > 10_000  # the run keeps them


def _form_event(fields: int) -> dict:
    """An API Gateway event of a ``multipart/form-data`` body with ``fields`` text fields."""
    body = "".join(f'--b0\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nvalue {i}\r\n' for i in range(fields))
    return {"headers": {"content-type": "multipart/form-data; boundary=b0"}, "body": body + "--b0--\r\n"}


def test_given_a_form_of_more_parts_than_files_need_when_read_then_it_is_refused_before_it_is_parsed(monkeypatch):
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    from threadrunner.api import multipart
    from threadrunner.errors import InvalidRequest

    parsed: list[int] = []

    class CountingParser(multipart.BytesParser):
        def parsebytes(self, text: bytes, headersonly: bool = False):  # type: ignore[override]
            if not headersonly:  # a body's parts, not the Content-Type alone
                parsed.append(len(text))
            return super().parsebytes(text, headersonly)

    monkeypatch.setattr(multipart, "BytesParser", CountingParser)

    fields = multipart.form(APIGatewayProxyEventV2(_form_event(multipart.MAX_FORM_PARTS)))
    assert len(fields) == multipart.MAX_FORM_PARTS and len(parsed) == 1
    parsed.clear()
    with pytest.raises(InvalidRequest) as refused:
        multipart.form(APIGatewayProxyEventV2(_form_event(40_000)))

    assert refused.value.message == (
        f"The form has more than {multipart.MAX_FORM_PARTS} parts; files and parts are sent with a few fields."
    )
    assert parsed == []  # refused on a count of its boundaries, not after parsing 40,000 parts
