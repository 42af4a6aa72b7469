"""Least privilege, checked against use: every action a role's own statements grant must be one its calls used.

The test suite runs under enforcement, which records, for each principal, the statements that allowed each of its
calls (:class:`~threadrunner_local.enforcement.Usage`). A grant no call used is either more than the function
needs (take it out of template.yaml) or needed only on a path the suite does not reach: those are listed in
:data:`NOT_REACHED`, each with the reason it stays.

What SAM attaches as AWS managed policies is not checked: the Lambda runtime's logs
(``AWSLambdaBasicExecutionRole``), X-Ray (``Tracing: Active``) and the SQS event source mapping's polling
(``AWSLambdaSQSQueueExecutionRole``) are used by AWS's services for the function, not by its code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .enforcement import Usage
from .policy import Statement, action_matches
from .roles import Stack

_SHARED_CACHE = (
    "read through a cache every function of the local stack's one process shares, so the suite's calls are the "
    "first function's to need it; each deployed function makes the call itself"
)
_MODEL_KEY = f"the model key, {_SHARED_CACHE} (bootstrap.openai_client): it calls the model to "
_IDEMPOTENCY = "Powertools' idempotency layer "

NOT_REACHED: dict[tuple[str, str], str] = {
    **{
        (function, "secretsmanager:GetSecretValue"): _MODEL_KEY + why
        for function, why in {
            "ApiFunction": "follow a streamed run's response and forward /v1 calls",
            "StartTurnFunction": "create a turn's response",
            "CheckTurnFunction": "poll the turn's response",
            "SubmitToolOutputsFunction": "send the tool outputs",
            "FinalizeRunFunction": "read the finished response",
            "FailRunFunction": "cancel the failed run's response",
            "ReconcilerFunction": "cancel the response of a run whose execution ended",
            "ToolFunction": "embed file_search's query",
            "IndexFunction": "embed a file's chunks",
        }.items()
    },
    ("ApiFunction", "lambda:InvokeFunction"): f"the ToolFunction's catalogue, {_SHARED_CACHE} (5 minutes)",
    ("StartTurnFunction", "lambda:InvokeFunction"): f"the ToolFunction's catalogue, {_SHARED_CACHE} (5 minutes)",
    ("ToolFunction", "lambda:ListTags"): f"a Lambda tool's tags, {_SHARED_CACHE} (a minute); ApiFunction reads "
    "them first, when the tool is registered",
    **{
        (function, f"dynamodb:{action} [idempotency#*]"): _IDEMPOTENCY + why
        for function in ("ApiFunction", "EventsFunction", "QueueFunction")
        for action, why in (
            ("GetItem", "reads a record back when a retry finds it in progress"),
            ("DeleteItem", "deletes the record of a request whose handler raised, so a retry runs again"),
        )
    },
    ("ApiFunction", "s3:AbortMultipartUpload"): "a file joined from an upload's parts aborts its multipart upload "
    "when the join fails",
    ("RequestToolOutputsFunction", "states:SendTaskFailure"): "a run cancelled between its turn's end and the "
    "storing of its task token: the function wakes the waiting loop itself",
    **{
        ("ReconcilerFunction", grant): "announcing a reconciled run starts the run of its thread's queued messages "
        "(conversation_queue.drain)"
        for grant in ("dynamodb:PutItem [P#*]", "dynamodb:DeleteItem [P#*]", "states:StartExecution")
    },
    **{
        ("SubmitToolOutputsFunction", grant): "the provider's circuit, written when creating the response that "
        "carries the outputs fails (its changes of state are events); the suite's provider faults hit first turns"
        for grant in ("dynamodb:PutItem [circuit#*]", "dynamodb:UpdateItem [circuit#*]", "events:PutEvents")
    },
    **{
        ("RunLoopStateMachine", f"logs:{action}"): "Step Functions delivers the executions' errors to CloudWatch Logs "
        "(Logging: ERROR) with these; the local stack does not emulate log delivery"
        for action in (
            "CreateLogDelivery",
            "GetLogDelivery",
            "UpdateLogDelivery",
            "DeleteLogDelivery",
            "ListLogDeliveries",
            "PutResourcePolicy",
            "DescribeResourcePolicies",
            "DescribeLogGroups",
        )
    },
}
"""(principal, grant) -> why it stays although the suite may not use it. A grant reads as :attr:`Grant.name`
(``dynamodb:DeleteItem [P#*]``)."""


@dataclass(frozen=True)
class Grant:
    """One action of one ``Allow`` statement of a role's own policies."""

    principal: str
    statement: Statement
    action: str

    @property
    def name(self) -> str:
        """The action, and the partition keys the statement limits it to."""
        keys = [c.values for c in self.statement.conditions if c.key == "dynamodb:leadingkeys"]
        return self.action + (f" [{','.join(keys[0])}]" if keys else "")


def grants(stack: Stack) -> list[Grant]:
    """Every action the template's own statements grant, per principal (managed policies left out)."""
    found: list[Grant] = []
    for principal, role in stack.roles.items():
        inline = {name for name, document in role.documents if name.startswith(principal)}
        for statement in role.policy.statements:
            if statement.effect == "Allow" and statement.source.split("#", 1)[0] in inline:
                found.extend(Grant(principal, statement, action) for action in statement.actions)
    return found


def unused(stack: Stack, usage: Usage) -> list[Grant]:
    """The grants no call used, less those :data:`NOT_REACHED` explains."""
    left = []
    for grant in grants(stack):
        used = usage.statements.get(grant.principal, set())
        if any(source == grant.statement.source and action_matches(action, grant.action) for source, action in used):
            continue
        if (grant.principal, grant.name) not in NOT_REACHED:
            left.append(grant)
    return left


def stale(stack: Stack) -> list[tuple[str, str]]:
    """Entries of :data:`NOT_REACHED` that name no grant of the template any more."""
    names = {(grant.principal, grant.name) for grant in grants(stack)}
    return [entry for entry in NOT_REACHED if entry not in names]


def judged(reports: list[dict[str, Any]], root: Path) -> list[str]:
    """What the whole suite's reports (one per local stack: each test worker has its own) show against least
    privilege: the grants no call of any stack used, less :data:`NOT_REACHED`, and the roles no call used at all.

    A report is :meth:`~threadrunner_local.enforcement.Enforcer.report` with the stack's template ``parameters``.
    """
    from .roles import load

    _, stack = load(root, reports[0]["parameters"])
    problems = [
        f"the local stack of {report['stack']} ran without IAM enforcement"
        for report in reports
        if not report["enforced"]
    ]
    usage = Usage()
    for report in reports:
        for principal, allowed in report["allowed_by"].items():
            used = usage.statements.setdefault(principal, set())
            used.update(tuple(entry.rsplit(" ", 1)) for entry in allowed)
    problems = [
        f"{grant.principal}: {grant.name} ({grant.statement.source}) is granted and no call used it"
        for grant in unused(stack, usage)
    ]
    idle = sorted(set(stack.roles) - set(usage.statements))
    problems += [f"{principal}: no call of the suite ran under its role" for principal in idle]
    return problems
