"""The README's code_interpreter example: a CSV given to the model's code, its chart back as an image and a file.

Run `make run` in one terminal, then `.venv/bin/python examples/code_interpreter.py` in another. The offline model
runs the message's Python block as it is written; a real model writes its own code.
"""

import io
import os

from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("THREADRUNNER_URL", "http://127.0.0.1:3000/v1"),
    api_key=os.environ.get("THREADRUNNER_API_KEY", "sk-local-dev"),
)

sales = client.files.create(file=("sales.csv", io.BytesIO(b"month,units\nJan,3\nFeb,5\nMar,8\n")), purpose="assistants")
assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[{"type": "code_interpreter"}])
question = """Chart my sales:
```python
import pandas as pd
sales = pd.read_csv("/mnt/data/sales.csv")
print("units sold:", sales["units"].sum())
sales.plot(x="month", y="units").figure.savefig("/mnt/data/chart.png")
```"""
attachment = {"file_id": sales.id, "tools": [{"type": "code_interpreter"}]}
thread = client.beta.threads.create(messages=[{"role": "user", "content": question, "attachments": [attachment]}])
run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
print("run:", run.status)

for step in client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id, order="asc"):
    for call in getattr(step.step_details, "tool_calls", []):  # the code, run in the thread's own sandbox
        for output in call.code_interpreter.outputs:
            print("output:", output.logs.strip() if output.type == "logs" else f"an image, {output.image.file_id}")

reply = client.beta.threads.messages.list(thread.id, order="desc", limit=1).data[0]
for part in reply.content:
    if part.type == "text":
        print("assistant:", part.text.value)
        for link in part.text.annotations:  # sandbox:/mnt/data/chart.png, a file of the project
            print("file:", link.text, "->", client.files.retrieve(link.file_path.file_id).filename)
    elif part.type == "image_file":
        png = client.files.content(part.image_file.file_id).read()
        print("image:", png.startswith(b"\x89PNG"), len(png) > 1000)
