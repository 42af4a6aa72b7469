"""Event sources the local stack runs itself, because moto does not run them as AWS does.

* EventBridge rules whose target is a Lambda function: moto delivers to SQS, logs and buses
  only; the stack makes its rules deliver to Lambda targets too, asynchronously, as EventBridge
  does.
* Step Functions execution status changes: moto does not put them on EventBridge; the stack
  does, on the default bus, when an execution ends (``aws.states``, ``Step Functions Execution
  Status Change``), so rules on them (the reconciler's) fire.
* SQS event source mappings: moto's invoke the function inside ``SendMessage`` and drop or keep a
  whole batch. The stack polls each mapped queue instead, as Lambda's pollers do: a batch of up
  to ``BatchSize`` messages per invocation, ``batchItemFailures`` honoured with
  ``ReportBatchItemFailures`` (only the others are deleted), failed messages left to come back
  after the visibility timeout, so the queue's redrive policy moves them to the dead-letter
  queue after ``maxReceiveCount`` receives.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import threading
from typing import Any

from .dispatch import Dispatcher, FunctionError
from .template import REGION


def deliver_rules_to_lambda(dispatcher: Dispatcher) -> None:
    """Make moto's EventBridge rules deliver matching events to Lambda targets."""
    from moto.events.models import Rule

    original = Rule.send_to_targets
    if getattr(original, "_threadrunner", False):
        return

    @functools.wraps(original)
    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        functions = [target for target in self.targets if ":lambda:" in target["Arn"]]
        others = copy.copy(self)  # moto refuses the targets it does not know, so it gets the others only
        others.targets = [target for target in self.targets if target not in functions]
        original(others, original_event, transform_input)
        if functions and self.event_pattern.matches_event(original_event):
            event = {**original_event, "time": _iso_time(original_event.get("time"))}
            for target in functions:
                dispatcher.invoke_async(target["Arn"], event)

    send_to_targets._threadrunner = True  # type: ignore[attr-defined]
    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def publish_execution_status_changes() -> None:
    """Make moto's Step Functions executions announce their end on the default EventBridge bus."""
    from moto.events.models import events_backends
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    original = BaseExecutionWorkerCommunication.terminated
    if getattr(original, "_threadrunner", False):
        return

    @functools.wraps(original)
    def terminated(self: Any) -> None:
        original(self)
        execution = self.execution
        detail = {
            "executionArn": execution.exec_arn,
            "stateMachineArn": execution.state_machine_arn,
            "name": execution.name,
            "status": execution.exec_status.value,
            "startDate": int(execution.start_date.timestamp() * 1000),
            "stopDate": int(execution.stop_date.timestamp() * 1000) if execution.stop_date else None,
            "input": json.dumps(execution.input_data),
            "error": getattr(execution, "error", None),
            "cause": getattr(execution, "cause", None),
        }
        events_backends[execution.account_id][execution.region_name].put_events(
            [
                {
                    "Source": "aws.states",
                    "DetailType": "Step Functions Execution Status Change",
                    "Detail": json.dumps(detail),
                    "Resources": [execution.exec_arn],
                    "EventBusName": "default",
                }
            ]
        )

    terminated._threadrunner = True  # type: ignore[attr-defined]
    BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]


def _iso_time(value: Any) -> Any:
    """moto stamps events with Unix seconds; EventBridge uses ISO 8601."""
    if isinstance(value, int | float):
        import datetime

        return datetime.datetime.fromtimestamp(value, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


class SqsPoller:
    """One SQS event source mapping: polls a queue and invokes a function with its batches."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        dispatcher: Dispatcher,
        function: str,
        batch_size: int,
        report_failures: bool,
    ) -> None:
        self._sqs = sqs
        self._url = queue_url
        self._arn = queue_arn
        self._dispatcher = dispatcher
        self._function = function
        self._batch_size = batch_size
        self._report_failures = report_failures
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sqs-poller-{function}", daemon=True)

    def start(self) -> SqsPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                answer = self._sqs.receive_message(
                    QueueUrl=self._url,
                    MaxNumberOfMessages=self._batch_size,
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except Exception:  # the stack is stopping, or moto is busy: poll again
                self._stopped.wait(0.5)
                continue
            messages = answer.get("Messages", [])
            if messages:
                self._deliver(messages)

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._record(message) for message in messages]}
        try:
            result = self._dispatcher.invoke(self._function, event) or {}
        except FunctionError:
            return  # the whole batch comes back after the visibility timeout
        failed = (
            {item["itemIdentifier"] for item in result.get("batchItemFailures", [])} if self._report_failures else set()
        )
        for message in messages:
            if message["MessageId"] not in failed:
                self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self._arn,
            "awsRegion": REGION,
        }
