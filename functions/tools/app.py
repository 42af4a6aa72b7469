"""ToolFunction: runs one server-side tool call per invocation, or lists the deployment's tools (the catalogue)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.observability import lambda_handler as entry_point

tool_calls = bootstrap.tool_calls()


@entry_point()
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return tool_calls.invoke(event, context.get_remaining_time_in_millis() / 1000)
