"""Baseline figures of threadrunner on the local stack with the offline model (``make bench``).

Prints:

* one turn of a conversation (``responses.create(conversation=...)``) through threadrunner, next to the provider's
  own time for the same request sent to it straight: threadrunner's overhead per turn;
* a one-tool conversation through threadrunner with its turns polling the model, and with them woken by the model's
  webhooks, side by side: client-observed time over the floor (twice the model's latency), state transitions (counted
  in the execution history), Lambda invocations and their billed duration, DynamoDB's read and write request units,
  API requests, and what the platform would bill for 1,000 such runs at AWS's list prices (tokens excluded); next to
  a direct client that drives the same offline model itself and polls it every second (as naive Assistants clients
  did);
* streaming: time to the first event and to the first text delta of a streamed run, next to the offline
  model's own first delta, and a streamed run's time to ``done`` next to the same run polled;
* files: indexing throughput (MB of text per minute) and search latency in a store of 10,000 chunks;
* circuits: runs calling a Lambda tool whose service hangs, while its circuit is closed (each call waits
  out the tool's timeout) next to while it is open (answered at once);
* pages: a page of a thread's newest messages, in a thread of 10 messages next to one of 1,000;
* IAM: one judgement of a function's call by its role's policy, and the calls one conversation has judged;
* cold starts: each function's handler imported by a new Lambda-like interpreter on the build,
  then invoked once on its sample event, next to the baseline imports (openai, boto3, pydantic,
  Powertools' event handler) in the same rounds, and what two choices cost: traced calls
  (TRACING_DETAIL=calls) and a build without bytecode;
* the code sandbox (the local stack's): opening a session and running a one-line program in it (cold), next to
  running it in a session already open (warm), and the first import of pandas and matplotlib in a session;
* code_interpreter in runs: the time from the model's call of the code tool to its output (a one-line program, in a
  thread's first run and in its next), and the whole run next to the same run without the tool;
* the size of the built layer and functions (``sam build`` output), unzipped and zipped.

Figures are medians of several rounds measured side by side in one process; the machine is
shared and noisy, so compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import threadrunner.tools  # noqa: F401 - registers get_weather
from threadrunner.domain.lambda_tools import TOOL_TAG
from threadrunner.domain.server_tools import declaration
from threadrunner.domain.tools import default_registry
from threadrunner.domain.vector_stores import store_key
from threadrunner_harness import samples
from threadrunner_harness.cold_start import Case, measure, without_bytecode
from threadrunner_local.meter import Bill
from threadrunner_local.stack import PROJECT, LocalStack, StackConfig, free_port

ROOT = Path(__file__).resolve().parents[1]

QUESTION = "What's the weather in San Francisco?"
CLIENT_POLL_MS = 100
"""How often the latency section's client polls its run (create_and_poll's ``poll_interval_ms``): finer than the API's
500 ms hint, so what the client observes is the run's time, not its own poll period's."""

PRICES = {
    "transitions": 0.025 / 1000,
    "gb_seconds": 0.0000166667,
    "invocations": 0.20 / 1e6,
    "read_units": 0.125 / 1e6,
    "write_units": 0.625 / 1e6,
    "api_requests": 1.00 / 1e6,
}
"""AWS's list prices in us-east-1 (their pricing pages, December 2026), in dollars per unit: Step Functions Standard per
state transition; Lambda (x86) per GB-second and per request; DynamoDB on-demand per read and write request unit;
API Gateway's HTTP API per request (the first 300 million a month)."""


@dataclass
class Round:
    """One conversation through the API."""

    observed: float
    """Seconds from the run's creation until the client saw it completed."""
    execution: float
    """Seconds of its Step Functions execution."""
    transitions: int
    bill: Bill
    """What its thread, run and loop used (the client's requests, the provider's webhooks, every function and table
    call), counted by the local stack."""

    def cost(self) -> dict[str, float]:
        """What AWS would bill for it, by service, in dollars (tokens excluded)."""
        bill = self.bill
        return {
            "Step Functions": self.transitions * PRICES["transitions"],
            "Lambda": bill.gb_seconds * PRICES["gb_seconds"] + bill.invocations.total() * PRICES["invocations"],
            "DynamoDB": bill.read_units * PRICES["read_units"] + bill.write_units * PRICES["write_units"],
            "API Gateway": bill.api_requests * PRICES["api_requests"],
        }


