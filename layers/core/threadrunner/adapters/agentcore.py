"""The code sandbox on AWS: Amazon Bedrock AgentCore Code Interpreter (``bedrock-agentcore``), a microVM per session.

The template creates the code interpreter in ``VPC`` network mode, in a VPC of its own with no route out, no
name resolution and a security group that lets nothing in or out, and without an execution role: the code reaches
neither the internet, nor the deployment's resources, nor any credentials (docs/code-interpreter.md says why not the
``SANDBOX`` mode). Files reach it from the ToolFunction, which reads them from S3 and writes them with ``writeFiles``;
the sandbox itself never holds a credential.

One session per thread (``StartCodeInterpreterSession``, named after the thread without its ids, ending after
``idle_seconds`` without use); every tool is an ``InvokeCodeInterpreter`` call, whose answer is an event stream.
An execution is three calls: the files of the data directory are listed before and after the code (by code of
threadrunner's own in the same interpreter: AgentCore's ``listFiles`` gives no modification times), so the files
the code wrote or changed are known. Every answer is the code's own words, read as in ``domain.code_sandbox``.

Not run against AWS here (no session can reach it): ``tests/unit/test_agentcore_sandbox.py`` drives it on botocore's
own model of the service, with its Stubber and with event streams parsed by botocore.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from ..domain.code_sandbox import (
    DATA_DIR,
    CodeSession,
    Execution,
    SandboxLimits,
    SessionKey,
    StagedFile,
    checked_path,
    cut,
    shown_images,
    written_files,
)
from ..errors import NotFound, SandboxUnavailable, SessionEnded, TooLarge

SETUP = """
def _threadrunner_setup():
    import json, os
    here = os.getcwd()
    try:
        if not os.path.lexists("/mnt/data"):
            os.makedirs("/mnt", exist_ok=True)
            os.symlink(here, "/mnt/data")
        if os.path.realpath("/mnt/data") == os.path.realpath(here):
            here = "/mnt/data"
    except OSError:
        pass
    print(json.dumps({"data_dir": here}))
_threadrunner_setup()
del _threadrunner_setup
"""
"""Run once in a new session: the code's files are in its working directory (where ``writeFiles`` puts relative
paths), shown as ``/mnt/data`` as on the hosted API when the sandbox lets that link be made."""

SCAN = """
def _threadrunner_scan(root, limit=10000):
    import os, stat
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                found[os.path.relpath(path, root)] = (info.st_size, info.st_mtime_ns)
            if len(found) >= limit:
                return found
        dirs[:] = [name for name in dirs if not os.path.islink(os.path.join(directory, name))]
    return found
"""


def before(data_dir: str) -> str:
    """Run before the code: what the data directory holds."""
    return SCAN + f"_threadrunner_before = _threadrunner_scan({data_dir!r})\ndel _threadrunner_scan\n"


def after(data_dir: str) -> str:
    """Run after the code: the files it wrote or changed, as JSON ``[[path, size], ...]``."""
    return (
        SCAN
        + f"""
import json as _threadrunner_json
_threadrunner_after = _threadrunner_scan({data_dir!r})
_threadrunner_seen = globals().pop("_threadrunner_before", {{}})
print(_threadrunner_json.dumps(sorted(
    [path, seen[0]] for path, seen in _threadrunner_after.items() if _threadrunner_seen.get(path) != seen
)))
del _threadrunner_scan, _threadrunner_after, _threadrunner_seen, _threadrunner_json
"""
    )


ANSWER_MARGIN_SECONDS = 30
"""How much longer than an execution's time limit the client waits for its answer before it ends the session."""


def client_config(limits: SandboxLimits) -> Config:
    """The ``bedrock-agentcore`` client's: it waits for an execution's answer a little longer than its time limit,
    and never retries (a retried ``executeCode`` would run the code twice)."""
    return Config(
        read_timeout=int(limits.execution_seconds) + ANSWER_MARGIN_SECONDS,
        connect_timeout=5,
        retries={"total_max_attempts": 1},
    )


