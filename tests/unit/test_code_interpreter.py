"""code_interpreter on the fakes: each branch of a call (the thread's session held, opened, given its files, the code
run, what it wrote given back, its seconds counted), what the model is offered and reads, and the pure pieces (the
step's shape, links, the code of arguments being written)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes import FakeCodeSandbox, FakeContents
from tests.unit.test_run_loop_tasks import SETTINGS, Loop
from tests.unit.test_run_stream import _events
from threadrunner.app.code_interpreter import CodeCalls
from threadrunner.app.files import stored_file
from threadrunner.app.run_loop import written
from threadrunner.app.run_loop.tasks import RunLoop
from threadrunner.config import Settings
from threadrunner.domain import code_interpreter, model_input
from threadrunner.domain.budget import Budget, ProjectPolicy, today
from threadrunner.domain.code_interpreter import CodeOutput, KeptSession, file_paths, new_code, staged_paths
from threadrunner.domain.code_sandbox import PNG, Execution, SandboxFile, SandboxLimits
from threadrunner.domain.common import CodeInterpreterTool, now
from threadrunner.domain.deployment import RunDefaults
from threadrunner.domain.model_turn import FunctionCallRequest, TurnEvent
from threadrunner.domain.tool_call import ToolCall
from threadrunner.errors import SandboxUnavailable

CODE = CodeInterpreterTool()


class Calls:
    """A run of an assistant with ``code_interpreter`` on a thread (``Loop``), and its calls run on a fake sandbox."""

    def __init__(self, run: Any = None, limits: SandboxLimits | None = None, budget: Budget | None = None) -> None:
        self.loop = Loop(tools=[CODE])
        self.stores, self.world = self.loop.stores, self.loop.world
        self.sandbox = FakeCodeSandbox(limits, run=run)
        self.contents = FakeContents()
        self.calls = CodeCalls(
            self.stores, self.sandbox, self.contents, RunDefaults(budget=budget or Budget()), sleep=lambda _: None
        )
        self.numbers = iter(range(1, 1000))

    def file(self, name: str, data: bytes = b"a,b\n1,2\n") -> str:
        return stored_file(self.stores, self.contents, name, "assistants", data).id

    def run(self, code: str, max_output_bytes: int = 65536, budget_seconds: float = 300.0) -> tuple[Any, CodeOutput]:
        record = self.stores.runs.get_run_record("thread_1", self.loop.state.run_id)
        number = next(self.numbers)
        call = ToolCall(
            call_id=f"call_{number}",
            run_id=record.run.id,
            step_id="step_1",
            name="code_interpreter",
            arguments=json.dumps({"code": code}),
            side="server",
            kind="code_interpreter",
        )
        result = self.calls.run(record, call, max_output_bytes, budget_seconds)
        output = CodeOutput.read(result.output)
        assert output is not None
        return result, output

    @property
    def kept(self) -> KeptSession | None:
        return self.world.thread("thread_1").code_session


def _printing(code: str, entry: Any) -> Execution:
    """A sandbox that runs ``print(<name>)`` and ``<name> = <value>`` on the session's variables and lists its files."""
    if code.startswith("print("):
        name = code.removeprefix("print(").removesuffix(")")
        if name == "files":
            return Execution(output=" ".join(sorted(entry.files)) + "\n", session=entry.session, seconds=0.5)
        if name not in entry.variables:
            return Execution(output="", error=f"NameError: name '{name}' is not defined", session=entry.session)
        return Execution(output=f"{entry.variables[name]}\n", session=entry.session, seconds=0.5)
    name, value = code.split(" = ")
    entry.variables[name] = value
    return Execution(output="", session=entry.session, seconds=0.25)


# a call ----------------------------------------------------------------------------------------------------------


def test_a_call_runs_its_code_in_the_threads_session_which_the_next_call_reopens():
    calls = Calls(run=_printing)

    calls.run("answer = 42")
    result, output = calls.run("print(answer)")

    assert (output.logs, output.error, result.is_error, result.outcome) == ("42\n", None, False, "ok")
    assert len(calls.sandbox.sessions) == 1 and calls.kept is not None
    assert calls.kept.session.key.thread_id == "thread_1" and calls.kept.session.key.project == calls.world.project


