"""The local stack's code sandbox: a process per session, in namespaces of its own, under hard limits.

Each session is ``unshare --net --mount --pid --ipc --uts --cgroup --fork --kill-child`` running ``jail.py`` on the
sandbox's own Python environment (``.venv-sandbox``, numpy, pandas and matplotlib, made by ``make``): no network,
a file system of its own where only its memory-backed ``/mnt/data``, ``/tmp`` and ``/dev/shm`` can be written, a
user id of its own with no capabilities, a seccomp filter (no namespaces, mounts, BPF, io_uring ... of its own), a
clean environment (no AWS or provider keys), and limits on its address space, processes, open files, file size and
CPU time. It then serves as a long-lived interpreter (``repl.py``), so what one execution defines, the next one
sees. ``setpriv --pdeathsig`` ties the session to the host: a host that dies, even by ``kill -9``, takes it along.

The host never reads the session's files itself (the code could have made them links to the host's): every byte
comes through the session's pipe, from inside, and every answer is bounded and checked (``domain.code_sandbox``).
An execution gets ``execution_seconds``; then a KeyboardInterrupt, and two seconds later the whole session is
killed (its PID namespace goes with its first process). A session unused for ``idle_seconds`` is ended.

This needs root (to make the namespaces, mount and change user): without it, opening a session raises
:class:`~threadrunner.errors.SandboxUnavailable`, and no code runs unconfined. docs/code-interpreter.md says what
it protects against and what it does not.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from threadrunner.domain.code_sandbox import (
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
from threadrunner.errors import NotFound, SandboxUnavailable, SessionEnded, TooLarge

from . import repl
from .process import Broken, SessionProcess, ended_alone, reason

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SANDBOX_PYTHON = ROOT / ".venv-sandbox" / "bin" / "python"
"""The sandbox's Python: its own environment, with the data-analysis packages (``make .venv-sandbox``)."""

UID_BASE = 2_000_000_000
"""Sessions run as users of no account: each its own, drawn above this, so one session's processes count
against its own process limit only and cannot signal or trace another's."""
PROCESSES = 32
"""Processes (and threads) a session may have at once (RLIMIT_NPROC of its user)."""
OPEN_FILES = 256
SESSION_CPU_SECONDS = 3600
"""CPU time a session's interpreter may use in all (RLIMIT_CPU's hard limit, which the code cannot raise); each
execution's own share is set by the interpreter (its soft limit), and bounded from outside by the wall clock."""
MAX_SESSIONS = 32
"""Sessions alive at once; opening one more ends the one unused the longest."""
START_SECONDS = 20.0
IO_SECONDS = 30.0
"""How long staging or reading a file may take before the session is taken as hung and ended."""
GRACE_SECONDS = 2.0
"""How long an interrupted execution has to stop before its session is killed."""

ENVIRONMENT = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "USER": "sandbox",
    "LOGNAME": "sandbox",
    "LANG": "C.UTF-8",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp/matplotlib",
    # One thread per numeric library: the session's process limit counts threads, and its memory limit
    # counts each thread's buffers.
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
"""The whole environment of a session: nothing of the host's (no AWS_*, no provider key)."""


