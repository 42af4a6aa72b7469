"""The StreamingApiFunction's own start (functions/api/run.sh, serve.py) as the Lambda Web Adapter drives it: one
HTTP request per invocation, with the invocation's context in ``x-amzn-*`` headers, the answer streamed back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import wait_for
from threadrunner_local.stack import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def serve(stack):
    """``run.sh`` started as the adapter starts it, in the function's folder, on the local stack's AWS."""
    port = free_port()
    environment = {
        **os.environ,  # every function's variables: the local stack put them there
        "AWS_ENDPOINT_URL": stack.aws_endpoint,
        "LAMBDA_TASK_ROOT": str(ROOT / "functions" / "api"),
        "AWS_LWA_PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT / "layers" / "core"),  # the layer, where Lambda mounts it under /opt/python
    }
    process = subprocess.Popen(["sh", str(ROOT / "functions" / "api" / "run.sh")], env=environment)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the adapter's readiness check: any answer
        try:
            httpx.get(url + "/", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_the_streaming_function_streams_a_run_under_the_invocations_request_id(stack, client, model, marker, serve):
    model.inject("slow", match=marker, seconds=60)  # the model writes until the first event was read
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"Hello, function URL {marker}"}])
    headers = {
        "Authorization": f"Bearer {stack.config.api_key}",
        "x-amzn-request-context": json.dumps({"requestId": "url-request-1", "http": {"method": "POST"}}),
        "x-amzn-lambda-context": json.dumps(
            {"request_id": "invocation-1", "deadline": int(time.time() * 1000) + 900_000, "env_config": {}}
        ),
    }
    body = {"assistant_id": assistant.id, "stream": True}
    names: list[str] = []
    status_at_first_event = None

    with httpx.stream("POST", f"{serve}/v1/threads/{thread.id}/runs", json=body, headers=headers, timeout=60) as answer:
        assert answer.headers["x-request-id"] == "url-request-1"
        assert answer.headers["content-type"].startswith("text/event-stream")
        for line in answer.iter_lines():
            if line.startswith("event: "):
                names.append(line.removeprefix("event: "))
                if status_at_first_event is None:  # the run as it is while its first event is read
                    status_at_first_event = client.beta.threads.runs.list(thread_id=thread.id).data[0].status
                    wait_for(lambda: model.release(marker))  # once the run's response exists

    assert names[0] == "thread.run.created" and names[-2:] == ["thread.run.completed", "done"]
    assert names.count("thread.message.delta") > 1
    # Written as they came, not at the end: the first event was read while the model was still writing.
    assert status_at_first_event in ("queued", "in_progress")
    assert client.beta.threads.runs.list(thread_id=thread.id).data[0].status == "completed"
