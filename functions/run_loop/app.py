"""The run loop's task functions: one handler per Task state of statemachine/run_loop.asl.json."""

import json
from collections.abc import Callable

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.config import settings
from threadrunner.loop import LoopState, RunLoop, RunLoopEnded, TurnState
from threadrunner.observability import add_metric, log_keys, log_metrics, logger, tracer

config = settings()


def _task(work: Callable[[RunLoop, LoopState], TurnState]) -> Callable[[dict, LambdaContext], dict]:
    """A handler that runs one task of the loop on the state and returns the state with the new turn."""

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @log_metrics
    def handler(event: dict, context: LambdaContext) -> dict:
        state = LoopState.model_validate(event)
        log_keys(project=state.project, thread_id=state.thread_id, run_id=state.run_id)
        loop = RunLoop(
            bootstrap.store(state.project),
            bootstrap.model_client,
            bootstrap.tool_catalogue(),
            bootstrap.run_loop_control(),
            bootstrap.events(),
            config,
        )
        turn = work(loop, state)
        logger.info(
            "run loop task", extra={"task": work.__name__, "outcome": turn.outcome, "response_id": turn.response_id}
        )
        if loop.model_polls:
            add_metric("ModelPolls", MetricUnit.Count, loop.model_polls)
        for name, unit, value in loop.run_metrics:
            add_metric(name, unit, value)
        return state.model_copy(update={"turn": turn, "error": None}).model_dump(exclude_none=True)

    return handler


start_turn = _task(RunLoop.start_turn)
check_turn = _task(RunLoop.check_turn)
request_tool_outputs = _task(RunLoop.request_tool_outputs)
submit_tool_outputs = _task(RunLoop.submit_tool_outputs)
finalize_run = _task(RunLoop.finalize_run)
announce_run = _task(RunLoop.announce_run)
_reconcile = _task(RunLoop.reconcile)

# What a run learns of its execution's end: the loop's own error names where they exist.
_EXECUTION_ERRORS = {"TIMED_OUT": "States.Timeout", "ABORTED": "States.ExecutionAborted", "FAILED": "States.Runtime"}


@log_metrics
def reconcile_run(event: dict, context: LambdaContext) -> dict:
    """ReconcilerFunction: a Step Functions execution status change (FAILED, TIMED_OUT, ABORTED) of the run loop."""
    detail = event["detail"]
    status = detail["status"]
    logger.warning("run loop execution ended early", extra={"status": status, "cause": detail.get("cause")})
    cause = {"errorType": RunLoopEnded.__name__, "errorMessage": f"The run loop's execution ended {status}."}
    state = {
        **json.loads(detail["input"]),
        "error": {"Error": _EXECUTION_ERRORS.get(status, "States.Runtime"), "Cause": json.dumps(cause)},
    }
    add_metric("RunsReconciled", MetricUnit.Count, 1)
    return _reconcile(state, context)


fail_run = _task(RunLoop.fail_run)
