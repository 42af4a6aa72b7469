"""The sample world the files in ``events/`` refer to, seeded by ``make run``, ``make invoke`` and the tests.

Every function of the template has sample events (``events/<LogicalId>/<what it does>.json``).
The run-loop tasks need a run in the right state to act on; the world below has one per task,
each on its own thread, in the project ``samples`` (API key ``sk-local-samples``), and the offline
model knows the responses they name. So a sample invoked with ``make invoke`` or
``sam local invoke`` (against ``make run``) does what the task does in a real run.
"""

from __future__ import annotations

import time

from threadrunner.domain.assistant import Assistant
from threadrunner.domain.budget import OUTPUT_RESERVE_TOKENS, Budget, Reservation, today
from threadrunner.domain.common import SERVER_TOOL_PREFIX, FunctionDefinition, FunctionTool, Usage, now
from threadrunner.domain.files import FileObject, content_key
from threadrunner.domain.lambda_tools import TOOL_TAG, LambdaTool
from threadrunner.domain.message import Message, text_content
from threadrunner.domain.run import Run
from threadrunner.domain.run_record import message_slot
from threadrunner.domain.run_step import FunctionCall, FunctionToolCall, RunStep, ToolCallsStepDetails
from threadrunner.domain.thread import Thread
from threadrunner.domain.tool_call import ToolCall
from threadrunner.domain.vector_stores import VectorStore, VectorStoreFile
from threadrunner.ports import FileContents, Stores
from threadrunner_local.model_server import OfflineModel, function_call_item
from threadrunner_local.stack import ROOT, LocalStack, StackConfig
from threadrunner_local.template import ACCOUNT, REGION

PROJECT = "samples"
API_KEY = "sk-local-samples"
EVENT_SOURCE = "samples.app"
"""The EventBridge source of the sample event (events/EventsFunction), bound to the sample project."""
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:threadrunner-SamplesQueue"
"""The queue of the sample SQS batch (events/QueueFunction), bound to the sample project."""
ASSISTANT = "asst_sample"
BACKGROUND_RESPONSE = "resp_sample_background"
"""A forwarded background response of the sample project, still to be counted (events/SettleResponsesFunction)."""
QUESTION = "What's the weather in Paris?"

