"""The local stack as a single-machine deployment: its data outlives a kill, and what was in flight ends well.

Each test runs ``make run``'s stack (``python -m threadrunner_harness.serve``) in a process of its own on a data
folder of its own, kills it with SIGKILL, and starts it again on the same folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

from tests.e2e.helpers import wait_for
from threadrunner_local.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-local-dev"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


class Stack:
    """``make run`` in a process of its own, on ``data``."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.port = free_port()
        self.model_port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, model_latency: float = 0.2) -> OpenAI:
        self.model_port = free_port()
        environment = os.environ | {
            "THREADRUNNER_PORT": str(self.port),
            "THREADRUNNER_AWS_PORT": str(free_port()),
            "OFFLINE_MODEL_PORT": str(self.model_port),
            "OFFLINE_MODEL_LATENCY": str(model_latency),
            "THREADRUNNER_DATA": str(self.data),
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        }
        environment.pop("OPENAI_API_KEY", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "threadrunner_harness.serve"],
            env=environment,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=90, interval=0.25)
        return OpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key=KEY, max_retries=0)

    def _answers(self) -> bool:
        assert self.process is not None and self.process.poll() is None, "the stack stopped while it started"
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/v1/assistants", headers={"Authorization": f"Bearer {KEY}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def model_saw(self, text: str) -> bool:
        """Whether the offline model was asked to answer ``text``."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.model_port}/_offline/requests", timeout=5) as answer:
            return text in answer.read().decode()

    def post(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/v1{path}",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path / "data")
    yield running
    if running.process is not None and running.process.poll() is None:
        running.kill()


def _ended(client: OpenAI, thread_id: str, run_id: str) -> Any:
    return wait_for(
        lambda: (
            (run := client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)).status
            in ("completed", "failed", "expired", "cancelled", "incomplete")
            and run
        ),
        timeout=60,
    )


def test_what_was_written_is_there_after_a_kill(stack):
    client = stack.start()
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", name="Keeper", metadata={"k": "v"})
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Remember the lighthouse"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    uploaded = client.files.create(file=("notes.txt", b"The lamp is lit at dusk."), purpose="assistants")
    messages = [m.model_dump() for m in client.beta.threads.messages.list(thread.id, order="asc")]

    stack.kill()
    client = stack.start()

    assert client.beta.assistants.retrieve(assistant.id).metadata == {"k": "v"}
    assert [m.model_dump() for m in client.beta.threads.messages.list(thread.id, order="asc")] == messages
    assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "completed"
    assert client.files.content(uploaded.id).read() == b"The lamp is lit at dusk."
    again = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert again.status == "completed"


def test_runs_in_flight_at_a_kill_end_well_and_their_threads_take_new_runs(stack):
    client = stack.start(model_latency=10)  # the response is still running at the kill
    waiting_model = client.beta.threads.create_and_run(
        assistant_id=client.beta.assistants.create(model="gpt-4.1-mini").id,
        thread={"messages": [{"role": "user", "content": "Hello, waiting model"}]},
    )
    wait_for(lambda: stack.model_saw("Hello, waiting model"))
    time.sleep(3)  # StartTurn stores the response once it started (a fifth of the offline model's latency)
    stack.kill()
    client = stack.start()
    # The response goes on at the provider (the offline model keeps its responses in the data folder too).
    ended = _ended(client, waiting_model.thread_id, waiting_model.id)
    assert ended.status == "completed"
    (reply, _) = client.beta.threads.messages.list(waiting_model.thread_id).data
    assert reply.content[0].text.value.startswith('You said: "Hello, waiting model"')

    tools_assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[WEATHER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Weather in Lisbon?"}])
    asking = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=tools_assistant.id)
    assert asking.status == "requires_action"
    stack.kill()
    client = stack.start()

    (call,) = asking.required_action.submit_tool_outputs.tool_calls
    answered = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=asking.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": '{"celsius": 19}'}]
    )
    assert answered.status == "completed"
    for thread_id in (waiting_model.thread_id, thread.id):
        again = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=tools_assistant.id)
        assert again.status in ("completed", "requires_action")


def test_a_users_message_queued_at_a_kill_is_answered_after_it(stack):
    client = stack.start(model_latency=30)
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    first = stack.post("/users/alice/messages", {"assistant_id": assistant.id, "content": "First question"})
    second = stack.post("/users/alice/messages", {"assistant_id": assistant.id, "content": "Second question"})
    assert second["object"] == "user.message.queued", second
    stack.kill()
    client = stack.start(model_latency=0.2)

    thread_id = first["thread_id"]

    def answered() -> bool:
        texts = [m.content[0].text.value for m in client.beta.threads.messages.list(thread_id, order="asc")]
        return any("Second question" in text for text in texts if text.startswith("You said"))

    wait_for(answered, timeout=90, interval=0.5)
    assert all(run.status in ("completed", "failed") for run in client.beta.threads.runs.list(thread_id=thread_id))
