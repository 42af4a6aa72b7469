"""The local stack's code sandbox, as real processes: what the code can do (functional), and what hostile code cannot
(network, files and processes outside its session, credentials, runaway time, processes, memory and files).

Each test opens sessions of its own on one sandbox per module, with small limits so that runaways end in seconds.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeCodeSandbox
from threadrunner.domain.code_sandbox import CodeSession, SandboxFile, SandboxLimits, SessionKey, StagedFile
from threadrunner.errors import NotFound, SandboxUnavailable, SessionEnded, TooLarge
from threadrunner.ports import CodeSandbox
from threadrunner_local.sandbox import LocalSandbox, host
from threadrunner_local.sandbox.host import PROCESSES, ROOT

LIMITS = SandboxLimits(
    idle_seconds=600,
    execution_seconds=30,
    memory_mb=512,
    max_output_bytes=4096,
    max_file_bytes=8 * 1024 * 1024,
    max_files=5,
)
RUNAWAY_LIMITS = LIMITS.model_copy(update={"execution_seconds": 1})
"""For code that runs until it is stopped: a short time limit, so each such test takes seconds."""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalSandbox]:
    sandbox = LocalSandbox(LIMITS)
    yield sandbox
    sandbox.close_all()


@pytest.fixture(scope="module")
def strict() -> Iterator[LocalSandbox]:
    sandbox = LocalSandbox(RUNAWAY_LIMITS)
    yield sandbox
    sandbox.close_all()


def _key() -> SessionKey:
    return SessionKey(project="p_" + secrets.token_hex(4), thread_id="thread_" + secrets.token_hex(8))


@pytest.fixture
def session(sandbox: LocalSandbox) -> Iterator[CodeSession]:
    session = sandbox.open(_key())
    yield session
    sandbox.close(session)


def _run(sandbox: LocalSandbox, session: CodeSession, code: str) -> str:
    """The output of code that must run without an error."""
    execution = sandbox.execute(session, code)
    assert execution.error is None, execution.error
    return execution.output


def _uid(sandbox: LocalSandbox, session: CodeSession) -> int:
    return int(_run(sandbox, session, "import os; os.getuid()"))


def _processes_of(uid: int) -> list[int]:
    """The processes of the host that run as ``uid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nUid:\t{uid}\t" in status:
                found.append(int(entry.name))
    return found


def _gone(uid: int) -> bool:
    """Whether every process of ``uid`` has ended (the kernel ends a PID namespace's processes shortly after its
    first one)."""
    for _ in range(50):
        if not _processes_of(uid):
            return True
        time.sleep(0.1)
    return False


# The port's contract, kept by the local sandbox and by the unit tests' fake alike.


@pytest.fixture(params=["local", "fake"])
def clocked(request: pytest.FixtureRequest) -> Iterator[tuple[CodeSandbox, list[float]]]:
    """A sandbox on a clock the test moves."""
    now = [1000.0]
    if request.param == "fake":
        yield FakeCodeSandbox(LIMITS, clock=lambda: now[0]), now
        return
    sandbox = LocalSandbox(LIMITS, clock=lambda: now[0])
    yield sandbox, now
    sandbox.close_all()


def test_a_session_is_reopened_within_its_idle_time_and_replaced_after_it(clocked):
    sandbox, now = clocked
    key = _key()
    first = sandbox.open(key)
    sandbox.write_files(first, [StagedFile(path="data.csv", data=b"a,b")])
    now[0] += LIMITS.idle_seconds - 1

    again = sandbox.open(key, resume=first)

    assert first.fresh and (again.session_id, again.fresh) == (first.session_id, False)
    assert sandbox.read_file(again, "data.csv") == b"a,b"
    now[0] += LIMITS.idle_seconds
    replaced = sandbox.open(key, resume=again)
    assert replaced.fresh and replaced.session_id != first.session_id
    with pytest.raises(NotFound):
        sandbox.read_file(replaced, "data.csv")
    with pytest.raises(SessionEnded):
        sandbox.read_file(again, "data.csv")


