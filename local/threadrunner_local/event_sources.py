"""SQS event source mappings and schedules, run by the local stack because moto does not run them as Lambda and
EventBridge do.

moto's invoke the function inside ``SendMessage`` and drop or keep a whole batch. The stack polls
each mapped queue instead, as Lambda's pollers do: a batch of up to ``BatchSize`` messages per
invocation, ``batchItemFailures`` honoured with ``ReportBatchItemFailures`` (only the others are
deleted), failed messages left to come back after the visibility timeout, so the queue's redrive
policy moves them to the dead-letter queue after ``maxReceiveCount`` receives. Like Lambda's, its calls
are made with the function's role. A function's ``Schedule`` is invoked every ``rate(...)`` with a scheduled
event, as EventBridge's rule does. (EventBridge rules to Lambda and execution status events are patches of moto:
:mod:`.moto_patches`.)
"""

from __future__ import annotations

import datetime
import hashlib
import re
import sys
import threading
import uuid
from typing import Any

from .dispatch import Dispatcher, FunctionError
from .enforcement import acting_as
from .template import ACCOUNT, REGION

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


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
        with acting_as(self._function):  # the mapping polls with the function's role
            self._poll()

    def _poll(self) -> None:
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


class Schedule:
    """A function's ``Schedule`` event source: a scheduled event every ``rate(...)``, the first one rate after the
    start (as EventBridge's rule does). Only ``rate`` expressions are run here."""

    def __init__(self, dispatcher: Dispatcher, function: str, rule: str, expression: str) -> None:
        matched = _RATE.fullmatch(expression)
        if matched is None:
            raise ValueError(f"the local stack runs rate(...) schedules only, not {expression!r} ({function})")
        self.seconds = int(matched.group(1)) * _SECONDS[matched.group(2).rstrip("s")]
        self._dispatcher = dispatcher
        self._function = function
        self._rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"schedule-{function}", daemon=True)

    def start(self) -> Schedule:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def event(self) -> dict[str, Any]:
        """What EventBridge sends for one tick of the schedule."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [self._rule],
            "detail": {},
        }

    def _run(self) -> None:
        while not self._stopped.wait(self.seconds):
            try:
                self._dispatcher.invoke(self._function, self.event())
            except FunctionError as error:  # as EventBridge with no retries: the next tick is the retry
                print(
                    f"scheduled invocation of {self._function} failed: {error.payload['errorMessage']}", file=sys.stderr
                )
