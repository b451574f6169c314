"""/api/v1/files/: upload a file for a purpose, read its metadata, download it (owner only).

Domains that attach files to cases use the helpers in ``backend.storage.http`` and
``backend.storage.service`` under their own routes and authorisation; these routes serve the
uploader's own files.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT
from backend.errors import ValidationFailed
from backend.http import endpoint, json_response, request_actor, require_principal
from backend.storage.http import file_response, read_upload
from backend.storage.purposes import RULES, Purpose, UploadRule
from backend.storage.schemas import UPLOAD_FORM, FileOut, UploadQuery
from backend.storage.service import get_file, register_file

routes = web.RouteTableDef()
TAGS = ("files",)


UPLOAD_DESCRIPTION = (
    "The type is decided from the file's bytes against the purpose's allowlist ("
    + "; ".join(
        f"{p.value}: {', '.join(sorted(k.value for k in RULES[p].allowed))}" for p in Purpose
    )
    + "), up to the purpose's size cap and the server-wide upload limit. The filename is kept "
    "only as a sanitised label; the storage name is the content's SHA-256."
)


def _purpose_error(message: str) -> ValidationFailed:
    return ValidationFailed(
        f"purpose: {message}",
        errors=[{"location": "body", "field": "purpose", "message": message, "type": "purpose"}],
    )


@routes.post("")
@endpoint(
    "Upload a file (multipart/form-data) for a purpose",
    description=UPLOAD_DESCRIPTION,
    query=UploadQuery,
    response=FileOut,
    status=201,
    tags=TAGS,
    request_content={"multipart/form-data": UPLOAD_FORM},
    errors=(413, 415),
)
async def upload(request: web.Request, *, query: UploadQuery) -> web.Response:
    principal = require_principal(request)
    chosen: list[Purpose] = []

    def rule(fields: Mapping[str, str]) -> UploadRule:
        raw = fields.get("purpose")
        try:
            from_form = Purpose(raw) if raw is not None else None
        except ValueError:
            raise _purpose_error(f"must be one of {', '.join(Purpose)}") from None
        if query.purpose and from_form and query.purpose is not from_form:
            raise _purpose_error("differs between the query string and the form")
        purpose = query.purpose or from_form
        if purpose is None:
            raise _purpose_error("required, in the query string or as a form field before the file")
        chosen.append(purpose)
        return RULES[purpose]

    received = await read_upload(request, rule=rule, text_fields=("purpose",))
    purpose = chosen[-1]
    blob = received.blob
    async with in_transaction() as conn:
        stored = await register_file(
            conn,
            blob=blob,
            original_name=received.filename,
            purpose=purpose.value,
            owner_account_id=principal.account_id,
        )
        await request.config_dict[AUDIT].record(
            conn,
            request_actor(request),
            "file.uploaded",
            "file",
            str(stored.id),
            {
                "sha256": blob.sha256,
                "size": blob.size,
                "purpose": purpose.value,
                "media_type": blob.media_type,
            },
        )
    response = json_response(FileOut.of(stored), status=201)
    response.headers["Location"] = f"{request.path.rstrip('/')}/{stored.id}"
    return response


@routes.get("/{file_id}")
@endpoint("One of your files: type, size, digest, name", response=FileOut, tags=TAGS, errors=(404,))
async def metadata(request: web.Request) -> FileOut:
    principal = require_principal(request)
    stored = await get_file(request.match_info["file_id"], owner_account_id=principal.account_id)
    return FileOut.of(stored)


@routes.get("/{file_id}/content")
@endpoint(
    "Download one of your files (an attachment; never rendered inline)",
    tags=TAGS,
    errors=(404,),
    response_content={
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
    },
)
async def content(request: web.Request) -> web.StreamResponse:
    principal = require_principal(request)
    stored = await get_file(request.match_info["file_id"], owner_account_id=principal.account_id)
    return await file_response(request, stored.blob.as_stored(), stored.original_name)


def create_app() -> web.Application:
    app = web.Application()
    app.add_routes(routes)
    return app
