"""Every AWS call a function makes in the local stack, judged by the policy its role has once deployed.

Who calls: the function whose handler runs (:func:`acting_as`, set by the dispatcher around each invocation, by
the SQS poller around the calls Lambda's event source mapping makes with the function's role, by the state
machine's tasks). It is a context variable, so each request handled in parallel has its own; threads and thread
pools started while it is set inherit it (:data:`THREADS_INHERIT`: Python gives a new thread an empty context),
and moto's own work (an execution's thread started by ``StartExecution``) runs as no one. A call made as no one
is the operator's (the tests seeding data, ``make key``, the stack starting): allowed, and not counted.

What is asked: :mod:`.access` turns a call into IAM's actions, resources and condition keys; :mod:`.roles` holds
the policies; :mod:`.policy` decides. A call the role does not allow is answered, without reaching moto, with the
service's own ``AccessDenied`` error (its status, code and body in the service's protocol), which botocore
raises as it would on AWS; the denial is logged with the function, the action, the resource and the statement
that would have allowed it. A call over a service's size limit is refused the same way, whoever makes it
(:mod:`.limits`).
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from . import limits
from .access import Access, Lookups, accesses
from .limits import Refusal
from .policy import Decision, Policy, Statement, compile_policy
from .roles import Role, Stack

log = logging.getLogger("threadrunner_local.iam")

_ACTING: contextvars.ContextVar[str | None] = contextvars.ContextVar("threadrunner_local_principal", default=None)
_VERDICT = "threadrunner_local_verdict"
"""Where a request's refusal waits, in botocore's request context, from its parameters to its sending."""
_MISSING_KEY = "threadrunner_local_missing_key"
"""An S3 read's principal and bucket, for what S3 answers when the key does not exist."""


def acting() -> str | None:
    """The principal whose calls these are: a function's (or the state machine's) logical id, or ``None``."""
    return _ACTING.get()


@contextmanager
def acting_as(principal: str | None) -> Iterator[None]:
    token = _ACTING.set(principal)
    try:
        yield
    finally:
        _ACTING.reset(token)


def attributed(chunks: Iterator[Any], principal: str | None) -> Iterator[Any]:
    """An iterator whose items are made as ``principal``: a streamed answer, read after its handler returned."""
    try:
        while True:
            with acting_as(principal):
                chunk = next(chunks, _END)
            if chunk is _END:
                return
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            with acting_as(principal):
                close()


_END = object()


