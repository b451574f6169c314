"""Content-addressed blob storage: the bytes of every upload, named by their SHA-256.

``put`` consumes an async iterator of chunks, so an upload is never held in memory whole: chunks are
written in bounded batches to a temp file (created next to the blobs, so the final rename is atomic)
while being hashed, counted against a byte cap and sniffed from their first bytes. Only a complete,
allowed, fsynced file is renamed into ``<dir>/<sha[:2]>/<sha>``; anything else leaves no trace. The
same content uploaded twice is one blob.

Blocking file work (writes, hashing of batches, fsync, renames) runs in the default executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, TypeVar

from backend.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from backend.storage.sniff import SNIFF_BYTES, FileKind, sniff

if TYPE_CHECKING:
    from backend.settings import Settings

log = logging.getLogger("mobile_court.storage")

WRITE_BATCH = 1024 * 1024  # bytes gathered before one executor write: bounds memory per upload
READ_CHUNK = 256 * 1024
TEMP_SUFFIX = ".part"
STALE_TEMP_S = 24 * 3600  # temp files older than this belong to a dead process
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StoredBlob:
    sha256: str
    size: int
    kind: FileKind

    @property
    def media_type(self) -> str:
        return self.kind.media_type


def check_digest(sha256: str) -> str:
    """A well-formed lower-case hex SHA-256, or NotFound: a digest is never a path fragment."""
    if not _SHA256.fullmatch(sha256):
        raise NotFound("no such blob")
    return sha256


async def _blocking(func: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


class BlobReader(ABC):
    """An open blob: ``size`` is known before the first chunk, so headers can be sent first."""

    size: int

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    @abstractmethod
    async def __anext__(self) -> bytes: ...

    @abstractmethod
    async def aclose(self) -> None: ...

    async def __aenter__(self) -> BlobReader:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class BlobStore(ABC):
    """Where blob bytes live. Metadata (``Blob``/``StoredFile`` rows) is the caller's business."""

    tmp_dir: Path

    @abstractmethod
    async def put(
        self, chunks: AsyncIterable[bytes], *, max_bytes: int, allowed: frozenset[FileKind]
    ) -> StoredBlob:
        """Store a stream. Raises PayloadTooLarge past ``max_bytes``, UnsupportedMediaType when
        the sniffed kind is not in ``allowed``, ValidationFailed when empty."""

    @abstractmethod
    async def open(self, sha256: str) -> BlobReader:
        """A chunked reader (use ``async with``); NotFound if the blob is absent."""

    @abstractmethod
    async def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    async def delete(self, sha256: str) -> None:
        """Remove a blob; absent is fine. Callers must know no StoredFile refers to it."""

    async def close(self) -> None:
        return None

    async def put_bytes(
        self, data: bytes, *, allowed: frozenset[FileKind], max_bytes: int | None = None
    ) -> StoredBlob:
        """Store bytes the server produced (a rendered PDF, a recording segment)."""

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), WRITE_BATCH):
                yield data[start : start + WRITE_BATCH]

        return await self.put(chunks(), max_bytes=max_bytes or len(data), allowed=allowed)

    async def digest(
        self, chunks: AsyncIterable[bytes], *, max_bytes: int, allowed: frozenset[FileKind]
    ) -> StoredBlob:
        """What ``put`` would store — same cap, type check and SHA-256 — keeping nothing (a file
        a party holds, checked against the record)."""
        temp, blob = await spool(chunks, tmp_dir=self.tmp_dir, max_bytes=max_bytes, allowed=allowed)
        remove_quietly(temp)
        return blob

    async def read_bytes(self, sha256: str, *, max_bytes: int) -> bytes:
        """The whole blob in memory, for small files a service must process (an ID photo)."""
        async with await self.open(sha256) as reader:
            if reader.size > max_bytes:
                raise PayloadTooLarge(f"stored file is larger than {max_bytes} bytes")
            parts = [chunk async for chunk in reader]
        return b"".join(parts)


def _check_kind(head: bytes, allowed: frozenset[FileKind]) -> FileKind:
    kind = sniff(head)
    if kind is None:
        raise UnsupportedMediaType(
            "the file's content is not a recognised format",
            code="unrecognised_file_type",
            extra={"allowed": sorted(k.media_type for k in allowed)},
        )
    if kind not in allowed:
        raise UnsupportedMediaType(
            f"{kind.media_type} is not accepted here",
            code="file_type_not_allowed",
            extra={"detected": kind.media_type, "allowed": sorted(k.media_type for k in allowed)},
        )
    return kind


def _create_temp(tmp_dir: Path) -> tuple[Path, IO[bytes]]:
    path = tmp_dir / f"{secrets.token_hex(16)}{TEMP_SUFFIX}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    return path, os.fdopen(fd, "wb")


def _write_batch(fh: IO[bytes], digest: Any, batch: list[bytes]) -> None:
    for chunk in batch:
        digest.update(chunk)
        fh.write(chunk)


