"""Register a Lambda function as a server tool, then let an assistant use it.

Run `make run` in one terminal (it creates the example function `lookup-order`), then
`.venv/bin/python examples/lambda_tool.py` in another.
"""

import os

import httpx
from openai import OpenAI

base_url = os.environ.get("THREADRUNNER_URL", "http://127.0.0.1:3000/v1")
api_key = os.environ.get("THREADRUNNER_API_KEY", "sk-local-dev")
client = OpenAI(base_url=base_url, api_key=api_key)

# Once per project: the function, the JSON schema of its arguments, its retries and its output's schema.
tool = {
    "name": "lookup_order",
    "description": "Look up an order's status, carrier and delivery date by its id.",
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "string", "description": "The order id, like A-1001"}},
        "required": ["order_id"],
    },
    "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:lookup-order",
    "timeout_seconds": 10,
    "retry": {"max_attempts": 3, "retry_on": ["failed", "timed_out"]},
    "output_schema": {"type": "object", "required": ["order_id", "found"]},
}
headers = {"Authorization": f"Bearer {api_key}"}
answer = httpx.post(f"{base_url}/server_tools", json=tool, headers=headers)
if answer.status_code != 409:  # 409: registered by an earlier run of this example
    answer.raise_for_status()

assistant = client.beta.assistants.create(
    model="gpt-4.1-mini",
    instructions="Answer questions about orders with the lookup_order tool.",
    tools=[{"type": "function", "function": {"name": "threadrunner:lookup_order"}}],
)
thread = client.beta.threads.create(messages=[{"role": "user", "content": "Where is my order A-1001?"}])
run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
print("run:", run.status)

for step in client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id, order="asc"):
    if step.step_details.type == "tool_calls":
        for call in step.step_details.tool_calls:
            execution = call.model_extra["execution"]  # threadrunner's record of how the tool ran
            print("tool call:", call.function.name, call.function.output, execution["outcome"], execution["attempts"])

reply = client.beta.threads.messages.list(thread.id, order="desc", limit=1).data[0]
print("assistant:", reply.content[0].text.value)
