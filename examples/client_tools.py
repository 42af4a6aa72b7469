"""A program written the way users of the hosted Assistants API wrote them: the functions live in
the client, it polls runs.retrieve, answers requires_action with submit_tool_outputs, and reads
the reply with messages.list(order="desc", limit=1). Only base_url differs from the hosted days.

Run `make run` in one terminal, then `.venv/bin/python examples/client_tools.py` in another.
"""

import json
import os
import time

from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("THREADRUNNER_URL", "http://127.0.0.1:3000/v1"),
    api_key=os.environ.get("THREADRUNNER_API_KEY", "sk-local-dev"),
)


def get_account_balance():
    return {"currency": "USD", "balance": 1234.5}


def get_local_time(city):
    return {"city": city, "time": "09:30"}


FUNCTIONS = {"get_account_balance": get_account_balance, "get_local_time": get_local_time}

assistant = client.beta.assistants.create(
    name="Banking helper",
    model="gpt-4o",
    instructions="You help customers. Call the functions you are given.",
    tools=[
        {
            "type": "function",
            "function": {
                "name": "get_account_balance",
                "description": "The customer's account balance.",
                "parameters": {"type": "object", "properties": {}},
            },
        },
        {
            "type": "function",
            "function": {
                "name": "get_local_time",
                "description": "The local time in a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            },
        },
    ],
)
thread = client.beta.threads.create()


def ask(question):
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content=question)
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    while run.status in ("queued", "in_progress", "requires_action"):
        if run.status == "requires_action":
            tool_outputs = []
            for call in run.required_action.submit_tool_outputs.tool_calls:
                result = FUNCTIONS[call.function.name](**json.loads(call.function.arguments))
                tool_outputs.append({"tool_call_id": call.id, "output": json.dumps(result)})
            run = client.beta.threads.runs.submit_tool_outputs(
                thread_id=thread.id, run_id=run.id, tool_outputs=tool_outputs
            )
        else:
            time.sleep(1)
            run = client.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)
    if run.status != "completed":
        raise SystemExit(f"run {run.id} ended {run.status}: {run.last_error}")
    messages = client.beta.threads.messages.list(thread_id=thread.id, order="desc", limit=1)
    return messages.data[0].content[0].text.value


print("first:", ask("What is my account balance?"))
print("second:", ask("And what is the local time in Lisbon?"))