def threadrunner_round(client: Any, assistant_id: str, stack: LocalStack, poll_ms: int | None = None) -> Round:
    """One conversation through the API, its thread created and its run polled to the end (every ``poll_ms``, else
    as the API's ``openai-poll-after-ms`` says), metered."""
    before = stack.meter.bill()
    with stack.meter.on():
        thread = client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
        started = time.perf_counter()
        polling = {"poll_interval_ms": poll_ms} if poll_ms else {}
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id, **polling)
        observed = time.perf_counter() - started
        assert run.status == "completed", run.last_error
        sfn = stack.client("stepfunctions")
        execution = stack.execution_arn(run.id)
        for _ in range(50):  # the run is completed a moment before the execution records its end
            described = sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.05)
    bill = stack.meter.bill() - before
    duration = (described["stopDate"] - described["startDate"]).total_seconds()
    events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    transitions = sum(1 for event in events if event["type"].endswith("StateEntered"))
    return Round(observed, duration, transitions, bill)


def direct_round(model: Any, interval: float = 1.0) -> float:
    """The same conversation, driven straight against the model with a fixed one-second poll."""
    tool = {"type": "function", **default_registry.definition("get_weather").model_dump(), "strict": False}
    started = time.perf_counter()
    response = model.responses.create(model="gpt-4.1-mini", input=QUESTION, tools=[tool], background=True, store=True)
    while True:
        while response.status in ("queued", "in_progress"):
            time.sleep(interval)
            response = model.responses.retrieve(response.id)
        calls = [item for item in response.output if item.type == "function_call"]
        if not calls:
            break
        outputs = [
            {
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": default_registry.execute(call.name, call.arguments).output,
            }
            for call in calls
        ]
        response = model.responses.create(
            model="gpt-4.1-mini",
            input=outputs,
            tools=[tool],
            previous_response_id=response.id,
            background=True,
            store=True,
        )
    assert response.status == "completed" and "San Francisco" in response.output_text
    return time.perf_counter() - started


COLD_START_EVENTS = {"ApiFunction": "create-run.json", "ToolFunction": "run-get-weather-call.json"}
"""The sample each function's cold start is measured on, where it is not the first of its folder: a conversation's
hot path."""


