"""The README's streaming example: the reply printed as the model writes it, a client tool answered mid-stream.

Run `make run` in one terminal, then `.venv/bin/python examples/streaming.py` in another.
"""

import json
import os

from openai import AssistantEventHandler, OpenAI

client = OpenAI(
    base_url=os.environ.get("THREADRUNNER_URL", "http://127.0.0.1:3000/v1"),
    api_key=os.environ.get("THREADRUNNER_API_KEY", "sk-local-dev"),
)


class Printer(AssistantEventHandler):
    def on_text_delta(self, delta, snapshot):
        print(delta.value, end="", flush=True)  # each piece as the model writes it

    def on_tool_call_done(self, tool_call):
        print(f"[{tool_call.function.name}({tool_call.function.arguments})]")


assistant = client.beta.assistants.create(
    model="gpt-4.1-mini",
    tools=[
        {
            "type": "function",
            "function": {
                "name": "get_order_status",
                "description": "The status of an order",
                "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
            },
        }
    ],
)
thread = client.beta.threads.create(messages=[{"role": "user", "content": "Where is my order A-1001?"}])

with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=Printer()) as stream:
    stream.until_done()
    run = stream.get_final_run()

while run.status == "requires_action":  # the stream stopped to ask for our function's output
    outputs = [
        {"tool_call_id": call.id, "output": json.dumps({"status": "shipped"})}
        for call in run.required_action.submit_tool_outputs.tool_calls
    ]
    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id, run_id=run.id, tool_outputs=outputs, event_handler=Printer()
    ) as stream:
        stream.until_done()
        run = stream.get_final_run()

print(f"\nrun: {run.status}")