_WEATHER = FunctionDefinition(name=SERVER_TOOL_PREFIX + "get_weather")  # the server's tool
_LOCAL_TIME = FunctionDefinition(
    name="get_local_time",
    description="The local time in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


LOOKUP_ORDER = LambdaTool(
    name="lookup_order",
    description="Look up an order's status, carrier and delivery date by its id.",
    parameters={"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:lookup-order",
    timeout_seconds=10,
)
"""The example Lambda tool (examples/lambda_tool/app.py), registered for the sample project."""


def configure(config: StackConfig) -> StackConfig:
    """``config`` with the sample world: its event source and queue post for the sample project, the example
    Lambda tool's function exists (a tool of every project), and it is seeded when the stack starts."""
    config.event_sources[EVENT_SOURCE] = PROJECT
    config.queue_projects[QUEUE_ARN] = PROJECT
    config.on_start.append(_add_example_tool)
    config.on_start.append(_seed_stack)
    config.fixture_projects.add(PROJECT)  # its runs wait for `make invoke`: a restart does not take them up
    return config


def _add_example_tool(stack: LocalStack) -> None:
    code = ROOT / "examples" / "lambda_tool"
    stack.add_function("lookup-order", "app.handler", code, tags={TOOL_TAG: "*"})


def _seed_stack(stack: LocalStack) -> None:
    _remove(stack)  # a stack that keeps its data has the world an earlier start left
    seed(stack.stores(PROJECT), stack.model_server.model if stack.model_server else None, stack.file_contents())
    stack.seed_api_key(API_KEY, project=PROJECT)


def _remove(stack: LocalStack, *prefixes: str) -> None:
    """Every item of the sample project (and of the ``prefixes``)."""
    dynamodb = stack.client("dynamodb")
    for item in stack.table_items(f"P#{PROJECT}#", *prefixes):
        dynamodb.delete_item(TableName=stack.table_name, Key={"PK": item["PK"], "SK": item["SK"]})


def reset(stack: LocalStack, timeout: float = 60.0) -> None:
    """The sample world as it was seeded, for samples to be invoked again: once the runs the samples started
    have ended, every item of the sample project is removed and written again, and the idempotency records
    are forgotten (the sample deliveries carry fixed ids: a record would answer them without the work)."""
    assert stack.template is not None
    sfn = stack.client("stepfunctions")
    machine = stack.template.arn("RunLoopStateMachine")
    deadline = time.monotonic() + timeout
    while sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]:
        if time.monotonic() > deadline:
            raise TimeoutError("the runs the samples started did not end")
        time.sleep(0.1)
    _remove(stack, "idempotency#")
    model = stack.model_server.model if stack.model_server else None
    seed(stack.stores(PROJECT), model, stack.file_contents())  # its API key stays


FILE = "file-sample"
VECTOR_STORE = "vs_sample"
HANDBOOK = "The lighthouse lamp is lit at sunset and put out at sunrise."


def seed(stores: Stores, model: OfflineModel | None, contents: FileContents | None = None) -> None:
    """Write the sample world. Without the offline model (a real provider) the tasks that need a
    stored response have none to read, and say so."""
    at = now()
    if contents is not None:  # IndexFunction: a file waiting in a vector store to be indexed
        key = content_key(PROJECT, FILE)
        contents.put(key, HANDBOOK.encode())
        stores.files.put_file(
            FileObject(id=FILE, bytes=len(HANDBOOK), created_at=at, filename="handbook.txt", purpose="assistants"), key
        )
        stores.vector_stores.put_store(VectorStore(id=VECTOR_STORE, created_at=at, name="Sample handbook"))
        stores.vector_stores.add_file(VectorStoreFile(id=FILE, created_at=at, vector_store_id=VECTOR_STORE))
    assistant = Assistant(
        id=ASSISTANT,
        created_at=at,
        name="Sample assistant",
        model="gpt-4.1-mini",
        instructions="Answer with the tools you have.",
        tools=[FunctionTool(function=_WEATHER), FunctionTool(function=_LOCAL_TIME)],
    )
    stores.assistants.put_assistant(assistant)
    stores.tools.put_tool(LOOKUP_ORDER.model_copy(update={"created_at": at}))

    def thread(name: str, status: str | None = None, response_id: str | None = None) -> Run | None:
        thread_id = f"thread_sample_{name}"
        stores.threads.create_thread(
            Thread(id=thread_id, created_at=at),
            [
                Message(
                    id=f"msg_sample_{name}",
                    created_at=at,
                    thread_id=thread_id,
                    role="user",
                    content=text_content(QUESTION),
                )
            ],
        )
        if status is None:
            return None
        run = Run(
            id=f"run_sample_{name}",
            created_at=at,
            thread_id=thread_id,
            assistant_id=ASSISTANT,
            model=assistant.model,
            instructions=assistant.instructions or "",
            tools=assistant.tools,
        )
        stores.runs.create_run(run)
        if status != "queued":
            stores.runs.transition_run(thread_id, run.id, "in_progress", started_at=at)
        if response_id:
            stores.runs.set_turn(thread_id, run.id, response_id, tool_round=False, started_at_ms=at * 1000)
        return run

    def tool_step(run: Run, name: str, call: ToolCall) -> None:
        step = RunStep(
            id=f"step_sample_{name}",
            created_at=at,
            run_id=run.id,
            assistant_id=ASSISTANT,
            thread_id=run.thread_id,
            type="tool_calls",
            step_details=ToolCallsStepDetails(
                tool_calls=[
                    FunctionToolCall(id=call.call_id, function=FunctionCall(name=call.name, arguments=call.arguments))
                ]
            ),
        )
        stores.steps.put_step(step, [call])

    thread("api")  # for the API samples: a thread with one message, no run
    thread("start", "queued")  # StartTurn: a queued run

    if model is not None:  # CheckTurn: the model asked for the weather
        model.seed(
            "resp_sample_check", QUESTION, [function_call_item("call_sample_check", "get_weather", {"city": "Paris"})]
        )
    thread("check", "in_progress", "resp_sample_check")

    run = thread("tool", "in_progress")  # ToolFunction: a pending server-side call
    assert run is not None
    tool_step(
        run,
        "tool",
        ToolCall(
            call_id="call_sample_weather",
            run_id=run.id,
            step_id="step_sample_tool",
            name="get_weather",
            arguments='{"city": "Paris"}',
            side="server",
        ),
    )

    run = thread("lambda_tool", "in_progress")  # ToolFunction: a pending call of the project's Lambda tool
    assert run is not None
    tool_step(
        run,
        "lambda_tool",
        ToolCall(
            call_id="call_sample_order",
            run_id=run.id,
            step_id="step_sample_lambda_tool",
            name="lookup_order",
            arguments='{"order_id": "A-1001"}',
            side="server",
        ),
    )

    run = thread("wait", "in_progress")  # RequestToolOutputs: a call only the client can answer
    assert run is not None
    tool_step(
        run,
        "wait",
        ToolCall(
            call_id="call_sample_time",
            run_id=run.id,
            step_id="step_sample_wait",
            name="get_local_time",
            arguments='{"city": "Tokyo"}',
            side="client",
        ),
    )

    if model is not None:  # SubmitToolOutputs: the call was answered, the model waits for the output
        model.seed(
            "resp_sample_submit", QUESTION, [function_call_item("call_sample_submit", "get_weather", {"city": "Paris"})]
        )
    run = thread("submit", "in_progress", "resp_sample_submit")
    assert run is not None
    tool_step(
        run,
        "submit",
        ToolCall(
            call_id="call_sample_submit",
            run_id=run.id,
            step_id="step_sample_submit",
            name="get_weather",
            arguments='{"city": "Paris"}',
            side="server",
            status="completed",
            output='{"city": "Paris", "temperature": 18}',
        ),
    )

    if model is not None:  # FinalizeRun: the model's answer is ready
        model.seed(
            "resp_sample_final",
            QUESTION,
            [
                {
                    "type": "message",
                    "id": "msg_out_sample",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": "It is 18 degrees in Paris.", "annotations": []}],
                }
            ],
        )
    thread("final", "in_progress", "resp_sample_final")

    if model is not None:  # SettleResponsesFunction: a forwarded background response that ended, never asked for
        answer = {"type": "output_text", "text": "It is 18 degrees in Paris.", "annotations": []}
        model.seed(
            BACKGROUND_RESPONSE,
            QUESTION,
            [{"type": "message", "id": "msg_out_bg", "role": "assistant", "status": "completed", "content": [answer]}],
        )
        reservation = Reservation(day=today(), prompt_tokens=8, completion_tokens=OUTPUT_RESERVE_TOKENS)
        stores.usage.reserve(reservation, Budget())
        stores.usage.record_response(BACKGROUND_RESPONSE, reservation, "", "", unsettled=True)

    thread("fail", "in_progress")  # FailRun: a task failed for good
    thread("abort", "in_progress")  # ReconcilerFunction: the run's execution was aborted

    run = thread("done", "in_progress")  # AnnounceRun: a run that just completed
    assert run is not None
    reply = Message(
        id="msg_sample_done_reply",
        created_at=at,
        thread_id=run.thread_id,
        role="assistant",
        content=text_content("It is 18 degrees in Paris."),
        assistant_id=ASSISTANT,
        run_id=run.id,
    )
    stores.runs.claim_id(run.thread_id, run.id, message_slot("resp_sample_done"), reply.id)
    stores.runs.transition_run(
        run.thread_id,
        run.id,
        "completed",
        puts=[reply],
        completed_at=at,
        usage=Usage(prompt_tokens=20, completion_tokens=8, total_tokens=28),
    )
