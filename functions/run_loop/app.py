"""The run loop's task functions: one handler per Task state of statemachine/run_loop.asl.json."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.config import settings
from threadrunner.loop import LoopSettings, LoopState, RunLoop
from threadrunner.observability import logger, tracer

config = settings()
loop_settings = LoopSettings(
    max_tool_rounds=config.max_tool_rounds,
    poll_window_seconds=config.poll_window_seconds,
    max_poll_delay_seconds=config.max_poll_delay_seconds,
)


def _loop(state: LoopState) -> RunLoop:
    return RunLoop(bootstrap.store(state.project), bootstrap.model_client(), bootstrap.tool_catalogue(), loop_settings)


def _parse(event: dict) -> LoopState:
    state = LoopState.model_validate(event)
    logger.append_keys(project=state.project, thread_id=state.thread_id, run_id=state.run_id)
    return state


def _answer(state: LoopState, turn: object) -> dict:
    return state.model_copy(update={"turn": turn, "error": None}).model_dump(exclude_none=True)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def start_turn(event: dict, context: LambdaContext) -> dict:
    state = _parse(event)
    return _answer(state, _loop(state).start_turn(state))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def check_turn(event: dict, context: LambdaContext) -> dict:
    state = _parse(event)
    assert state.turn is not None
    return _answer(state, _loop(state).check_turn(state, state.turn))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def submit_tool_outputs(event: dict, context: LambdaContext) -> dict:
    state = _parse(event)
    assert state.turn is not None
    return _answer(state, _loop(state).submit_tool_outputs(state, state.turn))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def finalize_run(event: dict, context: LambdaContext) -> dict:
    state = _parse(event)
    assert state.turn is not None
    return _answer(state, _loop(state).finalize_run(state, state.turn))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def fail_run(event: dict, context: LambdaContext) -> dict:
    state = _parse(event)
    return _answer(state, _loop(state).fail_run(state, state.turn, state.error))
