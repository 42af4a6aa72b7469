"""The Step Functions launcher, the ToolFunction catalogue and the EventBridge publisher.

Each takes its boto3 client; the entry points hand them clients made on first use (``bootstrap``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ReadTimeoutError

from ..domain.common import FunctionDefinition
from ..domain.lambda_tools import INVALID_ARGUMENTS
from ..domain.run_record import RunRef
from ..domain.tools import Outcome
from ..domain.vector_stores import IndexJob

if TYPE_CHECKING:
    from ..ports import Event


class StepFunctionsRunControl:
    """:class:`threadrunner.ports.RunControl`: one execution of the run loop per run, named by the run id.

    ``waiting`` is read at each start: how the run's turns wait for their responses (for webhooks, or polling), as
    fields of the execution's input, so a run keeps the way it started with.
    """

    def __init__(self, state_machine_arn: str, client: Any, waiting: Callable[[], Mapping[str, int]]) -> None:
        self._arn = state_machine_arn
        self._client = client
        self._waiting = waiting

    def start(self, ref: RunRef) -> None:
        state = {**ref.model_dump(), **self._waiting()}
        try:
            self._client.start_execution(stateMachineArn=self._arn, name=ref.run_id, input=json.dumps(state))
        except self._client.exceptions.ExecutionAlreadyExists:
            pass  # the name is the run id: a retried start does not run a second loop

    def resume(self, task_token: str, output: Mapping[str, Any] | None = None) -> bool:
        # Without an output the state goes on as it was (the tool outputs are in DynamoDB: the ASL discards the
        # waiting task's result, ResultPath null).
        return self._callback(self._client.send_task_success, taskToken=task_token, output=json.dumps(output or {}))

    def interrupt(self, task_token: str, error: str, cause: str) -> None:
        self._callback(self._client.send_task_failure, taskToken=task_token, error=error, cause=cause)

    def _callback(self, call: Any, **arguments: Any) -> bool:
        errors = self._client.exceptions
        try:
            call(**arguments)
        except (errors.TaskTimedOut, errors.TaskDoesNotExist, errors.InvalidToken):
            return False  # the task no longer waits: it timed out, or was answered already
        return True


class LambdaTurnChecks:
    """:class:`threadrunner.ports.TurnChecks`: an asynchronous invocation of the CheckTurn function (Lambda retries
    one that fails twice; one that never succeeds costs the turn the wait until it polls)."""

    def __init__(self, function_name: str, client: Any) -> None:
        self._function = function_name
        self._client = client

    def check(self, state: Mapping[str, Any]) -> None:
        self._client.invoke(FunctionName=self._function, InvocationType="Event", Payload=json.dumps(state).encode())


class LambdaToolCatalogue:
    """:class:`threadrunner.ports.ToolCatalogue`: asks the ToolFunction which tools it serves, and caches the answer."""

    def __init__(self, function_name: str, client: Any, max_age_seconds: float = 300.0) -> None:
        self._function = function_name
        self._client = client
        self._max_age = max_age_seconds
        self._tools: dict[str, FunctionDefinition] = {}
        self._fetched_at = float("-inf")

    def server_tools(self) -> Mapping[str, FunctionDefinition]:
        if time.monotonic() - self._fetched_at > self._max_age:
            answer = self._client.invoke(FunctionName=self._function, Payload=json.dumps({"catalogue": True}))
            if answer.get("FunctionError"):
                raise RuntimeError(f"the ToolFunction could not list its tools: {answer['Payload'].read()!r}")
            tools = [FunctionDefinition.model_validate(tool) for tool in json.loads(answer["Payload"].read())["tools"]]
            self._tools = {tool.name: tool for tool in tools}
            self._fetched_at = time.monotonic()
        return self._tools


class EventBridgePublisher:
    """:class:`threadrunner.ports.EventPublisher` on one EventBridge bus."""

    def __init__(self, bus_name: str, client: Any) -> None:
        self._bus = bus_name
        self._client = client

    def publish(self, event: Event) -> None:
        answer = self._client.put_events(Entries=[{**event.entry(), "EventBusName": self._bus}])
        if answer.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused the event: {answer['Entries'][0].get('ErrorMessage')}")


class SQSIndexJobs:
    """:class:`threadrunner.ports.IndexJobs` on the IndexFunction's queue, a fair queue: each job's message group
    is its project, so SQS serves the other projects' jobs first while one project has a backlog."""

    def __init__(self, queue_url: str, client: Any) -> None:
        self._queue_url = queue_url
        self._client = client

    def submit(self, job: IndexJob) -> None:
        self._client.send_message(
            QueueUrl=self._queue_url, MessageBody=job.model_dump_json(), MessageGroupId=job.project
        )


class LambdaToolInvoker:
    """:class:`threadrunner.ports.ToolInvoker` on the Lambda API: one synchronous invocation per attempt, read for
    at most the tool's timeout; a function's tags are kept a minute."""

    TAGS_MAX_AGE_SECONDS = 60.0

    def __init__(self, client: Callable[[int], Any]) -> None:
        self._client = client  # a client whose reads wait at most that many seconds, and that never retries
        self._tags: dict[str, tuple[float, dict[str, str]]] = {}

    def invoke(self, function_arn: str, payload: dict[str, Any], timeout_seconds: int) -> tuple[Outcome, str]:
        client = self._client(timeout_seconds)
        try:
            answer = client.invoke(FunctionName=function_arn, Payload=json.dumps(payload).encode())
        except ReadTimeoutError:
            return "timed_out", json.dumps({"error": f"the tool did not answer within {timeout_seconds} s"})
        except client.exceptions.TooManyRequestsException:
            return "failed", json.dumps({"error": "the tool is throttled"})
        except ClientError:  # gone, not a tool (its tag), or refused: the tool's failure, not the run's
            return "failed", json.dumps({"error": "the tool's function cannot be invoked"})
        body = answer["Payload"].read().decode("utf-8", "replace")
        if answer.get("FunctionError"):
            try:
                error = json.loads(body)
                kind = error.get("errorType", "Error")
                message = f"{kind}: {error.get('errorMessage', '')}"[:1000]
            except (ValueError, AttributeError):
                kind, message = "Error", "the tool's function failed"
            return "invalid_arguments" if kind == INVALID_ARGUMENTS else "failed", json.dumps({"error": message})
        return "ok", body

    def tags_of(self, function_arn: str) -> dict[str, str]:
        unqualified = ":".join(function_arn.split(":")[:7])  # tags are the function's, not a version's
        kept = self._tags.get(unqualified)
        if kept is not None and time.monotonic() - kept[0] < self.TAGS_MAX_AGE_SECONDS:
            return kept[1]
        try:
            tags = dict(self._client(10).list_tags(Resource=unqualified).get("Tags", {}))
        except ClientError:  # no such function, or one of another account
            tags = {}
        self._tags[unqualified] = (time.monotonic(), tags)
        return tags
