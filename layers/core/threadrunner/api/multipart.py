"""``multipart/form-data`` bodies (file uploads), read with the standard library's MIME parser."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from ..errors import InvalidRequest

MAX_FORM_PARTS = 8
"""The most parts a form may have: the file routes take a handful of fields (``file``, ``purpose``,
``expires_after[...]``; ``data``), and the parser costs about 150 µs a part."""


@dataclass(frozen=True)
class Field:
    value: bytes
    filename: str | None = None
    """The name the client gave a file field."""

    @property
    def text(self) -> str:
        try:
            return self.value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidRequest("A form field that should be text is not UTF-8.") from exc


def form(event: APIGatewayProxyEventV2) -> dict[str, Field]:
    """The fields of the request's form, by name (the first of a repeated name)."""
    content_type = event.headers.get("content-type", "")
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    boundary = BytesParser(policy=HTTP).parsebytes(head, headersonly=True).get_boundary()
    if not content_type.lower().startswith("multipart/form-data") or not boundary:
        raise InvalidRequest("Send the body as multipart/form-data, with a boundary.")
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode("utf-8", "surrogateescape")
    # Counted before parsing: every part begins with its delimiter, and the last delimiter ends the form.
    if body.count(b"--" + boundary.encode("utf-8", "surrogateescape")) > MAX_FORM_PARTS + 1:
        raise InvalidRequest(
            f"The form has more than {MAX_FORM_PARTS} parts; files and parts are sent with a few fields."
        )
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise InvalidRequest("The multipart body could not be read.")
    fields: dict[str, Field] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and name not in fields and isinstance(payload, bytes):
            fields[name] = Field(payload, part.get_filename())
    return fields


def required(fields: dict[str, Field], name: str) -> Field:
    if name not in fields:
        raise InvalidRequest(f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
    return fields[name]
