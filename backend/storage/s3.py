"""The same blob store on an S3-compatible bucket (MinIO, Ceph RGW, OSS/COS S3 gateways, AWS).

An upload is first spooled to a local temp file while it is hashed, counted and sniffed, exactly as
for the local store; only a complete, allowed file is sent to the bucket, under key = its SHA-256,
with its sniffed media type. Small files go up in one PUT, larger ones as a multipart upload whose
parts are read from disk (and MD5-summed for the server to check) in the executor, so at most one
part is in memory per upload. Downloads stream the object body.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
from collections.abc import AsyncIterable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from backend.errors import ConfigurationError, NotFound
from backend.storage.blobs import (
    READ_CHUNK,
    BlobReader,
    BlobStore,
    StoredBlob,
    check_digest,
    prepare_temp_dir,
    remove_quietly,
    spool,
)
from backend.storage.sniff import FileKind

if TYPE_CHECKING:
    from backend.settings import Settings

PART_SIZE = 8 * 1024 * 1024  # S3 requires >= 5 MiB for every part but the last
_MISSING = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _read_part(path: Path, offset: int, length: int) -> tuple[bytes, str]:
    """A slice of the spooled file and its Content-MD5 (the integrity check every S3-compatible
    server understands)."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(length)
    md5 = hashlib.md5(data, usedforsecurity=False).digest()
    return data, base64.b64encode(md5).decode()


class _S3Reader(BlobReader):
    def __init__(self, body: Any, size: int, chunk_size: int) -> None:
        self._body = body
        self.size = size
        self._chunk_size = chunk_size
        self._closed = False

    async def __anext__(self) -> bytes:
        if self._closed:
            raise StopAsyncIteration
        chunk = cast(bytes, await self._body.read(self._chunk_size))
        if not chunk:
            await self.aclose()
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._body.close()


class S3BlobStore(BlobStore):
    def __init__(
        self,
        client: Any,
        bucket: str,
        tmp_dir: Path,
        stack: AsyncExitStack,
        *,
        part_size: int = PART_SIZE,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.tmp_dir = tmp_dir
        self.part_size = part_size
        self._stack = stack

    @classmethod
    async def connect(
        cls,
        *,
        bucket: str,
        tmp_dir: Path,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        create_bucket: bool = False,
        part_size: int = PART_SIZE,
    ) -> S3BlobStore:
        """Open a client and check the bucket is reachable (or create it, for development)."""
        # Path-style addressing: S3-compatible servers on a host:port rarely have bucket DNS.
        config = AioConfig(
            s3={"addressing_style": "path"} if endpoint_url else {},
            retries={"max_attempts": 3, "mode": "standard"},
            # botocore's default CRC checksums are refused by many S3-compatible servers;
            # every request that carries a body sends Content-MD5 instead.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            connect_timeout=5,
            read_timeout=60,
        )
        stack = AsyncExitStack()
        try:
            client = await stack.enter_async_context(
                get_session().create_client(
                    "s3",
                    endpoint_url=endpoint_url,
                    region_name=region,
                    aws_access_key_id=access_key,
                    aws_secret_access_key=secret_key,
                    config=config,
                )
            )
            try:
                await client.head_bucket(Bucket=bucket)
            except ClientError as exc:
                if _error_code(exc) not in _MISSING or not create_bucket:
                    raise ConfigurationError(
                        f"S3 bucket {bucket!r} is not usable: {_error_code(exc)}"
                    ) from exc
                await client.create_bucket(Bucket=bucket)
            await asyncio.get_running_loop().run_in_executor(None, prepare_temp_dir, tmp_dir)
        except BaseException:
            await stack.aclose()
            raise
        return cls(client, bucket, tmp_dir, stack, part_size=part_size)

    @classmethod
    async def from_settings(cls, settings: Settings) -> S3BlobStore:
        return await cls.connect(
            bucket=settings.s3_bucket,
            tmp_dir=settings.effective_blob_dir / "tmp",
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=settings.s3_access_key.get_secret_value()
            if settings.s3_access_key
            else None,
            secret_key=settings.s3_secret_key.get_secret_value()
            if settings.s3_secret_key
            else None,
        )

    async def close(self) -> None:
        await self._stack.aclose()

    async def put(
        self, chunks: AsyncIterable[bytes], *, max_bytes: int, allowed: frozenset[FileKind]
    ) -> StoredBlob:
        temp, blob = await spool(chunks, tmp_dir=self.tmp_dir, max_bytes=max_bytes, allowed=allowed)
        try:
            if not await self.exists(blob.sha256):
                if blob.size <= self.part_size:
                    await self._put_single(temp, blob)
                else:
                    await self._put_multipart(temp, blob)
        finally:
            remove_quietly(temp)
        return blob

    async def _read(self, path: Path, offset: int, length: int) -> tuple[bytes, str]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, _read_part, path, offset, length)

    async def _put_single(self, temp: Path, blob: StoredBlob) -> None:
        data, md5 = await self._read(temp, 0, blob.size)
        await self.client.put_object(
            Bucket=self.bucket,
            Key=blob.sha256,
            Body=data,
            ContentMD5=md5,
            ContentType=blob.media_type,
        )

    async def _put_multipart(self, temp: Path, blob: StoredBlob) -> None:
        created = await self.client.create_multipart_upload(
            Bucket=self.bucket, Key=blob.sha256, ContentType=blob.media_type
        )
        upload_id = created["UploadId"]
        parts: list[dict[str, Any]] = []
        try:
            for number, offset in enumerate(range(0, blob.size, self.part_size), start=1):
                data, md5 = await self._read(temp, offset, self.part_size)
                sent = await self.client.upload_part(
                    Bucket=self.bucket,
                    Key=blob.sha256,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=data,
                    ContentMD5=md5,
                )
                parts.append({"PartNumber": number, "ETag": sent["ETag"]})
            await self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=blob.sha256,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=blob.sha256, UploadId=upload_id
                )
            raise

    async def open(self, sha256: str) -> BlobReader:
        check_digest(sha256)
        try:
            response = await self.client.get_object(Bucket=self.bucket, Key=sha256)
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                raise NotFound("no such blob") from None
            raise
        return _S3Reader(response["Body"], int(response["ContentLength"]), READ_CHUNK)

    async def exists(self, sha256: str) -> bool:
        try:
            check_digest(sha256)
            await self.client.head_object(Bucket=self.bucket, Key=sha256)
        except NotFound:
            return False
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                return False
            raise
        return True

    async def delete(self, sha256: str) -> None:
        check_digest(sha256)
        await self.client.delete_object(Bucket=self.bucket, Key=sha256)