def test_a_session_is_not_reopened_under_another_threads_key(clocked):
    sandbox, _ = clocked
    first = sandbox.open(_key())
    sandbox.write_files(first, [StagedFile(path="private.txt", data=b"first thread's")])

    other = sandbox.open(_key(), resume=first)

    assert other.fresh and other.session_id != first.session_id
    with pytest.raises(NotFound):
        sandbox.read_file(other, "private.txt")
    with pytest.raises(SessionEnded):
        sandbox.read_file(first.model_copy(update={"key": other.key}), "private.txt")


def test_staging_refuses_paths_outside_the_data_directory_too_many_files_and_too_large_ones(clocked):
    sandbox, _ = clocked
    session = sandbox.open(_key())
    for path in ("../etc/passwd", "/etc/passwd", "a/../../b", "", "bad\nname"):
        with pytest.raises(ValueError):
            sandbox.write_files(session, [StagedFile(path=path, data=b"x")])
    with pytest.raises(ValueError):
        sandbox.write_files(session, [StagedFile(path=f"f{n}", data=b"x") for n in range(LIMITS.max_files + 1)])
    with pytest.raises(TooLarge):
        sandbox.write_files(session, [StagedFile(path="big", data=b"x" * (LIMITS.max_file_bytes + 1))])
    with pytest.raises(NotFound):
        sandbox.read_file(session, "never-written.txt")
    with pytest.raises(ValueError):
        sandbox.read_file(session, "../../etc/passwd")


def test_a_staged_file_replaces_one_of_the_same_path_and_may_sit_in_a_folder(clocked):
    sandbox, _ = clocked
    session = sandbox.open(_key())

    sandbox.write_files(session, [StagedFile(path="in/a.txt", data=b"old")])
    sandbox.write_files(session, [StagedFile(path="/mnt/data/in/a.txt", data=b"new")])

    assert sandbox.read_file(session, "in/a.txt") == b"new"


def test_a_closed_session_has_ended(clocked):
    sandbox, _ = clocked
    session = sandbox.open(_key())

    sandbox.close(session)

    with pytest.raises(SessionEnded):
        sandbox.execute(session, "1")
    sandbox.close(session)  # again: nothing to do


# What the code can do.


def test_a_variable_set_in_one_execution_is_there_in_the_next(sandbox, session):
    _run(sandbox, session, "answer = 6 * 7")

    assert _run(sandbox, session, "print(answer)") == "42\n"


def test_the_value_of_the_last_expression_is_shown_as_a_notebook_shows_it(sandbox, session):
    assert _run(sandbox, session, "x = [1, 2]\nx + [3]") == "[1, 2, 3]\n"


def test_an_exception_is_an_error_with_its_traceback_and_the_session_goes_on(sandbox, session):
    execution = sandbox.execute(session, "total = 10\nprint('before')\ntotal / 0")

    assert execution.output == "before\n"
    assert execution.error is not None and "ZeroDivisionError: division by zero" in execution.error
    assert 'File "<cell 1>", line 3' in execution.error and "total / 0" in execution.error
    assert not execution.ended
    assert _run(sandbox, session, "total") == "10\n"


def test_a_file_written_under_mnt_data_is_listed_and_readable(sandbox, session):
    execution = sandbox.execute(session, "open('/mnt/data/notes.txt', 'w').write('hello, file')")

    assert execution.files == [SandboxFile(path="notes.txt", size=11)]
    assert sandbox.read_file(session, "notes.txt") == b"hello, file"
    assert sandbox.read_file(session, "/mnt/data/notes.txt") == b"hello, file"


def test_only_files_written_or_changed_by_the_execution_are_listed(sandbox, session):
    sandbox.write_files(session, [StagedFile(path="kept.txt", data=b"same"), StagedFile(path="log.txt", data=b"1")])

    execution = sandbox.execute(
        session, "open('log.txt', 'a').write('2')\nimport os; os.makedirs('out')\nopen('out/new.csv', 'w').write('a,b')"
    )

    assert execution.files == [SandboxFile(path="log.txt", size=2), SandboxFile(path="out/new.csv", size=3)]


def test_pandas_reads_a_staged_csv(sandbox, session):
    csv = b"region,amount\nnorth,10\nsouth,20\nnorth,30\n"
    sandbox.write_files(session, [StagedFile(path="sales.csv", data=csv)])

    output = _run(
        sandbox,
        session,
        "import pandas as pd\ndf = pd.read_csv('/mnt/data/sales.csv')\n"
        "print(df.groupby('region')['amount'].sum().to_dict())",
    )

    assert output == "{'north': 40, 'south': 20}\n"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", data[:16]
    return struct.unpack(">II", data[16:24])


