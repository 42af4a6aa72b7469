"""The examples work against the running stack unchanged, and the README shows the one it says it shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from threadrunner.tools.weather import GetWeatherArgs, get_weather
from threadrunner_local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "weather.py"


def test_the_readme_shows_the_example_file():
    readme = (ROOT / "README.md").read_text()
    body = EXAMPLE.read_text().split('"""', 2)[2].lstrip("\n")
    assert f"```python\n{body}```" in readme


def _run_example(stack: LocalStack, example: Path) -> list[str]:
    env = {**os.environ, "THREADRUNNER_URL": stack.api_url, "THREADRUNNER_API_KEY": stack.config.api_key}
    answer = subprocess.run(
        [sys.executable, "-W", "ignore", str(example)], capture_output=True, text=True, env=env, timeout=120
    )
    assert answer.returncode == 0, answer.stderr
    return answer.stdout.splitlines()


def test_the_example_runs_unchanged_against_the_local_stack(stack: LocalStack):
    lines = _run_example(stack, EXAMPLE)
    assert lines[0].startswith("run: completed Usage(")
    expected = get_weather(GetWeatherArgs(city="San Francisco"))
    assert re.fullmatch(r'tool call: get_weather \{"city": "San Francisco"\} -> \{.*\}', lines[1])
    assert f'"temperature": {expected["temperature"]}' in lines[1]
    assert lines[2].startswith("assistant: ") and f"temperature: {expected['temperature']}" in lines[2]


def test_a_hosted_api_style_program_with_client_functions_holds_a_two_turn_conversation(stack: LocalStack):
    first, second = _run_example(stack, ROOT / "examples" / "client_tools.py")

    assert first.startswith("first: ") and "get_account_balance returned currency: USD, balance: 1234.5" in first
    assert second.startswith("second: ") and "get_local_time returned city: Lisbon, time: 09:30" in second


def test_the_readme_shows_the_streaming_example_and_it_streams_a_client_tool_round(stack: LocalStack):
    example = ROOT / "examples" / "streaming.py"
    body = example.read_text().split('"""', 2)[2].lstrip("\n")
    assert f"```python\n{body}```" in (ROOT / "README.md").read_text()

    *_, call, answer, ended = _run_example(stack, example)

    assert call == '[get_order_status({"order_id": "A-1001"})]'
    assert "get_order_status returned status: shipped" in answer and ended == "run: completed"


def test_the_lambda_tool_example_registers_the_example_function_and_an_assistant_uses_it(stack: LocalStack):
    for _ in range(2):  # the second time, the tool is registered already
        ran, call, answer = _run_example(stack, ROOT / "examples" / "lambda_tool.py")

        assert ran == "run: completed"
        assert call.startswith('tool call: lookup_order {"order_id": "A-1001", "found": true, "status": "shipped"')
        assert call.endswith(" ok 1") and "status: shipped" in answer
        assert f"# {call}\n" in (ROOT / "README.md").read_text()  # what the README says it prints


def test_the_readme_shows_the_one_client_example_and_it_runs_assistants_and_forwarded_calls(stack: LocalStack):
    example = ROOT / "examples" / "one_client.py"
    body = example.read_text().split('"""', 2)[2].lstrip("\n")
    assert f"```python\n{body}```" in (ROOT / "README.md").read_text()

    ran, chat, embedding, models = _run_example(stack, example)

    assert ran == "run: completed" and chat.startswith('chat: You said: "Hello"')
    assert embedding == "embedding: 1536 dimensions" and "gpt-4.1-mini" in models


def test_the_readme_shows_the_code_interpreter_example_and_its_chart_comes_back(stack: LocalStack):
    example = ROOT / "examples" / "code_interpreter.py"
    body = example.read_text().split('"""', 2)[2].lstrip("\n")
    assert f"```python\n{body}```" in (ROOT / "README.md").read_text()

    ran, logs, image, answer, link, png = _run_example(stack, example)

    assert (ran, logs) == ("run: completed", "output: units sold: 16")
    assert image.startswith("output: an image, file-")
    assert answer.startswith("assistant: The code printed: units sold: 16. It wrote sandbox:/mnt/data/chart.png.")
    assert link == "file: sandbox:/mnt/data/chart.png -> chart.png"
    assert png == "image: True True"
