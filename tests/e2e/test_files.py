"""Files and uploads through the unmodified openai SDK: stored in S3 under the project, listed, read back, deleted."""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import secrets

import openai
import pytest

from threadrunner.domain.files import MAX_REQUEST_FILE_BYTES


def test_a_file_round_trips_and_is_listed_by_purpose_until_it_is_deleted(project_client):
    client, _ = project_client
    data = b"Lighthouses use Fresnel lenses.\n" + secrets.token_bytes(2048)  # binary too

    created = client.files.create(file=("notes.bin", io.BytesIO(data)), purpose="assistants")
    image = client.files.create(file=("chart.png", io.BytesIO(b"\x89PNG fake")), purpose="vision")

    assert (created.bytes, created.filename, created.purpose) == (len(data), "notes.bin", "assistants")
    assert created.id.startswith("file-") and client.files.retrieve(created.id) == created
    assert client.files.content(created.id).read() == data
    assert [f.id for f in client.files.list()] == [image.id, created.id]  # newest first
    assert [f.id for f in client.files.list(purpose="vision")] == [image.id]
    deleted = client.files.delete(created.id)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(created.id)


def test_files_are_checked_as_they_arrive(project_client):
    client, _ = project_client

    with pytest.raises(openai.BadRequestError) as purpose:
        client.files.create(file=("a.txt", io.BytesIO(b"x")), purpose="surprise")  # type: ignore[arg-type]
    with pytest.raises(openai.APIStatusError) as large:
        client.files.create(file=("big.txt", io.BytesIO(b"x" * (MAX_REQUEST_FILE_BYTES + 1))), purpose="assistants")

    assert purpose.value.body["param"] == "purpose"
    assert large.value.status_code == 413 and "Uploads API" in large.value.message
    assert list(client.files.list()) == []


def test_an_upload_in_parts_makes_one_file_and_a_large_file_is_read_through_a_link(project_client):
    client, _ = project_client
    data = secrets.token_bytes(MAX_REQUEST_FILE_BYTES + 1024 * 1024)  # more than one answer carries

    upload = client.uploads.upload_file_chunked(
        file=data,
        filename="handbook.bin",
        bytes=len(data),
        mime_type="application/octet-stream",
        purpose="assistants",
        part_size=2 * 1024 * 1024,
        md5=hashlib.md5(data).hexdigest(),
    )

    assert upload.status == "completed" and upload.file.bytes == len(data)
    assert client.files.content(upload.file.id).read() == data  # followed to the link, as the SDK follows


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


def test_images_of_a_message_reach_the_model(project_client, model, marker):
    client, _ = project_client
    png = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(64)
    image = client.files.create(file=("chart.png", io.BytesIO(png)), purpose="vision")
    assistant = client.beta.assistants.create(model="gpt-4.1-mini")
    thread = client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"What do these show? {marker}"},
                    {"type": "image_file", "image_file": {"file_id": image.id, "detail": "high"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/map.jpg"}},
                ],
            }
        ]
    )

    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)

    assert run.status == "completed"
    (sent,) = model.requests_about(marker)
    text, first, second = sent["input"][0]["content"]
    assert text == {"type": "input_text", "text": f"What do these show? {marker}"}
    assert first["type"] == "input_image" and first["detail"] == "high"
    assert base64.b64decode(first["image_url"].removeprefix("data:image/png;base64,")) == png
    assert second == {"type": "input_image", "image_url": "https://example.com/map.jpg", "detail": "auto"}


# file names: any script, no control characters ------------------------------------------------------


def _post_form(stack, key: str, path: str, parts: list[tuple[str, str, bytes]]) -> tuple[int, dict]:
    """A ``multipart/form-data`` POST written by hand: each part's ``Content-Disposition`` parameters as given."""
    boundary = "form-" + secrets.token_hex(8)
    body = b"".join(
        f"--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n\r\n".encode() + value + b"\r\n"
        for _, disposition, value in parts
    )
    body += f"--{boundary}--\r\n".encode()
    host, port = stack.api_url.split("//")[1].split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request(
        "POST",
        path,
        body=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    answer = connection.getresponse()
    status, data = answer.status, json.loads(answer.read())
    connection.close()
    return status, data


def test_a_file_named_in_any_script_uploads_and_downloads_as_it_was(project_client):
    client, _ = project_client
    data = "大きな灯台の話。\n".encode() + secrets.token_bytes(256)
    large = secrets.token_bytes(MAX_REQUEST_FILE_BYTES + 1024)  # read through a link to S3

    created = client.files.create(file=("文件.txt", io.BytesIO(data)), purpose="assistants")
    upload = client.uploads.upload_file_chunked(
        file=large,
        filename="Ünïcødé 📄.bin",
        bytes=len(large),
        mime_type="text/plain",
        purpose="assistants",
        part_size=2 * 1024 * 1024,
    )
    raw = client.files.with_raw_response.content(created.id)
    linked = client.files.with_raw_response.content(upload.file.id)

    assert client.files.retrieve(created.id).filename == "文件.txt"
    assert client.files.content(created.id).read() == data
    assert raw.headers["content-disposition"] == (
        "attachment; filename=\"__.txt\"; filename*=UTF-8''%E6%96%87%E4%BB%B6.txt"
    )
    assert upload.file.filename == "Ünïcødé 📄.bin" and client.files.content(upload.file.id).read() == large
    assert linked.headers["content-disposition"] == (
        "attachment; filename=\"_n_c_d_ _.bin\"; filename*=UTF-8''%C3%9Cn%C3%AFc%C3%B8d%C3%A9%20%F0%9F%93%84.bin"
    )


@pytest.mark.parametrize(
    "disposition",
    [
        "filename*=UTF-8''notes%0D%0ASet-Cookie%3A%20session%3Dstolen.txt",  # RFC 2231, decoded by the parser
        'filename="tab\there.txt"',
        'filename="delete\x7f.txt"',
    ],
    ids=["crlf-encoded", "tab", "del"],
)
def test_a_file_name_with_control_characters_is_refused_where_files_are_sent(stack, project_client, disposition):
    client, _ = project_client

    status, answer = _post_form(
        stack,
        client.api_key,
        "/v1/files",
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


def test_a_form_of_thousands_of_fields_is_refused_whole(stack, project_client):
    client, _ = project_client
    fields = [(f"f{i}", f'name="f{i}"', b"x") for i in range(40_000)]  # a 2 MB form

    file = [("purpose", 'name="purpose"', b"assistants"), ("file", 'name="file"; filename="a.txt"', b"hello")]

    status, answer = _post_form(stack, client.api_key, "/v1/files", [*file, *fields])

    assert status == 400 and "more than 8 parts" in answer["error"]["message"]
    assert list(client.files.list()) == []
