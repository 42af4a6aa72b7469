"""The interpreter of one session, inside the sandbox: it reads commands from the host over a pipe and runs code in
one namespace that lives as long as the session, as a notebook's kernel does.

Standard library only, and nothing of threadrunner: ``jail.py`` loads this file before the session's file system
hides the repository, and runs :func:`serve` as the session's user. The host (``host.py``) uses the framing
below for its side of the pipe.

Nothing here is a defence: the code runs in this process and can rewrite any of it. The host treats every answer
as the code's own words (bounded and checked there); the sandbox's walls are the namespaces and limits
``jail.py`` set up before this runs.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import linecache
import math
import os
import resource
import stat
import struct
import sys
import traceback
import types
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

PREFIX = struct.Struct(">II")
"""A frame: the sizes of its JSON header and of its binary payload, then both."""

DATA_DIR = "/mnt/data"
OUTPUT_FILE = "/tmp/.output"
"""Where the session's file descriptors 1 and 2 write (a subprocess's output, C libraries' messages)."""
MAX_SCANNED = 10_000
"""Entries of the data directory looked at to find what an execution wrote."""


def pack(header: dict[str, Any], payload: bytes = b"") -> bytes:
    encoded = json.dumps(header).encode()
    return PREFIX.pack(len(encoded), len(payload)) + encoded + payload


