"""The AgentCore Code Interpreter adapter on botocore's own model of ``bedrock-agentcore`` (moto does not emulate it):
requests checked by botocore's Stubber against what each call must send, answers built to the model's shapes; and,
through botocore's HTTP layer, answers as the service sends them (event streams parsed by botocore, a read timeout).
Not run against AWS: no session here can reach it."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from threadrunner import bootstrap
from threadrunner.adapters.agentcore import SETUP, AgentCoreSandbox, after, before, client_config
from threadrunner.config import Settings
from threadrunner.domain.code_sandbox import CodeSession, SandboxFile, SandboxLimits, SessionKey, StagedFile
from threadrunner.errors import NotFound, SandboxUnavailable, SessionEnded, TooLarge
from threadrunner_local.sandbox import LocalSandbox

INTERPRETER = "threadrunner_code_interpreter-a1B2c3D4e5"
LIMITS = SandboxLimits(idle_seconds=1200, execution_seconds=30, max_output_bytes=1024, max_files=3)
KEY = SessionKey(project="acme", thread_id="thread_abc")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture
def client() -> Any:
    # A session of its own: a local stack started earlier in this process hooks the default session's clients.
    return boto3.session.Session().client(
        "bedrock-agentcore",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=client_config(LIMITS),
    )


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def now() -> list[float]:
    return [1_800_000_000.0]


@pytest.fixture
def sandbox(client: Any, now: list[float]) -> AgentCoreSandbox:
    return AgentCoreSandbox(INTERPRETER, client, LIMITS, clock=lambda: now[0])


def _session(data_dir: str = "/mnt/data", last_used_at: float = 1_800_000_000.0) -> CodeSession:
    return CodeSession(
        key=KEY, session_id="01K9QWSZFRC2", data_dir=data_dir, started_at=last_used_at, last_used_at=last_used_at
    )


def _answer(
    stdout: str = "", stderr: str = "", is_error: bool = False, content: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    structured = {"stdout": stdout, "stderr": stderr, "exitCode": 1 if is_error else 0, "executionTime": 0.01}
    result = {"content": content or [{"type": "text", "text": stdout}], "structuredContent": structured}
    return {"sessionId": "01K9QWSZFRC2", "stream": {"result": {**result, "isError": is_error}}}


def _invoke(stubber: Stubber, name: str, arguments: dict[str, Any], answer: dict[str, Any]) -> None:
    expected = {"codeInterpreterIdentifier": INTERPRETER, "sessionId": "01K9QWSZFRC2", "name": name}
    stubber.add_response("invoke_code_interpreter", answer, {**expected, "arguments": arguments})


def _code(stubber: Stubber, code: str, answer: dict[str, Any]) -> None:
    _invoke(stubber, "executeCode", {"code": code, "language": "python"}, answer)


def _started(stubber: Stubber, setup_stdout: str = '{"data_dir": "/mnt/data"}\n') -> None:
    stubber.add_response(
        "start_code_interpreter_session",
        {"codeInterpreterIdentifier": INTERPRETER, "sessionId": "01K9QWSZFRC2", "createdAt": "2027-01-01T00:00:00Z"},
        {"codeInterpreterIdentifier": INTERPRETER, "name": KEY.name, "sessionTimeoutSeconds": 1200},
    )
    _code(stubber, SETUP, _answer(setup_stdout))


def _stopped(stubber: Stubber, error: str | None = None) -> None:
    expected = {"codeInterpreterIdentifier": INTERPRETER, "sessionId": "01K9QWSZFRC2"}
    if error:
        stubber.add_client_error("stop_code_interpreter_session", error, expected_params=expected)
        return
    answer = {**expected, "lastUpdatedAt": "2027-01-01T00:00:00Z"}
    stubber.add_response("stop_code_interpreter_session", answer, expected)


def _got(stubber: Stubber, status: str | None = None, error: str | None = None) -> None:
    expected = {"codeInterpreterIdentifier": INTERPRETER, "sessionId": "01K9QWSZFRC2"}
    if error:
        stubber.add_client_error("get_code_interpreter_session", error, expected_params=expected)
        return
    answer = {**expected, "createdAt": "2027-01-01T00:00:00Z", "status": status}
    stubber.add_response("get_code_interpreter_session", answer, expected)


# Sessions.


def test_a_new_session_is_started_for_the_thread_without_naming_its_ids(sandbox, stubber, now):
    _started(stubber)

    session = sandbox.open(KEY)

    assert (session.session_id, session.fresh, session.data_dir) == ("01K9QWSZFRC2", True, "/mnt/data")
    assert (session.started_at, session.last_used_at) == (now[0], now[0])


def test_where_the_link_to_mnt_data_cannot_be_made_the_working_directory_is_the_data_directory(sandbox, stubber):
    _started(stubber, '{"data_dir": "/opt/amazon/genesis1p-tools/var"}\n')

    assert sandbox.open(KEY).data_dir == "/opt/amazon/genesis1p-tools/var"


def test_a_session_whose_setup_fails_is_stopped_and_the_sandbox_is_unavailable(sandbox, stubber):
    stubber.add_response(
        "start_code_interpreter_session",
        {"codeInterpreterIdentifier": INTERPRETER, "sessionId": "01K9QWSZFRC2", "createdAt": "2027-01-01T00:00:00Z"},
    )
    _code(stubber, SETUP, _answer(stderr="Traceback ...\nOSError: boom", is_error=True))
    _stopped(stubber)

    with pytest.raises(SandboxUnavailable, match="did not start"):
        sandbox.open(KEY)


def test_a_live_session_is_reopened_as_it_is(sandbox, stubber, now):
    _got(stubber, "READY")
    now[0] += 60

    session = sandbox.open(KEY, resume=_session())

    assert (session.session_id, session.fresh, session.last_used_at) == ("01K9QWSZFRC2", False, now[0])


@pytest.mark.parametrize(("status", "error"), [("TERMINATED", None), (None, "ResourceNotFoundException")])
def test_a_session_the_service_ended_is_replaced_by_a_new_one(sandbox, stubber, status, error):
    _got(stubber, status, error)
    _stopped(stubber, "ResourceNotFoundException")
    _started(stubber)

    assert sandbox.open(KEY, resume=_session()).fresh


def test_an_idle_session_is_stopped_and_replaced_without_asking_for_it(sandbox, stubber, now):
    _stopped(stubber)
    _started(stubber)
    now[0] += LIMITS.idle_seconds

    assert sandbox.open(KEY, resume=_session()).fresh


def test_another_threads_session_is_neither_reopened_nor_stopped(sandbox, stubber):
    _started(stubber)
    other = _session().model_copy(update={"key": SessionKey(project="acme", thread_id="thread_other")})

    assert sandbox.open(KEY, resume=other).fresh


def test_closing_stops_the_session_and_one_already_gone_is_no_error(sandbox, stubber):
    _stopped(stubber)
    _stopped(stubber, "ResourceNotFoundException")

    sandbox.close(_session())
    sandbox.close(_session())


# Executions.


def test_an_execution_runs_the_code_between_two_listings_and_gives_back_its_output_files_and_images(sandbox, stubber):
    _code(stubber, before("/mnt/data"), _answer())
    image = {"type": "image", "data": PNG, "mimeType": "image/png"}
    _code(stubber, "print('hi')", _answer("hi\n", content=[{"type": "text", "text": "hi\n"}, image]))
    _code(stubber, after("/mnt/data"), _answer('[["chart.png", 2048], ["out/t.csv", 12]]\n'))

    execution = sandbox.execute(_session(), "print('hi')")

    assert (execution.output, execution.error, execution.ended) == ("hi\n", None, False)
    assert execution.files == [SandboxFile(path="chart.png", size=2048), SandboxFile(path="out/t.csv", size=12)]
    assert execution.images == [PNG]


def test_an_exception_in_the_code_is_its_error_with_the_traceback(sandbox, stubber):
    _code(stubber, before("/work"), _answer())
    traceback = 'Traceback (most recent call last):\n  File "<stdin>", line 1\nZeroDivisionError: division by zero\n'
    _code(stubber, "print('a'); 1/0", _answer("a\n", traceback, is_error=True))
    _code(stubber, after("/work"), _answer("[]\n"))

    execution = sandbox.execute(_session(data_dir="/work"), "print('a'); 1/0")

    assert execution.output == "a\n" and execution.error == traceback


def test_what_the_sandbox_says_is_bounded_and_checked(sandbox, stubber):
    _code(stubber, before("/mnt/data"), _answer())
    not_png = {"type": "image", "data": b"GIF89a", "mimeType": "image/gif"}
    _code(stubber, "x", _answer("é" * 1000, "warning\n", content=[not_png]))
    listing = json.dumps([["../../etc/passwd", 1], "junk", ["/etc/shadow", 2], ["a.csv", "x"], ["ok.csv", 3]])
    _code(stubber, after("/mnt/data"), _answer("noise\n" + listing + "\n"))

    execution = sandbox.execute(_session(), "x")

    assert execution.output_truncated and len(execution.output.encode()) <= LIMITS.max_output_bytes
    assert execution.files == [SandboxFile(path="ok.csv", size=3)]
    assert execution.images == []


def test_an_execution_that_does_not_answer_in_time_ends_its_session(client, now):
    wire = _Wire(client)
    wire.answer(_event_stream({"result": {"content": [], "structuredContent": {"stdout": ""}}}))
    wire.timeout()
    wire.answer_json({"codeInterpreterIdentifier": INTERPRETER, "sessionId": "01K9QWSZFRC2", "lastUpdatedAt": 1})
    sandbox = AgentCoreSandbox(INTERPRETER, client, LIMITS, clock=lambda: now[0])

    execution = sandbox.execute(_session(), "while True: pass")

    assert execution.ended and "ran past its time limit of 30 s" in (execution.error or "")
    assert [request["operation"] for request in wire.requests] == ["tools/invoke", "tools/invoke", "sessions/stop"]


def test_a_session_the_service_no_longer_has_is_ended(sandbox, stubber):
    stubber.add_client_error("invoke_code_interpreter", "ResourceNotFoundException", "no session 01K9QWSZFRC2")

    with pytest.raises(SessionEnded):
        sandbox.execute(_session(), "1")


def test_a_refusal_of_the_service_is_unavailable_without_its_words(sandbox, stubber):
    message = "Rate exceeded for arn:aws:bedrock-agentcore:us-east-1:123456789012:code-interpreter-custom/x"
    stubber.add_client_error("invoke_code_interpreter", "ThrottlingException", message, 429)

    with pytest.raises(SandboxUnavailable) as refused:
        sandbox.execute(_session(), "1")
    assert refused.value.message == "The code sandbox could not be reached (ThrottlingException)."


# Files.


def test_staged_files_are_written_one_call_each_as_bytes(sandbox, stubber):
    for path, data in (("sales.csv", b"a,b\n1,2\n"), ("in/logo.png", PNG)):
        _invoke(stubber, "writeFiles", {"content": [{"path": path, "blob": data}]}, _answer("ok"))

    sandbox.write_files(
        _session(),
        [StagedFile(path="/mnt/data/sales.csv", data=b"a,b\n1,2\n"), StagedFile(path="in/logo.png", data=PNG)],
    )


def test_staging_refuses_before_any_call_what_it_must_not_send(sandbox, stubber):
    with pytest.raises(ValueError):
        sandbox.write_files(_session(), [StagedFile(path="../outside", data=b"x")])
    with pytest.raises(ValueError):
        sandbox.write_files(_session(), [StagedFile(path=f"f{n}", data=b"x") for n in range(LIMITS.max_files + 1)])
    with pytest.raises(TooLarge):
        sandbox.write_files(_session(), [StagedFile(path="big", data=b"x" * (LIMITS.max_file_bytes + 1))])


def test_a_file_the_session_refuses_is_too_large(sandbox, stubber):
    _invoke(
        stubber, "writeFiles", {"content": [{"path": "a.csv", "blob": b"1"}]}, _answer(is_error=True, stderr="No space")
    )

    with pytest.raises(TooLarge, match="could not be written"):
        sandbox.write_files(_session(), [StagedFile(path="a.csv", data=b"1")])


@pytest.mark.parametrize(
    "resource",
    [
        {"type": "blob", "uri": "file:///mnt/data/chart.png", "mimeType": "image/png", "blob": PNG},
        {"type": "text", "uri": "file:///mnt/data/chart.png", "mimeType": "text/plain", "text": PNG.decode("latin-1")},
    ],
)
def test_a_file_is_read_back_as_its_bytes(sandbox, stubber, resource):
    _invoke(
        stubber, "readFiles", {"paths": ["chart.png"]}, _answer(content=[{"type": "resource", "resource": resource}])
    )

    data = sandbox.read_file(_session(), "/mnt/data/chart.png")

    assert data == (PNG if "blob" in resource else resource["text"].encode())


def test_a_file_the_session_does_not_have_is_not_found(sandbox, stubber):
    _invoke(stubber, "readFiles", {"paths": ["gone.csv"]}, _answer(stderr="No such file", is_error=True))

    with pytest.raises(NotFound):
        sandbox.read_file(_session(), "gone.csv")


def test_a_file_larger_than_the_limit_is_not_given_back(client, stubber, now):
    small = AgentCoreSandbox(INTERPRETER, client, LIMITS.model_copy(update={"max_file_bytes": 1024}))
    big = {"type": "blob", "uri": "file:///mnt/data/big.bin", "blob": b"0" * 1025}
    _invoke(stubber, "readFiles", {"paths": ["big.bin"]}, _answer(content=[{"type": "resource", "resource": big}]))

    with pytest.raises(TooLarge):
        small.read_file(_session(), "big.bin")


# Answers as the service sends them, parsed by botocore.


def test_an_event_stream_of_several_results_is_read_whole(client):
    wire = _Wire(client)
    wire.answer(_event_stream({"result": {"content": [], "structuredContent": {"stdout": ""}}}))
    first = {"content": [{"type": "text", "text": "part one\n"}], "structuredContent": {"stdout": "part one\n"}}
    image = {"type": "image", "data": base64.b64encode(PNG).decode(), "mimeType": "image/png"}
    second = {"content": [image], "structuredContent": {"stdout": "part one\npart two\n"}}
    wire.answer(_event_stream({"result": first}, {"result": second}))
    wire.answer(_event_stream({"result": {"content": [], "structuredContent": {"stdout": '[["a.txt", 5]]\n'}}}))
    sandbox = AgentCoreSandbox(INTERPRETER, client, LIMITS)

    execution = sandbox.execute(_session(), "print('part one'); print('part two')")

    assert execution.output == "part one\npart two\n"
    assert execution.images == [PNG] and execution.files == [SandboxFile(path="a.txt", size=5)]
    body = json.loads(wire.requests[1]["body"])
    assert body == {
        "name": "executeCode",
        "arguments": {"code": "print('part one'); print('part two')", "language": "python"},
    }
    assert wire.requests[1]["headers"]["x-amzn-code-interpreter-session-id"] == "01K9QWSZFRC2"


def test_an_exception_event_in_the_stream_is_a_failure_of_the_sandbox(client):
    wire = _Wire(client)
    wire.answer(_event_stream(exception=("throttlingException", {"message": "slow down"})))
    sandbox = AgentCoreSandbox(INTERPRETER, client, LIMITS)

    with pytest.raises(SandboxUnavailable, match=r"\(ThrottlingException\)"):
        sandbox.read_file(_session(), "a.txt")


class _Wire:
    """Answers ``bedrock-agentcore`` calls at botocore's HTTP layer, in order, and keeps the requests it was sent."""

    def __init__(self, client: Any) -> None:
        self.requests: list[dict[str, Any]] = []
        self._answers: list[Any] = []
        client.meta.events.register("before-send.bedrock-agentcore.*", self._send)

    def answer(self, body: bytes) -> None:
        self._answers.append((200, {"content-type": "application/vnd.amazon.eventstream"}, body))

    def answer_json(self, body: dict[str, Any]) -> None:
        self._answers.append((200, {"content-type": "application/json"}, json.dumps(body).encode()))

    def timeout(self) -> None:
        self._answers.append(None)

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        self.requests.append(
            {
                "operation": "/".join(request.url.split("?")[0].rsplit("/", 2)[-2:]),
                "headers": {
                    key.lower(): value.decode() if isinstance(value, bytes) else value
                    for key, value in request.headers.items()
                },
                "body": request.body,
            }
        )
        answer = self._answers.pop(0)
        if answer is None:
            raise ReadTimeoutError(endpoint_url=request.url)
        status, headers, body = answer
        return AWSResponse(request.url, status, headers, _Raw(body))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body

    def close(self) -> None:
        pass


