"""Baseline figures of threadrunner on the local stack with the offline model (``make bench``).

Prints:

* end-to-end latency of a one-tool conversation through threadrunner, next to a direct
  client that drives the same offline model itself and polls it every second (as naive
  Assistants clients did), at the same simulated model latency, and their ratio;
* Step Functions state transitions per run, counted in the execution history;
* the cold import time of each Lambda handler module in a fresh interpreter;
* the size of the built layer and functions (``sam build`` output), unzipped and zipped.

Figures are medians of several rounds measured side by side in one process; the machine is
shared and noisy, so compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
import zipfile
from pathlib import Path
from typing import Any

import threadrunner.tools  # noqa: F401 - registers get_weather
from threadrunner.domain.server_tools import declaration
from threadrunner.domain.tools import default_registry
from threadrunner_harness.cold_import import cold_import, handler_sources
from threadrunner_local.stack import LocalStack, StackConfig, free_port
from threadrunner_local.template import load

ROOT = Path(__file__).resolve().parents[1]

QUESTION = "What's the weather in San Francisco?"


def threadrunner_round(client: Any, assistant_id: str, stack: LocalStack) -> tuple[float, float, int]:
    """One conversation through the API: client-observed seconds, execution seconds, state transitions."""
    thread = client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
    started = time.perf_counter()
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    observed = time.perf_counter() - started
    assert run.status == "completed", run.last_error
    sfn = stack.client("stepfunctions")
    execution = stack.execution_arn(run.id)
    for _ in range(50):  # the run is completed a moment before the execution records its end
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.05)
    duration = (described["stopDate"] - described["startDate"]).total_seconds()
    events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    transitions = sum(1 for event in events if event["type"].endswith("StateEntered"))
    return observed, duration, transitions


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


def cold_imports(rounds: int) -> dict[str, float]:
    """Median seconds to import each handler module in a fresh interpreter."""
    figures = {}
    for source, functions in handler_sources(load(ROOT)).items():
        figures["/".join(functions)] = statistics.median(cold_import(source, ROOT).seconds for _ in range(rounds))
    openai_alone = ROOT / ".aws-sam" / "import_openai.py"
    openai_alone.parent.mkdir(exist_ok=True)
    openai_alone.write_text("import openai\n")
    figures["(import openai alone)"] = statistics.median(cold_import(openai_alone, ROOT).seconds for _ in range(rounds))
    return figures


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="conversations per side (default 5)")
    # Not a whole number of seconds: a 1 s poller is only exact when the latency happens to be one.
    parser.add_argument("--latency", type=float, default=1.5, help="seconds the offline model takes per response")
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    args = parser.parse_args()

    from openai import OpenAI

    stack = LocalStack(
        StackConfig(api_port=free_port(), model_latency=args.latency, environment={"POWERTOOLS_LOG_LEVEL": "WARNING"})
    ).start()
    try:
        assert stack.model_server is not None
        api = OpenAI(base_url=stack.api_url, api_key=stack.config.api_key)
        model = OpenAI(base_url=stack.model_server.url, api_key=stack.model_server.model.api_key)
        assistant = api.beta.assistants.create(model="gpt-4.1-mini", tools=[declaration("get_weather")])
        threadrunner_round(api, assistant.id, stack)  # warm: the handlers' first imports are not the figure
        ours, executions, transitions, direct = [], [], [], []
        for _ in range(args.rounds):
            observed, duration, count = threadrunner_round(api, assistant.id, stack)
            ours.append(observed)
            executions.append(duration)
            transitions.append(count)
            direct.append(direct_round(model))
    finally:
        stack.stop()

    print(
        f"One-tool conversation (2 model turns), offline model latency {args.latency:g} s, "
        f"median of {args.rounds} rounds each, side by side:"
    )
    print(f"  threadrunner, client-observed (SDK create_and_poll): {statistics.median(ours):6.2f} s")
    print(f"  threadrunner, Step Functions execution:              {statistics.median(executions):6.2f} s")
    print(f"  direct client polling the model every 1 s:           {statistics.median(direct):6.2f} s")
    ratio = statistics.median(ours) / statistics.median(direct)
    print(f"  ratio threadrunner (client-observed) / direct:       {ratio:6.2f}")
    print(
        f"  ratio threadrunner (execution) / direct:             "
        f"{statistics.median(executions) / statistics.median(direct):6.2f}"
    )
    print(f"  floor (2 x model latency):                           {2 * args.latency:6.2f} s")
    print()
    print(f"State transitions per run (StateEntered events): {sorted(set(transitions))}")
    print()
    print("Cold import of each handler module in a fresh interpreter (median of 3):")
    for name, seconds in cold_imports(3).items():
        print(f"  {name:100s} {seconds * 1000:6.0f} ms")
    print()
    if args.build_dir.is_dir():
        print(f"Built artifacts ({args.build_dir}):")
        for name, (unzipped, zipped) in sizes(args.build_dir).items():
            print(f"  {name:28s} {_size(unzipped)} unzipped {_size(zipped)} zipped")
    else:
        print(f"No build in {args.build_dir}: run `make build` for the sizes.")


if __name__ == "__main__":
    main()
