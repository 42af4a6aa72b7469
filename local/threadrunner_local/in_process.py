"""The AWS calls this process makes reach moto without a socket, and unsigned.

Every boto3 client of the process sends its requests to the local AWS endpoint; over HTTP each costs a
connection, a server thread, and the parsing of the request and the answer on both sides. A ``before-send``
handler on boto3's default session hands the request to moto's WSGI application (the one the HTTP server
serves, with its journal) and makes its answer the client's. What runs outside the process (``sam local
invoke``'s containers, a client on another machine) still speaks HTTP to the server, and so do Lambda
invocations: the ToolRunner bounds a tool by its client's read timeout, which only a socket enforces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from .enforcement import acting_as
from .meter import Meter

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class InProcessAws:
    """The handler of boto3's ``before-send`` event for the requests to ``endpoint``."""

    def __init__(
        self,
        endpoint: str,
        app: WSGIApp,
        gate: Callable[[Any], Any] | None = None,
        answered: Callable[[Any, int], Any] | None = None,
        meter: Meter | None = None,
    ) -> None:
        self._endpoint = endpoint.rstrip("/")
        self._app = app
        self._gate = gate
        """Answers a request that is not to reach moto (refused by IAM or by a limit); ``None`` lets it through."""
        self._answered = answered
        """Given the request and moto's status, an answer to give instead (``None``: moto's)."""
        self._meter = meter
        """What counts DynamoDB's request units (``make bench``)."""

    def install(self) -> None:
        """On boto3's default session, for every client made after this."""
        import boto3

        events = boto3._get_default_session().events
        events.register_first("before-send", self.send, unique_id="threadrunner-local")
        events.register_first("choose-signer", _unsigned, unique_id="threadrunner-local-signer")

    def uninstall(self) -> None:
        import boto3

        events = boto3._get_default_session().events
        events.unregister("before-send", unique_id="threadrunner-local")
        events.unregister("choose-signer", unique_id="threadrunner-local-signer")

    def send(self, request: Any, **_: Any) -> Any:
        """moto's answer to a request for the local endpoint; ``None`` lets any other go over the network."""
        if not request.url.startswith(self._endpoint):
            return None
        if _SCOPE in request.context:
            scope = request.context[_SCOPE]
            request.headers["Authorization"] = f"AWS4-HMAC-SHA256 Credential=local/20000101/{scope}/aws4_request"
        refused = self._gate(request) if self._gate is not None else None
        if refused is not None:
            return refused
        parts = urlsplit(request.url)
        if parts.path.endswith("/invocations"):
            return None
        headers = [
            (name, value.decode() if isinstance(value, bytes) else value) for name, value in request.headers.items()
        ]
        from botocore.awsrequest import AWSResponse
        from moto.core.botocore_stubber import MockRawResponse
        from werkzeug.test import EnvironBuilder

        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        environ = EnvironBuilder(
            path=unquote(parts.path) or "/",
            base_url=f"{parts.scheme}://{parts.netloc}",
            query_string=parts.query,
            method=request.method,
            headers=headers,
            data=body or b"",
        ).get_environ()
        answered: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            answered[:] = [int(status.split(" ", 1)[0]), headers]
            return lambda data: None

        with acting_as(None):  # moto's own work (the threads it starts included) is no function's
            chunks = self._app(environ, start_response)
            try:
                content = b"".join(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        status, headers = answered
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        if self._meter is not None and target.startswith("DynamoDB_") and status == 200:
            self._meter.dynamodb(target.split(".", 1)[1], body or b"", content)
        instead = self._answered(request, status) if self._answered is not None else None
        return instead or AWSResponse(request.url, status, dict(headers), MockRawResponse(content))


def _unsigned(signing_name: str, region_name: str, signature_version: str, context: Any, **_: Any) -> Any:
    """No signature on requests (moto checks none, and signing costs more than moto's GetItem); presigned links
    are signed as on AWS. moto finds the service of a request to its one endpoint in the credential scope of
    the ``Authorization`` header: :meth:`InProcessAws.send` writes the scope kept here. (Every client of the
    process is one of the local endpoint.)"""
    import botocore

    if signature_version.endswith(("-query", "-presign-post")):
        return None
    context[_SCOPE] = f"{region_name}/{signing_name}"
    return botocore.UNSIGNED


_SCOPE = "threadrunner_local_scope"
