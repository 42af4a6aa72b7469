"""Files and uploads through the unmodified openai SDK: stored in S3 under the project, listed, read back, deleted."""

from __future__ import annotations

import base64
import hashlib
import io
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
