"""Server tools that are Lambda functions: registered per project (``/v1/server_tools``) or with the deployment.

A function of any runtime in the deployment's account becomes a tool once it carries the tag
``threadrunner-tool`` with the project's id (or ``*`` for every project): the tag is checked when the tool
is registered, and the ToolFunction may invoke only functions that carry it (its IAM policy), so a tenant can
neither point a tool at threadrunner's own functions nor at another project's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from . import json_schema
from .common import FunctionDefinition
from .tools import RetryPolicy

TOOL_TAG = "threadrunner-tool"
"""The tag a function carries to be a tool: a project's id, or ``*``."""
INVALID_ARGUMENTS = "InvalidArguments"
"""The type of the error (its exception's class name, in any runtime) a Lambda tool raises when the call's
arguments are wrong: the caller's mistake, which is neither retried nor counted against the tool's circuit."""

FUNCTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:lambda:[a-z0-9-]{1,32}:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$"
)
TOOL_NAME = r"^[A-Za-z0-9_-]{1,64}$"
MAX_PROJECT_TOOLS = 64
"""The most Lambda tools one project may register: every listing and check reads them."""
MAX_TOOL_SCHEMA_BYTES = 16384
"""The largest JSON schema of a Lambda tool's arguments or output, as compact JSON."""


class LambdaToolCreate(BaseModel):
    """A Lambda function to register as a server tool (``POST /v1/server_tools``, or the ``ServerTools``
    parameter): what the model is offered, and how it is run."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TOOL_NAME)
    """The name the model calls it by: letters, digits, ``_`` and ``-``, at most 64."""
    description: str = Field("", max_length=1024)
    """What it does, for the model."""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    """The JSON schema of its arguments: calls whose arguments do not match are refused before it runs."""
    function_arn: str = Field(pattern=FUNCTION_ARN.pattern, max_length=256)
    """The function (of any runtime) in the deployment's partition, region and account, tagged
    ``threadrunner-tool``."""
    timeout_seconds: int = Field(30, ge=1, le=60)
    """How long one attempt may take."""
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    output_schema: dict[str, Any] | None = None
    """The JSON schema its output must match; ``None``: any JSON."""

    @field_validator("parameters", "output_schema")
    @classmethod
    def _schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None:
            if len(json.dumps(schema, separators=(",", ":")).encode()) > MAX_TOOL_SCHEMA_BYTES:
                raise ValueError(f"the schema is larger than {MAX_TOOL_SCHEMA_BYTES} bytes")
            json_schema.check(schema)  # a ValueError here is the caller's 400
        return schema


class LambdaTool(LambdaToolCreate):
    """A registered Lambda tool."""

    model_config = ConfigDict(extra="ignore")

    created_at: int = 0
    scope: Literal["project", "deployment"] = "project"
    """A project's own, or the deployment's (every project's)."""

    @property
    def definition(self) -> FunctionDefinition:
        return FunctionDefinition(name=self.name, description=self.description, parameters=self.parameters)


def deployment_tools(declared: str, builtin: Iterable[str], functions_arn: str) -> list[LambdaTool]:
    """The deployment's Lambda tools, from their JSON (the ``ServerTools`` parameter).

    Raises ``ValueError`` at the ToolFunction's start, where the operator sees it: tools that are not valid,
    are functions outside the deployment's (``functions_arn``), share a name, or take a registry tool's name.
    """
    tools = [LambdaTool.model_validate(tool | {"scope": "deployment"}) for tool in json.loads(declared or "[]")]
    for tool in tools:
        part = outside(tool.function_arn, functions_arn)
        if part is not None:
            raise ValueError(f"SERVER_TOOLS: {tool.name}'s function {tool.function_arn} is in another AWS {part}")
    names = [tool.name for tool in tools]
    clashes = sorted({name for name in names if names.count(name) > 1} | set(names).intersection(builtin))
    if clashes:
        raise ValueError(f"SERVER_TOOLS: more than one server tool is named {', '.join(clashes)}")
    return tools


def outside(function_arn: str, functions_arn: str) -> str | None:
    """Which of its ``partition``, ``region`` and ``account`` puts a function outside the deployment's functions
    (``functions_arn``, ``arn:<partition>:lambda:<region>:<account>:function:*``); ``None`` if none does, or
    where the deployment's are not known (outside a deployment).

    IAM would refuse to invoke such a function too; this says so when the tool is registered, not at each call.
    """
    if not functions_arn:
        return None
    theirs, ours = function_arn.split(":"), functions_arn.split(":")
    for index, part in ((1, "partition"), (3, "region"), (4, "account")):
        if theirs[index] != ours[index]:
            return part
    return None


def may_serve(tags: dict[str, str], project: str) -> bool:
    """Whether a function tagged ``tags`` may be one of ``project``'s tools."""
    return tags.get(TOOL_TAG) in ("*", project)


def invocation(
    project: str, thread_id: str, run_id: str, assistant_id: str, call_id: str, name: str, arguments: Any
) -> dict[str, Any]:
    """What a tool's function receives: the validated arguments, and where the call comes from."""
    return {
        "arguments": arguments,
        "context": {
            "tool": name,
            "call_id": call_id,
            "run_id": run_id,
            "thread_id": thread_id,
            "assistant_id": assistant_id,
            "project": project,
        },
    }
