"""``code_interpreter`` as threadrunner runs it: a built-in server tool, in a sandbox that belongs to the thread.

The model is offered a function ``code_interpreter`` (its Python code). The ToolFunction runs the code in the
thread's session (``domain.code_sandbox``), with the thread's and the assistant's files under ``/mnt/data``, and keeps
what came back as the call's output (:class:`CodeOutput`): the printed output and the error, the files the code wrote
and the images it showed, each already one of the project's files (purpose ``assistants_output``). The run step shows
the call as the hosted API recorded it, a ``code_interpreter`` tool call with its ``input`` and ``outputs`` (``logs``,
``image``); the run's message carries the images as ``image_file`` parts and a ``file_path`` annotation for each
``sandbox:/mnt/data/...`` path it names of a file the code wrote.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from .code_sandbox import DATA_DIR, CodeSession, checked_path
from .common import CodeInterpreterTool, FunctionDefinition
from .run_record import RunRecord

CODE_INTERPRETER = "code_interpreter"
"""The function the model calls to run code."""

SANDBOX_LINK = "sandbox:" + DATA_DIR + "/"
"""How the model names a file the code wrote, as the hosted API had it write them: ``sandbox:/mnt/data/chart.png``."""

_DESCRIPTION = (
    "Run Python code in a sandbox of this conversation: a session that keeps its variables and files between calls "
    f"while it is used (it ends after some idle time), without network access. Files the user gave are in {DATA_DIR}. "
    f"Save files for the user under {DATA_DIR} and name each in your answer as {SANDBOX_LINK}<name>, so the user "
    "can download it; matplotlib figures left open are shown to the user as images. What the code prints and the "
    "value of its last line come back to you, and so does the traceback when it fails."
)


def definition(file_paths: Sequence[str] = ()) -> FunctionDefinition:
    """The function the model is offered, naming the files the run gives the code (paths under the data directory)."""
    description = _DESCRIPTION
    if file_paths:
        description += " The user's files: " + ", ".join(f"{DATA_DIR}/{path}" for path in file_paths) + "."
    return FunctionDefinition(
        name=CODE_INTERPRETER,
        description=description,
        parameters={
            "type": "object",
            "properties": {"code": {"type": "string", "description": "The Python code to run."}},
            "required": ["code"],
        },
    )


def runs_code(record: RunRecord) -> bool:
    """Whether threadrunner runs the run's ``code_interpreter``: the run has the tool and its model was offered the
    function (its definition is among the run's server tools); otherwise the provider's hosted tool is passed through.
    """
    declared = any(isinstance(tool, CodeInterpreterTool) for tool in record.run.tools)
    return declared and any(tool.name == CODE_INTERPRETER for tool in record.server_tools)


def code_of(arguments: str) -> str | None:
    """The code of a call's arguments (``{"code": "..."}``), or ``None`` when they hold none."""
    try:
        value = json.loads(arguments)
    except (ValueError, RecursionError):
        return None
    code = value.get("code") if isinstance(value, dict) else None
    return code if isinstance(code, str) and code.strip() else None


class KeptSession(BaseModel):
    """A thread's code session as the thread keeps it between calls: the session, and the files staged into it."""

    session: CodeSession
    staged: list[str] = Field(default_factory=list)
    """The ids of the files given to the session (a file attached later is staged at the next call)."""


class CodeFile(BaseModel):
    """A file the code wrote, given back as one of the project's files."""

    path: str
    """Relative to the data directory."""
    file_id: str


class CodeOutput(BaseModel):
    """What a ``code_interpreter`` call keeps as its output."""

    logs: str = ""
    """What the code printed, and the value of its last expression."""
    error: str | None = None
    """Why it failed (its traceback, or what stopped it), or why it did not run."""
    files: list[CodeFile] = Field(default_factory=list)
    images: list[str] = Field(default_factory=list)
    """The file ids of the images it showed."""
    notes: list[str] = Field(default_factory=list)
    """What threadrunner tells the model besides: files not given or given back, a session started anew."""

    @classmethod
    def read(cls, output: str | None) -> CodeOutput | None:
        try:
            return cls.model_validate_json(output or "")
        except ValidationError:
            return None  # none yet

    def fitted(self, max_bytes: int) -> CodeOutput:
        """The output cut to fit ``max_bytes`` of JSON: its logs first, then its error (files are bounded in number)."""
        fitted = self
        for name in ("logs", "error"):
            text = getattr(fitted, name) or ""
            if fitted.size() <= max_bytes or not text:
                continue
            kept, cut_at = 0, len(text)  # the most characters kept with the note that fit, found by halving
            while kept < cut_at:
                middle = (kept + cut_at + 1) // 2
                if fitted.model_copy(update={name: text[:middle] + _CUT_NOTE}).size() <= max_bytes:
                    kept = middle
                else:
                    cut_at = middle - 1
            fitted = fitted.model_copy(update={name: text[:kept] + _CUT_NOTE})
        return fitted

    def size(self) -> int:
        """The bytes of its JSON."""
        return len(self.model_dump_json().encode())


_CUT_NOTE = "\n[threadrunner: cut to fit the tool output]"


def step_call(call_id: str, arguments: str, output: str | None) -> dict[str, Any]:
    """The call as a ``tool_calls`` step shows it: the hosted API's ``code_interpreter`` tool call, its ``input`` the
    code and its ``outputs`` the logs (with the error, as the hosted API showed tracebacks) and the images."""
    found = CodeOutput.read(output)
    outputs: list[dict[str, Any]] = []
    if found is not None:
        logs = found.logs
        if found.error:  # after what the code printed, on a line of its own
            logs += ("" if not logs or logs.endswith("\n") else "\n") + found.error
        if logs:
            outputs.append({"type": "logs", "logs": logs})
        outputs += [{"type": "image", "image": {"file_id": file_id}} for file_id in found.images]
    code = code_of(arguments)
    details = {"input": arguments if code is None else code, "outputs": outputs}
    return {"id": call_id, "type": CODE_INTERPRETER, CODE_INTERPRETER: details}


def model_text(output: str | None) -> str:
    """What the model reads of a call's output: the code's output and error, and the files it wrote as the links the
    model should give (``sandbox:/mnt/data/...``)."""
    found = CodeOutput.read(output)
    if found is None:
        return output or ""
    said: dict[str, Any] = {"output": found.logs}
    if found.error:
        said["error"] = found.error
    if found.files:
        said["files"] = [SANDBOX_LINK + file.path for file in found.files]
    if found.images:
        said["images_shown_to_the_user"] = len(found.images)
    if found.notes:
        said["notes"] = found.notes
    return json.dumps(said, ensure_ascii=False)


_LINK = re.compile(re.escape(SANDBOX_LINK) + r"[^\s()\[\]<>\"'`]+")
_TRAILING = ".,;:!?*_"
"""What ends a sentence around a link rather than the link itself."""


def file_paths(text: str, written: dict[str, str]) -> list[dict[str, Any]]:
    """A ``file_path`` annotation for each ``sandbox:/mnt/data/...`` link of ``text`` that names a file the run's code
    wrote (``written``: file id by path under the data directory)."""
    found = []
    for match in _LINK.finditer(text):
        link = match.group(0).rstrip(_TRAILING)
        try:
            path = checked_path(link.removeprefix("sandbox:"))
        except ValueError:
            continue
        file_id = written.get(path)
        if file_id is not None:
            start = match.start()
            found.append(
                {
                    "type": "file_path",
                    "text": link,
                    "start_index": start,
                    "end_index": start + len(link),
                    "file_path": {"file_id": file_id},
                }
            )
    return found


def staged_paths(files: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Where each file (id, name) goes under the data directory: its name, as the hosted API put them; the file's id
    where the name cannot be a path there, and the id before the name for a name taken already."""
    placed: list[tuple[str, str]] = []
    taken: set[str] = set()
    for file_id, name in files:
        base = posixpath.basename(name.replace("\\", "/"))
        try:
            path = checked_path(base)
        except ValueError:
            path = file_id
        if path in taken:
            path = f"{file_id}-{path}"
        taken.add(path)
        placed.append((file_id, path))
    return placed


def new_code(before: str, after: str) -> str:
    """What a call's arguments add to its code as they are written: the code held by ``after`` (the arguments so far,
    a JSON object being written) beyond that held by ``before``."""
    return _code_so_far(after)[len(_code_so_far(before)) :]


_CODE_START = re.compile(r'^\s*\{\s*"code"\s*:\s*"')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _code_so_far(arguments: str) -> str:
    """The code a partly written ``{"code": "...`` holds so far: its string decoded up to the last whole character
    (an escape cut in its middle waits for its end); nothing for arguments of another shape."""
    start = _CODE_START.match(arguments)
    if start is None:
        return ""
    decoded: list[str] = []
    index = start.end()
    while index < len(arguments):
        char = arguments[index]
        if char == '"':
            break
        if char != "\\":
            decoded.append(char)
            index += 1
            continue
        escape = arguments[index + 1 : index + 2]
        if escape == "u":
            digits = arguments[index + 2 : index + 6]
            code_point = _hex(digits)
            if code_point is None:
                break
            if 0xD800 <= code_point < 0xDC00:  # a surrogate pair is one character: wait for its second half
                low = _hex(arguments[index + 8 : index + 12]) if arguments[index + 6 : index + 8] == "\\u" else None
                if low is None:
                    break
                code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00)
                index += 6
            decoded.append(chr(code_point))
            index += 6
        elif escape in _ESCAPES:
            decoded.append(_ESCAPES[escape])
            index += 2
        else:
            break
    return "".join(decoded)


def _hex(digits: str) -> int | None:
    """Four hex digits of a ``\\u`` escape, or ``None`` while they are not all written (or are not hex)."""
    if len(digits) < 4 or any(char not in "0123456789abcdefABCDEF" for char in digits):
        return None
    return int(digits, 16)