def lambda_python() -> str | None:
    """The Lambda runtime's Python (3.12), under pyenv or on PATH: the interpreter itself, not a shim."""
    pyenv = sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))
    found = str(pyenv[-1]) if pyenv else shutil.which("python3.12")
    if found is None:
        return None
    answer = subprocess.run([found, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True)
    return answer.stdout.strip() or None


def cold_starts(
    stack: LocalStack, python: str, build_dir: Path, rounds: int, only: set[str] | None = None
) -> list[Case]:
    """Every function's (or ``only`` these functions') cold start and the baselines, side by side in each round
    (threadrunner_harness.cold_start)."""
    assert stack.template is not None
    scratch = ROOT / ".aws-sam" / "coldstart"
    functions = stack.template.functions
    plain = without_bytecode(build_dir, scratch)
    cases = [Case("baseline", None), Case("baseline, build without bytecode", None, build_dir=plain)]
    for logical_id, spec in functions.items():
        if (only and logical_id not in only) or spec.web_adapter:  # the streaming function: ApiFunction's code
            continue
        folder = ROOT / "events" / logical_id
        event = folder / COLD_START_EVENTS.get(logical_id, sorted(path.name for path in folder.glob("*.json"))[0])
        cases.append(Case(logical_id, spec, event))
    if not only:
        api = functions["ApiFunction"]
        api_event = ROOT / "events" / "ApiFunction" / COLD_START_EVENTS["ApiFunction"]
        traced = Case("ApiFunction, TRACING_DETAIL=calls", api, api_event, environment={"TRACING_DETAIL": "calls"})
        cases += [traced, Case("ApiFunction, build without bytecode", api, api_event, build_dir=plain)]
    measure(cases, python, build_dir, scratch, dict(os.environ), rounds, lambda: samples.reset(stack))
    return cases


def print_cold_starts(cases: list[Case], rounds: int) -> None:
    print("Cold starts: a new interpreter imports the built handler and runs its sample event once")
    print(f"(median of {rounds} rounds, every case once per round; ratio: each round's total over its baseline;")
    print("AWS calls: how many the first call made and the time it waited on them, here on moto):")
    print(f"  {'':38s} {'import':>7s} {'1st call':>9s} {'total':>7s} {'ratio':>6s} {'AWS calls':>14s}  openai")
    for case in cases:
        figures = (
            f"{case.median(lambda run: run.import_seconds) * 1000:5.0f} ms "
            f"{case.median(lambda run: run.invocation_seconds or 0.0) * 1000:6.0f} ms "
            f"{case.median(lambda run: run.seconds) * 1000:5.0f} ms"
        )
        if case.spec is None:
            print(f"  {case.label:38s} {figures}")
            continue
        calls = (
            f"{case.median(lambda run: run.aws_calls):3.0f} / {case.median(lambda run: run.aws_seconds) * 1000:4.0f} ms"
        )
        openai = "yes" if "openai" in case.runs[0].loaded else "no"
        print(f"  {case.label:38s} {figures} {statistics.median(case.ratios):6.2f} {calls:>14s}  {openai}")
        for run in case.runs:
            if run.error:
                print(f"    failed: {run.error}")
                break


def sizes(build_dir: Path) -> dict[str, tuple[int, int]]:
    """Unzipped and zipped bytes of each built artifact."""
    figures = {}
    for artifact in sorted(path for path in build_dir.iterdir() if path.is_dir()):
        files = [path for path in artifact.rglob("*") if path.is_file()]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
            for path in files:
                bundle.write(path, path.relative_to(artifact))
        figures[artifact.name] = (sum(path.stat().st_size for path in files), len(buffer.getvalue()))
    return figures


def _size(count: int) -> str:
    return f"{count / 1e6:8.2f} MB" if count >= 1e6 else f"{count / 1e3:8.1f} kB"


def latency(stack: LocalStack, rounds: int, model_latency: float) -> None:
    """The conversation with its turns polling, and with them woken by webhooks, side by side in each round."""
    from openai import OpenAI

    assert stack.model_server is not None
    stack.model_server.model.latency = model_latency
    api = OpenAI(base_url=stack.api_url, api_key=stack.config.api_key)
    model = OpenAI(base_url=stack.model_server.url, api_key=stack.model_server.model.api_key)
    assistant = api.beta.assistants.create(model="gpt-4.1-mini", tools=[declaration("get_weather")])
    modes: dict[str, list[Round]] = {"polling": [], "webhooks": []}
    for webhooks in (False, True):  # warm: the handlers' first imports are not the figure
        stack.switch_webhooks(webhooks)
        threadrunner_round(api, assistant.id, stack, CLIENT_POLL_MS)
    direct = []
    try:
        for _ in range(rounds):
            for mode, found in modes.items():
                stack.switch_webhooks(mode == "webhooks")
                found.append(threadrunner_round(api, assistant.id, stack, CLIENT_POLL_MS))
            direct.append(direct_round(model))
    finally:
        stack.switch_webhooks(False)

    floor = 2 * model_latency
    median = statistics.median
    print(
        f"One-tool conversation (2 model turns), offline model latency {model_latency:g} s, floor (2 x latency) "
        f"{floor:.2f} s, median of {rounds} rounds each, side by side;"
    )
    print(f"the client polls every {CLIENT_POLL_MS} ms; counts are per run (its thread, run, polls and webhooks):")
    print(f"  {'':44s} {'polling':>10s} {'webhooks':>10s}")

    def row(label: str, value: Any, fmt: str) -> None:
        print(f"  {label:44s} " + " ".join(f"{value(found):{fmt}}" for found in modes.values()))

    row("client-observed (s)", lambda found: median(r.observed for r in found), "10.2f")
    row("client-observed / floor", lambda found: median(r.observed for r in found) / floor, "10.2f")
    row("Step Functions execution (s)", lambda found: median(r.execution for r in found), "10.2f")
    row("state transitions", lambda found: median(r.transitions for r in found), "10.0f")
    row("Lambda invocations", lambda found: median(r.bill.invocations.total() for r in found), "10.0f")
    row("Lambda billed duration (ms)", lambda found: median(r.bill.billed_ms for r in found), "10.0f")
    row("Lambda GB-seconds", lambda found: median(r.bill.gb_seconds for r in found), "10.3f")
    row("DynamoDB read request units", lambda found: median(r.bill.read_units for r in found), "10.1f")
    row("DynamoDB write request units", lambda found: median(r.bill.write_units for r in found), "10.1f")
    row("API requests", lambda found: median(r.bill.api_requests for r in found), "10.0f")
    print("  cost per 1,000 runs at us-east-1 list prices, tokens excluded:")
    for service in Round.cost(modes["polling"][0]):
        row(f"  {service}", lambda found, s=service: 1000 * median(r.cost()[s] for r in found), "10.4f")
    row("  total ($)", lambda found: 1000 * median(sum(r.cost().values()) for r in found), "10.4f")
    print(f"  direct client polling the model every 1 s (s): {median(direct):7.2f}")
    print()


def conversation_turns(stack: LocalStack, rounds: int, model_latency: float) -> None:
    """One turn of a conversation through threadrunner (``responses.create(conversation=...)``: the conversation
    held, its items read, the provider called, the turn appended) next to the provider's own time for the very
    request threadrunner sent it, sent to it straight, in the same round."""
    from openai import OpenAI

    assert stack.model_server is not None
    offline = stack.model_server.model
    offline.latency = model_latency
    api = OpenAI(base_url=stack.api_url, api_key=stack.config.api_key)
    model = OpenAI(base_url=stack.model_server.url, api_key=offline.api_key)
    items = [{"type": "message", "role": "user", "content": f"Earlier message {n}."} for n in range(20)]
    conversation = api.conversations.create(items=items)
    api.responses.create(model="gpt-4.1-mini", conversation=conversation.id, input="Warm up")  # first imports
    ours, direct, sizes = [], [], []
    for turn in range(rounds):
        started = time.perf_counter()
        api.responses.create(model="gpt-4.1-mini", conversation=conversation.id, input=f"Turn {turn}.")
        ours.append(time.perf_counter() - started)
        sent = offline.requests[-1]  # what threadrunner sent the provider: the conversation and the new input
        sizes.append(len(sent["input"]))
        started = time.perf_counter()
        model.responses.create(**sent)
        direct.append(time.perf_counter() - started)
    overhead = statistics.median(mine - theirs for mine, theirs in zip(ours, direct, strict=True))
    print(
        f"One conversation turn (responses.create(conversation=...), whole), offline model latency {model_latency:g} s,"
    )
    print(f"the provider sent {sizes[0]} to {sizes[-1]} items, median of {rounds} rounds each, side by side:")
    print(f"  through threadrunner (held, read, assembled, appended): {statistics.median(ours) * 1000:7.1f} ms")
    print(f"  the same request sent to the provider directly:         {statistics.median(direct) * 1000:7.1f} ms")
    print(f"  threadrunner's overhead per turn (median of the pairs): {overhead * 1000:7.1f} ms")
    print()


STORY = "Tell me a story about a lighthouse keeper."


def streamed_round(client: Any, assistant_id: str) -> tuple[float, float, float]:
    """One run streamed through the API: seconds to its first event, to its first text delta, and to ``done``."""
    thread = client.beta.threads.create(messages=[{"role": "user", "content": STORY}])
    started = time.perf_counter()
    first_event = first_delta = 0.0
    with client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant_id, stream=True) as stream:
        for event in stream:
            at = time.perf_counter() - started
            first_event = first_event or at
            if event.event == "thread.message.delta":
                first_delta = first_delta or at
    return first_event, first_delta, time.perf_counter() - started


