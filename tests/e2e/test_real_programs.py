"""Programs written for the hosted Assistants API run against threadrunner: the seed's own, and LangChain's agents."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_classic.agents import AgentExecutor
from langchain_classic.agents.openai_assistant import OpenAIAssistantRunnable
from langchain_core.tools import tool
from openai.types.beta.threads import Message, RequiredActionFunctionToolCall

from tests.e2e.helpers import server_tool, steps
from tests.support.png import decoded_size

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_32f613523d24744f.txt"
"""The blog post the project started from (CI has ../shared beside the clone)."""

ADAPTATIONS = [
    # The v1 SDK took file_ids on assistants; v2 has tool_resources, and today's SDK refuses the argument.
    ("            file_ids=config.file_ids,\n", ""),
    # The v1 SDK took file_ids on messages, for every tool of the assistant (retrieval and code_interpreter); v2 has
    # attachments, each naming its tools, and today's SDK refuses the argument.
    (
        "            file_ids=file_ids or []\n",
        "            attachments=[\n"
        "                {'file_id': f, 'tools': [{'type': 'code_interpreter'}, {'type': 'file_search'}]}\n"
        "                for f in file_ids or []\n"
        "            ]\n",
    ),
]
"""The seed's program, changed only where the v1 SDK it was written for differs from today's. Its v1
``retrieval`` tool stays: threadrunner reads it as ``file_search``. Its ``base_url`` comes from the environment."""

GIVEN_A_FILE = [
    # What its main() sends: a message and a file the test gives it (SEED_MESSAGE, SEED_FILE_ID), instead of its
    # question about the weather.
    (
        '        "What\'s the weather like in San Francisco?"\n',
        '        __import__("os").environ["SEED_MESSAGE"],\n'
        '        file_ids=[__import__("os").environ["SEED_FILE_ID"]]\n',
    ),
]
"""The seed's program, given a file and a message by the test that runs it."""


def _seed_program(*adaptations: tuple[str, str]) -> str:
    text = SEED.read_text()
    program = text[
        text.index('"""OpenAI Assistants API Production Implementation"""') : text.index(
            "Production Considerations and Best Practices"
        )
    ]
    for old, new in [*ADAPTATIONS, *adaptations]:
        assert program.count(old) == 1, old
        program = program.replace(old, new)
    return program


def test_the_seeds_program_runs_its_client_functions_and_answers_with_their_outputs(stack, client, tmp_path):
    program = tmp_path / "seed_program.py"
    program.write_text(_seed_program())
    env = {**os.environ, "OPENAI_BASE_URL": stack.api_url, "OPENAI_API_KEY": stack.config.api_key}

    finished = subprocess.run(
        [sys.executable, "-W", "ignore", str(program)], capture_output=True, text=True, env=env, timeout=120
    )

    assert finished.returncode == 0, finished.stderr
    assert "Executing function: get_weather" in finished.stderr  # the client ran it, on requires_action
    answer = next(line for line in finished.stdout.splitlines() if line.startswith("Assistant: "))
    assert "location: San Francisco" in answer and "temperature: 72" in answer and "conditions: sunny" in answer
    assert "Conversation history: 2 messages" in finished.stdout
    thread_id = re.search(r"Created thread: (thread_\w+)", finished.stderr).group(1)
    (run,) = client.beta.threads.runs.list(thread_id=thread_id).data
    (call,) = [c for s in steps(client, run) if s.type == "tool_calls" for c in s.step_details.tool_calls]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.output) == {
        "location": "San Francisco",
        "temperature": 72,
        "unit": "fahrenheit",
        "conditions": "sunny",
    }


