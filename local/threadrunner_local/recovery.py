"""What was in flight when the local stack stopped, taken up again when it starts on its data folder.

A restart loses what moto held only in memory: the run loop's executions and the queues' messages. The
table says what each run was doing, so every run that had not ended gets a new execution of the loop,
which starts from the run's records (StartTurn): a queued run starts; a run waiting for the model polls
its response again (a response the provider no longer has fails the run with ``last_error``); a run whose
server tools were running has them finished (a call that had begun is answered with an error, never
run twice); a run in ``requires_action`` waits for its tool outputs again; a cancel is finished. Files
that were being indexed are sent to the IndexFunction again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from threadrunner.domain.run_record import RunRef
from threadrunner.domain.run_status import TERMINAL
from threadrunner.domain.vector_stores import IndexJob
from threadrunner.ports import IndexJobs, RunControl, Stores


@dataclass(frozen=True)
class Recovered:
    runs: int
    files: int


WAIT_SECONDS = 30.0
"""How long the start waits for the runs in ``requires_action`` to wait on their new loops' tokens."""


def recover(
    client: Any,
    table: str,
    stores_for: Callable[[str], Stores],
    control: RunControl,
    jobs: IndexJobs,
    fixtures: frozenset[str] = frozenset(),
) -> Recovered:
    """Start the loop again for every run that has not ended, and index again every file still in progress,
    but those of the ``fixtures`` projects (the sample world's runs wait for ``make invoke``).

    Returns once every run in ``requires_action`` waits on its new loop: tool outputs submitted before would
    wake the dead loop's token, and be refused.
    """
    runs = files = 0
    waiting: list[tuple[RunRef, str | None]] = []
    for item in _items(client, table):
        project = item["PK"]["S"].split("#")[1]
        if project in fixtures:
            continue
        entity, status = item["entity"]["S"], item.get("status", {}).get("S")
        if entity == "run" and status not in TERMINAL:
            ref = RunRef(project=project, thread_id=item["thread_id"]["S"], run_id=item["id"]["S"])
            if status == "requires_action":
                waiting.append((ref, item.get("task_token", {}).get("S")))
            control.start(ref)
            runs += 1
        elif entity == "vector_store_file" and status == "in_progress":
            job = IndexJob(
                kind="index", project=project, vector_store_id=item["vector_store_id"]["S"], file_id=item["id"]["S"]
            )
            jobs.submit(job)
            files += 1
    deadline = time.monotonic() + WAIT_SECONDS
    for ref, token in waiting:
        while time.monotonic() < deadline and _token(stores_for(ref.project), ref) == token:
            time.sleep(0.1)
    return Recovered(runs=runs, files=files)


def _token(stores: Stores, ref: RunRef) -> str | None:
    return stores.runs.get_run_record(ref.thread_id, ref.run_id).task_token


def _items(client: Any, table: str) -> Iterator[dict[str, Any]]:
    """The table's runs and vector stores' files (one scan: this is the local stack, at start)."""
    pages = client.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="entity IN (:run, :file)",
        ExpressionAttributeValues={":run": {"S": "run"}, ":file": {"S": "vector_store_file"}},
    )
    for page in pages:
        yield from page["Items"]