def test_a_chart_saved_by_matplotlib_comes_back_as_a_png(sandbox, session):
    code = (
        "import matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots(figsize=(4, 3), dpi=50)\n"
        "ax.bar(['a', 'b'], [3, 5])\n"
        "fig.savefig('/mnt/data/chart.png')\n"
        "plt.close(fig)"
    )
    execution = sandbox.execute(session, code)

    assert execution.error is None, execution.error
    assert [file.path for file in execution.files] == ["chart.png"]
    assert _png_size(sandbox.read_file(session, "chart.png")) == (200, 150)
    assert execution.images == []  # closed: nothing left to show


def test_a_figure_left_open_is_shown_as_a_png_image(sandbox, session):
    execution = sandbox.execute(
        session, "import matplotlib.pyplot as plt\nplt.figure(figsize=(2, 1), dpi=100)\nplt.plot([1, 3, 2])\nplt.show()"
    )

    assert execution.error is None, execution.error
    assert [_png_size(image) for image in execution.images] == [(200, 100)]
    assert execution.files == []
    assert sandbox.execute(session, "1").images == []  # shown once, then closed


def test_output_is_cut_to_the_limit(sandbox, session):
    execution = sandbox.execute(session, "print('é' * 100_000)")

    assert execution.output_truncated
    assert len(execution.output.encode()) <= LIMITS.max_output_bytes
    assert execution.output.startswith("éééé")


def test_what_a_subprocess_prints_is_in_the_output(sandbox, session):
    output = _run(sandbox, session, "import subprocess\nsubprocess.run(['echo', 'from a child'])")

    assert output.startswith("CompletedProcess(") and output.endswith("from a child\n")


def test_a_process_forked_by_the_code_does_not_answer_for_the_session(sandbox, session):
    output = _run(
        sandbox,
        session,
        "import os\npid = os.fork()\nprint('child' if pid == 0 else 'parent')\nif pid: os.waitpid(pid, 0)",
    )

    assert output == "parent\n"
    assert _run(sandbox, session, "print('still answering')") == "still answering\n"


def test_a_session_keeps_its_variables_within_its_idle_time_and_its_processes_end_after_it():
    now = [1000.0]
    sandbox = LocalSandbox(LIMITS, clock=lambda: now[0])
    try:
        key = _key()
        first = sandbox.open(key)
        sandbox.execute(first, "x = 1")
        now[0] += LIMITS.idle_seconds - 1

        again = sandbox.open(key, resume=first)
        assert (again.session_id, again.fresh) == (first.session_id, False)
        assert _run(sandbox, again, "x") == "1\n"

        uid = _uid(sandbox, again)
        now[0] += LIMITS.idle_seconds
        replaced = sandbox.open(key, resume=again)

        assert replaced.session_id != first.session_id and replaced.fresh
        assert "NameError" in (sandbox.execute(replaced, "x").error or "")
        assert _gone(uid)
        with pytest.raises(SessionEnded):
            sandbox.execute(again, "1")
    finally:
        sandbox.close_all()


def test_closing_a_session_ends_its_processes(sandbox):
    session = sandbox.open(_key())
    uid = _uid(sandbox, session)
    _run(sandbox, session, "import subprocess\nchild = subprocess.Popen(['sleep', '300'])")
    assert len(_processes_of(uid)) == 2

    sandbox.close(session)

    assert _gone(uid)
    with pytest.raises(SessionEnded):
        sandbox.read_file(session, "anything")


def test_a_sandbox_without_its_python_environment_says_how_to_make_it(tmp_path):
    sandbox = LocalSandbox(LIMITS, python=tmp_path / "missing" / "python")
    try:
        with pytest.raises(SandboxUnavailable, match="run `make sandbox`"):
            sandbox.open(_key())
    finally:
        sandbox.close_all()


