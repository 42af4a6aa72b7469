"""Runs: created with their thread's lock, moved only by the run-status table, and the loop's bookkeeping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...domain.common import FunctionDefinition, Usage
from ...domain.message import Message
from ...domain.pagination import Page, PageRequest
from ...domain.run import Run
from ...domain.run_record import RunRecord
from ...domain.run_status import RunStatus, is_terminal, sources_of
from ...domain.run_step import RunStep
from ...domain.user import QueuedMessage
from ...errors import InvalidTransition, NotFound, TooManyActiveRuns
from . import keys
from .codec import fields, plain, reason_codes, to_attributes, usage_of
from .steps import step_values
from .table import FREE, Table, free_now

RUN_BOOKKEEPING = (
    "response_id",
    "turn_started_at_ms",
    "tool_rounds",
    "usage_prompt",
    "usage_completion",
    "usage_responses",
    "claims",
    "vector_store_ids",
    "server_tools",
    "task_token",
    "waiting_step_id",
    "usage_counted",
    "ttl",
)
"""What the run item holds beside the wire object's fields."""


class DynamoDBRuns(Table):
    """:class:`threadrunner.ports.RunStore`."""

    # creation -----------------------------------------------------------------------------------------

    def create_run(
        self,
        run: Run,
        vector_store_ids: list[str] | None = None,
        messages: Sequence[Message] = (),
        max_active_runs: int | None = None,
    ) -> None:
        if not self._create(run, self._creation(run, vector_store_ids or [], messages), max_active_runs):
            raise self._refusal(run.thread_id)
        self._touch(run.thread_id)

    def start_queued_run(
        self,
        run: Run,
        queued: list[QueuedMessage],
        messages: list[Message],
        vector_store_ids: list[str],
        max_active_runs: int | None = None,
    ) -> bool:
        moves = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": self.keys.queued(run.thread_id, entry.message.id),
                    "ConditionExpression": "attribute_exists(PK)",
                }
            }
            for entry in queued
        ]
        # The queued messages become the thread's and the run takes the lock, all at once; False when the
        # thread is busy, or another drain took these messages first.
        return self._create(run, [*self._creation(run, vector_store_ids, messages), *moves], max_active_runs)

    def _creation(self, run: Run, vector_store_ids: list[str], messages: Sequence[Message]) -> list[dict[str, Any]]:
        """The writes that create a queued run: the messages it answers, the run item, and the thread's lock."""
        values = {
            **run.model_dump(),
            "tool_rounds": 0,
            "usage_prompt": 0,
            "usage_completion": 0,
            "claims": {},
            "vector_store_ids": vector_store_ids,
        }
        return [
            {"Put": self._put(self.keys.run(run.thread_id, run.id), "run", values, "attribute_not_exists(PK)")},
            # One active run per thread, and none while a response holds it: the run takes the thread's lock or is
            # not created.
            {
                "Update": {
                    "TableName": self._table,
                    "Key": self.keys.thread(run.thread_id),
                    "UpdateExpression": "SET active_run_id = :run_id",
                    "ConditionExpression": "attribute_exists(PK) AND attribute_not_exists(active_run_id) "
                    f"AND attribute_not_exists(deleting) AND {FREE}",
                    "ExpressionAttributeValues": {":run_id": {"S": run.id}, **free_now()},
                }
            },
            *({"Put": self._object_put(message)} for message in messages),
        ]

    def _create(self, run: Run, writes: list[dict[str, Any]], max_active_runs: int | None) -> bool:
        """Write a run's creation, counted among the project's unfinished runs; False when the thread refused it.

        Raises :class:`~threadrunner.errors.TooManyActiveRuns` when the project has ``max_active_runs``.
        """
        # The project's unfinished runs are a set of ids: a run joins it, within the limit, as it is created,
        # and leaves it as it ends.
        join: dict[str, Any] = {
            "Update": {
                "TableName": self._table,
                "Key": self.keys.active_runs(),
                "UpdateExpression": "ADD runs :run",
                "ExpressionAttributeValues": {":run": {"SS": [f"{run.thread_id}/{run.id}"]}},
            }
        }
        if max_active_runs is not None:
            join["Update"]["ConditionExpression"] = "attribute_not_exists(runs) OR size(runs) < :max"
            join["Update"]["ExpressionAttributeValues"][":max"] = {"N": str(max_active_runs)}
        for attempt in range(2):
            try:
                self._client.transact_write_items(TransactItems=[join, *writes])
                return True
            except self._client.exceptions.TransactionCanceledException as exc:
                if reason_codes(exc)[0] != "ConditionalCheckFailed":
                    return False
                # A run that ended without leaving the set (its thread deleted under it) holds no place.
                if attempt == 1 or not self._prune_active_runs():
                    assert max_active_runs is not None  # the set's update has a condition only with a limit
                    raise TooManyActiveRuns(max_active_runs) from exc
        return False

    def has_room_for_run(self, max_active_runs: int) -> bool:
        # A run that ended without leaving the set (its thread deleted under it) holds no place.
        if len(self._active_runs()) < max_active_runs:
            return True
        return self._prune_active_runs() and len(self._active_runs()) < max_active_runs

    def _active_runs(self) -> set[str]:
        """The project's unfinished runs, as ``thread_id/run_id``."""
        return set((self._get(self.keys.active_runs()) or {}).get("runs", set()))

    def _prune_active_runs(self) -> bool:
        """Take runs that ended, or are gone, out of the project's set of unfinished runs; whether any was."""
        stale = []
        for member in self._active_runs():
            thread_id, run_id = member.split("/")
            run = self._get(self.keys.run(thread_id, run_id))
            if run is None or is_terminal(run["status"]):
                stale.append(member)
        if stale:
            self._client.update_item(
                TableName=self._table,
                Key=self.keys.active_runs(),
                UpdateExpression="DELETE runs :stale",
                ExpressionAttributeValues={":stale": {"SS": stale}},
            )
        return bool(stale)

    # reading ------------------------------------------------------------------------------------------

    def _run_item(self, thread_id: str, run_id: str) -> dict[str, Any]:
        item = self._get(self.keys.run(thread_id, run_id))
        if item is None:
            raise NotFound("run", run_id)
        return item

    def get_run(self, thread_id: str, run_id: str) -> Run:
        return Run.model_validate(fields(self._run_item(thread_id, run_id), *RUN_BOOKKEEPING))

    def get_run_record(self, thread_id: str, run_id: str) -> RunRecord:
        item = self._run_item(thread_id, run_id)
        return RunRecord(
            run=Run.model_validate(fields(item, *RUN_BOOKKEEPING)),
            response_id=item.get("response_id"),
            turn_started_at_ms=item.get("turn_started_at_ms"),
            tool_rounds=item.get("tool_rounds", 0),
            usage=usage_of(item),
            vector_store_ids=item.get("vector_store_ids", []),
            server_tools=item.get("server_tools", []),
            task_token=item.get("task_token"),
            waiting_step_id=item.get("waiting_step_id"),
            claims=item.get("claims", {}),
        )

    def list_runs(self, thread_id: str, page: PageRequest) -> Page[Run]:
        self._thread_item(thread_id)
        items, has_more = self._page(self.keys.thread_pk(thread_id), keys.RUNS, page)
        return Page(data=[Run.model_validate(fields(item, *RUN_BOOKKEEPING)) for item in items], has_more=has_more)

    def update_run(self, thread_id: str, run_id: str, metadata: dict[str, str] | None) -> Run:
        changes = {"metadata": metadata} if metadata is not None else {}
        item = self._update(self.keys.run(thread_id, run_id), "run", run_id, changes)
        return Run.model_validate(fields(item, *RUN_BOOKKEEPING))

    # status: every move goes through the transition table ---------------------------------------------

    def transition_run(
        self, thread_id: str, run_id: str, status: RunStatus, *, puts: Sequence[Message | RunStep] = (), **changes: Any
    ) -> Run:
        self._move(thread_id, run_id, status, changes, [{"Put": self._object_put(item)} for item in puts])
        return self.get_run(thread_id, run_id)

    def accept_tool_outputs(
        self, thread_id: str, run_id: str, step_id: str, outputs: dict[str, str], at_ms: int
    ) -> None:
        answers = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": self.keys.call(thread_id, run_id, step_id, call_id),
                    "UpdateExpression": "SET #status = :completed, #output = :output, is_error = :false, "
                    "completed_at_ms = :at_ms",
                    # Exactly once: only pending calls of the client take an output.
                    "ConditionExpression": "#status = :pending AND side = :client",
                    "ExpressionAttributeNames": {"#status": "status", "#output": "output"},
                    "ExpressionAttributeValues": to_attributes(
                        {
                            ":completed": "completed",
                            ":output": output,
                            ":false": False,
                            ":pending": "pending",
                            ":client": "client",
                            ":at_ms": at_ms,
                        }
                    ),
                }
            }
            for call_id, output in outputs.items()
        ]
        changes = {"required_action": None, "expires_at": None, "task_token": None, "waiting_step_id": None}
        self._move(thread_id, run_id, "in_progress", changes, answers, waiting_step_id=step_id)

    def _move(
        self,
        thread_id: str,
        run_id: str,
        status: RunStatus,
        changes: dict[str, Any],
        also: list[dict[str, Any]],
        **expected: str,
    ) -> None:
        """Move the run to ``status`` with ``changes`` and ``also`` written in the same transaction, if the
        transition table allows the move from its status (and its attributes hold the ``expected`` values).

        A move to a terminal status also takes the run out of the project's unfinished runs and frees its thread.
        """
        sources = sorted(sources_of(status))
        names = {"#status": "status"} | {f"#{name}": name for name in [*changes, *expected]}
        values = {":status": status} | {f":{name}": plain(value) for name, value in changes.items()}
        values |= {f":from{index}": source for index, source in enumerate(sources)}
        values |= {f":expected_{name}": value for name, value in expected.items()}
        # The transition table: a run moves only from a status that allows the move.
        condition = f"#status IN ({', '.join(f':from{i}' for i in range(len(sources)))})"
        condition += "".join(f" AND #{name} = :expected_{name}" for name in expected)
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": self.keys.run(thread_id, run_id),
            "UpdateExpression": "SET " + ", ".join(f"#{name} = :{name}" for name in ["status", *changes]),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_attributes(values),
        }
        writes: list[dict[str, Any]] = [{"Update": update}, *also]
        if is_terminal(status):
            writes.append(self._leave_active_runs(thread_id, run_id))
            writes.append({"Update": self._release(thread_id, run_id)})
        try:
            if len(writes) == 1:
                self._client.update_item(**update)
            else:
                self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise self._invalid_transition(thread_id, run_id, status) from exc
        except self._client.exceptions.TransactionCanceledException as exc:
            refused = [reason == "ConditionalCheckFailed" for reason in reason_codes(exc)]
            if is_terminal(status) and refused[-1] and not any(refused[:-1]):
                # Only the thread's lock refused: it is not this run's (never taken, or freed). Leave it alone.
                self._client.transact_write_items(TransactItems=writes[:-1])
            elif any(refused):
                raise self._invalid_transition(thread_id, run_id, status) from exc
            else:
                raise

    def _release(self, thread_id: str, run_id: str) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": self.keys.thread(thread_id),
            "UpdateExpression": "REMOVE active_run_id",
            "ConditionExpression": "active_run_id = :run_id",
            "ExpressionAttributeValues": {":run_id": {"S": run_id}},
        }

    def _invalid_transition(self, thread_id: str, run_id: str, status: RunStatus) -> InvalidTransition:
        current = self.get_run(thread_id, run_id).status
        return InvalidTransition(f"Cannot move run {run_id} from status '{current}' to '{status}'.")

    def _object_put(self, item: Message | RunStep) -> dict[str, Any]:
        if isinstance(item, Message):
            return self._put(self.keys.message(item.thread_id, item.id), "message", item.model_dump())
        return self._put(self.keys.step(item.thread_id, item.run_id, item.id), "step", step_values(item))

    # the loop's bookkeeping ---------------------------------------------------------------------------

    def set_turn(self, thread_id: str, run_id: str, response_id: str, tool_round: bool, started_at_ms: int) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self.keys.run(thread_id, run_id),
                UpdateExpression="SET response_id = :response_id, turn_started_at_ms = :started ADD tool_rounds :round",
                ConditionExpression="attribute_exists(PK)",  # never recreate a run whose thread was deleted
                ExpressionAttributeValues={
                    ":response_id": {"S": response_id},
                    ":started": {"N": str(started_at_ms)},
                    ":round": {"N": str(int(tool_round))},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise NotFound("run", run_id) from exc

    def set_server_tools(self, thread_id: str, run_id: str, tools: list[FunctionDefinition]) -> None:
        self._update(
            self.keys.run(thread_id, run_id), "run", run_id, {"server_tools": [tool.model_dump() for tool in tools]}
        )

    def set_task_token(self, thread_id: str, run_id: str, task_token: str) -> None:
        self._update(self.keys.run(thread_id, run_id), "run", run_id, {"task_token": task_token})

    def wait_on(self, thread_id: str, run_id: str, response_id: str, task_token: str) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self.keys.run(thread_id, run_id),
                UpdateExpression="SET task_token = :token",
                # Only while the run is on this turn: a cancel that came first left no one to wake the loop with it.
                ConditionExpression="#status = :in_progress AND response_id = :response_id",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=to_attributes(
                    {":token": task_token, ":in_progress": "in_progress", ":response_id": response_id}
                ),
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def take_task_token(self, thread_id: str, run_id: str, task_token: str) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self.keys.run(thread_id, run_id),
                UpdateExpression="REMOVE task_token",
                # The webhook's check and the turn's own look may both find the response ended: one wakes the loop.
                ConditionExpression="task_token = :token",
                ExpressionAttributeValues={":token": {"S": task_token}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def begin_output(self, thread_id: str, run_id: str, response_id: str, objects: Sequence[Message | RunStep]) -> bool:
        writes: list[dict[str, Any]] = [
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": self.keys.run(thread_id, run_id),
                    # Only while the run is on this turn: a stream that lags the loop writes nothing stale.
                    "ConditionExpression": "#status = :in_progress AND response_id = :response_id",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": to_attributes(
                        {":in_progress": "in_progress", ":response_id": response_id}
                    ),
                }
            }
        ]
        for item in objects:
            put = self._object_put(item)
            put["ConditionExpression"] = "attribute_not_exists(PK)"  # another stream, or the loop, was first
            put["Item"][keys.BEGUN] = {"BOOL": True}
            writes.append({"Put": put})
        try:
            self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.TransactionCanceledException:
            return False
        return True

    def claim_id(self, thread_id: str, run_id: str, slot: str, candidate: str) -> str:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=self.keys.run(thread_id, run_id),
                UpdateExpression="SET claims.#slot = if_not_exists(claims.#slot, :candidate)",
                ConditionExpression="attribute_exists(PK)",  # never recreate a run whose thread was deleted
                ExpressionAttributeNames={"#slot": slot},
                ExpressionAttributeValues={":candidate": {"S": candidate}},
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise NotFound("run", run_id) from exc
        return str(answer["Attributes"]["claims"]["M"][slot]["S"])

    def add_usage(self, thread_id: str, run_id: str, response_id: str, usage: Usage) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self.keys.run(thread_id, run_id),
                UpdateExpression="ADD usage_prompt :prompt, usage_completion :completion, usage_responses :response",
                # Each response counts once, however often a retried task reports it.
                ConditionExpression="attribute_exists(PK) AND NOT contains(usage_responses, :response_id)",
                ExpressionAttributeValues={
                    ":prompt": {"N": str(usage.prompt_tokens)},
                    ":completion": {"N": str(usage.completion_tokens)},
                    ":response": {"SS": [response_id]},
                    ":response_id": {"S": response_id},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            pass