def test_arguments_without_code_are_refused_and_no_session_is_opened():
    calls = Calls()
    record = calls.stores.runs.get_run_record("thread_1", calls.loop.state.run_id)
    call = ToolCall(
        call_id="c", run_id="r", step_id="s", name="code_interpreter", arguments='{"cod": 1}', side="server"
    )

    result = calls.calls.run(record, call, 65536, 300.0)

    assert result.is_error and result.outcome == "invalid_arguments"
    assert CodeOutput.read(result.output).error == 'code_interpreter needs the code to run, as {"code": "<Python>"}.'
    assert calls.sandbox.sessions == {}


def test_the_files_of_the_assistant_the_thread_and_the_attachments_are_staged_under_their_names():
    calls = Calls(run=_printing)
    mine, report, same_name, deleted = (calls.file(n) for n in ("mine.csv", "report.csv", "mine.csv", "gone.csv"))
    attached = calls.file("attached.txt")
    calls.stores.assistants.update_assistant("asst_1", {"tool_resources": {"code_interpreter": {"file_ids": [mine]}}})
    resources = {"code_interpreter": {"file_ids": [report, same_name, deleted]}}
    calls.stores.threads.update_thread("thread_1", {"tool_resources": resources})
    calls.stores.threads.update_message(
        "thread_1", "msg_1", {"attachments": [{"file_id": attached, "tools": [{"type": "code_interpreter"}]}]}
    )
    calls.stores.files.delete_file(deleted)

    _, output = calls.run("print(files)")

    assert output.logs == f"attached.txt {same_name}-mine.csv mine.csv report.csv\n"
    assert sorted(calls.kept.staged) == sorted([mine, report, same_name, attached])
    (entry,) = calls.sandbox.sessions.values()
    assert entry.files["mine.csv"] == b"a,b\n1,2\n"


def test_a_file_attached_later_is_staged_into_the_open_session_and_files_staged_before_are_not_again():
    calls = Calls(run=_printing)
    first = calls.file("first.csv")
    calls.stores.threads.update_thread("thread_1", {"tool_resources": {"code_interpreter": {"file_ids": [first]}}})
    calls.run("print(files)")
    (entry,) = calls.sandbox.sessions.values()
    entry.files["first.csv"] = b"changed by the code"
    later = calls.file("later.csv")
    resources = {"code_interpreter": {"file_ids": [first, later]}}
    calls.stores.threads.update_thread("thread_1", {"tool_resources": resources})

    _, output = calls.run("print(files)")

    assert output.logs == "first.csv later.csv\n"
    assert entry.files["first.csv"] == b"changed by the code"  # the code's own version stays
    assert calls.kept.staged == [first, later]


def test_a_file_larger_than_a_session_takes_is_not_given_and_the_model_is_told():
    calls = Calls(run=_printing, limits=SandboxLimits(max_file_bytes=1024))
    big = calls.file("big.bin", b"x" * 2048)
    calls.stores.threads.update_thread("thread_1", {"tool_resources": {"code_interpreter": {"file_ids": [big]}}})

    _, output = calls.run("print(files)")

    assert output.logs == "\n"
    assert output.notes == ["/mnt/data/big.bin is not given: it is larger than 1024 bytes."]


def test_a_session_that_ended_is_replaced_and_given_the_files_again_and_the_model_is_told():
    clock = [1000.0]
    calls = Calls(run=_printing)
    calls.sandbox.clock = lambda: clock[0]
    data = calls.file("data.csv")
    calls.stores.threads.update_thread("thread_1", {"tool_resources": {"code_interpreter": {"file_ids": [data]}}})
    calls.run("x = 1")
    clock[0] += calls.sandbox.limits.idle_seconds

    _, output = calls.run("print(files)")
    _, gone = calls.run("print(x)")

    assert output.logs == "data.csv\n"
    assert output.notes == ["This is a new session: the variables and files of earlier calls are gone."]
    assert gone.error == "NameError: name 'x' is not defined"


