"""The S3 blob store against a real S3 server (moto in server mode on a free local port)."""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from moto.server import ThreadedMotoServer

from backend.appkeys import BLOBS, SETTINGS
from backend.auth.principal import Role
from backend.errors import ConfigurationError, NotFound, PayloadTooLarge, UnsupportedMediaType
from backend.storage.s3 import S3BlobStore
from backend.storage.sniff import EVIDENCE, IMAGES, FileKind
from tests.backend.test_storage import HTML, PDF, PNG, chunked, mp4, upload

MiB = 1024 * 1024
KEYS = {"access_key": "testing", "secret_key": "testing"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket() -> str:
    return f"mc-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def s3_store(s3_endpoint: str, bucket: str, tmp_path: Path) -> AsyncIterator[S3BlobStore]:
    store = await S3BlobStore.connect(
        bucket=bucket,
        tmp_dir=tmp_path / "tmp",
        endpoint_url=s3_endpoint,
        create_bucket=True,
        part_size=5 * MiB,
        **KEYS,
    )
    yield store
    await store.close()


async def keys_in(store: S3BlobStore) -> list[str]:
    listing = await store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


async def test_put_open_exists_delete(s3_store: S3BlobStore) -> None:
    blob = await s3_store.put(chunked(PDF, 10), max_bytes=MiB, allowed=EVIDENCE)
    assert blob.sha256 == hashlib.sha256(PDF).hexdigest() and blob.kind is FileKind.PDF
    assert await keys_in(s3_store) == [blob.sha256]
    head = await s3_store.client.head_object(Bucket=s3_store.bucket, Key=blob.sha256)
    assert head["ContentType"] == "application/pdf" and head["ContentLength"] == len(PDF)
    assert await s3_store.exists(blob.sha256)
    async with await s3_store.open(blob.sha256) as reader:
        assert reader.size == len(PDF)
        assert b"".join([c async for c in reader]) == PDF
    assert await s3_store.read_bytes(blob.sha256, max_bytes=MiB) == PDF
    await s3_store.delete(blob.sha256)
    assert not await s3_store.exists(blob.sha256)
    with pytest.raises(NotFound):
        await s3_store.open(blob.sha256)
    with pytest.raises(NotFound):
        await s3_store.open("../" + blob.sha256[3:])
    assert list(s3_store.tmp_dir.iterdir()) == []


async def test_same_content_is_uploaded_once(
    s3_store: S3BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real = s3_store.client.put_object

    async def counting(**kw: Any) -> Any:
        nonlocal calls
        calls += 1
        return await real(**kw)

    monkeypatch.setattr(s3_store.client, "put_object", counting)
    first = await s3_store.put(chunked(PNG), max_bytes=MiB, allowed=IMAGES)
    second = await s3_store.put_bytes(PNG, allowed=IMAGES)
    assert first == second and calls == 1
    assert await keys_in(s3_store) == [first.sha256]


async def test_large_blob_goes_up_in_parts_and_streams_back(s3_store: S3BlobStore) -> None:
    content = mp4(os.urandom(11 * MiB + 123))
    blob = await s3_store.put(chunked(content), max_bytes=20 * MiB, allowed=EVIDENCE)
    assert blob.kind is FileKind.MP4 and blob.size == len(content)
    head = await s3_store.client.head_object(Bucket=s3_store.bucket, Key=blob.sha256)
    assert head["ContentType"] == "video/mp4"
    assert head["ETag"].strip('"').endswith("-3")  # three parts
    digest, chunks, largest = hashlib.sha256(), 0, 0
    async with await s3_store.open(blob.sha256) as reader:
        async for chunk in reader:
            digest.update(chunk)
            chunks += 1
            largest = max(largest, len(chunk))
    assert digest.hexdigest() == blob.sha256
    assert chunks > 1 and largest <= 256 * 1024


async def test_refused_uploads_leave_no_object_and_no_temp(s3_store: S3BlobStore) -> None:
    with pytest.raises(PayloadTooLarge):
        await s3_store.put(chunked(PDF + bytes(100_000), 1000), max_bytes=50_000, allowed=EVIDENCE)
    with pytest.raises(UnsupportedMediaType):
        await s3_store.put(chunked(HTML), max_bytes=MiB, allowed=EVIDENCE)
    with pytest.raises(UnsupportedMediaType):
        await s3_store.put(chunked(PDF), max_bytes=MiB, allowed=IMAGES)
    assert await keys_in(s3_store) == []
    assert list(s3_store.tmp_dir.iterdir()) == []


async def test_missing_bucket_is_a_configuration_error(s3_endpoint: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        await S3BlobStore.connect(
            bucket="no-such-bucket-here", tmp_dir=tmp_path, endpoint_url=s3_endpoint, **KEYS
        )


@pytest.fixture
async def settings(
    settings_factory: Callable[..., Any], s3_endpoint: str, bucket: str, tmp_path: Path
) -> Any:
    store = await S3BlobStore.connect(
        bucket=bucket,
        tmp_dir=tmp_path / "setup",
        endpoint_url=s3_endpoint,
        create_bucket=True,
        **KEYS,
    )
    await store.close()
    return settings_factory(
        blob_backend="s3",
        s3_endpoint_url=s3_endpoint,
        s3_bucket=bucket,
        s3_access_key="testing",
        s3_secret_key="testing",
    )


async def test_http_upload_and_download_through_s3(
    client: Any, accounts: Any, app: web.Application
) -> None:
    store = app[BLOBS]
    assert isinstance(store, S3BlobStore)
    _, headers = await accounts.headers(Role.LITIGANT)
    resp = await upload(client, headers, PDF, "答辩状.pdf")
    assert resp.status == 201, await resp.text()
    out = await resp.json()
    assert await keys_in(store) == [out["sha256"]]
    resp = await client.get(f"/api/v1/files/{out['id']}/content", headers=headers)
    assert resp.status == 200
    assert await resp.read() == PDF
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="file.pdf"; ')
    # Locally there is only the (empty) spool directory.
    local = [p for p in app[SETTINGS].effective_blob_dir.rglob("*") if p.is_file()]
    assert local == []
    resp = await upload(client, headers, HTML, "x.pdf")
    assert resp.status == 415
    assert await keys_in(store) == [out["sha256"]]
