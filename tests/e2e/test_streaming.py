"""Runs streamed as server-sent events through the unmodified openai SDK, as the hosted API streamed them.

A stream is a view of a run (docs/streaming.md): the run loop drives the run; the stream follows its
records and relays the model's text and arguments as the model writes them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import httpx
import openai
import pytest
from openai import AssistantEventHandler, AsyncAssistantEventHandler, AsyncOpenAI

from tests.e2e.helpers import ACCOUNT_BALANCE_TOOL, reply, server_tool, slow_run, wait_for
from threadrunner.domain.budget import ProjectLimits, ProjectPolicy
from threadrunner_local.model_server import text_pieces

RUN_ENDINGS = {"thread.run.completed", "thread.run.failed", "thread.run.cancelled", "thread.run.expired"}


class Recorder(AssistantEventHandler):
    """Every event the SDK's helper saw, and the text it was given delta by delta."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []
        self.text = ""

    def on_event(self, event: Any) -> None:
        self.events.append(event)

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.text += delta.value or ""

    @property
    def names(self) -> list[str]:
        return [event.event for event in self.events]


def _assistant(client: Any, tools: list[dict[str, Any]] | None = None) -> Any:
    return client.beta.assistants.create(model="gpt-4.1-mini", instructions="Be helpful.", tools=tools or [])


def test_a_streamed_run_comes_in_the_hosted_apis_order_token_by_token_and_shows_what_a_get_shows(client):
    assistant = _assistant(client)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Tell me a story about a lighthouse."}])

    with client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id, stream=True) as stream:
        events = list(stream)

    names = [event.event for event in events]
    deltas = [event.data.delta.content[0].text.value for event in events if event.event == "thread.message.delta"]
    assert [name for name in names if name != "thread.message.delta"] == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]
    assert len(deltas) > 1  # relayed as the model wrote them, not in one piece when it was done
    message = reply(client, thread)
    assert "".join(deltas) == message.content[0].text.value
    by_name = {event.event: event.data for event in events}
    # Each object is what a GET of it returns at that moment: the ended ones still are.
    assert by_name["thread.message.completed"] == message
    step = client.beta.threads.runs.steps.retrieve(
        by_name["thread.run.step.completed"].id, thread_id=thread.id, run_id=by_name["thread.run.completed"].id
    )
    assert by_name["thread.run.step.completed"] == step
    run = client.beta.threads.runs.retrieve(by_name["thread.run.completed"].id, thread_id=thread.id)
    assert by_name["thread.run.completed"] == run and run.status == "completed"
    created = by_name["thread.message.created"]
    assert (created.id, created.status, created.content) == (message.id, "in_progress", [])


def test_client_tools_stop_the_stream_in_requires_action_and_their_outputs_stream_to_the_answer(client):
    assistant = _assistant(client, [ACCOUNT_BALANCE_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What is my account balance?"}])
    asked = Recorder()

    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=asked) as stream:
        stream.until_done()

    assert asked.names[-1] == "thread.run.requires_action"
    run = asked.events[-1].data
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.name == "get_account_balance"
    started = [e for e in asked.events if e.event == "thread.run.step.delta"]
    assert started and started[0].data.delta.step_details.tool_calls[0].function.name == "get_account_balance"

    answered = Recorder()
    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call.id, "output": '{"balance": "42.00 EUR"}'}],
        event_handler=answered,
    ) as stream:
        stream.until_done()

    assert answered.names[0] == "thread.run.in_progress" and answered.names[-1] == "thread.run.completed"
    completed_steps = [e.data for e in answered.events if e.event == "thread.run.step.completed"]
    assert completed_steps[0].step_details.tool_calls[0].function.output == '{"balance": "42.00 EUR"}'
    assert "42.00 EUR" in answered.text and answered.text == reply(client, thread).content[0].text.value


def test_create_and_run_stream_starts_with_the_new_thread(client):
    assistant = _assistant(client)
    recorder = Recorder()

    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "Good morning"}]},
        event_handler=recorder,
    ) as stream:
        stream.until_done()
        final = stream.get_final_run()

    assert recorder.names[:3] == ["thread.created", "thread.run.created", "thread.run.queued"]
    thread = recorder.events[0].data
    assert final.status == "completed" and final.thread_id == thread.id
    assert recorder.text == reply(client, thread).content[0].text.value


