"""The run loop's task functions: one handler per Task state of statemachine/run_loop.asl.json."""

from collections.abc import Callable

from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.app.run_loop.state import Done, LoopState, Metric
from threadrunner.app.run_loop.tasks import RunLoop
from threadrunner.config import settings
from threadrunner.observability import add_metric, log_keys, logger
from threadrunner.observability import lambda_handler as entry_point

config = settings()
# One module serves every task; the snapshot holds what the ones that call the model need.
bootstrap.prepare_snapshot(("dynamodb", "stepfunctions", "events", "lambda", "secretsmanager"), model=True)


def _run(work: Callable[[RunLoop, LoopState], Done], state: LoopState, *measured: Metric) -> dict:
    """One task of the loop on the state: log, publish what it measured, return the state with the new turn."""
    log_keys(project=state.project, thread_id=state.thread_id, run_id=state.run_id)
    loop = RunLoop(
        bootstrap.stores(state.project),
        bootstrap.model_client,
        bootstrap.tool_catalogue(),
        bootstrap.run_control(),
        bootstrap.events(),
        bootstrap.circuits(),
        config,
        contents=bootstrap.file_contents(),
    )
    turn, metrics = work(loop, state)
    logger.info(
        "run loop task", extra={"task": work.__name__, "outcome": turn.outcome, "response_id": turn.response_id}
    )
    for name, unit, value in (*measured, *metrics):
        add_metric(name, unit, value)
    return state.model_copy(update={"turn": turn, "error": None}).model_dump(exclude_none=True)


def _task(work: Callable[[RunLoop, LoopState], Done]) -> Callable[[dict, LambdaContext], dict]:
    @entry_point()
    def handler(event: dict, context: LambdaContext) -> dict:
        return _run(work, LoopState.model_validate(event))

    return handler


start_turn = _task(RunLoop.start_turn)
check_turn = _task(RunLoop.check_turn)
request_tool_outputs = _task(RunLoop.request_tool_outputs)
submit_tool_outputs = _task(RunLoop.submit_tool_outputs)
finalize_run = _task(RunLoop.finalize_run)
announce_run = _task(RunLoop.announce_run)
fail_run = _task(RunLoop.fail_run)


@entry_point()
def reconcile_run(event: dict, context: LambdaContext) -> dict:
    """ReconcilerFunction: a Step Functions execution status change (FAILED, TIMED_OUT, ABORTED) of the run loop."""
    state = LoopState.after_execution_ended(event["detail"])
    return _run(RunLoop.reconcile, state, Metric("RunsReconciled", "Count", 1))
