"""The run loop's turns in webhook mode, on fakes (app/run_loop/waits.py): each task the loop waits on hands its turn
over through its task token, at once when the turn is done, else once its response ended: woken by the response's
webhook (CheckTurn with the delivery's id) or by the turn's own look, never twice."""

from __future__ import annotations

from pathlib import Path

from tests.fakes import FakeCatalogue, FakeResponseWebhooks
from tests.unit.test_run_loop_tasks import SERVER_TOOL, SETTINGS, WEATHER, Loop, _calls
from threadrunner.app import runs
from threadrunner.app.run_loop.state import TURN_TASK_SECONDS, LoopState, TurnState, webhook_mode
from threadrunner.app.run_loop.tasks import RunLoop
from threadrunner.domain.run_record import RunRef
from threadrunner_local.template import load

WAIT = 30


class WebhookLoop(Loop):
    """A run whose loop started in webhook mode."""

    def __init__(self, tools=None) -> None:
        super().__init__(tools)
        self.webhooks = FakeResponseWebhooks()
        self.loop = RunLoop(
            self.stores,
            lambda: self.model,
            FakeCatalogue({"get_weather": WEATHER}),
            self.control,
            self.events,
            self.circuits,
            SETTINGS,
            sleep=lambda _: None,
            webhooks=self.webhooks,
        )
        self.state = self.state.model_copy(update={"webhook_wait_seconds": WAIT})

    @property
    def token(self) -> str | None:
        return self.stores.runs.get_run_record("thread_1", self.state.run_id).task_token

    def webhook_check(self, response_id: str, webhook_id: str = "wh_1") -> None:
        """What CheckTurn does when the API asks it to check a turn whose webhook came (app/webhooks.py)."""
        state = self.state.model_copy(
            update={
                "turn": TurnState(response_id=response_id),
                "task_token": self.token,
                "webhook_id": webhook_id,
            }
        )
        self.loop.check_turn(state)

    def woken_with(self, token: str) -> TurnState:
        """The turn the loop was woken with through ``token``; the loop goes on from that state."""
        output = LoopState.model_validate(self.control.outputs[token])
        assert output.task_token is None and output.webhook_id is None and output.webhook_wait_seconds == WAIT
        assert output.turn is not None
        self.state = output
        return output.turn


def test_given_webhook_mode_when_a_turn_starts_then_it_waits_on_its_token_named_as_its_responses_run():
    loop = WebhookLoop()

    turn = loop.step(RunLoop.start_turn, task_token="t-start")

    assert turn.outcome == "pending" and loop.token == "t-start"
    assert loop.webhooks.expected(turn.response_id or "") == RunRef(
        project=loop.world.project, thread_id="thread_1", run_id=loop.state.run_id
    )
    assert loop.control.resumed == []  # nothing wakes the loop while the response runs


def test_given_a_waiting_turn_when_its_webhook_has_it_checked_then_the_loop_is_woken_once_with_the_checked_turn():
    loop = WebhookLoop()
    response = loop.step(RunLoop.start_turn, task_token="t-start").response_id
    assert response is not None
    loop.model.finish(response, output_text="done")

    loop.webhook_check(response)
    loop.webhook_check(response, webhook_id="wh_retried")  # a second delivery finds the token taken

    assert loop.control.resumed == ["t-start"] and loop.token is None
    assert loop.woken_with("t-start").outcome == "completed"


def test_given_a_response_that_ended_before_the_token_was_stored_when_the_turn_looks_then_it_wakes_the_loop_itself():
    loop = WebhookLoop()
    create = loop.model.create

    def ended_at_once(request):  # the provider finished before the task stored its token
        return loop.model.finish(create(request).id, output_text="quick")

    loop.model.create = ended_at_once

    loop.step(RunLoop.start_turn, task_token="t-start")

    assert loop.control.resumed == ["t-start"] and loop.woken_with("t-start").outcome == "completed"
    loop.webhook_check(loop.state.turn.response_id or "")  # its webhook, after: the loop is not woken again
    assert loop.control.resumed == ["t-start"]


