"""File records: register a stored blob as an owned, named file; look files up.

Domains call these inside their own transaction (``conn``), next to their audit event and the row
that links the file to a case, a hearing or a person.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.errors import NotFound
from backend.storage.blobs import StoredBlob
from backend.storage.models import Blob, StoredFile
from backend.storage.names import name_for_kind


async def register_file(
    conn: BaseDBAsyncClient,
    *,
    blob: StoredBlob,
    original_name: str,
    purpose: str,
    owner_account_id: UUID,
) -> StoredFile:
    """A new file handle on ``blob`` (its metadata row is created once per content)."""
    row, _ = await Blob.get_or_create(
        sha256=blob.sha256,
        defaults={"size": blob.size, "kind": blob.kind.value, "media_type": blob.media_type},
        using_db=conn,
    )
    stored = await StoredFile.create(
        id=uuid4(),
        blob=row,
        original_name=name_for_kind(original_name, blob.kind),
        purpose=purpose,
        owner_account_id=owner_account_id,
        using_db=conn,
    )
    return stored


async def get_file(
    file_id: UUID | str,
    *,
    owner_account_id: UUID | None = None,
    conn: BaseDBAsyncClient | None = None,
) -> StoredFile:
    """The file with its blob; NotFound when absent or (if given) owned by someone else.

    Both cases look the same to the caller, so a file id is no existence oracle.
    """
    try:
        key = file_id if isinstance(file_id, UUID) else UUID(file_id)
    except ValueError:
        raise NotFound("no such file") from None
    query = StoredFile.filter(id=key).select_related("blob")
    if conn is not None:
        query = query.using_db(conn)
    stored = await query.first()
    if stored is None or (
        owner_account_id is not None and stored.owner_account_id != owner_account_id
    ):
        raise NotFound("no such file")
    return stored
