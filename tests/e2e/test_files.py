"""Files and uploads through the unmodified openai SDK: stored in S3 under the project, listed, read back, deleted."""

from __future__ import annotations

import base64
import hashlib
import io
import secrets

import openai
import pytest

from threadrunner.domain.files import MAX_REQUEST_FILE_BYTES
from threadrunner.errors import NotFound


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


def test_a_completion_cut_off_before_its_write_leaves_the_upload_pending_and_can_be_repeated(project_client):
    """The joined file's record and the upload's ``completed`` are one transaction: no crash between them leaves
    an upload that names a missing file."""
    from threadrunner import bootstrap

    client, _ = project_client
    upload = client.uploads.create(bytes=10, filename="a.txt", mime_type="text/plain", purpose="assistants")
    part = client.uploads.parts.create(upload.id, data=b"0123456789")
    table = bootstrap._made("dynamodb")  # the client ApiFunction writes the table with
    writes: list[str] = []

    def crash_at_the_files_record(params, **_):
        items = params.get("TransactItems") or []
        if not writes and any(item.get("Put", {}).get("Item", {}).get("entity") == {"S": "file"} for item in items):
            writes.append("crashed")
            raise ConnectionError("the function died here")

    table.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", crash_at_the_files_record)
    try:
        with pytest.raises(openai.InternalServerError):
            client.uploads.complete(upload.id, part_ids=[part.id])
    finally:
        table.meta.events.unregister("before-parameter-build.dynamodb.TransactWriteItems", crash_at_the_files_record)
    completed = client.uploads.complete(upload.id, part_ids=[part.id])  # the client's retry

    assert writes == ["crashed"] and completed.status == "completed"
    assert [f.id for f in client.files.list()] == [completed.file.id]
    assert client.files.content(completed.file.id).read() == b"0123456789"


def test_an_expired_upload_takes_no_part_and_its_parts_bytes_are_deleted(stack, project_client):
    client, project = project_client
    upload = client.uploads.create(bytes=20, filename="a.txt", mime_type="text/plain", purpose="assistants")
    client.uploads.parts.create(upload.id, data=b"0123456789")
    stores = stack.stores(project)
    (location,) = [where for where, _ in stores.files.parts(upload.id).values()]
    bucket = stack.template.physical("FilesBucket")
    tags = stack.client("s3").get_object_tagging(Bucket=bucket, Key=location)["TagSet"]
    assert tags == [{"Key": "threadrunner", "Value": "upload-part"}]  # what the bucket's lifecycle rule deletes
    stack.client("dynamodb").update_item(  # an hour later
        TableName=stack.table_name,
        Key={"PK": {"S": f"P#{project}#UPLOADS"}, "SK": {"S": f"UPLOAD#{upload.id}"}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )

    with pytest.raises(openai.BadRequestError, match="expired"):
        client.uploads.parts.create(upload.id, data=b"abcdefghij")

    assert stores.files.get_upload(upload.id).status == "expired"
    with pytest.raises(NotFound):
        stack.file_contents().read(location)
    with pytest.raises(openai.BadRequestError, match="The upload is expired"):
        client.uploads.cancel(upload.id)
