"""The run loop's task functions: one handler per Task state of statemachine/run_loop.asl.json."""

from collections.abc import Callable

from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.app.run_loop.runner import Task
from threadrunner.app.run_loop.tasks import RunLoop
from threadrunner.observability import lambda_handler as entry_point

tasks = bootstrap.task_runner()


def _task(task: Task) -> Callable[[dict, LambdaContext], dict]:
    @entry_point()
    def handler(event: dict, context: LambdaContext) -> dict:
        return tasks.run(task, event)

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
    return tasks.reconcile(event)