def test_the_seeds_program_given_a_csv_and_code_runs_it_with_its_code_interpreter_and_shows_the_chart(
    stack, client, tmp_path
):
    program = tmp_path / "seed_program.py"
    program.write_text(_seed_program(*GIVEN_A_FILE))
    csv = client.files.create(file=("visits.csv", io.BytesIO(VISITS.encode())), purpose="assistants")
    env = {
        **os.environ,
        "OPENAI_BASE_URL": stack.api_url,
        "OPENAI_API_KEY": stack.config.api_key,
        "SEED_MESSAGE": f"Chart the visits in the file I attached:\n```python\n{CHART}```\n",
        "SEED_FILE_ID": csv.id,
    }

    finished = subprocess.run(
        [sys.executable, "-W", "ignore", str(program)], capture_output=True, text=True, env=env, timeout=180
    )

    assert finished.returncode == 0, finished.stderr
    answer = next(line for line in finished.stdout.splitlines() if line.startswith("Assistant: "))
    assert "The code printed: busiest: Wed with 40" in answer and "sandbox:/mnt/data/visits.png" in answer
    thread_id = re.search(r"Created thread: (thread_\w+)", finished.stderr).group(1)
    (run,) = client.beta.threads.runs.list(thread_id=thread_id).data
    (call,) = [c for s in steps(client, run) if s.type == "tool_calls" for c in s.step_details.tool_calls]
    assert call.type == "code_interpreter" and call.code_interpreter.input == CHART
    image = next(output.image.file_id for output in call.code_interpreter.outputs if output.type == "image")
    message = client.beta.threads.messages.list(thread_id, order="desc", limit=1).data[0]
    assert [part.image_file.file_id for part in message.content if part.type == "image_file"] == [image]
    assert decoded_size(client.files.content(image).read()) > (0, 0)
    linked = message.content[0].text.annotations[0].file_path.file_id
    assert decoded_size(client.files.content(linked).read()) > (0, 0)


VISITS = "day,visits\nMon,12\nTue,30\nWed,40\nThu,25\n"
CHART = (
    "import pandas as pd\n"
    "import matplotlib.pyplot as plt\n"
    "visits = pd.read_csv('/mnt/data/visits.csv')\n"
    "busiest = visits.loc[visits['visits'].idxmax()]\n"
    "print('busiest:', busiest['day'], 'with', busiest['visits'])\n"
    "visits.plot.bar(x='day', y='visits')\n"
    "plt.savefig('/mnt/data/visits.png')\n"
)

ORDERS_RUN: list[str] = []
"""The order ids LangChain's tool was called with, in order."""


@tool
def get_order_status(order_id: str) -> str:
    """Look up the status of an order by its id."""
    ORDERS_RUN.append(order_id)
    return json.dumps({"order_id": order_id, "status": "shipped"})


@pytest.fixture
def orders():
    ORDERS_RUN.clear()
    return ORDERS_RUN


def test_langchains_assistant_agent_holds_a_two_turn_conversation_through_agent_executor(client, orders):
    agent = OpenAIAssistantRunnable.create_assistant(
        name="Orders",
        instructions="Answer questions about orders.",
        # LangChain's tools are the client's; a server tool passes through create_assistant as a dict.
        tools=[get_order_status, server_tool("get_weather")],
        model="gpt-4.1-mini",
        client=client,
        as_agent=True,
    )
    executor = AgentExecutor(agent=agent, tools=[get_order_status])

    first = executor.invoke({"content": "What's the status of order A-1001?"})
    second = executor.invoke({"content": "And order B-2002?", "thread_id": first["thread_id"]})

    assert orders == ["A-1001", "B-2002"]
    assert "order_id: A-1001, status: shipped" in first["output"]
    assert "order_id: B-2002, status: shipped" in second["output"]
    assert second["thread_id"] == first["thread_id"] and second["run_id"] != first["run_id"]
    tools = client.beta.assistants.retrieve(agent.assistant_id).tools
    assert [t.function.name for t in tools] == ["get_order_status", "threadrunner:get_weather"]
    messages = client.beta.threads.messages.list(first["thread_id"], order="asc").data
    assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]


def test_langchains_runnable_without_the_agent_submits_tool_outputs_by_hand(client, orders):
    runnable = OpenAIAssistantRunnable.create_assistant(
        name="Orders",
        instructions="Answer questions about orders.",
        tools=[get_order_status],
        model="gpt-4.1-mini",
        client=client,
    )
    thread = client.beta.threads.create()

    output = runnable.invoke({"content": "Where are orders A-1001 and B-2002?", "thread_id": thread.id})
    while output and isinstance(output[0], RequiredActionFunctionToolCall):
        run = client.beta.threads.runs.list(thread_id=thread.id, limit=1).data[0]
        outputs = [
            {"tool_call_id": call.id, "output": get_order_status.invoke(json.loads(call.function.arguments))}
            for call in output
        ]
        output = runnable.invoke({"thread_id": thread.id, "run_id": run.id, "tool_outputs": outputs})

    assert sorted(orders) == ["A-1001", "B-2002"]  # one parallel call each
    (reply,) = output
    assert isinstance(reply, Message) and reply.role == "assistant"
    text = reply.content[0].text.value
    assert "order_id: A-1001, status: shipped" in text and "order_id: B-2002, status: shipped" in text