def test_given_tool_calls_answered_in_webhook_mode_when_the_outputs_go_then_the_next_turn_waits_on_its_token():
    loop = WebhookLoop(tools=[SERVER_TOOL])
    first = loop.step(RunLoop.start_turn, task_token="t-start").response_id or ""
    loop.model.finish(first, function_calls=_calls("get_weather"))
    loop.webhook_check(first)
    calls = loop.woken_with("t-start")
    assert calls.outcome == "tool_calls" and calls.has_server_calls
    for call_id in calls.server_calls:  # what the ToolFunction does
        call = loop.stores.steps.claim_tool_call("thread_1", loop.state.run_id, calls.step_id or "", call_id, 1)
        assert call is not None
        loop.stores.steps.record_tool_output("thread_1", call.model_copy(update={"output": "sunny"}))

    second = loop.step(RunLoop.submit_tool_outputs, task_token="t-submit")

    assert second.outcome == "pending" and second.response_id != first and loop.token == "t-submit"
    assert loop.webhooks.expected(second.response_id or "") is not None


def test_given_a_turn_that_is_done_when_its_task_ends_then_the_loop_is_woken_at_once_with_it():
    loop = WebhookLoop()
    runs.cancel_run(loop.stores, loop.control, "thread_1", loop.state.run_id)

    loop.step(RunLoop.start_turn, task_token="t-start")

    assert loop.woken_with("t-start").outcome == "stopped" and loop.run.status == "cancelled"


def test_given_a_cancel_before_the_token_was_stored_when_the_turn_would_wait_then_it_ends_the_cancel_itself():
    loop = WebhookLoop()
    wait_on = loop.stores.runs.wait_on

    def cancelled_first(*args):  # the cancel lands between the response's creation and the token's write
        runs.cancel_run(loop.stores, loop.control, "thread_1", loop.state.run_id)
        return wait_on(*args)

    loop.stores.runs.wait_on = cancelled_first  # type: ignore[method-assign]

    loop.step(RunLoop.start_turn, task_token="t-start")

    assert loop.woken_with("t-start").outcome == "stopped" and loop.run.status == "cancelled"
    assert loop.model.cancelled == [loop.stores.runs.get_run_record("thread_1", loop.state.run_id).response_id]


def test_given_a_turn_that_waited_in_vain_when_checkturn_polls_then_it_checks_the_runs_current_response():
    loop = WebhookLoop(tools=[SERVER_TOOL])
    first = loop.step(RunLoop.start_turn, task_token="t-start").response_id or ""
    loop.model.finish(first, output_text="answered")
    loop.state = loop.state.model_copy(update={"turn": None})  # the timeout's Catch: the input of StartTurnAndWait

    turn = loop.step(RunLoop.check_turn)

    assert turn.outcome == "completed" and turn.response_id == first


def test_given_a_turn_still_running_after_polling_when_it_waits_again_then_the_webhook_wakes_it():
    loop = WebhookLoop()
    response = loop.step(RunLoop.start_turn, task_token="t-start").response_id or ""

    loop.step(RunLoop.check_turn, task_token="t-again")  # WaitForWebhook: one look, then the new token waits
    assert loop.token == "t-again" and loop.control.resumed == []
    loop.model.finish(response, output_text="late")
    loop.webhook_check(response)

    assert loop.control.resumed == ["t-again"] and loop.woken_with("t-again").outcome == "completed"


def test_the_time_a_turns_task_may_take_before_its_wait_is_the_timeout_of_the_functions_that_make_responses():
    functions = load(Path(__file__).resolve().parents[2]).functions
    assert {functions[name].timeout for name in ("StartTurnFunction", "SubmitToolOutputsFunction")} == {
        TURN_TASK_SECONDS
    }
    assert webhook_mode(0) == {"webhook_wait_seconds": 0, "webhook_turn_seconds": 0}
    assert webhook_mode(5) == {"webhook_wait_seconds": 5, "webhook_turn_seconds": 5 + TURN_TASK_SECONDS}