def _finish_temp(fh: IO[bytes]) -> None:
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _discard_temp(path: Path, fh: IO[bytes]) -> None:
    with contextlib.suppress(OSError):
        fh.close()
    remove_quietly(path)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def spool(
    chunks: AsyncIterable[bytes],
    *,
    tmp_dir: Path,
    max_bytes: int,
    allowed: frozenset[FileKind],
) -> tuple[Path, StoredBlob]:
    """Stream ``chunks`` into a fsynced temp file in ``tmp_dir``; the caller moves or removes it.

    The type is checked as soon as SNIFF_BYTES have arrived, so a refused upload stops early.
    """
    path, fh = await _blocking(_create_temp, tmp_dir)
    digest = hashlib.sha256()
    size = 0
    head = bytearray()
    kind: FileKind | None = None
    batch: list[bytes] = []
    batched = 0
    done = False
    try:
        async for chunk in chunks:
            if not chunk:
                continue
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(
                    f"the file is larger than the {max_bytes}-byte limit",
                    extra={"max_bytes": max_bytes},
                )
            if kind is None:
                head += chunk[: SNIFF_BYTES - len(head)]
                if len(head) >= SNIFF_BYTES:
                    kind = _check_kind(bytes(head), allowed)
            batch.append(bytes(chunk))
            batched += len(chunk)
            if batched >= WRITE_BATCH:
                await _blocking(_write_batch, fh, digest, batch)
                batch, batched = [], 0
        if size == 0:
            raise ValidationFailed("the file is empty", code="empty_file")
        if kind is None:
            kind = _check_kind(bytes(head), allowed)
        if batch:
            await _blocking(_write_batch, fh, digest, batch)
        await _blocking(_finish_temp, fh)
        done = True
    finally:
        if not done:
            # Synchronous on purpose: this also runs when the task is being cancelled (client
            # went away), and an unlink is a single metadata operation.
            _discard_temp(path, fh)
    return path, StoredBlob(digest.hexdigest(), size, kind)


class _FileReader(BlobReader):
    def __init__(self, fh: IO[bytes], size: int, chunk_size: int) -> None:
        self._fh = fh
        self.size = size
        self._chunk_size = chunk_size

    async def __anext__(self) -> bytes:
        if self._fh.closed:
            raise StopAsyncIteration
        chunk = await _blocking(self._fh.read, self._chunk_size)
        if not chunk:
            await self.aclose()
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        self._fh.close()


class LocalBlobStore(BlobStore):
    """Blobs as files under ``root``: ``<root>/<sha[:2]>/<sha>``, temp files in ``<root>/tmp``."""

    def __init__(self, root: Path, *, read_chunk: int = READ_CHUNK) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.read_chunk = read_chunk

    @classmethod
    async def create(cls, root: Path) -> LocalBlobStore:
        store = cls(await _blocking(root.resolve))
        await _blocking(prepare_temp_dir, store.tmp_dir)
        return store

    def path_of(self, sha256: str) -> Path:
        check_digest(sha256)
        return self.root / sha256[:2] / sha256

    async def put(
        self, chunks: AsyncIterable[bytes], *, max_bytes: int, allowed: frozenset[FileKind]
    ) -> StoredBlob:
        temp, blob = await spool(chunks, tmp_dir=self.tmp_dir, max_bytes=max_bytes, allowed=allowed)
        try:
            await _blocking(self._commit, temp, blob)
        except BaseException:
            remove_quietly(temp)
            raise
        return blob

    def _commit(self, temp: Path, blob: StoredBlob) -> None:
        target = self.path_of(blob.sha256)
        shard = target.parent
        created = not shard.exists()
        shard.mkdir(mode=0o700, exist_ok=True)
        try:
            existing = target.stat().st_size
        except FileNotFoundError:
            existing = None
        if existing == blob.size:
            temp.unlink()  # already stored: content addressing makes this the same blob
            return
        os.replace(temp, target)
        fsync_dir(shard)
        if created:
            fsync_dir(self.root)

    async def open(self, sha256: str) -> BlobReader:
        path = self.path_of(sha256)

        def _open() -> tuple[IO[bytes], int]:
            fh = open(path, "rb")  # closed by the reader
            return fh, os.fstat(fh.fileno()).st_size

        try:
            fh, size = await _blocking(_open)
        except FileNotFoundError:
            raise NotFound("no such blob") from None
        return _FileReader(fh, size, self.read_chunk)

    async def exists(self, sha256: str) -> bool:
        try:
            path = self.path_of(sha256)
        except NotFound:
            return False
        return await _blocking(path.is_file)

    async def delete(self, sha256: str) -> None:
        path = self.path_of(sha256)

        def _delete() -> None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                fsync_dir(path.parent)

        await _blocking(_delete)


def prepare_temp_dir(tmp_dir: Path) -> None:
    """Create the temp directory and clear what a crashed process left behind."""
    tmp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    cutoff = time.time() - STALE_TEMP_S
    for leftover in tmp_dir.glob(f"*{TEMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
                log.warning("removed stale upload temp file %s", leftover.name)


async def create_blob_store(settings: Settings) -> BlobStore:
    """The configured store: local files by default, an S3-compatible bucket for deployments."""
    if settings.blob_backend == "s3":
        from backend.storage.s3 import S3BlobStore

        return await S3BlobStore.from_settings(settings)
    return await LocalBlobStore.create(settings.effective_blob_dir)
