"""``/v1/files`` and ``/v1/uploads``."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from ..app import files
from ..app.requests.files import UploadComplete, UploadCreate
from ..domain.files import FileObject, Upload, UploadPart, content_disposition
from . import multipart
from .dependencies import ContentsDep, JobsDep, StoresDep
from .params import Cursor, Limit, Order, page
from .wire import Deleted, ListObject

router = APIGatewayHttpRouter()


@router.post("/v1/files", summary="Upload a file (multipart: file, purpose)")
def create_file(stores: StoresDep, contents: ContentsDep) -> FileObject:
    fields = multipart.form(router.current_event)
    upload = multipart.required(fields, "file")
    purpose = multipart.required(fields, "purpose").text
    filename = (upload.filename or "file")[:512]
    return files.create_file(stores, contents, filename, purpose, upload.value)


@router.get("/v1/files", summary="List files")
def list_files(
    stores: StoresDep,
    purpose: Annotated[str | None, Query(max_length=32)] = None,
    limit: Limit = 20,
    order: Order = "desc",
    after: Cursor = None,
    before: Cursor = None,
) -> ListObject[FileObject]:
    kind = files.check_purpose(purpose, listed=True) if purpose else None
    return ListObject.of(stores.files.list_files(page(limit, order, after, before), kind))


@router.get("/v1/files/<file_id>", summary="Retrieve a file")
def retrieve_file(file_id: str, stores: StoresDep) -> FileObject:
    return stores.files.get_file(file_id)


@router.get(
    "/v1/files/<file_id>/content",
    summary="Retrieve a file's content",
    responses={200: {"description": "The file's bytes", "content": {"application/octet-stream": {}}}},
)
def file_content(file_id: str, stores: StoresDep, contents: ContentsDep):  # unannotated: else read as JSON
    file, data = files.content(stores, contents, file_id)
    if isinstance(data, str):  # larger than an answer carries: where to read it, for a few minutes
        return Response(status_code=307, headers={"Location": data}, body="")
    return Response(
        status_code=200,
        content_type="application/octet-stream",
        body=data,
        headers={"Content-Disposition": content_disposition(file.filename)},
    )


@router.delete("/v1/files/<file_id>", summary="Delete a file")
def delete_file(file_id: str, stores: StoresDep, contents: ContentsDep, jobs: JobsDep) -> Deleted:
    files.delete_file(stores, contents, jobs, file_id)
    return Deleted(id=file_id, object="file")


@router.post("/v1/uploads", summary="Create an upload")
def create_upload(body: Annotated[UploadCreate, Body()], stores: StoresDep) -> Upload:
    return files.create_upload(stores, body)


@router.post("/v1/uploads/<upload_id>/parts", summary="Add a part to an upload (multipart: data)")
def add_upload_part(upload_id: str, stores: StoresDep, contents: ContentsDep) -> UploadPart:
    data = multipart.required(multipart.form(router.current_event), "data").value
    return files.add_part(stores, contents, upload_id, data)


@router.post("/v1/uploads/<upload_id>/complete", summary="Complete an upload")
def complete_upload(
    upload_id: str, body: Annotated[UploadComplete, Body()], stores: StoresDep, contents: ContentsDep
) -> Upload:
    return files.complete_upload(stores, contents, upload_id, body)


@router.post("/v1/uploads/<upload_id>/cancel", summary="Cancel an upload")
def cancel_upload(upload_id: str, stores: StoresDep, contents: ContentsDep) -> Upload:
    return files.cancel_upload(stores, contents, upload_id)
