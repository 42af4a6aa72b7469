"""The Step Functions launcher and the ToolFunction catalogue."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

from ..domain.run_record import RunRef


class StepFunctionsLauncher:
    """:class:`threadrunner.ports.RunLauncher`: one execution of the run loop per run, named by the run id."""

    def __init__(self, state_machine_arn: str, client: Any | None = None) -> None:
        self._arn = state_machine_arn
        self._client = client or boto3.client("stepfunctions")

    def launch(self, ref: RunRef) -> None:
        try:
            self._client.start_execution(stateMachineArn=self._arn, name=ref.run_id, input=ref.model_dump_json())
        except self._client.exceptions.ExecutionAlreadyExists:
            pass  # the name is the run id: a retried start does not run a second loop


class LambdaToolCatalogue:
    """:class:`threadrunner.ports.ToolCatalogue`: asks the ToolFunction which tools it serves, and caches the answer."""

    def __init__(self, function_name: str, client: Any | None = None, max_age_seconds: float = 300.0) -> None:
        self._function = function_name
        self._client = client or boto3.client("lambda")
        self._max_age = max_age_seconds
        self._names: frozenset[str] = frozenset()
        self._fetched_at = float("-inf")

    def server_tool_names(self) -> frozenset[str]:
        if time.monotonic() - self._fetched_at > self._max_age:
            answer = self._client.invoke(FunctionName=self._function, Payload=json.dumps({"catalogue": True}))
            if answer.get("FunctionError"):
                raise RuntimeError(f"the ToolFunction could not list its tools: {answer['Payload'].read()!r}")
            tools = json.loads(answer["Payload"].read())["tools"]
            self._names = frozenset(tool["name"] for tool in tools)
            self._fetched_at = time.monotonic()
        return self._names