def _read_exact(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(fd: int) -> tuple[dict[str, Any], bytes]:
    header_size, payload_size = PREFIX.unpack(_read_exact(fd, PREFIX.size))
    return json.loads(_read_exact(fd, header_size)), _read_exact(fd, payload_size)


def send(fd: int, header: dict[str, Any], payload: bytes = b"") -> None:
    data = memoryview(pack(header, payload))
    while data:
        data = data[os.write(fd, data) :]


class _Capture(io.TextIOBase):
    """``sys.stdout`` and ``sys.stderr`` of an execution: what they write, up to ``limit`` characters."""

    def __init__(self, limit: int) -> None:
        self.limit, self.kept, self.cut = limit, 0, False
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        room = self.limit - self.kept
        if len(text) > room:
            self.cut = True
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(len(text), room)
        return len(text)

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"


def _scan() -> dict[str, tuple[int, int]]:
    """Every regular file under the data directory: its size and modification time (symbolic links are not
    followed)."""
    found: dict[str, tuple[int, int]] = {}
    seen = 0
    for directory, dirs, files in os.walk(DATA_DIR):
        for name in files:
            seen += 1
            if seen > MAX_SCANNED:
                return found
            path = os.path.join(directory, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                found[os.path.relpath(path, DATA_DIR)] = (info.st_size, info.st_mtime_ns)
        dirs[:] = [name for name in dirs if not os.path.islink(os.path.join(directory, name))]
    return found


def _figures(limit: int, max_bytes: int) -> list[bytes]:
    """The figures the code left open, as PNG, closed after (as a notebook shows a cell's figures): at most
    ``limit`` of them, ``max_bytes`` in all."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return []
    images: list[bytes] = []
    for number in pyplot.get_fignums():
        figure = pyplot.figure(number)
        buffer = io.BytesIO()
        try:
            figure.savefig(buffer, format="png")
        except Exception as exc:  # a figure that cannot be drawn says why, as the notebook would
            print(f"The figure {number} could not be drawn: {exc!r}", file=sys.stderr)
        pyplot.close(figure)
        if len(images) < limit and sum(len(image) for image in images) + buffer.tell() <= max_bytes:
            images.append(buffer.getvalue())
    return images


def _error(exc: BaseException) -> str:
    """The exception's traceback without this module's own frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _share_cpu(seconds: float) -> None:
    """Let this process (and what it forks now) use ``seconds`` more of CPU time, then SIGXCPU ends it: the soft
    limit, under the session's hard one (jail.py). The code could raise it up to the hard limit; the host's clock
    stops an execution anyway."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(used.ru_utime + used.ru_stime + seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (min(soft, hard), hard))


class Session:
    def __init__(self, limits: dict[str, Any]) -> None:
        self.limits = limits
        self.pid = os.getpid()
        self.cells = 0
        main = types.ModuleType("__main__")
        main.__dict__["__builtins__"] = builtins
        sys.modules["__main__"] = main  # pickle and multiprocessing find the code's functions here
        self.namespace = main.__dict__
        self.output = open(OUTPUT_FILE, "a+b")  # noqa: SIM115 - open while the session lives
        os.dup2(self.output.fileno(), 1)
        os.dup2(self.output.fileno(), 2)

    def execute(self, code: str) -> tuple[dict[str, Any], bytes]:
        self.cells += 1
        name = f"<cell {self.cells}>"
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)  # tracebacks quote the code's lines
        capture = _Capture(self.limits["max_output_bytes"])
        _share_cpu(self.limits["execution_seconds"])
        before, error = _scan(), None
        with redirect_stdout(capture), redirect_stderr(capture):
            try:
                tree = ast.parse(code, name)
                last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
                exec(compile(tree, name, "exec"), self.namespace)
                if isinstance(last, ast.Expr):  # the value of the last expression is shown, as in a notebook
                    value = eval(compile(ast.Expression(last.value), name, "eval"), self.namespace)
                    if value is not None:
                        print(repr(value))
            except BaseException as exc:  # the code's exception, whatever it is, is its answer
                error = _error(exc)
            if os.getpid() != self.pid:  # a process the code forked came back here: it must not answer the host
                os._exit(0)
            images = _figures(self.limits["max_files"], self.limits["max_file_bytes"])
        after = _scan()
        files = sorted(path for path, seen in after.items() if before.get(path) != seen)
        header = {
            "output": "".join(capture.parts) + self._descriptor_output(),
            "cut": capture.cut,
            "error": error,
            "files": [[path, after[path][0]] for path in files],
            "images": [len(image) for image in images],
        }
        return header, b"".join(images)

    def _descriptor_output(self) -> str:
        """What was written to file descriptors 1 and 2 during the execution (then forgotten)."""
        self.output.seek(0)
        written = self.output.read(self.limits["max_output_bytes"])
        self.output.truncate(0)
        return written.decode("utf-8", errors="replace")

    def write(self, path: str, data: bytes) -> dict[str, Any]:
        target = os.path.join(DATA_DIR, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.lexists(target):
            os.unlink(target)
        with open(target, "xb") as file:
            file.write(data)
        return {"ok": True}

    def read(self, path: str) -> tuple[dict[str, Any], bytes]:
        target = os.path.join(DATA_DIR, path)
        try:
            info = os.lstat(target)
        except FileNotFoundError:
            return {"ok": False, "error": "not_found"}, b""
        if not stat.S_ISREG(info.st_mode):
            return {"ok": False, "error": "not_found"}, b""
        if info.st_size > self.limits["max_file_bytes"]:
            return {"ok": False, "error": "too_large", "size": info.st_size}, b""
        with open(target, "rb") as file:
            return {"ok": True}, file.read(self.limits["max_file_bytes"] + 1)


def serve(commands: int, answers: int, limits: dict[str, Any]) -> None:
    """Answer the host's commands until it closes the pipe."""
    os.makedirs(DATA_DIR, exist_ok=True)
    os.chdir(DATA_DIR)
    session = Session(limits)
    send(answers, {"ready": True, "data_dir": DATA_DIR})
    while True:
        try:
            command, payload = receive(commands)
        except EOFError:
            return
        if command["op"] == "execute":
            send(answers, *session.execute(payload.decode()))
            continue
        try:
            if command["op"] == "write":
                send(answers, session.write(command["path"], payload))
            else:
                send(answers, *session.read(command["path"]))
        except OSError as exc:  # a full or read-only place, a file too large, a path the code made a folder
            send(answers, {"ok": False, "error": exc.strerror or type(exc).__name__})
