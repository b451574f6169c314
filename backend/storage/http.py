"""HTTP helpers every domain uses to take in and hand out files.

``receive_upload`` reads a ``multipart/form-data`` body part by part and streams the file part into
the blob store (never buffering it, never trusting its filename or Content-Type); ``file_response``
streams a blob back as a download that no browser will render or cache.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import (
    BadContentDispositionHeader,
    BadContentDispositionParam,
    parse_content_disposition,
)

from backend.appkeys import BLOBS, SETTINGS
from backend.errors import (
    AppError,
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from backend.http import prepare_stream
from backend.storage.blobs import StoredBlob
from backend.storage.names import content_disposition, name_for_kind
from backend.storage.purposes import UploadRule
from backend.storage.sniff import FileKind

log = logging.getLogger("mobile_court.storage")

PART_CHUNK = 64 * 1024
MAX_PARTS = 16
MAX_TEXT_FIELD_BYTES = 1024
# Multipart framing (boundaries, part headers, small text fields) on top of the file itself.
FORM_OVERHEAD = 64 * 1024
_IDENTITY_ENCODINGS = frozenset({"", "binary", "8bit", "7bit", "identity"})
# What aiohttp raises on a broken body. Its Content-Disposition warnings are only exceptions
# when warnings are errors (as in the tests); otherwise the part arrives nameless and is refused.
_MALFORMED = (
    ValueError,
    AssertionError,
    HttpProcessingError,
    BadContentDispositionHeader,
    BadContentDispositionParam,
)


@dataclass(frozen=True, slots=True)
class Upload:
    blob: StoredBlob
    # Sanitised, with an extension matching the sniffed kind; a display label only.
    filename: str
    # Small text fields that came before the file part.
    fields: Mapping[str, str] = field(default_factory=dict)


def _field_error(name: str, message: str, kind: str) -> ValidationFailed:
    return ValidationFailed(
        f"{name}: {message}",
        errors=[{"location": "body", "field": name, "message": message, "type": kind}],
    )


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while True:
        try:
            chunk = await part.read_chunk(PART_CHUNK)
        except _MALFORMED as exc:
            raise BadRequest("malformed multipart body", code="malformed_multipart") from exc
        if not chunk:
            return
        yield chunk


async def _read_text(part: BodyPartReader, name: str) -> str:
    data = bytearray()
    async for chunk in _part_chunks(part):
        data += chunk
        if len(data) > MAX_TEXT_FIELD_BYTES:
            raise _field_error(name, f"longer than {MAX_TEXT_FIELD_BYTES} bytes", "too_long")
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise _field_error(name, "not UTF-8 text", "encoding") from None


def _part_names(part: BodyPartReader) -> tuple[str | None, str | None]:
    # aiohttp warns on a malformed Content-Disposition; such a part has no usable name and is
    # refused. (No await in here, so suppressing warnings cannot leak into another task.)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        name, filename = part.name, part.filename
        _, params = parse_content_disposition(part.headers.get("Content-Disposition"))
    if filename and "%" in filename and not any(k.startswith("filename*") for k in params):
        # Some clients (aiohttp's own FormData among them) percent-encode a plain filename=
        # instead of sending filename*=; browsers escape '"', CR and LF that way.
        try:
            filename = unquote(filename, errors="strict")
        except UnicodeDecodeError:
            pass
    return name, filename


async def read_upload(
    request: web.Request,
    *,
    rule: UploadRule | Callable[[Mapping[str, str]], UploadRule],
    field: str = "file",
    text_fields: Collection[str] = (),
    keep: bool = True,
) -> Upload:
    """Stream the ``field`` file part of a multipart request into the blob store (with
    ``keep=False`` only hash and type it: the returned blob is not stored).

    ``rule`` (allowed kinds and byte cap) may depend on the text fields sent before the file,
    e.g. a ``purpose``; the server-wide ``max_upload_bytes`` caps it. Any other part is refused.
    """
    ceiling = request.config_dict[SETTINGS].max_upload_bytes
    if request.content_type != "multipart/form-data":
        raise UnsupportedMediaType(f"send the file as multipart/form-data in the field {field!r}")
    early_cap = rule.max_bytes if isinstance(rule, UploadRule) else ceiling
    declared = request.content_length
    if declared is not None and declared > min(early_cap, ceiling) + FORM_OVERHEAD:
        raise PayloadTooLarge(
            f"the upload is larger than the {min(early_cap, ceiling)}-byte limit",
            extra={"max_bytes": min(early_cap, ceiling)},
        )
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError, KeyError) as exc:
        raise BadRequest("malformed multipart body", code="malformed_multipart") from exc

    fields: dict[str, str] = {}
    for _ in range(MAX_PARTS):
        try:
            part = await reader.next()
        except _MALFORMED as exc:
            raise BadRequest("malformed multipart body", code="malformed_multipart") from exc
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise UnsupportedMediaType("nested multipart bodies are not accepted")
        name, filename = _part_names(part)
        if name == field:
            encoding = part.headers.get("Content-Transfer-Encoding", "").strip().lower()
            if encoding not in _IDENTITY_ENCODINGS or part.headers.get("Content-Encoding"):
                raise UnsupportedMediaType("send the file part as plain binary, not encoded")
            current = rule(fields) if callable(rule) else rule
            store = request.config_dict[BLOBS]
            blob = await (store.put if keep else store.digest)(
                _part_chunks(part),
                max_bytes=min(current.max_bytes, ceiling),
                allowed=current.allowed,
            )
            # Whatever follows the file part is left unread; aiohttp discards it.
            return Upload(blob, name_for_kind(filename or "", blob.kind), fields)
        if name is None:
            raise BadRequest(
                "a form part has no valid Content-Disposition name", code="malformed_multipart"
            )
        if name not in text_fields:
            raise _field_error(name, "unexpected form field", "extra_forbidden")
        if name in fields:
            raise _field_error(name, "given more than once", "duplicate")
        fields[name] = await _read_text(part, name)
    else:
        raise BadRequest(f"more than {MAX_PARTS} form parts", code="too_many_parts")
    raise _field_error(
        field,
        f"a file is required (multipart field {field!r}, sent after any other fields)",
        "missing",
    )


async def receive_upload(
    request: web.Request,
    *,
    allowed: frozenset[FileKind],
    max_bytes: int,
    field: str = "file",
) -> tuple[StoredBlob, str]:
    """Stream the ``field`` file into the blob store: (blob, sanitised display filename).

    415 for a non-multipart request or a refused type, 413 past ``max_bytes`` (or the server-wide
    cap), 422 when the field is missing, empty or accompanied by unexpected fields.
    """
    upload = await read_upload(request, rule=UploadRule(allowed, max_bytes), field=field)
    return upload.blob, upload.filename


async def file_response(
    request: web.Request, blob: StoredBlob, filename: str
) -> web.StreamResponse:
    """Stream ``blob`` as an attachment named ``filename`` (re-sanitised to match its kind)."""
    store = request.config_dict[BLOBS]
    async with await store.open(blob.sha256) as reader:
        if reader.size != blob.size:
            log.error(
                "blob %s is %d bytes in storage, %d in the database",
                blob.sha256,
                reader.size,
                blob.size,
            )
            raise AppError("the stored file is damaged; quote the request id to support")
        response = web.StreamResponse(
            status=200,
            headers={
                "Content-Type": blob.media_type,
                "Content-Disposition": content_disposition(name_for_kind(filename, blob.kind)),
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store",
                # Should the file ever be opened in the browser anyway, it runs nothing.
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cross-Origin-Resource-Policy": "same-origin",
            },
        )
        response.content_length = reader.size
        await prepare_stream(request, response)
        if request.method == "HEAD":
            await response.write_eof()
            return response
        sent = 0
        try:
            async for chunk in reader:
                await response.write(chunk)
                sent += len(chunk)
        except ConnectionError:
            log.info("client left during the download of blob %s", blob.sha256)
            return response
        except Exception:
            # Headers are gone, so no problem response is possible: cut the connection, and the
            # client sees a body shorter than its Content-Length rather than a corrupt file.
            log.exception(
                "download of blob %s failed after %d of %d bytes", blob.sha256, sent, reader.size
            )
            response.force_close()
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
    return response