class AgentCoreSandbox:
    """:class:`~threadrunner.ports.CodeSandbox` on a code interpreter of AgentCore.

    ``client`` is a ``bedrock-agentcore`` client made with :func:`client_config`.
    """

    def __init__(
        self, interpreter_id: str, client: Any, limits: SandboxLimits, clock: Callable[[], float] = time.time
    ) -> None:
        self._interpreter = interpreter_id
        self._client = client
        self.limits = limits
        self._clock = clock

    def open(self, key: SessionKey, resume: CodeSession | None = None) -> CodeSession:
        now = self._clock()
        if resume is not None and resume.key == key:
            if not resume.idle(now, self.limits) and self._ready(resume):
                return resume.model_copy(update={"last_used_at": now, "fresh": False})
            self.close(resume)
        try:
            started = self._client.start_code_interpreter_session(
                codeInterpreterIdentifier=self._interpreter,
                name=key.name,
                # AgentCore ends a session after this long without activity (its docs also call it a time to live):
                # threadrunner's idle time either way, and a thread whose session ended gets a new one.
                sessionTimeoutSeconds=self.limits.idle_seconds,
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        session = CodeSession(
            key=key, session_id=started["sessionId"], started_at=now, last_used_at=now, fresh=True, data_dir=DATA_DIR
        )
        data_dir: object = None
        try:
            stdout, error = self._execute(session, SETUP)
            if error is None:
                data_dir = json.loads(stdout.strip().splitlines()[-1])["data_dir"]
        except (ValueError, IndexError, KeyError, TypeError, SessionEnded):
            pass  # no working directory said: no session
        if not isinstance(data_dir, str) or not data_dir.startswith("/"):
            self.close(session)
            raise SandboxUnavailable("The code sandbox's session did not start.")
        return session.model_copy(update={"data_dir": data_dir})

    def write_files(self, session: CodeSession, files: Sequence[StagedFile]) -> None:
        if len(files) > self.limits.max_files:
            raise ValueError(f"at most {self.limits.max_files} files can be given to a session at once")
        checked = [(checked_path(file.path), file.data) for file in files]
        for path, data in checked:
            if len(data) > self.limits.max_file_bytes:
                raise TooLarge(f"The file {path} is larger than {self.limits.max_file_bytes} bytes.")
        for path, data in checked:  # one call per file: a request holds at most one file of the largest size
            result = self._invoke(session, "writeFiles", {"content": [{"path": path, "blob": data}]})
            if result.is_error:  # its words are the session's (the code's, once it has run): not passed on
                raise TooLarge(f"The file {path} could not be written in the session (full, or in the way).")

    def execute(self, session: CodeSession, code: str) -> Execution:
        limits = self.limits
        self._execute(session, before(session.data_dir))
        started = time.monotonic()
        try:
            result = self._invoke(session, "executeCode", {"code": code, "language": "python"})
        except _TimedOut:
            self.close(session)
            stopped = (
                f"The execution ran past its time limit of {limits.execution_seconds:g} s: its session was ended, "
                "with its variables and files."
            )
            return Execution(output="", error=stopped, session=session, ended=True, seconds=time.monotonic() - started)
        seconds = time.monotonic() - started
        listed, _ = self._execute(session, after(session.data_dir))
        output, stderr = result.stdout, result.stderr
        error: str | None = None
        if result.is_error:
            error = cut(stderr or result.text or "The execution failed.", limits.max_output_bytes)[0]
        elif stderr:
            output += stderr
        text, truncated = cut(output, limits.max_output_bytes)
        return Execution(
            output=text,
            output_truncated=truncated,
            error=error,
            files=written_files(_listed(listed), limits),
            images=shown_images(result.images, limits),
            seconds=seconds,
            session=session.model_copy(update={"last_used_at": self._clock(), "fresh": False}),
        )

    def read_file(self, session: CodeSession, path: str) -> bytes:
        path = checked_path(path)
        result = self._invoke(session, "readFiles", {"paths": [path]})
        for block in result.content:
            resource = block.get("resource") if block.get("type") == "resource" else None
            if not isinstance(resource, Mapping):
                continue
            data = resource.get("blob")
            if data is None and isinstance(resource.get("text"), str):
                data = resource["text"].encode()
            if isinstance(data, bytes):
                if len(data) > self.limits.max_file_bytes:
                    raise TooLarge(f"The file {path} is larger than {self.limits.max_file_bytes} bytes.")
                return data
        raise NotFound("file in the code session", path)

    def close(self, session: CodeSession) -> None:
        try:
            self._client.stop_code_interpreter_session(
                codeInterpreterIdentifier=self._interpreter, sessionId=session.session_id
            )
        except (ClientError, BotoCoreError):
            pass  # gone already, or unreachable: it ends by itself after its idle time

    def _ready(self, session: CodeSession) -> bool:
        try:
            answer = self._client.get_code_interpreter_session(
                codeInterpreterIdentifier=self._interpreter, sessionId=session.session_id
            )
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                return False
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        return bool(answer.get("status") == "READY")

    def _execute(self, session: CodeSession, code: str) -> tuple[str, str | None]:
        """Run threadrunner's own code in the session: its stdout, and its error if it failed."""
        try:
            result = self._invoke(session, "executeCode", {"code": code, "language": "python"})
        except _TimedOut as exc:
            self.close(session)
            raise SessionEnded("The code session stopped answering and was ended.") from exc
        return result.stdout, (result.stderr or result.text or "failed") if result.is_error else None

    def _invoke(self, session: CodeSession, name: str, arguments: dict[str, Any]) -> _Result:
        try:
            answer = self._client.invoke_code_interpreter(
                codeInterpreterIdentifier=self._interpreter,
                sessionId=session.session_id,
                name=name,
                arguments=arguments,
            )
            return _Result.of(answer["stream"])
        except ReadTimeoutError as exc:
            raise _TimedOut() from exc
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                raise SessionEnded("The code session has ended: open it again.") from exc
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc


class _TimedOut(Exception):
    """The sandbox did not answer within the client's read timeout."""


class _Result:
    """One ``InvokeCodeInterpreter`` answer: the content blocks and structured content of its result events."""

    def __init__(self) -> None:
        self.content: list[Mapping[str, Any]] = []
        self.structured: dict[str, Any] = {}
        self.is_error = False

    @classmethod
    def of(cls, stream: Iterable[Mapping[str, Any]] | Mapping[str, Any]) -> _Result:
        """From the answer's ``stream``: an event stream when botocore reads it off the wire; one event (the model's
        shape of the stream member) when botocore's Stubber gives the answer."""
        result = cls()
        for event in [stream] if isinstance(stream, Mapping) else stream:
            if "result" not in event:  # an exception event: its name is the error's
                name = next(iter(event), "InternalServerException")
                raise ClientError(
                    {"Error": {"Code": name[:1].upper() + name[1:], "Message": ""}}, "InvokeCodeInterpreter"
                )
            answer = event["result"]
            result.content.extend(block for block in answer.get("content", []) if isinstance(block, Mapping))
            result.structured.update(answer.get("structuredContent") or {})
            result.is_error = result.is_error or answer.get("isError") is True
        return result

    @property
    def stdout(self) -> str:
        stdout = self.structured.get("stdout")
        return stdout if isinstance(stdout, str) else self.text

    @property
    def stderr(self) -> str:
        stderr = self.structured.get("stderr")
        return stderr if isinstance(stderr, str) else ""

    @property
    def text(self) -> str:
        return "".join(str(block.get("text", "")) for block in self.content if block.get("type") == "text")

    @property
    def images(self) -> list[bytes]:
        return [
            block["data"]
            for block in self.content
            if block.get("type") == "image" and isinstance(block.get("data"), bytes)
        ]


def _listed(stdout: str) -> object:
    """The JSON the listing after the code printed last (the code could have printed anything before it)."""
    try:
        return json.loads(stdout.strip().splitlines()[-1]) if stdout.strip() else []
    except ValueError:
        return []


def _code(exc: ClientError) -> str:
    """The error's name: an exception event of the stream names it by its member (``throttlingException``)."""
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code[:1].upper() + code[1:]


def _unavailable(exc: Exception) -> SandboxUnavailable:
    """What the caller is told: the kind of failure, never the service's words (they may name the account)."""
    kind = _code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    return SandboxUnavailable(f"The code sandbox could not be reached ({kind}).")
