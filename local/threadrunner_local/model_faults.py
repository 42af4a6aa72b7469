"""The faults the offline model can be told to inject (``POST /_offline/faults``), and what each does.

A fault hits a number of requests of one kind (``on``: ``create``, ``retrieve``, ``cancel``, ``stream``, or a response's
``webhook``),
optionally only those whose text contains a marker, so tests can target one run. The functions below say what a
fault a request took (or ``None``) does to it; the model and its HTTP server ask them.
"""

from __future__ import annotations

from dataclasses import dataclass

FAULT_KINDS = {
    "http_429": ("create", "retrieve"),
    "http_500": ("create", "retrieve"),
    "failed": ("create",),
    "bad_json": ("create",),
    "slow": ("create",),
    "ignore_cancel": ("cancel",),
    "drop_stream": ("stream",),
    "drop_webhook": ("webhook",),
    "delay_webhook": ("webhook",),
}
"""Each kind of fault, with the requests (``on``) it can hit."""

HTTP_ERRORS: dict[str, tuple[int, str, str | None]] = {
    "http_429": (429, "Rate limit reached (injected by the offline model).", "rate_limit_exceeded"),
    "http_500": (500, "The server had an error (injected by the offline model).", None),
}
"""The answer (status, message, code) of each fault that answers with an HTTP error instead."""


@dataclass
class Fault:
    kind: str
    """What happens to a matching request:

    * ``http_429`` / ``http_500``: answered with that status instead (``create``, ``retrieve``);
    * ``failed``: the response ends ``failed``; ``bad_json``: its text is not JSON whatever the format;
      ``slow``: it takes ``seconds`` instead of the latency (``create``);
    * ``ignore_cancel``: the cancel is acknowledged but the response finishes anyway (``cancel``);
    * ``drop_stream``: the stream's connection is cut after ``events`` events, with no end (``stream``);
    * ``drop_webhook``: the response's webhook is not sent; ``delay_webhook``: it is sent ``seconds`` late
      (``webhook``).
    """
    times: int = 1
    """How many matching requests it hits."""
    match: str | None = None
    """Only requests whose text contains this."""
    on: str = "create"
    """``create``, ``retrieve``, ``cancel``, ``stream`` or ``webhook``."""
    seconds: float = 0.0
    """For ``slow``: how long the response takes; for ``delay_webhook``: how late its webhook is sent."""
    events: int = 3
    """For ``drop_stream``: the events sent before the cut."""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(FAULT_KINDS)}")
        if self.on not in FAULT_KINDS[self.kind]:
            raise ValueError(
                f"a {self.kind} fault hits {' or '.join(FAULT_KINDS[self.kind])} requests, not {self.on!r}"
            )


def take(pending: list[Fault], on: str, text: str) -> Fault | None:
    """The first pending fault that hits a request of kind ``on`` with ``text``, counted as used (and dropped from
    ``pending`` when it has hit its ``times``)."""
    for fault in pending:
        if fault.on == on and (fault.match is None or fault.match in text):
            fault.times -= 1
            if fault.times <= 0:
                pending.remove(fault)
            return fault
    return None


def http_error(fault: Fault | None) -> tuple[int, str, str | None] | None:
    """The HTTP error the request is answered with instead, if the fault is one of :data:`HTTP_ERRORS`."""
    return HTTP_ERRORS.get(fault.kind) if fault else None


def spoils_json(fault: Fault | None) -> bool:
    """Whether the response's reply is not JSON, whatever its format (``bad_json``)."""
    return fault is not None and fault.kind == "bad_json"


def fails(fault: Fault | None) -> bool:
    """Whether the response ends ``failed`` (``failed``)."""
    return fault is not None and fault.kind == "failed"


def duration(fault: Fault | None, latency: float) -> float:
    """How long the response takes: the fault's ``seconds`` for ``slow``, else the latency."""
    return fault.seconds if fault and fault.kind == "slow" else latency


def ignores_cancel(fault: Fault | None) -> bool:
    """Whether a cancel is acknowledged but the response finishes anyway (``ignore_cancel``)."""
    return fault is not None and fault.kind == "ignore_cancel"