def polled_round(client: Any, assistant_id: str) -> float:
    """The same run, polled by the SDK's create_and_poll."""
    thread = client.beta.threads.create(messages=[{"role": "user", "content": STORY}])
    started = time.perf_counter()
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert run.status == "completed", run.last_error
    return time.perf_counter() - started


def model_first_delta(model: Any) -> float:
    """The offline model's own first text delta: a background response created streaming, read directly."""
    started = time.perf_counter()
    with model.responses.create(model="gpt-4.1-mini", input=STORY, background=True, store=True, stream=True) as events:
        for event in events:
            if event.type == "response.output_text.delta":
                return time.perf_counter() - started
    raise AssertionError("the model's stream had no text")


def streaming(stack: LocalStack, rounds: int, model_latency: float) -> None:
    from openai import OpenAI

    assert stack.model_server is not None
    stack.model_server.model.latency = model_latency
    api = OpenAI(base_url=stack.api_url, api_key=stack.config.api_key)
    model = OpenAI(base_url=stack.model_server.url, api_key=stack.model_server.model.api_key)
    assistant = api.beta.assistants.create(model="gpt-4.1-mini")
    streamed_round(api, assistant.id)  # warm: the first stream imports the model's SDK in the API
    firsts, deltas, totals, polled, direct = [], [], [], [], []
    for _ in range(rounds):
        first_event, first_delta, total = streamed_round(api, assistant.id)
        firsts.append(first_event)
        deltas.append(first_delta)
        totals.append(total)
        polled.append(polled_round(api, assistant.id))
        direct.append(model_first_delta(model))
    median = statistics.median
    print(
        f"Streaming, one-turn run, offline model latency {model_latency:g} s, median of {rounds} rounds, side by side:"
    )
    print(f"  first event through threadrunner (thread.run.created): {median(firsts) * 1000:6.0f} ms")
    print(f"  first text delta through threadrunner:                 {median(deltas) * 1000:6.0f} ms")
    print(f"  first text delta of the offline model itself:          {median(direct) * 1000:6.0f} ms")
    print(f"  ratio first delta threadrunner / model:                {median(deltas) / median(direct):6.2f}")
    print(f"  streamed run to done:                                  {median(totals):6.2f} s")
    print(f"  polled run (create_and_poll):                          {median(polled):6.2f} s")
    print(f"  ratio streamed / polled:                               {median(totals) / median(polled):6.2f}")
    print()