def test_the_async_clients_handler_streams_a_run(stack, client):
    assistant = _assistant(client)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hello from asyncio"}])

    class Texts(AsyncAssistantEventHandler):
        def __init__(self) -> None:
            super().__init__()
            self.text = ""

        async def on_text_delta(self, delta: Any, snapshot: Any) -> None:
            self.text += delta.value or ""

    async def run() -> tuple[str, Any]:
        async_client = AsyncOpenAI(base_url=stack.api_url, api_key=stack.config.api_key, max_retries=0)
        handler = Texts()
        async with async_client.beta.threads.runs.stream(
            thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
        ) as stream:
            await stream.until_done()
            final = await stream.get_final_run()
        await async_client.close()
        return handler.text, final

    text, final = asyncio.run(run())

    assert final.status == "completed" and text and text == reply(client, thread).content[0].text.value


def test_a_server_tool_round_inside_a_streamed_run_shows_its_step_with_the_output(client):
    assistant = _assistant(client, [server_tool("get_weather")])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What's the weather in Lisbon?"}])
    recorder = Recorder()

    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=recorder) as s:
        s.until_done()

    assert recorder.names[-1] == "thread.run.completed" and "thread.run.requires_action" not in recorder.names
    arguments = "".join(
        call.function.arguments or ""
        for e in recorder.events
        if e.event == "thread.run.step.delta"
        for call in e.data.delta.step_details.tool_calls
    )
    assert json.loads(arguments)["city"] == "Lisbon"  # the arguments, as the model wrote them
    (tools_step,) = [
        e.data for e in recorder.events if e.event == "thread.run.step.completed" and e.data.type == "tool_calls"
    ]
    assert json.loads(tools_step.step_details.tool_calls[0].function.output)["city"] == "Lisbon"
    assert recorder.text == reply(client, thread).content[0].text.value


def test_a_dropped_model_stream_is_taken_up_again_without_a_gap_or_a_repeat(stack, client, model, marker):
    # Two streams of the response: the create's (left once the response started, before the cut) and the run
    # stream's, cut after five events.
    model.inject("drop_stream", match=marker, on="stream", events=5, times=2)
    assistant = _assistant(client)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"Tell me about {marker} in detail"}])
    recorder = Recorder()

    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=recorder) as s:
        s.until_done()

    assert not [fault for fault in stack.model_server.model.faults if fault.match == marker]  # the cut happened
    assert recorder.names[-1] == "thread.run.completed"
    assert recorder.text == reply(client, thread).content[0].text.value
    # Each of the model's own deltas relayed as it came, after the cut too (not the rest in one piece at the end).
    assert len([n for n in recorder.names if n == "thread.message.delta"]) == len(text_pieces(recorder.text))


def test_a_stream_is_refused_like_any_request_before_its_first_event(client, model, marker):
    run, thread = slow_run(client, model, marker, seconds=60)  # active until the test releases its response
    assistant = _assistant(client)

    with pytest.raises(openai.BadRequestError) as busy:
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id, stream=True)
    with pytest.raises(openai.BadRequestError) as invalid:
        client.beta.threads.create_and_run(assistant_id=assistant.id, temperature=7, stream=True)

    assert "active" in busy.value.message and busy.value.response.headers["content-type"] == "application/json"
    assert invalid.value.body["param"] == "temperature"
    wait_for(lambda: model.release(marker))  # once the run's response exists
    assert client.beta.threads.runs.poll(run.id, thread_id=thread.id).status == "completed"


def test_a_run_that_fails_mid_stream_ends_it_with_the_failure_and_done(stack, client, model, marker):
    model.inject("failed", match=marker)
    assistant = _assistant(client)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"Hello {marker}"}])

    events = _raw_stream(stack, f"/threads/{thread.id}/runs", {"assistant_id": assistant.id, "stream": True})

    names = [name for name, _ in events]
    assert names[-2:] == ["thread.run.failed", "done"] and events[-1][1] == "[DONE]"
    failed = json.loads(events[-2][1])
    assert failed["last_error"]["code"] == "server_error" and failed["status"] == "failed"


