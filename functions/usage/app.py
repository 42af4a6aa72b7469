"""SettleResponsesFunction: every few minutes (a schedule), the forwarded background responses nobody asked about
again are counted once they ended (docs/forwarding.md)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.observability import lambda_handler as entry_point

settlement = bootstrap.settlement()


@entry_point()
def settle_responses(event: dict, context: LambdaContext) -> dict:
    """One sweep, stopped while one more retrieve of the provider would still end before the function's timeout
    (so two sweeps never overlap: the schedule's rate is longer than the timeout)."""
    return settlement.sweep(context.get_remaining_time_in_millis)