def test_a_session_that_ends_between_its_opening_and_the_code_is_replaced_once_and_the_code_runs():
    calls = Calls(run=_printing)
    calls.run("x = 1")
    opened = calls.sandbox.open

    def open_then_end(key, resume=None):
        session = opened(key, resume)
        if resume is not None:
            calls.sandbox.close(session)  # ended by the sandbox right after
        return session

    calls.sandbox.open = open_then_end  # type: ignore[method-assign]

    result, output = calls.run("y = 2")

    assert not result.is_error and output.notes[-1].startswith("This is a new session")
    assert calls.kept is not None and calls.kept.session.session_id in calls.sandbox.sessions


def test_code_that_had_its_session_ended_leaves_the_thread_without_one():
    calls = Calls(run=lambda code, entry: Execution(output="", error="did not stop", ended=True, session=entry.session))

    result, output = calls.run("while True: pass")

    assert result.is_error and output.error == "did not stop"
    assert calls.kept is None


def test_files_and_images_the_code_gave_back_are_the_projects_files_of_purpose_assistants_output():
    png = PNG + b"rest of the image"

    def writing(code: str, entry: Any) -> Execution:
        entry.files["out/table.csv"] = b"n\n1\n"
        written_files = [SandboxFile(path="out/table.csv", size=4), SandboxFile(path="vanished.txt", size=1)]
        return Execution(output="done\n", files=written_files, images=[png], session=entry.session, seconds=2.0)

    calls = Calls(run=writing)

    result, output = calls.run("write()")

    (table,) = output.files
    assert table.path == "out/table.csv"
    file = calls.stores.files.get_file(table.file_id)
    assert (file.filename, file.purpose, file.bytes) == ("table.csv", "assistants_output", 4)
    assert calls.contents.read(calls.stores.files.content_key(table.file_id)) == b"n\n1\n"
    (image,) = output.images
    assert calls.stores.files.get_file(image).purpose == "assistants_output"
    assert calls.contents.read(calls.stores.files.content_key(image)) == png
    assert output.notes == ["/mnt/data/vanished.txt could not be given back to the user."]
    assert not result.is_error


def test_seconds_of_code_are_counted_in_the_projects_day_and_a_budget_used_up_runs_no_more():
    calls = Calls(run=_printing, budget=Budget(daily_code_interpreter_seconds=1))
    calls.run("print(files)")
    calls.run("print(files)")

    result, output = calls.run("x = 1")

    assert calls.stores.usage.usage_today(today()).code_interpreter_seconds == 1.0
    assert result.is_error and result.outcome == "failed"
    assert output.error.startswith("The project's daily code_interpreter budget of 1 seconds is used up (1.0 seconds")
    assert "x" not in next(iter(calls.sandbox.sessions.values())).variables


def test_a_projects_own_code_budget_wins_over_the_deployments():
    calls = Calls(run=_printing, budget=Budget(daily_code_interpreter_seconds=1))
    calls.stores.projects.set_policy(ProjectPolicy(budget=Budget(daily_code_interpreter_seconds=100)))
    calls.stores.usage.add_code_seconds(today(), 5)

    result, _ = calls.run("print(files)")

    assert not result.is_error


def test_a_call_waits_while_another_call_of_the_thread_holds_its_session_and_gives_up_before_its_time_runs_out():
    calls = Calls(run=_printing)
    calls.stores.threads.hold_code_session("thread_1", "call_other", now() + 300)

    result, output = calls.run("x = 1", budget_seconds=80)

    assert result.is_error and result.outcome == "timed_out"
    assert output.error.startswith("Another code_interpreter call of this thread ran too long to wait for")
    assert calls.sandbox.sessions == {}
    assert calls.world.thread("thread_1").code_holder[0] == "call_other"  # still the other call's