_WORDS = [
    "lighthouse",
    "keeper",
    "lamp",
    "lens",
    "beam",
    "fog",
    "horn",
    "tide",
    "harbour",
    "ship",
    "chart",
    "compass",
    "storm",
    "wind",
    "wave",
    "rock",
    "island",
    "signal",
    "watch",
    "night",
    "dawn",
    "oil",
    "wick",
    "clockwork",
    "tower",
    "stair",
    "gallery",
    "glass",
    "mirror",
    "light",
    "coast",
    "cliff",
    "reef",
]


def _document(seed: int, size: int) -> bytes:
    """``size`` bytes of text, sentences of the words above in an order ``seed`` fixes."""
    import random

    chooser = random.Random(seed)
    words: list[str] = []
    length = 0
    while length < size:
        sentence = " ".join(chooser.choice(_WORDS) for _ in range(12)).capitalize() + "."
        words.append(sentence)
        length += len(sentence) + 1
    return " ".join(words).encode()[:size]


def files(stack: LocalStack) -> None:
    """Indexing throughput, and search latency in a store of 10,000 chunks."""
    import io

    from openai import OpenAI

    assert stack.template is not None
    api = OpenAI(base_url=stack.api_url, api_key=stack.config.api_key)

    def indexed(name: str, documents: list[bytes], chunking: dict[str, Any] | None = None) -> tuple[Any, float]:
        ids = [
            api.files.create(file=(f"doc{i}.txt", io.BytesIO(d)), purpose="assistants").id
            for i, d in enumerate(documents)
        ]
        started = time.perf_counter()
        options = {"chunking_strategy": chunking} if chunking else {}
        store = api.vector_stores.create(name=name, file_ids=ids, **options)
        while (store := api.vector_stores.retrieve(store.id)).status != "completed":
            time.sleep(0.2)
        assert store.file_counts.completed == len(documents), store.file_counts
        return store, time.perf_counter() - started

    documents = [_document(seed, 200_000) for seed in range(10)]
    megabytes = sum(len(d) for d in documents) / 1e6
    _, seconds = indexed("throughput", documents)
    print(f"Indexing ({megabytes:.1f} MB of text in {len(documents)} files, chunks of 800 tokens, 400 overlap,")
    print("keyword vectors and the offline model's embeddings into S3 Vectors on moto):")
    print(f"  {megabytes / seconds * 60:8.1f} MB of text per minute ({seconds:.1f} s)")
    small = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}
    store, _ = indexed("latency", [_document(100 + seed, 100_000) for seed in range(40)], small)
    index = stack.template.functions["ApiFunction"].environment["KEYWORD_INDEX"]
    mine = store_key(PROJECT, store.id) + ":"
    keys = [v["key"] for v in stack.client("s3vectors").list_vectors(indexArn=index)["vectors"]]
    chunks = sum(1 for key in keys if key.startswith(mine))
    latencies = []
    for query in ("fog horn at night", "keeper trims the wick", "storm over the reef", "tide tables", "mirror glass"):
        began = time.perf_counter()
        assert api.vector_stores.search(store.id, query=query).data
        latencies.append(time.perf_counter() - began)
    print(f"Search (vector_stores.search, keywords and embeddings, a store of {chunks} chunks among {len(keys)};")
    print("moto's QueryVectors is an exhaustive scan in Python, S3 Vectors is not):")
    median, slowest = statistics.median(latencies) * 1000, max(latencies) * 1000
    print(f"  median {median:6.0f} ms, slowest {slowest:6.0f} ms over {len(latencies)} queries")
    print()


