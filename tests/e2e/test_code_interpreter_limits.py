"""Hostile code in runs, end to end: whatever the model's code tries (the network, files outside its session, another
thread's files, an endless loop, a fork bomb, a memory hog, a huge file) ends as an error output the model reads, the
run completes with an answer that reports it, and the stack goes on serving other threads. A project's seconds of code
are metered and bounded by its daily budget."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_CODE_SECONDS
from tests.e2e.helpers import tool_calls
from tests.e2e.test_code_interpreter import CODE, _ask, _assistant
from tests.e2e.test_forwarding import _keys

ROOT = Path(__file__).resolve().parents[2]


def _failure(client: Any, run: Any) -> str:
    """The logs of the run's one code call: its output and its error, as the step shows them."""
    (call,) = tool_calls(client, run)
    (logs,) = [output for output in call.code_interpreter.outputs if output.type == "logs"]
    return str(logs.logs)


def _still_serving(client: Any) -> None:
    """A run of another thread runs code as before: the stack stayed healthy."""
    _, text = _ask(client, _assistant(client), client.beta.threads.create(), "print(sum(range(10)))\n")
    assert "The code printed: 45" in text


HOSTILE = {
    "the host's loopback (threadrunner's own API)": (
        "import socket\nsocket.create_connection(('127.0.0.1', {api_port}), timeout=3)\n",
        "OSError: [Errno 101] Network is unreachable",
    ),
    "a name on the internet": (
        "import urllib.request\nurllib.request.urlopen('http://example.com', timeout=3)\n",
        "Temporary failure in name resolution",
    ),
    "the repository's files": (
        f"print(open('{ROOT / 'template.yaml'}').read())\n",
        f"FileNotFoundError: [Errno 2] No such file or directory: '{ROOT / 'template.yaml'}'",
    ),
    "the host's secrets": ("print(open('/etc/shadow').read())\n", "FileNotFoundError"),
    "an endless loop": (
        "while True:\n    pass\n",
        f"The execution ran past its time limit of {TEST_CODE_SECONDS} s and was interrupted",
    ),
    "a fork bomb": (
        "import os\nwhile True:\n    os.fork()\n",
        "BlockingIOError: [Errno 11] Resource temporarily unavailable",
    ),
    "a memory hog": ("hog = bytearray(64 * 1024 ** 3)\n", "MemoryError"),
    "a huge file": (
        "with open('/mnt/data/huge.bin', 'wb') as out:\n"
        "    for _ in range(1024):\n"
        "        out.write(bytes(1024 * 1024))\n",
        "OSError: [Errno 27] File too large",
    ),
}


@pytest.mark.parametrize("what", list(HOSTILE))
def test_hostile_code_ends_as_an_error_the_answer_reports_and_the_stack_goes_on(stack, client, what):
    code, error = HOSTILE[what]
    code = code.format(api_port=stack.api_url.split(":")[-1].split("/")[0])
    thread = client.beta.threads.create()

    run, text = _ask(client, _assistant(client), thread, code)

    assert error in _failure(client, run)
    assert text.startswith("The code failed: ") and error.split(": ")[-1] in text
    _still_serving(client)


def test_code_sees_its_own_threads_files_and_never_another_threads(client, marker):
    assistant = _assistant(client)
    secret = client.files.create(file=("secret.txt", io.BytesIO(marker.encode())), purpose="assistants").id
    theirs = client.beta.threads.create(tool_resources={"code_interpreter": {"file_ids": [secret]}})
    ours = client.beta.threads.create()
    read = "import os\nprint(os.listdir('/mnt/data'))\nprint(open('/mnt/data/secret.txt').read())\n"

    _, their_answer = _ask(client, assistant, theirs, read)
    run, our_answer = _ask(client, assistant, ours, read)

    assert their_answer == f"The code printed: ['secret.txt']\n{marker}."
    assert our_answer == (
        "The code failed: FileNotFoundError: [Errno 2] No such file or directory: '/mnt/data/secret.txt'. "
        "The code printed: []."
    )
    assert marker not in _failure(client, run)


def test_a_threads_calls_of_one_turn_run_one_at_a_time_in_its_one_session(client):
    assistant = _assistant(client)
    thread = client.beta.threads.create()
    blocks = "".join(f"```python\n{name} = {value!r}\n```\n" for name, value in (("first", "one"), ("second", "two")))
    client.beta.threads.messages.create(thread.id, role="user", content="Run both:\n" + blocks)
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, timeout=90)
    assert run.status == "completed" and len(tool_calls(client, run)) == 2  # in parallel, as the model made them

    _, text = _ask(client, assistant, thread, "print(first, second)\n")

    assert text == "The code printed: one two."  # neither call started a session of its own


def test_code_is_metered_per_project_and_refused_once_its_daily_budget_is_used(stack, project_client):
    client, project = project_client
    assert '"daily_code_interpreter_seconds": 1' in _keys(
        stack, "budget", "--project", project, "--daily-code-interpreter-seconds", "1"
    )
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=CODE)
    thread = client.beta.threads.create()

    _, slept = _ask(client, assistant, thread, "import time\ntime.sleep(1.2)\nprint('slept')\n")
    run, refused = _ask(client, assistant, thread, "print('more')\n")

    assert slept == "The code printed: slept."
    assert refused.startswith("The code failed: The project's daily code_interpreter budget of 1 seconds is used up")
    assert "No code was run" in _failure(client, run)
    status, usage = stack.api("GET", "/usage", key=client.api_key)
    assert status == 200 and 1.2 <= usage["code_interpreter_seconds"] < 5
    assert usage["daily_budget"]["daily_code_interpreter_seconds"] == 1