def test_a_call_whose_hold_lapsed_and_was_taken_while_it_gave_the_session_its_files_runs_no_code():
    ran: list[str] = []
    calls = Calls(run=lambda code, entry: ran.append(code) or Execution(output="", session=entry.session))
    data = calls.file("data.csv")
    calls.stores.threads.update_thread("thread_1", {"tool_resources": {"code_interpreter": {"file_ids": [data]}}})
    staged = calls.sandbox.write_files

    def slow_staging(session, files):
        staged(session, files)
        calls.world.thread("thread_1").code_holder = ("call_other", now() + 300)  # it lapsed; another took it

    calls.sandbox.write_files = slow_staging  # type: ignore[method-assign]

    result, output = calls.run("x = 1")

    assert result.is_error and result.outcome == "timed_out" and ran == []
    assert output.error.startswith("Giving the session its files took longer than this call held it")


def test_a_call_of_a_thread_deleted_meanwhile_runs_no_code():
    calls = Calls(run=_printing)
    record = calls.stores.runs.get_run_record("thread_1", calls.loop.state.run_id)
    calls.stores.threads.delete_thread("thread_1")
    call = ToolCall(
        call_id="c", run_id="r", step_id="s", name="code_interpreter", arguments='{"code": "x"}', side="server"
    )

    result = calls.calls.run(record, call, 65536, 300.0)

    assert result.is_error and CodeOutput.read(result.output).error == "The thread was deleted; no code ran."
    assert calls.sandbox.sessions == {}


def test_a_sandbox_that_cannot_be_reached_is_an_error_output_and_lets_go_of_the_session():
    calls = Calls()

    def unavailable(key, resume=None):
        raise SandboxUnavailable("The code sandbox could not be reached (ThrottlingException).")

    calls.sandbox.open = unavailable  # type: ignore[method-assign]

    result, output = calls.run("x = 1")

    assert result.is_error and result.outcome == "failed"
    assert output.error.startswith("The code sandbox could not be reached (ThrottlingException). No code ran")
    assert calls.world.thread("thread_1").code_holder is None


@pytest.mark.parametrize(
    ("logs", "error", "logs_cut", "error_cut"), [(5000, 300, True, False), (5000, 3000, True, True)]
)
def test_an_output_larger_than_a_tool_output_holds_is_cut_to_fit_as_json_its_logs_first(
    logs, error, logs_cut, error_cut
):
    note = "[threadrunner: cut to fit the tool output]"
    calls = Calls(run=lambda code, entry: Execution(output="é\n" * logs, error="E" * error, session=entry.session))

    result, output = calls.run("print('é' * 5000)", max_output_bytes=2048)

    assert 2000 < len(result.output.encode()) <= 2048
    assert output.logs.endswith(note) == logs_cut and output.error.endswith(note) == error_cut
    assert (output.logs.startswith("é\né\n") or error_cut) and output.error.startswith("EEE")


# what the model is offered and reads -----------------------------------------------------------------------------


def test_the_model_is_offered_the_code_function_naming_the_runs_files_and_no_hosted_tool():
    calls = Calls()
    data = calls.file("sales.csv")
    calls.stores.threads.update_thread("thread_1", {"tool_resources": {"code_interpreter": {"file_ids": [data]}}})

    calls.loop.started()

    (request,) = calls.loop.model.requests
    (offered,) = request.tools
    assert offered.name == "code_interpreter" and offered.parameters["required"] == ["code"]
    assert offered.description.endswith("The user's files: /mnt/data/sales.csv.")
    assert request.code_interpreter is False


def test_with_pass_through_the_providers_hosted_tool_is_offered_and_no_function():
    loop = Loop(tools=[CODE])
    loop.loop._settings = Settings.model_validate(
        {**SETTINGS.model_dump(by_alias=True), "CODE_INTERPRETER_PASSTHROUGH": "1"}
    )

    loop.started()

    (request,) = loop.model.requests
    assert request.tools == [] and request.code_interpreter is True