def test_a_client_that_leaves_mid_stream_changes_nothing(stack, client, model, marker):
    model.inject("slow", match=marker, seconds=3)
    assistant = _assistant(client)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"Hello {marker}"}])
    url = f"{stack.api_url}/threads/{thread.id}/runs"
    headers = {"Authorization": f"Bearer {stack.config.api_key}"}

    with httpx.stream("POST", url, json={"assistant_id": assistant.id, "stream": True}, headers=headers) as answer:
        lines = answer.iter_lines()
        first = [next(lines) for _ in range(4)]  # the run's first events, then the client goes away
    run_id = json.loads(first[1].removeprefix("data: "))["id"]

    run = client.beta.threads.runs.poll(run_id, thread_id=thread.id)
    assert run.status == "completed" and f"Hello {marker}" in reply(client, thread).content[0].text.value


def test_behind_a_buffering_gateway_the_whole_stream_comes_in_one_answer(stack, client):
    """ApiFunction's own entry point (API Gateway's HTTP API buffers): the same events, joined, ending in done."""
    from threadrunner.api.http_server import http_event

    assistant = _assistant(client)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hello, buffered"}])
    body = json.dumps({"assistant_id": assistant.id, "stream": True}).encode()
    headers = [("authorization", f"Bearer {stack.config.api_key}"), ("content-type", "application/json")]

    answer = stack.dispatcher.invoke("ApiFunction", http_event("POST", f"/v1/threads/{thread.id}/runs", headers, body))

    assert answer["statusCode"] == 200 and answer["headers"]["Content-Type"].startswith("text/event-stream")
    names = [line.removeprefix("event: ") for line in answer["body"].splitlines() if line.startswith("event: ")]
    assert names[0] == "thread.run.created" and names[-2:] == ["thread.run.completed", "done"]


def _open_streams(stack: Any, project: str) -> list[str]:
    """The streams the project's counter holds open."""
    return [m for item in stack.table_items(f"P#{project}#STREAMS") for m in item.get("streams", {}).get("SS", [])]


def _raw_stream(stack: Any, path: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    """The (event, data) pairs of a streamed answer, read with plain HTTP, ``done`` included."""
    pairs: list[tuple[str, str]] = []
    headers = {"Authorization": f"Bearer {stack.config.api_key}"}
    with httpx.stream("POST", stack.api_url + path, json=body, headers=headers, timeout=60) as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in answer.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                pairs.append((name, line.removeprefix("data: ")))
    return pairs


def test_a_cancelled_stream_shows_cancelling_then_cancelled(client, model, marker):
    model.inject("slow", match=marker, seconds=60)  # still running when the cancel comes, however late
    assistant = _assistant(client)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"Hello {marker}"}])

    class Canceller(Recorder):
        def on_event(self, event: Any) -> None:
            super().on_event(event)
            if event.event == "thread.run.in_progress":
                client.beta.threads.runs.cancel(event.data.id, thread_id=thread.id)

    recorder = Canceller()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=recorder) as s:
        s.until_done()

    ends = [name for name in recorder.names if name.startswith("thread.run.") and "step" not in name]
    assert ends[-2:] == ["thread.run.cancelling", "thread.run.cancelled"]  # as the hosted API showed a cancel
    cancelling = next(e.data for e in recorder.events if e.event == "thread.run.cancelling")
    assert (cancelling.status, cancelling.cancelled_at) == ("cancelling", None)


def test_stream_must_be_a_boolean_and_anything_else_is_refused_before_a_run_is_made(stack, client):
    assistant = _assistant(client)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hello"}])
    headers = {"Authorization": f"Bearer {stack.config.api_key}"}

    answer = httpx.post(
        f"{stack.api_url}/threads/{thread.id}/runs",
        json={"assistant_id": assistant.id, "stream": "yes"},
        headers=headers,
    )

    assert answer.status_code == 400 and answer.headers["content-type"] == "application/json"
    assert answer.json()["error"]["param"] == "stream" and "boolean" in answer.json()["error"]["message"]
    assert client.beta.threads.runs.list(thread_id=thread.id).data == []


