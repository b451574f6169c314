"""Placeholder blob store; replaced by the streaming content-addressed store."""

from __future__ import annotations

from typing import Any


class BlobStore:
    async def close(self) -> None:
        return None


async def create_blob_store(settings: Any) -> BlobStore:
    return BlobStore()