def test_a_code_call_is_the_servers_recorded_as_code_and_the_model_reads_its_output_and_links():
    loop = Loop(tools=[CODE])
    response = loop.started()
    code = {"code": "print(1)"}
    loop.model.finish(
        response,
        function_calls=[FunctionCallRequest(call_id="c1", name="code_interpreter", arguments=json.dumps(code))],
    )

    turn = loop.step(RunLoop.check_turn)

    assert turn.server_calls == ["c1"] and turn.client_calls == []
    (call,) = loop.stores.steps.get_tool_calls("thread_1", loop.state.run_id, turn.step_id)
    assert call.kind == "code_interpreter"
    call.output = CodeOutput(
        logs="1\n", files=[code_interpreter.CodeFile(path="a.csv", file_id="file-a")]
    ).model_dump_json()
    ((_, text),) = written.model_outputs([call], 0)
    assert json.loads(text) == {"output": "1\n", "files": ["sandbox:/mnt/data/a.csv"]}


def test_a_message_shows_the_images_shown_since_the_runs_last_message_and_links_the_files_written():
    loop = Loop(tools=[CODE])
    outputs = [
        CodeOutput(images=["file-img1"], files=[code_interpreter.CodeFile(path="a.csv", file_id="file-a1")]),
        CodeOutput(images=["file-img2"], files=[code_interpreter.CodeFile(path="a.csv", file_id="file-a2")]),
    ]
    text = "See sandbox:/mnt/data/a.csv, and sandbox:/mnt/data/b.csv."
    response = loop.started()
    messages = []
    for number, output in enumerate(outputs):
        call = FunctionCallRequest(call_id=f"c{number}", name="code_interpreter", arguments='{"code": "x"}')
        loop.model.finish(response, function_calls=[call], output_text=f"Step {number}.")
        turn = loop.step(RunLoop.check_turn)
        loop.world.thread("thread_1").calls[(loop.state.run_id, turn.step_id)][0].output = output.model_dump_json()
        response = loop.step(RunLoop.submit_tool_outputs).response_id
    loop.model.finish(response, output_text=text)
    loop.step(RunLoop.check_turn)
    loop.step(RunLoop.finalize_run)

    messages = loop.stores.threads.list_messages("thread_1", written.ALL, run_id=loop.state.run_id).data
    said_first, said_second, answer = messages
    assert [part.type for part in said_first.content] == ["text"]
    assert [p.image_file.file_id for p in said_second.content if p.type == "image_file"] == ["file-img1"]
    assert [part.type for part in answer.content] == ["text", "image_file"]
    assert answer.content[1].image_file.file_id == "file-img2"
    (link,) = answer.content[0].text.annotations
    assert (link["text"], link["file_path"]["file_id"]) == ("sandbox:/mnt/data/a.csv", "file-a2")  # the last written
    assert text[link["start_index"] : link["end_index"]] == "sandbox:/mnt/data/a.csv"


# the pure pieces -------------------------------------------------------------------------------------------------


def test_a_calls_step_shows_its_code_then_its_logs_with_the_error_and_its_images():
    output = CodeOutput(logs="partial\n", error="ZeroDivisionError", images=["file-1"]).model_dump_json()

    before = code_interpreter.step_call("c1", '{"code": "1/0"}', None)
    after = code_interpreter.step_call("c1", '{"code": "1/0"}', output)

    assert before == {"id": "c1", "type": "code_interpreter", "code_interpreter": {"input": "1/0", "outputs": []}}
    assert after["code_interpreter"]["outputs"] == [
        {"type": "logs", "logs": "partial\nZeroDivisionError"},
        {"type": "image", "image": {"file_id": "file-1"}},
    ]


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("Here: sandbox:/mnt/data/chart.png.", [("sandbox:/mnt/data/chart.png", "file-chart")]),
        ("[the table](sandbox:/mnt/data/out/t.csv)", [("sandbox:/mnt/data/out/t.csv", "file-t")]),
        ("sandbox:/mnt/data/other.png and sandbox:/mnt/data/../etc/passwd", []),
    ],
)
def test_links_to_files_the_code_wrote_are_file_path_annotations_and_others_are_none(text, links):
    written_files = {"chart.png": "file-chart", "out/t.csv": "file-t", "../etc/passwd": "file-x"}

    found = file_paths(text, written_files)

    assert [(note["text"], note["file_path"]["file_id"]) for note in found] == links
    assert all(text[note["start_index"] : note["end_index"]] == note["text"] for note in found)


