"""code_interpreter in runs, with any provider: threadrunner runs the model's code in the thread's own sandbox (the
local stack's, a process per session), records a ``code_interpreter`` step with the code and its outputs, and gives
back what the code wrote as the project's files: images as ``image_file`` parts, other files as ``file_path``
annotations of the links the answer gives. The offline model runs the ```python blocks of the user's message."""

from __future__ import annotations

import io
from typing import Any

from openai import AssistantEventHandler

from tests.e2e.helpers import reply, tool_calls
from tests.support.png import decoded_size

SALES = "month,units\nJan,3\nFeb,5\nMar,8\nApr,13\n"
PLOT = (
    "import pandas as pd\n"
    "import matplotlib.pyplot as plt\n"
    "sales = pd.read_csv('/mnt/data/sales.csv')\n"
    "print('units sold:', sales['units'].sum())\n"
    "sales.plot(x='month', y='units')\n"
    "plt.savefig('/mnt/data/chart.png')\n"
)
CODE = [{"type": "code_interpreter"}]


def fenced(code: str, before: str = "Please run this:") -> str:
    return f"{before}\n```python\n{code}```\n"


def _assistant(client: Any, **fields: Any) -> Any:
    return client.beta.assistants.create(model="gpt-4.1-mini", tools=CODE, **fields)


def _csv(client: Any, name: str = "sales.csv", text: str = SALES) -> str:
    return client.files.create(file=(name, io.BytesIO(text.encode())), purpose="assistants").id


def _run(client: Any, assistant: Any, thread_id: str) -> Any:
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant.id, timeout=90)
    assert run.status == "completed", run.last_error
    return run


def _ask(client: Any, assistant: Any, thread: Any, code: str, **message: Any) -> tuple[Any, str]:
    """A message with ``code`` in the thread, run to its end: the run and the answer's text."""
    client.beta.threads.messages.create(thread.id, role="user", content=fenced(code), **message)
    run = _run(client, assistant, thread.id)
    return run, reply(client, thread).content[0].text.value


def test_code_reads_an_attached_csv_plots_it_and_the_chart_comes_back_as_an_image_of_the_message(client, model, marker):
    assistant = _assistant(client)
    csv = _csv(client)
    thread = client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": fenced(PLOT, f"Plot my sales {marker}"),
                "attachments": [{"file_id": csv, "tools": [{"type": "code_interpreter"}]}],
            }
        ]
    )

    run = _run(client, assistant, thread.id)

    (offered,) = model.requests_about(marker)[0]["tools"]
    assert (offered["type"], offered["name"]) == ("function", "code_interpreter")  # threadrunner's, not hosted
    assert "/mnt/data/sales.csv" in offered["description"]
    (call,) = tool_calls(client, run)
    assert call.type == "code_interpreter" and call.code_interpreter.input == PLOT
    logs, image = call.code_interpreter.outputs
    assert logs.type == "logs" and "units sold: 29" in logs.logs
    assert image.type == "image"
    message = reply(client, thread)
    assert [part.type for part in message.content] == ["text", "image_file"]
    assert message.content[1].image_file.file_id == image.image.file_id
    png = client.files.content(image.image.file_id).read()
    width, height = decoded_size(png)
    assert width > 0 and height > 0
    assert client.files.retrieve(image.image.file_id).purpose == "assistants_output"
    assert "units sold: 29" in message.content[0].text.value


def test_a_file_the_code_writes_is_linked_by_a_file_path_annotation_and_downloads(client):
    assistant = _assistant(client)
    thread = client.beta.threads.create()
    code = (
        "rows = ['n,square'] + [f'{n},{n * n}' for n in range(4)]\n"
        "with open('/mnt/data/squares.csv', 'w') as out:\n"
        "    out.write(chr(10).join(rows))\n"
    )

    _, text = _ask(client, assistant, thread, code)

    link = "sandbox:/mnt/data/squares.csv"
    assert link in text
    (annotation,) = reply(client, thread).content[0].text.annotations
    assert annotation.type == "file_path" and annotation.text == link
    assert text[annotation.start_index : annotation.end_index] == link
    assert client.files.content(annotation.file_path.file_id).read() == b"n,square\n0,0\n1,1\n2,4\n3,9"
    assert client.files.retrieve(annotation.file_path.file_id).filename == "squares.csv"
    listed = [file.id for file in client.files.list(purpose="assistants_output")]
    assert annotation.file_path.file_id in listed


def test_a_later_run_of_the_thread_sees_the_variables_an_earlier_run_set(client):
    assistant = _assistant(client)
    thread = client.beta.threads.create()

    _ask(client, assistant, thread, "answer = 6 * 7\nprint('set')\n")
    run, text = _ask(client, assistant, thread, "print('the answer is', answer)\n")

    assert "The code printed: the answer is 42" in text
    (call,) = tool_calls(client, run)
    assert call.code_interpreter.outputs[0].logs == "the answer is 42\n"


class _CodeDeltas(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[str] = []
        self.outputs: list[Any] = []
        self.kinds: list[str] = []
        self.annotations: list[Any] = []

    def on_tool_call_delta(self, delta: Any, snapshot: Any) -> None:
        self.kinds.append(delta.type)
        if delta.code_interpreter and delta.code_interpreter.input:
            self.inputs.append(delta.code_interpreter.input)
        if delta.code_interpreter and delta.code_interpreter.outputs:
            self.outputs += delta.code_interpreter.outputs

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.annotations += delta.annotations or []


def test_a_streamed_run_shows_the_code_as_it_is_written_then_its_outputs_then_the_answers_link(client):
    assistant = _assistant(client)
    code = (
        "for n in range(3):\n"
        "    print('line', n)\n"
        "with open('/mnt/data/lines.txt', 'w') as out:\n"
        "    out.write('three lines')\n"
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": fenced(code)}])
    handler = _CodeDeltas()

    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=handler) as s:
        s.until_done()

    assert set(handler.kinds) == {"code_interpreter"}  # never shown as a function
    assert len(handler.inputs) > 1 and "".join(handler.inputs) == code  # piece by piece, as the model writes it
    (logs,) = handler.outputs
    assert (logs.type, logs.logs) == ("logs", "line 0\nline 1\nline 2\n")
    (call,) = tool_calls(client, handler.current_run)
    assert call.code_interpreter.input == code
    (link,) = handler.annotations  # in the delta that ends it
    assert (link.type, link.text) == ("file_path", "sandbox:/mnt/data/lines.txt")
    assert client.files.content(link.file_path.file_id).read() == b"three lines"
    (message,) = handler.get_final_messages()
    assert message.content[0].text.annotations[0].file_path.file_id == link.file_path.file_id
