"""Strict conformance of a JSON answer to the openai SDK's model of it: every field there, every type right.

The SDK itself parses leniently (a ``null`` where a list belongs parses, and breaks the caller later),
so the contract tests check answers with this instead.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

from openai.types import VectorStoreSearchResponse
from openai.types.beta import Thread, assistant, file_search_tool, thread
from openai.types.beta.threads import Message, Run
from openai.types.beta.threads.message import Attachment
from openai.types.beta.threads.runs import RunStep
from openai.types.shared import response_format_json_schema
from pydantic import BaseModel

SPARSE: frozenset[type[BaseModel]] = frozenset(
    {
        assistant.ToolResources,
        assistant.ToolResourcesCodeInterpreter,
        assistant.ToolResourcesFileSearch,
        thread.ToolResources,
        thread.ToolResourcesCodeInterpreter,
        thread.ToolResourcesFileSearch,
        file_search_tool.FileSearch,
        response_format_json_schema.JSONSchema,
    }
)
"""Objects the hosted API returned with only the keys the caller set (tool resources, tool options, schemas)."""


NEVER_NULL = frozenset({"attachments", "metadata", "tool_resources"})
"""Fields the SDK types as optional that the hosted API always sent as a list or an object (``[]``, ``{}``):
programs iterate them (LangChain's agent iterates every message's ``attachments``)."""


REQUIRED: dict[type[BaseModel], frozenset[str]] = {
    file_search_tool.FileSearchTool: frozenset({"file_search"}),
    file_search_tool.FileSearch: frozenset({"ranking_options"}),
    file_search_tool.FileSearchRankingOptions: frozenset({"ranker", "score_threshold"}),
    Attachment: frozenset({"file_id", "tools"}),
    VectorStoreSearchResponse: frozenset({"attributes"}),
}
"""Fields the SDK types optional that OpenAI's published description (``openai/openai-openapi``) requires or does not
let be null, or that the hosted API always filled (a file_search tool's options with their defaults): there, and
never null."""


def problems(model: Any, value: Any, path: str = "$") -> list[str]:
    """Every way ``value`` (decoded JSON) differs from the SDK type ``model``; empty when it conforms."""
    origin = typing.get_origin(model)
    if origin is typing.Annotated:
        base, *extras = typing.get_args(model)
        discriminator = next(
            (getattr(e, "discriminator", None) for e in extras if getattr(e, "discriminator", None)), None
        )
        return (
            _union(typing.get_args(base), value, path, discriminator) if discriminator else problems(base, value, path)
        )
    if origin in (typing.Union, types.UnionType):
        return _union(typing.get_args(model), value, path, None)
    if origin is typing.Literal:
        return [] if value in typing.get_args(model) else [f"{path}: {value!r} is not one of {typing.get_args(model)}"]
    if origin in (list, typing.List):  # noqa: UP006 - the SDK's annotations use typing.List
        if not isinstance(value, list):
            return [f"{path}: expected an array, got {_kind(value)}"]
        (item,) = typing.get_args(model)
        return [problem for index, entry in enumerate(value) for problem in problems(item, entry, f"{path}[{index}]")]
    if origin in (dict, typing.Dict):  # noqa: UP006
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {_kind(value)}"]
        _, item = typing.get_args(model)
        return [problem for key, entry in value.items() for problem in problems(item, entry, f"{path}.{key}")]
    if isinstance(model, type) and issubclass(model, BaseModel):
        return _object(model, value, path)
    return _scalar(model, value, path)


def _object(model: type[BaseModel], value: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object ({model.__name__}), got {_kind(value)}"]
    found = []
    required = REQUIRED.get(model, frozenset())
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in value:
            if model not in SPARSE or key in required:
                found.append(f"{path}.{key}: missing")
            continue
        if value[key] is None and (key in NEVER_NULL or key in required):
            found.append(f"{path}.{key}: null where the hosted API always sent a value")
            continue
        found += problems(field.annotation, value[key], f"{path}.{key}")
    return found


def thread_problems(get: Callable[[str], Any], thread_id: str) -> list[str]:
    """Every problem of the objects of a thread as the API serves them: the thread, its messages, its runs and
    their steps. ``get(path)`` answers the decoded body of a GET of ``/v1`` + ``path``."""
    found = problems(Thread, get(f"/threads/{thread_id}"), "thread")
    for message in get(f"/threads/{thread_id}/messages?limit=100")["data"]:
        found += problems(Message, message, f"message {message['id']}")
    for run in get(f"/threads/{thread_id}/runs?limit=100")["data"]:
        found += problems(Run, run, f"run {run['id']}")
        for step in get(f"/threads/{thread_id}/runs/{run['id']}/steps?limit=100")["data"]:
            found += problems(RunStep, step, f"step {step['id']}")
    return found


def _union(members: tuple[Any, ...], value: Any, path: str, discriminator: str | None) -> list[str]:
    if value is None:
        return [] if type(None) in members else [f"{path}: null where a value belongs"]
    candidates = [member for member in members if member is not type(None)]
    if discriminator is not None and isinstance(value, dict):
        tag = value.get(discriminator)
        tagged = [m for m in candidates if tag in typing.get_args(m.model_fields[discriminator].annotation)]
        if not tagged:
            return [f"{path}.{discriminator}: {tag!r} is not a known kind"]
        candidates = tagged
    attempts = [problems(member, value, path) for member in candidates]
    return min(attempts, key=len)


def _scalar(model: Any, value: Any, path: str) -> list[str]:
    if model is typing.Any or model is object:
        return []
    if model is type(None):
        return [] if value is None else [f"{path}: expected null"]
    if model is bool:
        ok = isinstance(value, bool)
    elif model is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif model is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif model is str:
        ok = isinstance(value, str)
    else:
        raise TypeError(f"{path}: no check for {model!r}")
    return [] if ok else [f"{path}: expected {model.__name__}, got {_kind(value)}"]


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


LIST_KEYS = {"object", "data", "first_id", "last_id", "has_more"}


def conforming(model: Any, answer: tuple[int, Any], status: int = 200) -> Any:
    """The object of a successful answer ``(status, decoded body)``, after checking it against the SDK's model."""
    code, value = answer
    assert code == status, value
    assert problems(model, value) == [], value
    return value


def conforming_list(model: Any, answer: tuple[int, Any]) -> list[Any]:
    code, value = answer
    assert code == 200 and set(value) == LIST_KEYS and value["object"] == "list", value
    for item in value["data"]:
        assert problems(model, item) == [], item
    return value["data"]
