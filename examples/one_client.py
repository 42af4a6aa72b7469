"""One client for the whole app: assistants on threadrunner, and the rest of /v1 forwarded to the provider.

Run `make run` in one terminal, then `.venv/bin/python examples/one_client.py` in another.
"""

import os

from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("THREADRUNNER_URL", "http://127.0.0.1:3000/v1"),
    api_key=os.environ.get("THREADRUNNER_API_KEY", "sk-local-dev"),
)

# Served by threadrunner: an assistant, a thread, a run.
assistant = client.beta.assistants.create(model="gpt-4.1-mini", instructions="Be brief.")
thread = client.beta.threads.create(messages=[{"role": "user", "content": "Name a lighthouse."}])
run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
print("run:", run.status)

# Forwarded to the provider with threadrunner's key, counted in the same budgets.
chat = client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "Hello"}])
print("chat:", chat.choices[0].message.content)
vectors = client.embeddings.create(model="text-embedding-3-small", input="lighthouse")
print("embedding:", len(vectors.data[0].embedding), "dimensions")
print("models:", ", ".join(model.id for model in client.models.list())[:60])