def circuits(stack: LocalStack, rounds: int) -> None:
    from openai import OpenAI

    assert stack.model_server is not None
    stack.model_server.model.latency = 0.2  # the open runs must all end before the circuit lets a probe through
    timeout, threshold = 2, int(os.environ["CIRCUIT_FAILURE_THRESHOLD"])  # the template's, in the stack's environment
    hangs = lambda event, context: time.sleep(timeout + 3)  # noqa: E731
    arn = stack.add_function("bench-hanging-tool", hangs, tags={TOOL_TAG: PROJECT})
    tool = {"name": "hanging_order", "parameters": {"type": "object"}, "function_arn": arn, "timeout_seconds": timeout}
    status, answer = stack.api("POST", "/server_tools", tool)
    assert status == 200, answer
    api = OpenAI(base_url=stack.api_url, api_key=stack.config.api_key)
    assistant = api.beta.assistants.create(model="gpt-4.1-mini", tools=[declaration("hanging_order")])

    def run() -> tuple[float, int, str]:
        started = time.monotonic()
        thread = api.beta.threads.create(messages=[{"role": "user", "content": "Check the hanging order"}])
        done = api.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50
        )
        seconds = time.monotonic() - started
        steps = api.beta.threads.runs.steps.list(run_id=done.id, thread_id=thread.id)
        (call,) = [c for step in steps if step.type == "tool_calls" for c in step.step_details.tool_calls]
        execution = call.model_extra["execution"]
        return seconds, execution["duration_ms"], execution["circuit"]

    closed = [run() for _ in range(threshold)]
    opened = [run() for _ in range(rounds)]
    assert {state for *_, state in opened} == {"open"}, opened
    print(f"A Lambda tool whose service hangs (timeout {timeout} s, one attempt), median runs (2 model turns):")
    for name, runs in (("circuit closed, the call waits out its timeout", closed), ("circuit open", opened)):
        run_seconds = statistics.median(r[0] for r in runs)
        call_ms = statistics.median(r[1] for r in runs)
        print(f"  {name:48s} run {run_seconds:5.2f} s, tool call {call_ms:6.0f} ms ({len(runs)} runs)")
    ratio = statistics.median(r[0] for r in opened) / statistics.median(r[0] for r in closed)
    print(f"  ratio run time open / closed:                    {ratio:5.2f}")
    print()


def pages(stack: LocalStack, rounds: int) -> None:
    from openai import OpenAI

    api = OpenAI(base_url=stack.api_url, api_key=stack.config.api_key)

    def page_seconds(count: int) -> float:
        thread = api.beta.threads.create()
        for number in range(count):
            api.beta.threads.messages.create(thread.id, role="user", content=f"message {number}")
        times = []
        for _ in range(rounds * 4):
            started = time.perf_counter()
            page = api.beta.threads.messages.list(thread.id, limit=10, order="desc")
            times.append(time.perf_counter() - started)
        assert len(page.data) == 10 and page.has_more == (count > 10)
        return statistics.median(times)

    small, large = page_seconds(10), page_seconds(1000)
    print("The newest 10 messages of a thread (GET .../messages?limit=10&order=desc), median:")
    print(f"  thread of 10 messages    {small * 1000:6.1f} ms")
    print(f"  thread of 1,000 messages {large * 1000:6.1f} ms (ratio {large / small:.2f})")
    print()


