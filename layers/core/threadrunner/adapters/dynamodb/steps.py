"""Run steps and their tool calls: each call an item of its own, so several large outputs never share one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...domain.message import Message
from ...domain.pagination import Page, PageRequest, paginate
from ...domain.run_step import RunStep, RunStepStatus, ToolCallsStepDetails
from ...domain.tool_call import ToolCall
from ...errors import NotFound
from . import keys
from .codec import fields, from_attributes, reason_codes, to_attributes
from .table import Table

_STAMPS = {"completed": "completed_at", "failed": "failed_at", "cancelled": "cancelled_at", "expired": "expired_at"}
_TIMING = ("turn_started_at_ms", "created_at_ms", "ended_at_ms")
"""The step's ``timing``, kept as attributes of its item: its end is set in place."""


def step_values(step: RunStep) -> dict[str, Any]:
    """A step as its item holds it: a ``tool_calls`` step without its calls, which are items of their own (the
    outputs may each be large), and its timing as attributes."""
    values = step.model_dump()
    if isinstance(step.step_details, ToolCallsStepDetails):
        values["step_details"] = {"type": "tool_calls"}
    timing = values.pop("timing", None) or {}
    return values | {name: value for name, value in timing.items() if value is not None}


def _step_fields(item: dict[str, Any]) -> dict[str, Any]:
    """The wire fields of a step's item, its timing gathered again (none for a step stored before it was kept)."""
    values = fields(item, *_TIMING)
    if "created_at_ms" in item:
        values["timing"] = {name: item.get(name) for name in _TIMING}
    return values


# A step (or message) a run's stream began in progress is replaced; a step the loop wrote is not written again.
_NEW_OR_BEGUN = f"attribute_not_exists(PK) OR {keys.BEGUN} = :true"


