"""Small helpers of the end-to-end tests."""

from __future__ import annotations

import json
from typing import Any

from threadrunner.domain.server_tools import declaration

server_tool = declaration
"""How a client declares one of the server's tools (``threadrunner:<name>``) on an assistant or a run."""


def converse(client: Any, text: str, tools: list[dict[str, Any]]) -> tuple[Any, Any]:
    """Create an assistant with ``tools``, a thread with ``text``, and run it to the end. Returns (run, thread)."""
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", instructions="Be helpful.", tools=tools)
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content=text)
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, timeout=60)
    return run, thread


def steps(client: Any, run: Any) -> list[Any]:
    return list(client.beta.threads.runs.steps.list(run_id=run.id, thread_id=run.thread_id, order="asc"))


def tool_calls(client: Any, run: Any) -> list[Any]:
    return [call for step in steps(client, run) if step.type == "tool_calls" for call in step.step_details.tool_calls]


def reply(client: Any, thread: Any) -> Any:
    return client.beta.threads.messages.list(thread.id, order="desc", limit=1).data[0]


def output_of(call: Any) -> Any:
    return json.loads(call.function.output)


def slow_run(client: Any, model: Any, marker: str, seconds: float = 30.0, ignore_cancel: bool = False) -> Any:
    """A run whose model response takes ``seconds`` (the offline model's ``slow`` fault), once it is in progress.

    Returns (run, thread).
    """
    model.inject("slow", match=marker, seconds=seconds)
    if ignore_cancel:
        model.inject("ignore_cancel", match=marker, on="cancel")
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"Hello {marker}"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    wait_for(lambda: client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "in_progress")
    return run, thread


def model_response(stack: Any, marker: str) -> Any:
    """The offline model's response to the conversation that mentions ``marker``."""
    assert stack.model_server is not None
    return next(r for r in stack.model_server.model.responses.values() if marker in r.text)


def wait_for(condition: Any, timeout: float = 30.0, interval: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


WEATHER_FUNCTION = {
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
"""A client function: an assistant's tool holds it as ``{"type": "function", "function": ...}``, a Responses
request's tool as ``{"type": "function", **...}``."""

LOCAL_TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_local_time",
        "description": "The local time in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
"""A function the server's registry does not know: the client's."""

ACCOUNT_BALANCE_TOOL = {
    "type": "function",
    "function": {
        "name": "get_account_balance",
        "description": "The user's account balance.",
        "parameters": {"type": "object", "properties": {}},
    },
}
"""Another client-side function, without arguments."""