def iam(stack: LocalStack, rounds: int) -> None:
    """What judging every call costs: one judgement of typical calls, and the calls one conversation makes."""
    from threadrunner_local.access import accesses

    assert stack.enforcer is not None
    enforcer, table = stack.enforcer, stack.table_name
    key = {"PK": {"S": "P#default#THREAD#thread_1"}, "SK": {"S": "MSG#1"}}
    calls = {
        "GetItem": ("dynamodb", "GetItem", {"TableName": table, "Key": key}),
        "TransactWriteItems of 3": (
            "dynamodb",
            "TransactWriteItems",
            {"TransactItems": [{"Put": {"TableName": table, "Item": key}}] * 3},
        ),
        "StartExecution": ("states", "StartExecution", {"stateMachineArn": stack.template.arn("RunLoopStateMachine")}),
    }
    print("IAM enforcement (every AWS call of a function judged by its role's policy), median of one judgement:")
    for name, (prefix, operation, params) in calls.items():
        times = []
        for _ in range(rounds * 400):
            started = time.perf_counter()
            enforcer.judge("ApiFunction", accesses(prefix, operation, params, enforcer.lookups))
            times.append(time.perf_counter() - started)
        print(f"  {name:24s} {statistics.median(times) * 1e6:6.1f} µs")
    client = _api(stack)
    assistant = client.beta.assistants.create(model="gpt-4.1-mini", tools=[declaration("get_weather")])
    before, started = enforcer.usage.count, time.process_time()
    for _ in range(rounds):
        threadrunner_round(client, assistant.id, stack)
    judged, cpu = (enforcer.usage.count - before) / rounds, (time.process_time() - started) / rounds
    print(f"  calls judged per one-tool conversation: {judged:.0f}, of {cpu:.2f} CPU-seconds it costs the process")
    print()


def _api(stack: LocalStack) -> Any:
    from openai import OpenAI

    return OpenAI(base_url=stack.api_url, api_key=stack.config.api_key)


def sandbox(rounds: int) -> None:
    """Cold: open a session and run a one-line program; warm: the same program in the open session."""
    from threadrunner.domain.code_sandbox import SandboxLimits, SessionKey
    from threadrunner_local.sandbox import LocalSandbox

    program = "print(6 * 7)"
    local = LocalSandbox(SandboxLimits())
    try:
        cold, warm, imports = [], [], []
        for number in range(rounds * 2):
            started = time.perf_counter()
            session = local.open(SessionKey(project="bench", thread_id=f"thread_{number}"))
            assert local.execute(session, program).output == "42\n"
            cold.append(time.perf_counter() - started)
            for _ in range(5):
                started = time.perf_counter()
                local.execute(session, program)
                warm.append(time.perf_counter() - started)
            started = time.perf_counter()
            execution = local.execute(session, "import pandas, matplotlib.pyplot")
            assert execution.error is None, execution.error
            imports.append(time.perf_counter() - started)
            local.close(session)
    finally:
        local.close_all()
    print(f"Code sandbox (local stack), `{program}`, median of {len(cold)} sessions:")
    print(f"  cold (open a session, then run)  {statistics.median(cold) * 1000:7.1f} ms")
    print(f"  warm (in the open session)       {statistics.median(warm) * 1000:7.1f} ms")
    print(f"  import pandas, matplotlib.pyplot {statistics.median(imports) * 1000:7.1f} ms (first time in a session)")
    print()


CODE_MESSAGE = "Run this:\n```python\nprint(6 * 7)\n```\n"


def code_round(client: Any, assistant_id: str, thread_id: str) -> tuple[float, float | None]:
    """One run of the one-line program: client-observed seconds, and the seconds from the model's call (the loop made
    its step) to the tool's output (recorded on the call); ``None`` without a call."""
    client.beta.threads.messages.create(thread_id, role="user", content=CODE_MESSAGE)
    started = time.perf_counter()
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    observed = time.perf_counter() - started
    assert run.status == "completed", run.last_error
    for step in client.beta.threads.runs.steps.list(run.id, thread_id=thread_id):
        shown = step.to_dict()
        if shown["type"] == "tool_calls":
            (call,) = shown["step_details"]["tool_calls"]
            assert call["code_interpreter"]["outputs"][0]["logs"] == "42\n", call
            return observed, (call["timing"]["completed_at_ms"] - shown["timing"]["created_at_ms"]) / 1000
    return observed, None


