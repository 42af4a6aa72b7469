"""One session's processes, as the host sees them: ``setpriv`` then ``unshare`` (children of the sandbox's spawner
thread), the session's process 1 (the interpreter) under it, and the host's end of the session's pipe."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Literal

from threadrunner.domain.code_sandbox import CodeSession, SandboxLimits

from . import repl


class Broken(Exception):
    """The session's pipe closed (``closed``), carried what is no answer (``garbled``), or its answer did not come
    in time (``timed_out``)."""

    def __init__(self, kind: Literal["closed", "garbled", "timed_out"]) -> None:
        super().__init__(kind)
        self.kind = kind


class SessionProcess:
    """One session's process tree and its end of the pipe."""

    def __init__(self, popen: subprocess.Popen[bytes], commands: int, answers: int, uid: int) -> None:
        self.popen, self.commands, self.answers, self.uid = popen, commands, answers, uid
        self.lock = threading.Lock()
        self.session: CodeSession | None = None
        self.ended = False

    @property
    def first(self) -> int | None:
        """The host's id of the session's process 1 (the interpreter), a child of ``unshare``."""
        try:
            children = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def send(self, header: dict[str, Any], payload: bytes = b"") -> None:
        try:
            repl.send(self.commands, header, payload)
        except OSError as exc:
            raise Broken("closed") from exc

    def receive(self, seconds: float, max_header: int, max_payload: int) -> tuple[dict[str, Any], bytes]:
        deadline = time.monotonic() + seconds
        header_size, payload_size = repl.PREFIX.unpack(self._read(repl.PREFIX.size, deadline))
        if header_size > max_header or payload_size > max_payload:
            raise Broken("garbled")
        try:
            header = json.loads(self._read(header_size, deadline))
        except ValueError as exc:
            raise Broken("garbled") from exc
        if not isinstance(header, dict):
            raise Broken("garbled")
        return header, self._read(payload_size, deadline)

    def _read(self, size: int, deadline: float) -> bytes:
        chunks, left = [], size
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([self.answers], [], [], wait)[0]:
                raise Broken("timed_out")
            chunk = os.read(self.answers, min(left, 1 << 20))
            if not chunk:
                raise Broken("closed")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def kill(self) -> int | None:
        """Kill the session's process 1 (the kernel then kills every process of its namespace) and ``unshare``;
        how ``unshare`` ended (its child's exit status, or minus the signal that ended it)."""
        self.ended = True
        for pid in (self.first, self.popen.pid):
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        return self.wait()

    def wait(self) -> int | None:
        try:
            code = self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        for fd in (self.commands, self.answers):
            try:
                os.close(fd)
            except OSError:
                pass
        self.commands = self.answers = -1
        return code


def ended_alone(process: SessionProcess) -> int | None:
    """How a session that closed its pipe ended (it is killed if it lingers)."""
    try:
        return process.popen.wait(timeout=2)
    except subprocess.TimeoutExpired:
        return process.kill()


def reason(status: int | None, limits: SandboxLimits) -> str:
    """Why a session's interpreter ended, from ``unshare``'s status (minus the signal that ended the interpreter)."""
    signals = {
        -signal.SIGXCPU: f"The execution used more than {limits.execution_seconds:g} seconds of CPU time",
        -signal.SIGKILL: f"The execution was killed (its memory is limited to {limits.memory_mb} MB)",
        -signal.SIGSEGV: "The interpreter crashed (segmentation fault)",
        -signal.SIGXFSZ: f"The execution wrote a file larger than {limits.max_file_bytes} bytes",
    }
    if status is not None and status in signals:
        return signals[status]
    if status is not None and status < 0:
        return f"The interpreter was ended by signal {signal.Signals(-status).name}"
    return f"The interpreter exited (status {status})"