class _Tee(httpx.HTTPTransport):
    """An HTTP transport that keeps every byte of the answers it reads, as the SDK reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.read = b""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = super().handle_request(request)
        tee = self

        class Kept(httpx.SyncByteStream):
            def __iter__(self) -> Any:
                for chunk in answer.stream:
                    tee.read += chunk
                    yield chunk

            def close(self) -> None:
                answer.stream.close()

        return httpx.Response(answer.status_code, headers=answer.headers, stream=Kept(), extensions=answer.extensions)


def test_while_the_model_thinks_a_stream_sends_keep_alive_comments_that_the_sdk_skips(stack, client, model, marker):
    model.inject("slow", match=marker, seconds=4)  # its stream says nothing for 0.8 s after it starts
    assistant = _assistant(client)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"Hello {marker}"}])
    tee = _Tee()
    sdk = openai.OpenAI(
        base_url=stack.api_url, api_key=stack.config.api_key, max_retries=0, http_client=httpx.Client(transport=tee)
    )
    recorder = Recorder()

    with sdk.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=recorder) as s:
        s.until_done()

    # The test stack's STREAM_KEEP_ALIVE_SECONDS is 0.5: the quiet spell had a comment, a line of its own.
    assert b"\n: keep-alive\n\n" in tee.read
    assert recorder.names[0] == "thread.run.created" and recorder.names[-1] == "thread.run.completed"
    assert all(name.startswith("thread.") for name in recorder.names)  # the SDK skipped the comments
    assert recorder.text == reply(client, thread).content[0].text.value


def test_a_project_may_keep_only_so_many_streams_open_and_a_client_that_left_frees_its_place(
    stack, project_client, model, marker
):
    client, project = project_client
    stack.stores(project).projects.set_policy(ProjectPolicy(limits=ProjectLimits(open_streams=1)))
    model.inject("slow", match=marker, seconds=20, times=1)
    assistant = _assistant(client)
    threads = [client.beta.threads.create(messages=[{"role": "user", "content": f"Hi {marker}"}]) for _ in range(2)]
    url = f"{stack.api_url}/threads/{{}}/runs"
    headers = {"Authorization": f"Bearer {client.api_key}"}

    with httpx.stream(
        "POST", url.format(threads[0].id), json={"assistant_id": assistant.id, "stream": True}, headers=headers
    ) as answer:
        first = [line for line in itertools.islice(answer.iter_lines(), 8) if line.startswith("data: ")]
        with pytest.raises(openai.RateLimitError) as refused:
            client.beta.threads.runs.create(thread_id=threads[1].id, assistant_id=assistant.id, stream=True)
    run_id = json.loads(first[0].removeprefix("data: "))["id"]

    assert refused.value.code == "too_many_open_streams" and refused.value.response.headers["retry-after"] == "5"
    assert client.beta.threads.runs.list(thread_id=threads[1].id).data == []  # refused before anything was made
    # The first client left: the keep-alive written to it fails, its stream ends and gives its place back, while
    # its run still waits on the model.
    wait_for(lambda: not _open_streams(stack, project), timeout=10)
    assert client.beta.threads.runs.retrieve(run_id, thread_id=threads[0].id).status == "in_progress"
    with client.beta.threads.runs.stream(thread_id=threads[1].id, assistant_id=assistant.id) as stream:
        stream.until_done()
    assert stream.get_final_run().status == "completed"


def _runs_created(events: list[Any]) -> list[Any]:
    return [event.data for event in events if event.event == "thread.run.created"]


def test_a_retried_streamed_create_and_run_streams_the_same_run_and_runs_its_tools_once(stack, project_client, marker):
    from tests.support.tools import EXECUTIONS

    client, project = project_client
    assistant = _assistant(client, [server_tool("tally")])
    key = {"Idempotency-Key": f"stream-{marker}"}
    thread = {"messages": [{"role": "user", "content": f"Tally the topic {marker}"}]}

    with client.beta.threads.create_and_run(
        assistant_id=assistant.id, thread=thread, stream=True, extra_headers=key
    ) as stream:
        first = list(stream)
    with client.beta.threads.create_and_run(  # the retry of a client that lost the first answer
        assistant_id=assistant.id, thread=thread, stream=True, extra_headers=key
    ) as stream:
        again = list(stream)

    (run,), (replayed,) = _runs_created(first), _runs_created(again)
    assert replayed.id == run.id and again[0].event == "thread.created" and again[0].data.id == run.thread_id
    assert first[-1].event == again[-1].event == "thread.run.completed"
    threads = {item["PK"]["S"] for item in stack.table_items(f"P#{project}#THREAD#")}
    assert threads == {f"P#{project}#THREAD#{run.thread_id}"}
    assert [r.id for r in client.beta.threads.runs.list(thread_id=run.thread_id)] == [run.id]
    (tool_step,) = [
        s for s in client.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id) if s.type == "tool_calls"
    ]
    assert EXECUTIONS[json.loads(tool_step.step_details.tool_calls[0].function.arguments)["topic"]] == 1
    answer = reply(client, client.beta.threads.retrieve(run.thread_id)).content[0].text.value
    texts = [
        "".join(e.data.delta.content[0].text.value for e in events if e.event == "thread.message.delta")
        for events in (first, again)
    ]
    assert texts == [answer, answer]  # the retry is shown the whole run again, text included
    (kept,) = [item for item in stack.table_items("idempotency#") if run.id in item.get("data", {}).get("S", "")]
    assert len(kept["data"]["S"]) < 300  # the run it showed, not the stream


def test_a_retried_streamed_run_on_a_thread_streams_the_same_run(project_client, marker):
    client, _ = project_client
    assistant = _assistant(client)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Good evening"}])
    key = {"Idempotency-Key": f"stream-{marker}"}

    streams = []
    for _ in range(2):
        with client.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant.id, stream=True, extra_headers=key
        ) as stream:
            streams.append(list(stream))

    (run,), (replayed,) = (_runs_created(events) for events in streams)
    assert replayed.id == run.id and streams[1][-1].event == "thread.run.completed"
    assert [r.id for r in client.beta.threads.runs.list(thread_id=thread.id)] == [run.id]
    client.beta.threads.delete(thread.id)
    with pytest.raises(openai.NotFoundError):  # a run gone with its thread is not streamed, nor made again
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id, stream=True, extra_headers=key)


def test_a_retried_streamed_submit_of_tool_outputs_submits_once_and_streams_the_run(project_client, marker):
    client, _ = project_client
    assistant = _assistant(client, [ACCOUNT_BALANCE_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What is my account balance?"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    key = {"Idempotency-Key": f"submit-{marker}"}

    streams = []
    for _ in range(2):
        with client.beta.threads.runs.submit_tool_outputs(
            thread_id=thread.id,
            run_id=run.id,
            tool_outputs=[{"tool_call_id": call.id, "output": '{"balance": "42.00 EUR"}'}],
            stream=True,
            extra_headers=key,
        ) as stream:
            streams.append(list(stream))

    assert [events[-1].event for events in streams] == ["thread.run.completed", "thread.run.completed"]
    assert {events[-1].data.id for events in streams} == {run.id}
    answers = [m for m in client.beta.threads.messages.list(thread.id) if m.role == "assistant"]
    assert len(answers) == 1 and "42.00 EUR" in answers[0].content[0].text.value


def test_a_forwarded_stream_with_an_idempotency_key_is_the_providers_each_time(project_client, marker):
    client, _ = project_client
    key = {"Idempotency-Key": f"chat-{marker}"}

    texts = [
        "".join(
            chunk.choices[0].delta.content or ""
            for chunk in client.chat.completions.create(
                model="gpt-4.1-mini", messages=[{"role": "user", "content": "Hi"}], stream=True, extra_headers=key
            )
            if chunk.choices
        )
        for _ in range(2)
    ]

    assert texts[0] and texts[1] == texts[0]