def test_files_are_staged_under_their_names_and_a_name_that_cannot_be_a_path_or_is_taken_under_its_id():
    placed = staged_paths([("f1", "data.csv"), ("f2", "dir/data.csv"), ("f3", ".."), ("f4", "C:\\docs\\notes.txt")])

    assert placed == [("f1", "data.csv"), ("f2", "f2-data.csv"), ("f3", "f3"), ("f4", "notes.txt")]


def test_the_code_of_arguments_being_written_comes_piece_by_piece_whatever_the_escapes_cut():
    arguments = json.dumps({"code": 'print("tab\\there", "é", "😀")\nx = 1\n'})
    pieces = [new_code(arguments[:end], arguments[: end + 3]) for end in range(0, len(arguments), 3)]

    assert "".join(pieces) == json.loads(arguments)["code"]
    assert new_code("", '{"query": "x"}') == ""  # arguments of another shape hold no code


def test_only_a_run_whose_model_was_offered_the_function_runs_code():
    loop = Loop(tools=[CODE])
    record = loop.stores.runs.get_run_record("thread_1", loop.state.run_id)

    assert not code_interpreter.runs_code(record) and model_input.call_kind(record, "code_interpreter") == "function"
    record.server_tools = [code_interpreter.definition()]
    assert (
        code_interpreter.runs_code(record) and model_input.call_kind(record, "code_interpreter") == "code_interpreter"
    )


# a run's stream --------------------------------------------------------------------------------------------------


def test_a_streamed_code_call_shows_its_code_as_written_then_its_outputs_then_the_images_of_the_answer():
    loop = Loop(tools=[CODE])
    response = loop.started()
    arguments = json.dumps({"code": "print('hi')\nshow()\n"})
    loop.model.streams[response] = [
        TurnEvent(sequence_number=0, kind="function_call", output_index=0, call_id="c1", name="code_interpreter"),
        *(
            TurnEvent(sequence_number=1 + i, kind="arguments", output_index=0, text=arguments[i : i + 7])
            for i in range(0, len(arguments), 7)
        ),
        TurnEvent(sequence_number=99, kind="ended"),
    ]
    ran = CodeOutput(logs="hi\n", images=["file-img"]).model_dump_json()
    call = FunctionCallRequest(call_id="c1", name="code_interpreter", arguments=arguments)

    def ran_code() -> None:
        step_id = loop.step(RunLoop.check_turn).step_id
        loop.world.thread("thread_1").calls[(loop.state.run_id, step_id)][0].output = ran

    moves = [
        lambda: loop.model.finish(response, function_calls=[call]),
        ran_code,
        lambda: loop.step(RunLoop.submit_tool_outputs),
        lambda: loop.model.finish(loop.state.turn.response_id, output_text="Done."),
        lambda: loop.step(RunLoop.check_turn),
        lambda: loop.step(RunLoop.finalize_run),
    ]

    events = _events(loop, moves, model=loop.model)

    deltas = [e.data["delta"]["step_details"]["tool_calls"][0] for e in events if e.event == "thread.run.step.delta"]
    started, *written_code, outputs = deltas
    assert started == {
        "index": 0,
        "id": "c1",
        "type": "code_interpreter",
        "code_interpreter": {"input": "", "outputs": []},
    }
    assert (
        len(written_code) > 1
        and "".join(d["code_interpreter"]["input"] for d in written_code) == "print('hi')\nshow()\n"
    )
    assert outputs["code_interpreter"]["outputs"] == [
        {"index": 0, "type": "logs", "logs": "hi\n"},
        {"index": 1, "type": "image", "image": {"file_id": "file-img"}},
    ]
    names = [e.event for e in events]
    assert names.index("thread.run.step.delta") < names.index("thread.run.step.completed")
    message_deltas = [e.data["delta"]["content"] for e in events if e.event == "thread.message.delta"]
    assert {"index": 1, "type": "image_file", "image_file": {"file_id": "file-img"}} in message_deltas[-1]