def test_a_sandbox_that_cannot_have_its_namespaces_refuses_to_run_code(tmp_path, monkeypatch):
    """As on a machine where the process is not root: unshare fails, and the session is refused, never run bare."""
    unshare = tmp_path / "unshare"
    unshare.write_text("#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\nexit 1\n")
    unshare.chmod(0o755)
    real = host.shutil.which
    monkeypatch.setattr(host.shutil, "which", lambda name: str(unshare) if name == "unshare" else real(name))
    sandbox = LocalSandbox(LIMITS)
    try:
        with pytest.raises(SandboxUnavailable) as refused:
            sandbox.open(_key())
        assert "needs root to make its namespaces" in refused.value.message
        assert "unshare failed: Operation not permitted" in refused.value.message
    finally:
        sandbox.close_all()


# What hostile code cannot do.


def test_no_network_reaches_a_server_on_the_hosts_loopback(sandbox, session):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        execution = sandbox.execute(session, f"import socket\nsocket.create_connection(('127.0.0.1', {port}), 1)")

        server.settimeout(0.2)
        with pytest.raises(TimeoutError):
            server.accept()  # nothing came: the sandbox's loopback is its own, and down
    assert execution.error is not None and "Network is unreachable" in execution.error


def test_no_network_reaches_an_outside_address_and_no_name_resolves(sandbox, session):
    outside = sandbox.execute(session, "import socket\nsocket.create_connection(('93.184.215.14', 80), timeout=1)")
    names = sandbox.execute(session, "import socket\nsocket.getaddrinfo('example.com', 443)")
    interfaces = _run(sandbox, session, "import socket\nprint([name for _, name in socket.if_nameindex()])")

    assert outside.error is not None and "Network is unreachable" in outside.error
    assert names.error is not None and "gaierror" in names.error
    assert interfaces == "['lo']\n"


def test_the_repository_the_hosts_tmp_and_etc_shadow_are_out_of_reach(sandbox, session, tmp_path):
    secret = tmp_path / "host-secret.txt"
    secret.write_text("the host's")
    secret.chmod(0o644)
    tmp_path.chmod(0o755)
    probes = {
        "template": str(ROOT / "template.yaml"),
        "secret": str(secret),
        "shadow": "/etc/shadow",
        "ssh": "/root/.ssh/id_rsa",
        "aws": "/root/.aws/credentials",
    }
    code = (
        "import os\nfor name, path in " + repr(probes) + ".items():\n"
        "    try:\n        open(path).read(); print(name, 'READ')\n"
        "    except OSError as exc:\n        print(name, type(exc).__name__)\n"
        f"print(sorted(os.listdir({str(ROOT)!r})))"
    )

    output = _run(sandbox, session, code)

    assert output.splitlines() == [f"{name} FileNotFoundError" for name in probes] + ["['.venv-sandbox']"]


def test_the_file_system_outside_the_sessions_own_places_is_read_only(sandbox, session):
    code = (
        "for path in ['/usr/evil', '/evil', '/etc/passwd', '/proc/sys/kernel/hostname']:\n"
        "    try:\n        open(path, 'w').write('x'); print(path, 'WRITTEN')\n"
        "    except OSError as exc:\n        print(path, exc.strerror)"
    )

    assert _run(sandbox, session, code).splitlines() == [
        "/usr/evil Read-only file system",
        "/evil Read-only file system",
        "/etc/passwd Read-only file system",
        "/proc/sys/kernel/hostname Permission denied",
    ]


def test_the_hosts_environment_and_credentials_are_not_given(sandbox, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "host-secret-key")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host-secret")
    session = sandbox.open(_key())

    output = _run(
        sandbox,
        session,
        "import os\nprint(sorted(os.environ))\n"
        "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])\nprint(os.getuid())\n"
        "print(os.uname().nodename)",
    )

    names, capabilities, uid, host_name = output.splitlines()
    assert "AWS_SECRET_ACCESS_KEY" not in names and "OPENAI_API_KEY" not in names and "host-secret" not in output
    assert capabilities == "0000000000000000"
    assert int(uid) != 0
    assert host_name == "sandbox"
    sandbox.close(session)


def test_only_the_sessions_own_processes_are_seen(sandbox, session):
    output = _run(sandbox, session, "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))")

    assert output == "[1]\n"  # itself, process 1 of its own PID namespace: not the host's, not another session's