class LocalSandbox:
    """:class:`~threadrunner.ports.CodeSandbox` on this machine (the local stack's)."""

    def __init__(
        self,
        limits: SandboxLimits,
        python: Path = SANDBOX_PYTHON,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limits = limits
        self._python = python
        self._clock = clock
        self._root = tempfile.mkdtemp(prefix="threadrunner-sandbox-")
        """Where each session mounts its own root, in its own mount namespace (so this stays an empty folder)."""
        self._processes: dict[str, SessionProcess] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-spawner")
        """The one thread that starts sessions: a session's parent-death signal follows the thread that started it."""
        self._reaper = threading.Thread(target=self._reap, name="sandbox-reaper", daemon=True)
        self._reaper.start()
        atexit.register(self.close_all)

    # The port.

    def open(self, key: SessionKey, resume: CodeSession | None = None) -> CodeSession:
        now = self._clock()
        with self._lock:
            process = self._processes.get(resume.session_id) if resume is not None else None
            if process is not None and self._lives(process, key, now):
                assert process.session is not None
                process.session = process.session.model_copy(update={"last_used_at": now, "fresh": False})
                return process.session
            ending = [other for other in self._processes.values() if other.session and other.session.key == key]
            if len(self._processes) - len(ending) >= MAX_SESSIONS:
                ending.append(min(self._processes.values(), key=lambda other: _last_used(other)))
            for other in ending:
                self._forget(other)
        for other in ending:
            other.kill()
        process, session_id = self._start(), secrets.token_hex(16)
        process.session = CodeSession(
            key=key, session_id=session_id, started_at=now, last_used_at=now, fresh=True, data_dir=repl.DATA_DIR
        )
        with self._lock:
            self._processes[session_id] = process
        return process.session

    def write_files(self, session: CodeSession, files: Sequence[StagedFile]) -> None:
        if len(files) > self.limits.max_files:
            raise ValueError(f"at most {self.limits.max_files} files can be given to a session at once")
        checked = [(checked_path(file.path), file.data) for file in files]
        for path, data in checked:
            if len(data) > self.limits.max_file_bytes:
                raise TooLarge(f"The file {path} is larger than {self.limits.max_file_bytes} bytes.")
        process = self._live(session)
        with process.lock:
            try:
                for path, data in checked:
                    process.send({"op": "write", "path": path}, data)
                    answer, _ = process.receive(IO_SECONDS, 65536, 0)
                    if answer.get("ok") is not True:  # its words are the code's: not passed on
                        raise TooLarge(f"The file {path} could not be written in the session (full, or in the way).")
            except Broken as exc:
                self._end(process)
                raise SessionEnded("The code session ended while files were given to it.") from exc
            self._touch(process)

    def execute(self, session: CodeSession, code: str) -> Execution:
        process = self._live(session)
        limits = self.limits
        max_header = 65536 + 16 * limits.max_output_bytes + 2048 * limits.max_files
        with process.lock:
            started = time.monotonic()
            interrupted = False
            try:
                process.send({"op": "execute"}, code.encode("utf-8", errors="replace"))
                try:
                    header, images = process.receive(limits.execution_seconds, max_header, limits.max_file_bytes)
                except Broken as exc:
                    if exc.kind != "timed_out" or process.first is None:
                        raise
                    os.kill(process.first, signal.SIGINT)  # a KeyboardInterrupt in the code: it keeps its session
                    interrupted = True
                    header, images = process.receive(GRACE_SECONDS, max_header, limits.max_file_bytes)
            except Broken as exc:
                return self._ended(process, exc, started)
            after = self._touch(process)
        execution = _execution(header, images, limits, after, time.monotonic() - started)
        if interrupted:
            note = (
                f"The execution ran past its time limit of {limits.execution_seconds:g} s and was interrupted; "
                "the session's variables and files are kept."
            )
            return execution.model_copy(update={"error": note + "\n" + (execution.error or "")})
        return execution

    def read_file(self, session: CodeSession, path: str) -> bytes:
        path = checked_path(path)
        process = self._live(session)
        with process.lock:
            try:
                process.send({"op": "read", "path": path})
                answer, data = process.receive(IO_SECONDS, 65536, self.limits.max_file_bytes)
            except Broken as exc:
                self._end(process)
                raise SessionEnded("The code session ended while a file was read from it.") from exc
            self._touch(process)
        if answer.get("ok") is True:
            return data
        if answer.get("error") == "too_large":
            raise TooLarge(f"The file {path} is larger than {self.limits.max_file_bytes} bytes.")
        raise NotFound("file in the code session", path)

    def close(self, session: CodeSession) -> None:
        with self._lock:
            process = self._processes.get(session.session_id)
            if process is None or process.session is None or process.session.key != session.key:
                return
            self._forget(process)
        process.kill()

    # The rest.

    def close_all(self) -> None:
        """End every session (at the stack's stop, and at exit)."""
        self._stopped.set()
        with self._lock:
            processes = list(self._processes.values())
            self._processes.clear()
        for process in processes:
            process.kill()
        self._spawner.shutdown(wait=False)
        shutil.rmtree(self._root, ignore_errors=True)

    def _start(self) -> SessionProcess:
        if not self._python.exists():
            raise SandboxUnavailable(
                f"The code sandbox's Python environment is missing ({self._python}): run `make sandbox`."
            )
        unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
        if unshare is None or setpriv is None:
            raise SandboxUnavailable(
                "The code sandbox needs util-linux's unshare and setpriv, which are not installed."
            )
        commands_read, commands = os.pipe()
        answers, answers_write = os.pipe()
        uid = UID_BASE + secrets.randbelow(100_000_000)
        limits = self.limits
        config = {
            "root": self._root,
            "uid": uid,
            "commands": commands_read,
            "answers": answers_write,
            "repl": str(HERE / "repl.py"),
            "data_bytes": 4 * limits.max_file_bytes,
            "tmp_bytes": limits.max_file_bytes + 2 * limits.max_output_bytes,
            "shm_bytes": 16 * 1024 * 1024,
            "limits": {
                **limits.model_dump(),
                "open_files": OPEN_FILES,
                "processes": PROCESSES,
                "session_cpu_seconds": SESSION_CPU_SECONDS,
            },
        }
        # unshare is killed when the thread that started it ends (the spawner: it lasts as long as this process), and
        # takes the session with it: a host killed with -9 leaves no session behind.
        namespaces = ["--net", "--mount", "--pid", "--ipc", "--uts", "--cgroup", "--fork", "--kill-child"]
        jail = [str(self._python), "-I", str(HERE / "jail.py"), json.dumps(config)]
        argv = [setpriv, "--pdeathsig", "KILL", unshare, *namespaces, "--", *jail]
        with tempfile.TemporaryFile() as errors:
            try:
                popen = self._spawner.submit(
                    subprocess.Popen,
                    argv,
                    pass_fds=(commands_read, answers_write),
                    env=ENVIRONMENT,
                    cwd="/",
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    start_new_session=True,
                ).result()
            finally:
                os.close(commands_read)
                os.close(answers_write)
            process = SessionProcess(popen, commands, answers, uid)
            try:
                ready, _ = process.receive(START_SECONDS, 65536, 0)
            except Broken:
                ready = {"ready": False, "error": ""}
            if ready.get("ready") is not True:
                process.kill()
                errors.seek(0)
                said = errors.read(4000).decode(errors="replace").strip() or str(ready.get("error", ""))
                raise SandboxUnavailable(
                    "The code sandbox could not start: it needs root to make its namespaces, mounts and user, and "
                    f"runs no code without them. {said}"
                )
        return process

    def _lives(self, process: SessionProcess, key: SessionKey, now: float) -> bool:
        """Whether the process is a live session of ``key``, used within its idle time."""
        if process.ended or process.popen.poll() is not None or process.session is None:
            return False
        return process.session.key == key and not process.session.idle(now, self.limits)

    def _live(self, session: CodeSession) -> SessionProcess:
        with self._lock:
            process = self._processes.get(session.session_id)
        if process is None or process.session is None or process.session.key != session.key or process.ended:
            raise SessionEnded("The code session has ended: open it again.")
        return process

    def _touch(self, process: SessionProcess) -> CodeSession:
        assert process.session is not None
        process.session = process.session.model_copy(update={"last_used_at": self._clock(), "fresh": False})
        return process.session

    def _ended(self, process: SessionProcess, cause: Broken, started: float) -> Execution:
        status = ended_alone(process) if cause.kind == "closed" else process.kill()
        self._end(process)
        assert process.session is not None
        seconds = time.monotonic() - started
        if cause.kind == "timed_out":
            why = (
                f"The execution ran past its time limit of {self.limits.execution_seconds:g} s and did not stop "
                "when interrupted"
            )
        elif cause.kind == "garbled":
            why = "The execution wrote over the session's own channel to threadrunner"
        else:
            why = reason(status, self.limits)
        error = f"{why}: its session was ended, with its variables and files."
        return Execution(output="", error=error, session=process.session, ended=True, seconds=seconds)

    def _end(self, process: SessionProcess) -> None:
        with self._lock:
            self._forget(process)
        process.kill()

    def _forget(self, process: SessionProcess) -> None:
        """Take the process out of the registry (under ``_lock``)."""
        process.ended = True
        for session_id, known in list(self._processes.items()):
            if known is process:
                del self._processes[session_id]

    def _reap(self) -> None:
        """End the sessions unused for ``idle_seconds``."""
        while not self._stopped.wait(min(30.0, self.limits.idle_seconds / 4)):
            now = self._clock()
            with self._lock:
                idle = [
                    process
                    for process in self._processes.values()
                    if process.session is not None
                    and process.session.idle(now, self.limits)
                    and not process.lock.locked()
                ]
                for process in idle:
                    self._forget(process)
            for process in idle:
                process.kill()


def _last_used(process: SessionProcess) -> float:
    return process.session.last_used_at if process.session is not None else 0.0


def _execution(
    header: dict[str, Any], images: bytes, limits: SandboxLimits, session: CodeSession, seconds: float
) -> Execution:
    """The interpreter's answer, read as the code's own words: every part typed, bounded and checked."""
    output, cut_output = cut(str(header.get("output", "")), limits.max_output_bytes)
    error = header.get("error")
    error = cut(str(error), limits.max_output_bytes)[0] if error is not None else None
    sizes: Any = header.get("images")
    pieces: list[bytes] = []
    well_formed = isinstance(sizes, list) and all(isinstance(size, int) and size >= 0 for size in sizes)
    if well_formed and sum(sizes) == len(images):  # the payload is the images, one after the other
        ends = itertools.accumulate(sizes)
        pieces = [images[end - size : end] for size, end in zip(sizes, ends, strict=True)]
    return Execution(
        output=output,
        output_truncated=cut_output or header.get("cut") is True,
        error=error,
        files=written_files(header.get("files"), limits),
        images=shown_images(pieces, limits),
        seconds=seconds,
        session=session,
    )
