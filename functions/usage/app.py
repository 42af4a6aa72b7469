"""SettleResponsesFunction: every few minutes (a schedule), the forwarded background responses nobody asked about
again are counted once they ended (docs/forwarding.md)."""

from dataclasses import asdict

from aws_lambda_powertools.utilities.typing import LambdaContext

from threadrunner import bootstrap
from threadrunner.app.forwarding import settle_unsettled
from threadrunner.config import settings
from threadrunner.observability import add_metric, logger
from threadrunner.observability import lambda_handler as entry_point

config = settings()
bootstrap.prepare_snapshot(("dynamodb", "secretsmanager"))


@entry_point()
def settle_responses(event: dict, context: LambdaContext) -> dict:
    """One sweep, stopped while one more retrieve of the provider would still end before the function's timeout
    (so two sweeps never overlap: the schedule's rate is longer than the timeout)."""
    margin_ms = (config.model_timeout_seconds + 5) * 1000
    swept = settle_unsettled(
        bootstrap.unsettled_responses(),
        bootstrap.stores,
        bootstrap.provider(),
        lambda: context.get_remaining_time_in_millis() > margin_ms,
    )
    logger.info("unsettled responses swept", extra=asdict(swept))
    add_metric("ResponsesSettled", "Count", swept.settled)
    return asdict(swept)