def test_another_threads_session_sees_neither_its_files_nor_its_processes(sandbox, session):
    other = sandbox.open(_key())
    _run(
        sandbox,
        session,
        "open('/mnt/data/private.csv', 'w').write('mine')\nimport subprocess\n"
        "sleeper = subprocess.Popen(['sleep', '300'])",
    )

    output = _run(
        sandbox,
        other,
        "import os\nprint(os.listdir('/mnt/data'), os.path.exists('/mnt/data/private.csv'))\n"
        "print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))",
    )

    assert output == "[] False\n[1]\n"
    assert _uid(sandbox, other) != _uid(sandbox, session)
    sandbox.close(other)


def test_an_infinite_loop_is_interrupted_at_the_time_limit_and_the_session_goes_on(strict):
    session = strict.open(_key())
    _run(strict, session, "kept = 'yes'")

    execution = strict.execute(session, "while True:\n    pass")

    assert execution.error is not None
    assert (
        "ran past its time limit of 1 s and was interrupted" in execution.error
        and "KeyboardInterrupt" in execution.error
    )
    assert not execution.ended and execution.seconds >= RUNAWAY_LIMITS.execution_seconds
    assert _run(strict, session, "kept") == "'yes'\n"


def test_a_loop_that_ignores_interrupts_ends_its_session_and_leaves_no_process(strict):
    key = _key()
    session = strict.open(key)
    uid = _uid(strict, session)

    execution = strict.execute(
        session, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    )

    assert execution.ended and execution.error is not None
    assert "ran past its time limit of 1 s and did not stop" in execution.error
    assert _gone(uid)
    again = strict.open(key, resume=execution.session)
    assert again.fresh and again.session_id != session.session_id
    assert _run(strict, again, "print('a new session')") == "a new session\n"
    strict.close(again)


def test_a_fork_bomb_is_bounded_by_the_process_limit_and_leaves_no_process(strict):
    session = strict.open(_key())
    uid = _uid(strict, session)
    counted: list[int] = []
    executed = threading.Event()

    def watch() -> None:  # counts the session's processes for as long as the bomb runs
        while not executed.is_set():
            counted.append(len(_processes_of(uid)))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        execution = strict.execute(
            session,
            "import os, signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        )
    finally:
        executed.set()
        watcher.join()

    assert execution.ended and execution.error is not None and "did not stop" in execution.error
    assert 1 < max(counted) <= PROCESSES
    assert _gone(uid)
    assert subprocess.run(["true"]).returncode == 0  # the host still makes processes


def test_a_fork_bomb_that_gives_up_ends_as_an_error_and_the_session_goes_on(sandbox, session):
    execution = sandbox.execute(session, "import os\nchildren = 0\nwhile True:\n    os.fork() or None\n")

    assert execution.error is not None and "BlockingIOError" in execution.error
    assert not execution.ended
    assert _run(sandbox, session, "print('after the bomb')") == "after the bomb\n"


def test_a_memory_hog_gets_a_memory_error_and_the_session_goes_on(sandbox, session):
    execution = sandbox.execute(session, "hog = []\nwhile True:\n    hog.append(bytearray(16 * 1024 * 1024))")

    assert execution.error is not None and "MemoryError" in execution.error
    assert not execution.ended
    assert _run(sandbox, session, "n = len(hog)\ndel hog\nprint(n < 512 // 16)") == "True\n"


def test_a_memory_hog_in_one_allocation_gets_a_memory_error(sandbox, session):
    execution = sandbox.execute(session, "block = bytearray(4 * 1024 ** 3)")

    assert execution.error is not None and "MemoryError" in execution.error


def test_a_one_gigabyte_file_is_stopped_at_the_file_size_limit(sandbox, session):
    code = "with open('/mnt/data/huge.bin', 'wb') as f:\n    for _ in range(1024):\n        f.write(b'0' * 1024 * 1024)"

    execution = sandbox.execute(session, code)

    assert execution.error is not None and "File too large" in execution.error
    assert not execution.ended
    size = int(_run(sandbox, session, "import os; os.path.getsize('/mnt/data/huge.bin')"))
    assert size <= LIMITS.max_file_bytes


def test_code_that_forges_answers_on_the_sessions_channel_ends_its_session(sandbox):
    session = sandbox.open(_key())
    uid = _uid(sandbox, session)
    forge = (
        "import os, struct\nfor fd in os.listdir('/proc/self/fd'):\n    try:\n"
        "        os.write(int(fd), struct.pack('>II', 2**31, 0))\n    except OSError:\n        pass"
    )

    execution = sandbox.execute(session, forge)

    assert execution.ended and "wrote over the session's own channel" in (execution.error or "")
    assert _gone(uid)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("import ctypes\nctypes.string_at(0)", "The interpreter crashed (segmentation fault)"),
        ("import os\nos._exit(3)", "The interpreter exited (status 3)"),
    ],
)
def test_code_that_ends_its_interpreter_ends_its_session_and_says_how(sandbox, code, reason):
    key = _key()
    session = sandbox.open(key)
    uid = _uid(sandbox, session)

    execution = sandbox.execute(session, code)

    assert execution.ended and execution.error == f"{reason}: its session was ended, with its variables and files."
    assert _gone(uid)
    assert sandbox.open(key, resume=execution.session).fresh