class _ThreadsInherit:
    """New threads, and the tasks of thread pools, run in the context of the code that started them."""

    def __init__(self) -> None:
        self._saved: tuple[Any, Any] | None = None

    @property
    def installed(self) -> bool:
        return self._saved is not None

    def install(self) -> None:
        if self._saved is not None:
            return
        start, submit = threading.Thread.start, ThreadPoolExecutor.submit

        def started(thread: threading.Thread) -> None:
            context, run = contextvars.copy_context(), thread.run
            thread.run = lambda: context.run(run)  # type: ignore[method-assign]
            start(thread)

        def submitted(pool: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
            return submit(pool, contextvars.copy_context().run, fn, *args, **kwargs)

        threading.Thread.start = started  # type: ignore[method-assign,assignment]
        ThreadPoolExecutor.submit = submitted  # type: ignore[method-assign,assignment]
        self._saved = (start, submit)

    def uninstall(self) -> None:
        if self._saved is None:
            return
        threading.Thread.start, ThreadPoolExecutor.submit = self._saved  # type: ignore[method-assign]
        self._saved = None


THREADS_INHERIT = _ThreadsInherit()


_DENIED = {
    "dynamodb": (400, "AccessDeniedException"),
    "events": (400, "AccessDeniedException"),
    "states": (400, "AccessDeniedException"),
    "secretsmanager": (400, "AccessDeniedException"),
    "sqs": (403, "AccessDenied"),
    "s3": (403, "AccessDenied"),
}
"""How each service answers a call IAM refused (the others: 403 ``AccessDeniedException``)."""


@dataclass(frozen=True)
class Denial:
    """A call a role's policy does not allow."""

    principal: str
    role_arn: str
    access: Access
    deciding: Statement | None
    """The statement that denied explicitly; ``None``: no statement allowed."""
    session_arn: str

    @property
    def message(self) -> str:
        """AWS's message for it."""
        action, resource = self.access.action, self.access.resource
        if self.deciding is None:
            why = f"because no identity-based policy allows the {action} action"
        else:
            kind = "a resource-based" if self.deciding.principals else "an identity-based"
            why = f"with an explicit deny in {kind} policy"
        return f"User: {self.session_arn} is not authorized to perform: {action} on resource: {resource} {why}"

    def missing_statement(self) -> dict[str, Any]:
        """The statement that would have allowed the call."""
        statement: dict[str, Any] = {"Effect": "Allow", "Action": self.access.action, "Resource": self.access.resource}
        keys = self.access.context.get("dynamodb:LeadingKeys")
        if keys:
            prefixes = sorted({key.split("#", 1)[0] + "#*" if "#" in key else key for key in keys})
            statement["Condition"] = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": prefixes}}
        return statement

    def refusal(self, prefix: str) -> Refusal:
        status, code = _DENIED.get(prefix, (403, "AccessDeniedException"))
        return Refusal(status, code, self.message)


@dataclass
class Usage:
    """What each principal's calls used: actions, the resources of each, and the statements that allowed them."""

    actions: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    statements: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    """Per principal: (statement source, action) pairs, each statement with the actions it allowed."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    count: int = 0
    """Accesses allowed so far (what ``make bench`` prices)."""

    def add(self, principal: str, access: Access, statements: tuple[Statement, ...] = ()) -> None:
        with self.lock:
            self.count += 1
            self.actions.setdefault(principal, {}).setdefault(access.action, set()).add(access.resource)
            used = self.statements.setdefault(principal, set())
            used.update((statement.source, access.action) for statement in statements)

    def summary(self) -> dict[str, dict[str, list[str]]]:
        with self.lock:
            return {
                principal: {action: sorted(resources) for action, resources in sorted(actions.items())}
                for principal, actions in sorted(self.actions.items())
            }


_NO_ROLE = Policy(())


@lru_cache(maxsize=256)
def _compiled(document: str) -> Policy:
    return compile_policy([("resource policy", json.loads(document))])


class Enforcer:
    """Judges calls by the stack's policies; ``enabled=False`` allows everything (and still counts what is used)."""

    def __init__(self, stack: Stack, lookups: Lookups, enabled: bool = True) -> None:
        self.stack = stack
        self.lookups = lookups
        self.enabled = enabled
        self.usage = Usage()
        self.denials: list[Denial] = []
        self._lock = threading.Lock()

    # judging --------------------------------------------------------------------------------------------

    def _resource_policy(self, arn: str) -> Policy | None:
        """The template's policy on ``arn``, or the one a resource made at run time carries."""
        found = self.stack.resource_policy(arn)
        if found is not None:
            return found
        document = self.lookups.resource_policy(arn)
        return _compiled(document) if document else None

    def _decide(self, role: Role | None, access: Access) -> Decision:
        policy = role.policy if role is not None else _NO_ROLE
        context = {**access.context, "aws:SecureTransport": "true"}
        identity = policy.decide(access.action, access.resource, context)
        resource_policy = self._resource_policy(access.resource)
        if resource_policy is None or role is None:
            return identity
        on_resource = resource_policy.decide(access.action, access.resource, context, ("AWS", role.arn))
        if on_resource.explicit_deny or identity.explicit_deny:
            return on_resource if on_resource.explicit_deny else identity
        return identity if identity.allowed or not on_resource.allowed else on_resource

    def judge(self, principal: str | None, found: list[Access]) -> Denial | None:
        """The first of ``found`` that ``principal``'s role does not allow; ``None`` when all are allowed."""
        if principal is None:
            return None
        role = self.stack.roles.get(principal)
        for access in found:
            decision = self._decide(role, access)
            if decision.allowed:
                self.usage.add(principal, access, decision.allowing)
                continue
            denial = Denial(
                principal,
                role.arn if role else "",
                access,
                decision.statement,
                role.session_arn if role else f"arn:aws:sts::123456789012:assumed-role/{principal}/{principal}",
            )
            self._report(denial)
            if self.enabled:
                return denial
            self.usage.add(principal, access)
        return None

    def judge_delivery(self, service: str, source_arn: str, access: Access) -> Denial | None:
        """A service's delivery (EventBridge's rule to a function or a queue): the target's resource policy must
        allow ``service`` from ``source_arn``."""
        policy = self._resource_policy(access.resource) or _NO_ROLE
        context = {**access.context, "aws:SourceArn": source_arn, "aws:SecureTransport": "true"}
        decision = policy.decide(access.action, access.resource, context, ("Service", service))
        if decision.allowed:
            self.usage.add(service, access, decision.allowing)
            return None
        denial = Denial(service, "", access, decision.statement, service)
        self._report(denial)
        return denial if self.enabled else None

    def _report(self, denial: Denial) -> None:
        with self._lock:
            self.denials.append(denial)
        log.warning(
            "IAM denies %s %s on %s%s (%s): %s; the statement that would allow it: %s",
            denial.principal,
            denial.access.action,
            denial.access.resource,
            "".join(f" {key}={value}" for key, value in sorted(denial.access.context.items())),
            "explicit deny in " + denial.deciding.source if denial.deciding else "no statement allows it",
            denial.message,
            json.dumps(denial.missing_statement()),
            extra={"principal": denial.principal, "action": denial.access.action, "resource": denial.access.resource},
        )

    def report(self) -> dict[str, Any]:
        """What was used, per principal (actions and their resources), and every denial."""
        with self._lock:
            denials = [
                {
                    "principal": d.principal,
                    "action": d.access.action,
                    "resource": d.access.resource,
                    "context": {key: list(v) if isinstance(v, tuple) else v for key, v in d.access.context.items()},
                    "missing_statement": d.missing_statement(),
                }
                for d in self.denials
            ]
        with self.usage.lock:
            allowed_by = {
                p: sorted(f"{source} {action}" for source, action in v) for p, v in self.usage.statements.items()
            }
        return {"used": self.usage.summary(), "allowed_by": allowed_by, "denials": denials}

    @contextmanager
    def without_statement(self, principal: str, source: str) -> Iterator[Statement]:
        """The role of ``principal`` without one of its statements (named ``<policy name>#<Sid or index>``)."""
        role = self.stack.roles[principal]
        kept = tuple(s for s in role.policy.statements if s.source != source)
        removed = next(s for s in role.policy.statements if s.source == source)
        self.stack.roles[principal] = replace(role, policy=Policy(kept))
        try:
            yield removed
        finally:
            self.stack.roles[principal] = role

    # botocore ---------------------------------------------------------------------------------------------

    def on_parameters(self, params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        """botocore's ``before-parameter-build``: the call's verdict, kept for :meth:`gate`."""
        prefix, principal = model.service_model.signing_name, acting()
        refused = limits.refusal(prefix, model.name, params)
        if refused is None:
            denial = self.judge(principal, accesses(prefix, model.name, params, self.lookups))
            refused = denial.refusal(prefix) if denial is not None else None
        if refused is not None:
            context[_VERDICT] = (refused, model.service_model.protocol, model.service_model.service_name)
        elif prefix == "s3" and model.name in ("GetObject", "HeadObject") and principal is not None:
            context[_MISSING_KEY] = (principal, f"arn:aws:s3:::{params['Bucket']}")

    def gate(self, request: Any) -> Any:
        """The answer to a request refused at :meth:`on_parameters` (``None``: let it through)."""
        verdict = request.context.get(_VERDICT)
        return error_response(request.url, *verdict) if verdict is not None else None

    def answered(self, request: Any, status: int) -> Any:
        """What replaces moto's answer: S3 answers a missing key with 403 ``AccessDenied``, not 404 ``NoSuchKey``,
        to a caller that may not list the bucket (``s3:ListBucket``), so it cannot learn what exists."""
        asked = request.context.get(_MISSING_KEY)
        if status != 404 or asked is None or not self.enabled:
            return None
        principal, bucket = asked
        listing = Access("s3:ListBucket", bucket)
        decision = self._decide(self.stack.roles.get(principal), listing)
        if decision.allowed:
            self.usage.add(principal, listing, decision.allowing)
            return None
        role = self.stack.roles.get(principal)
        self._report(
            Denial(principal, role.arn if role else "", listing, None, role.session_arn if role else principal)
        )
        return error_response(request.url, Refusal(403, "AccessDenied", "Access Denied"), "rest-xml", "s3")

    def install(self) -> None:
        import boto3

        events = boto3._get_default_session().events
        events.register("before-parameter-build", self.on_parameters, unique_id="threadrunner-local-iam")

    def uninstall(self) -> None:
        import boto3

        boto3._get_default_session().events.unregister("before-parameter-build", unique_id="threadrunner-local-iam")


def error_response(url: str, refused: Refusal, protocol: str, service: str) -> Any:
    """The HTTP answer a service gives for ``refused``, in its protocol, as botocore parses it."""
    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import MockRawResponse

    request_id = uuid.uuid4().hex
    headers = {"x-amzn-RequestId": request_id}
    if protocol == "rest-xml" or protocol == "query":
        body = (
            f"<Error><Code>{refused.code}</Code><Message>{_xml(refused.message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
        if protocol == "query":
            body = f"<ErrorResponse>{body.replace('<Error>', '<Error><Type>Sender</Type>')}</ErrorResponse>"
        headers["Content-Type"] = "application/xml"
        content = body.encode()
    else:
        if protocol == "rest-json":
            headers["x-amzn-ErrorType"] = refused.code
        if service == "sqs":  # JSON with the query protocol's error codes
            headers["x-amzn-query-error"] = f"{refused.code};Sender"
        headers["Content-Type"] = "application/x-amz-json-1.0" if protocol == "json" else "application/json"
        content = json.dumps({"__type": refused.code, "message": refused.message, "Message": refused.message}).encode()
    return AWSResponse(url, refused.status, headers, MockRawResponse(content))


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