def _event_stream(*events: dict[str, Any], exception: tuple[str, dict[str, Any]] | None = None) -> bytes:
    """Event-stream messages as the service encodes them (prelude, headers, payload, CRCs)."""
    messages = [
        _message(
            {":message-type": "event", ":event-type": "result", ":content-type": "application/json"},
            json.dumps(event["result"]).encode(),
        )
        for event in events
    ]
    if exception is not None:
        kind, body = exception
        headers = {":message-type": "exception", ":exception-type": kind, ":content-type": "application/json"}
        messages.append(_message(headers, json.dumps(body).encode()))
    return b"".join(messages)


def _message(headers: dict[str, str], payload: bytes) -> bytes:
    encoded = b"".join(
        bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value)) + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack(">II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


# Made from the settings.


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """``bootstrap.code_sandbox()`` under the given settings."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    def make(**environment: str) -> Any:
        monkeypatch.setattr(bootstrap, "settings", lambda: Settings.model_validate(environment))
        bootstrap.code_sandbox.cache_clear()
        return bootstrap.code_sandbox()

    yield make
    bootstrap.code_sandbox.cache_clear()


def test_a_deployment_runs_code_on_its_agentcore_interpreter_with_a_client_that_never_retries(made):
    sandbox = made(
        CODE_INTERPRETER_ID=INTERPRETER, CODE_INTERPRETER_EXECUTION_SECONDS="45", CODE_INTERPRETER_MAX_FILES="7"
    )

    assert isinstance(sandbox, AgentCoreSandbox)
    assert (sandbox.limits.execution_seconds, sandbox.limits.max_files) == (45, 7)
    config = sandbox._client.meta.config
    assert config.retries["total_max_attempts"] == 1 and config.read_timeout == 45 + 30


def test_the_local_stack_names_its_own_sandbox(made):
    sandbox = made(CODE_INTERPRETER_SANDBOX="threadrunner_local.sandbox:code_sandbox", CODE_INTERPRETER_MEMORY_MB="256")
    try:
        assert isinstance(sandbox, LocalSandbox) and sandbox.limits.memory_mb == 256
    finally:
        sandbox.close_all()
