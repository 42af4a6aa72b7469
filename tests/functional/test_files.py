"""Files and uploads through the unmodified openai SDK, in-process: what the API checks as files arrive, and what
another project sees. Moved from tests/e2e/test_files.py, which keeps what S3 and the table prove (bytes round trips,
links, listings, transactions, expiry)."""

from __future__ import annotations

import io
import secrets

import openai
import pytest

from tests.functional.conftest import Api
from threadrunner.domain.files import MAX_REQUEST_FILE_BYTES


def _post_form(api: Api, key: str, path: str, parts: list[tuple[str, str, bytes]]) -> tuple[int, dict]:
    """A ``multipart/form-data`` POST written by hand: each part's ``Content-Disposition`` parameters as given."""
    boundary = "form-" + secrets.token_hex(8)
    body = b"".join(
        f"--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n\r\n".encode() + value + b"\r\n"
        for _, disposition, value in parts
    )
    body += f"--{boundary}--\r\n".encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": f"multipart/form-data; boundary={boundary}"}
    return api.raw("POST", path, body, headers)  # type: ignore[no-any-return]


def test_files_are_checked_as_they_arrive(project_client):
    client, _ = project_client

    with pytest.raises(openai.BadRequestError) as purpose:
        client.files.create(file=("a.txt", io.BytesIO(b"x")), purpose="surprise")  # type: ignore[arg-type]
    with pytest.raises(openai.APIStatusError) as large:
        client.files.create(file=("big.txt", io.BytesIO(b"x" * (MAX_REQUEST_FILE_BYTES + 1))), purpose="assistants")

    assert purpose.value.body["param"] == "purpose"
    assert large.value.status_code == 413 and "Uploads API" in large.value.message
    assert list(client.files.list()) == []


def test_an_upload_refuses_what_does_not_add_up(project_client):
    client, _ = project_client
    upload = client.uploads.create(bytes=10, filename="a.txt", mime_type="text/plain", purpose="assistants")
    part = client.uploads.parts.create(upload.id, data=b"0123456789")

    with pytest.raises(openai.BadRequestError):
        client.uploads.parts.create(upload.id, data=b"more")  # past the bytes announced
    with pytest.raises(openai.BadRequestError) as md5:
        client.uploads.complete(upload.id, part_ids=[part.id], md5="0" * 32)
    cancelled = client.uploads.cancel(upload.id)

    assert md5.value.body["param"] == "md5" and cancelled.status == "cancelled"
    with pytest.raises(openai.BadRequestError):
        client.uploads.complete(upload.id, part_ids=[part.id])
    assert list(client.files.list()) == []


def test_another_projects_files_are_not_found(client, project_client):
    other, _ = project_client
    mine = client.files.create(file=("mine.txt", io.BytesIO(b"private")), purpose="assistants")

    for call in (other.files.retrieve, other.files.content, other.files.delete):
        with pytest.raises(openai.NotFoundError):
            call(mine.id)
    assert client.files.content(mine.id).read() == b"private"


def test_a_file_that_never_expires_has_no_expires_at_as_the_spec_and_the_sdk_have_it(project_client):
    client, _ = project_client
    created = client.files.create(file=("notes.txt", io.BytesIO(b"Fog horn.")), purpose="assistants")

    answers = [
        client.files.with_raw_response.retrieve(created.id).http_response.json(),
        client.files.with_raw_response.list().http_response.json()["data"][0],
        created.model_dump(exclude_unset=True),
    ]

    # The spec's expires_at is an integer that may be absent, never null; the SDK reads it as None.
    assert ["expires_at" in answer for answer in answers] == [False, False, False]
    assert client.files.retrieve(created.id).expires_at is None
    assert answers[0]["id"] == created.id and answers[0]["status"] == "processed"


@pytest.mark.parametrize(
    "disposition",
    [
        "filename*=UTF-8''notes%0D%0ASet-Cookie%3A%20session%3Dstolen.txt",  # RFC 2231, decoded by the parser
        'filename="tab\there.txt"',
        'filename="delete\x7f.txt"',
    ],
    ids=["crlf-encoded", "tab", "del"],
)
def test_a_file_name_with_control_characters_is_refused_where_files_are_sent(api, project_client, disposition):
    client, _ = project_client

    status, answer = _post_form(
        api,
        client.api_key,
        "/files",
        [("purpose", 'name="purpose"', b"assistants"), ("file", f'name="file"; {disposition}', b"hello")],
    )

    assert status == 400 and answer["error"]["param"] == "file"
    assert "control characters" in answer["error"]["message"]
    assert list(client.files.list()) == []


def test_an_upload_named_with_control_characters_is_refused(project_client):
    client, _ = project_client
    with pytest.raises(openai.BadRequestError) as caught:
        client.uploads.create(
            bytes=5, filename="a\r\nSet-Cookie: session=stolen", mime_type="text/plain", purpose="assistants"
        )
    assert caught.value.param == "filename" and "control characters" in caught.value.message


def test_a_form_of_thousands_of_fields_is_refused_whole(api, project_client):
    client, _ = project_client
    fields = [(f"f{i}", f'name="f{i}"', b"x") for i in range(40_000)]  # a 2 MB form

    file = [("purpose", 'name="purpose"', b"assistants"), ("file", 'name="file"; filename="a.txt"', b"hello")]

    status, answer = _post_form(api, client.api_key, "/files", [*file, *fields])

    assert status == 400 and "more than 8 parts" in answer["error"]["message"]
    assert list(client.files.list()) == []


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("bytes", True, "Invalid type for 'bytes': expected an integer, but got a boolean instead."),
        ("bytes", 5.0, "Invalid type for 'bytes': expected an integer, but got a number instead."),
        ("mime_type", "text", "expected a MIME type such as text/plain or application/pdf"),
        ("mime_type", "text/plain\r\nX-Forged: yes", "expected a MIME type"),
        ("mime_type", "a" * 200 + "/" + "b" * 50, "expected a MIME type"),
    ],
)
def test_an_upload_announcing_a_size_or_type_that_is_none_is_refused(api, project_client, field, value, problem):
    client, _ = project_client
    body = {"bytes": 5, "filename": "a.txt", "mime_type": "text/plain", "purpose": "assistants", field: value}

    status, answer = api("POST", "/uploads", body, key=client.api_key)

    assert status == 400 and answer["error"]["param"] == field and problem in answer["error"]["message"]


@pytest.mark.parametrize(
    "mime_type",
    ["application/vnd.openxmlformats-officedocument.wordprocessingml.document", "text/plain; charset=utf-8"],
)
def test_an_upload_takes_any_well_formed_mime_type(project_client, mime_type):
    client, _ = project_client
    upload = client.uploads.create(bytes=5, filename="a.docx", mime_type=mime_type, purpose="assistants")
    assert upload.status == "pending" and upload.bytes == 5