def code_interpreter(stack: LocalStack, rounds: int, model_latency: float) -> None:
    """code_interpreter in runs: a thread's first run (a new session) and its next (the session open), next to the
    same run without the tool (the model answers at once)."""
    assert stack.model_server is not None
    stack.model_server.model.latency = model_latency
    api = _api(stack)
    coding = api.beta.assistants.create(model="gpt-4.1-mini", tools=[{"type": "code_interpreter"}])
    plain = api.beta.assistants.create(model="gpt-4.1-mini")
    code_round(api, coding.id, api.beta.threads.create().id)  # warm: the handlers' first imports are not the figure
    first, next_, without, first_hop, next_hop = [], [], [], [], []
    for _ in range(rounds):
        thread_id = api.beta.threads.create().id
        observed, hop = code_round(api, coding.id, thread_id)
        first.append(observed)
        first_hop.append(hop)
        observed, hop = code_round(api, coding.id, thread_id)
        next_.append(observed)
        next_hop.append(hop)
        without.append(code_round(api, plain.id, api.beta.threads.create().id)[0])
    print(
        f"code_interpreter in a run, `print(6 * 7)` in the local sandbox, offline model latency {model_latency:g} s, "
        f"median of {rounds} rounds each:"
    )
    print(
        f"  model's call -> tool's output, the thread's first run (new session) {statistics.median(first_hop):6.3f} s"
    )
    print(f"  model's call -> tool's output, its next run (the session open)      {statistics.median(next_hop):6.3f} s")
    print(
        f"  the run with the tool (2 model turns), first / next                 {statistics.median(first):6.2f} s"
        f" / {statistics.median(next_):.2f} s"
    )
    print(f"  the same run without the tool (1 model turn)                        {statistics.median(without):6.2f} s")
    print()


def main() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # the SDK's notes on the beta Assistants methods
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="conversations per side (default 5)")
    # Not a whole number of seconds: a 1 s poller is only exact when the latency happens to be one.
    parser.add_argument("--latency", type=float, default=1.5, help="seconds the offline model takes per response")
    parser.add_argument("--cold-rounds", type=int, default=7, help="rounds of cold starts (default 7)")
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    sections = [
        "latency",
        "conversations",
        "streaming",
        "files",
        "circuits",
        "pages",
        "iam",
        "sandbox",
        "code",
        "cold-starts",
        "sizes",
    ]
    parser.add_argument("--only", choices=sections, help="one section")
    parser.add_argument("--functions", nargs="+", help="cold starts of these functions only (logical ids)")
    args = parser.parse_args()

    # One stack for both sections: moto's state is the process's, so a process holds one stack.
    stack = None
    if args.only not in ("sizes", "sandbox"):
        # With the webhook endpoint and an offline model that sends webhooks; runs poll unless the latency section
        # switches webhook mode on for its webhook rounds.
        config = StackConfig(
            api_port=free_port(),
            webhooks=True,
            environment={"POWERTOOLS_LOG_LEVEL": "ERROR", "MODEL_WEBHOOKS": "false"},
        )
        stack = LocalStack(samples.configure(config)).start()
    try:
        if stack is not None and args.only in (None, "latency"):
            latency(stack, args.rounds, args.latency)
        if stack is not None and args.only in (None, "conversations"):
            conversation_turns(stack, args.rounds, args.latency)
        if stack is not None and args.only in (None, "streaming"):
            streaming(stack, args.rounds, args.latency)
        if stack is not None and args.only in (None, "files"):
            files(stack)
        if stack is not None and args.only in (None, "circuits"):
            circuits(stack, args.rounds)
        if stack is not None and args.only in (None, "pages"):
            pages(stack, args.rounds)
        if stack is not None and args.only in (None, "iam"):
            iam(stack, args.rounds)
        if args.only in (None, "sandbox"):
            sandbox(args.rounds)
        if stack is not None and args.only in (None, "code"):
            code_interpreter(stack, args.rounds, args.latency)
        if stack is not None and args.only in (None, "cold-starts"):
            python = lambda_python()
            if not args.build_dir.is_dir() or python is None:
                print("Cold starts need the build and python3.12: run `make build` (make bench does).\n")
            else:
                assert stack.model_server is not None
                stack.model_server.model.latency = 0.05  # the samples' runs end quickly between cases
                print_cold_starts(
                    cold_starts(stack, python, args.build_dir, args.cold_rounds, set(args.functions or ())),
                    args.cold_rounds,
                )
                print()
    finally:
        if stack is not None:
            stack.stop()
    if args.only in (None, "sizes"):
        if args.build_dir.is_dir():
            print(f"Built artifacts ({args.build_dir}):")
            for name, (unzipped, zipped) in sizes(args.build_dir).items():
                print(f"  {name:28s} {_size(unzipped)} unzipped {_size(zipped)} zipped")
        else:
            print(f"No build in {args.build_dir}: run `make build` for the sizes.")


if __name__ == "__main__":
    main()