class DynamoDBSteps(Table):
    """:class:`threadrunner.ports.StepStore`."""

    def put_step(self, step: RunStep, tool_calls: list[ToolCall], also: Sequence[Message | RunStep] = ()) -> None:
        writes = [
            # Only into a run that is there: a step never lands in a thread deleted under the loop.
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": self.keys.run(step.thread_id, step.run_id),
                    "ConditionExpression": "attribute_exists(PK)",
                }
            },
            *(self._replacing(item) for item in (step, *also)),
        ]
        writes += [
            {
                "Put": self._put(
                    self.keys.call(step.thread_id, step.run_id, step.id, call.call_id),
                    "tool_call",
                    {**call.model_dump(), "position": index},
                    "attribute_not_exists(PK)",
                )
            }
            for index, call in enumerate(tool_calls)
        ]
        try:
            self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.TransactionCanceledException as exc:
            if reason_codes(exc)[0] == "ConditionalCheckFailed":
                raise NotFound("run", step.run_id) from exc
            # Else an earlier attempt of the task wrote the step and its calls: they stay as they are.

    def _replacing(self, item: Message | RunStep) -> dict[str, Any]:
        if isinstance(item, Message):
            key, kind, values = self.keys.message(item.thread_id, item.id), "message", item.model_dump()
        else:
            key, kind, values = self.keys.step(item.thread_id, item.run_id, item.id), "step", step_values(item)
        put = self._put(key, kind, values, _NEW_OR_BEGUN)
        put["ExpressionAttributeValues"] = {":true": {"BOOL": True}}
        return {"Put": put}

    def get_step(self, thread_id: str, run_id: str, step_id: str) -> RunStep:
        for step in self.list_steps(thread_id, run_id, PageRequest(limit=100, order="asc")).data:
            if step.id == step_id:
                return step
        raise NotFound("run step", step_id)

    def set_step_status(self, thread_id: str, run_id: str, step_id: str, status: RunStepStatus, at_ms: int) -> None:
        stamp = _STAMPS.get(status)
        stamps = {":at": at_ms // 1000, ":at_ms": at_ms} if stamp else {}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self.keys.step(thread_id, run_id, step_id),
                UpdateExpression="SET #status = :status" + (f", {stamp} = :at, ended_at_ms = :at_ms" if stamp else ""),
                ConditionExpression="attribute_exists(PK)",  # never recreate a step whose thread was deleted
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_attributes({":status": status, **stamps}),
            )
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise NotFound("run step", step_id) from exc

    def list_steps(self, thread_id: str, run_id: str, page: PageRequest) -> Page[RunStep]:
        if self._get(self.keys.run(thread_id, run_id)) is None:
            raise NotFound("run", run_id)
        prefix = keys.steps_of(run_id)
        steps: list[dict[str, Any]] = []
        calls: dict[str, list[dict[str, Any]]] = {}
        for item in self._query(self.keys.thread_pk(thread_id), prefix, prefix + keys.HIGHEST):
            if item["entity"] == "step":
                steps.append(item)
            else:
                calls.setdefault(item["step_id"], []).append(item)
        built = []
        for item in steps:
            values = _step_fields(item)
            if values["type"] == "tool_calls":
                values["step_details"] = {
                    "type": "tool_calls",
                    "tool_calls": [
                        ToolCall.model_validate(fields(c, "position")).as_step_item(with_content=True)
                        for c in sorted(calls.get(item["id"], []), key=lambda c: c["position"])
                    ],
                }
            built.append(RunStep.model_validate(values))
        return paginate(built, page)

    def get_tool_calls(self, thread_id: str, run_id: str, step_id: str) -> list[ToolCall]:
        prefix = keys.calls_of(run_id, step_id)
        items = self._query(self.keys.thread_pk(thread_id), prefix, prefix + keys.HIGHEST)
        return [
            ToolCall.model_validate(fields(item, "position")) for item in sorted(items, key=lambda c: c["position"])
        ]

    def claim_tool_call(self, thread_id: str, run_id: str, step_id: str, call_id: str, at_ms: int) -> ToolCall | None:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=self.keys.call(thread_id, run_id, step_id, call_id),
                UpdateExpression="SET #status = :running, started_at_ms = :at_ms",
                # At most once per tool call: only the first attempt finds it pending.
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":running": {"S": "running"},
                    ":pending": {"S": "pending"},
                    ":at_ms": {"N": str(at_ms)},
                },
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return ToolCall.model_validate(fields(from_attributes(answer["Attributes"]), "position"))

    def ask_for_outputs(self, thread_id: str, run_id: str, step_id: str, call_ids: list[str], at_ms: int) -> None:
        for call_id in call_ids:
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=self.keys.call(thread_id, run_id, step_id, call_id),
                    UpdateExpression="SET started_at_ms = :at_ms",
                    # A retried ask (a retried task, a loop started again) keeps when the client was first asked.
                    ConditionExpression="attribute_exists(PK) AND "
                    "(attribute_not_exists(started_at_ms) OR attribute_type(started_at_ms, :null))",
                    ExpressionAttributeValues={":at_ms": {"N": str(at_ms)}, ":null": {"S": "NULL"}},
                )
            except self._client.exceptions.ConditionalCheckFailedException:
                pass  # asked before

    def record_tool_output(self, thread_id: str, call: ToolCall) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self.keys.call(thread_id, call.run_id, call.step_id, call.call_id),
                UpdateExpression="SET #status = :completed, #output = :output, is_error = :is_error, "
                "duration_ms = :duration_ms, execution = :execution, completed_at_ms = :completed_at_ms",
                ConditionExpression="#status = :running",
                ExpressionAttributeNames={"#status": "status", "#output": "output"},
                ExpressionAttributeValues=to_attributes(
                    {
                        ":completed": "completed",
                        ":running": "running",
                        ":output": call.output,
                        ":is_error": call.is_error,
                        ":duration_ms": call.duration_ms,
                        ":execution": call.execution.model_dump() if call.execution else None,
                        ":completed_at_ms": call.completed_at_ms,
                    }
                ),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            pass  # recorded already