def test_exit_is_an_error_and_the_session_goes_on(sandbox, session):
    execution = sandbox.execute(session, "exit(2)")

    assert "SystemExit: 2" in (execution.error or "") and not execution.ended
    assert _run(sandbox, session, "print('still here')") == "still here\n"


HOST = """
import sys, time
from threadrunner.domain.code_sandbox import SandboxLimits, SessionKey
from threadrunner_local.sandbox import LocalSandbox
sandbox = LocalSandbox(SandboxLimits(execution_seconds=600))
session = sandbox.open(SessionKey(project="p", thread_id="t"))
print(sandbox._root, sandbox.execute(session, "import os; os.getuid()").output, flush=True)
sandbox.execute(session, "import time; time.sleep(600)")
"""


def test_a_host_killed_with_its_session_busy_leaves_no_session_behind(tmp_path):
    script = tmp_path / "host.py"
    script.write_text(HOST)
    stack = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert stack.stdout is not None
    root, said = stack.stdout.readline().split()
    uid = int(said)
    assert _processes_of(uid)

    stack.kill()  # SIGKILL: no atexit, no close_all
    stack.wait()

    try:
        assert _gone(uid)
    finally:
        for pid in _processes_of(uid):  # what a failure left, so that it does not outlive the test
            os.kill(pid, signal.SIGKILL)
        os.rmdir(root)  # the folder sessions mount their roots on, which the killed host could not remove


def test_the_code_can_make_no_namespace_of_its_own_and_mount_nothing(sandbox, session):
    code = (
        "import ctypes, subprocess\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.unshare(0x10000000), ctypes.get_errno())\n"  # CLONE_NEWUSER: EPERM
        "print(subprocess.run(['unshare', '-Ur', 'id'], capture_output=True, text=True).stderr.strip())\n"
        "print(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None), ctypes.get_errno())"
    )

    assert _run(sandbox, session, code).splitlines() == [
        "-1 1",
        "unshare: unshare failed: Operation not permitted",
        "-1 1",
    ]


def test_threads_and_process_pools_of_the_code_work_under_the_filter(sandbox, session):
    code = (
        "import threading, multiprocessing\nseen = []\n"
        "worker = threading.Thread(target=seen.append, args=('thread',)); worker.start(); worker.join()\n"
        "with multiprocessing.Pool(2) as pool:\n    seen += pool.map(abs, [-1, -2])\nprint(seen)"
    )

    assert _run(sandbox, session, code) == "['thread', 1, 2]\n"


def test_a_file_the_session_cannot_hold_is_refused_without_the_sessions_words(sandbox, session):
    _run(sandbox, session, "import os\nos.makedirs('/mnt/data/in_the_way.csv/inside')")
    with pytest.raises(TooLarge) as refused:
        sandbox.write_files(session, [StagedFile(path="in_the_way.csv", data=b"a,b")])
    assert refused.value.message == "The file in_the_way.csv could not be written in the session (full, or in the way)."

    big = b"0" * LIMITS.max_file_bytes  # the data directory holds four of them
    with pytest.raises(TooLarge):
        sandbox.write_files(session, [StagedFile(path=f"big{number}.bin", data=big) for number in range(5)])
    assert _run(sandbox, session, "print('the session goes on')") == "the session goes on\n"
