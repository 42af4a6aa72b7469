"""The README's example: Assistants API code, with a server-side tool chosen by name.

Run `make run` in one terminal, then `.venv/bin/python examples/weather.py` in another.
"""

import os

from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("THREADRUNNER_URL", "http://127.0.0.1:3000/v1"),
    api_key=os.environ.get("THREADRUNNER_API_KEY", "sk-local-dev"),
)

assistant = client.beta.assistants.create(
    name="Weather bot",
    model="gpt-4.1-mini",
    instructions="Answer questions about the weather. Use the get_weather tool.",
    # A server tool: threadrunner runs it (its schema comes from the server). Other functions stay the client's.
    tools=[{"type": "function", "function": {"name": "threadrunner:get_weather"}}],
)
thread = client.beta.threads.create()
client.beta.threads.messages.create(thread.id, role="user", content="What's the weather in San Francisco?")
run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
print("run:", run.status, run.usage)

for step in client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id, order="asc"):
    if step.step_details.type == "tool_calls":
        for call in step.step_details.tool_calls:
            print("tool call:", call.function.name, call.function.arguments, "->", call.function.output)

reply = client.beta.threads.messages.list(thread.id, order="desc", limit=1).data[0]
print("assistant:", reply.content[0].text.value)
