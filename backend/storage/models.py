"""Blob metadata and the owned, named file handles other domains link to."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from backend.storage.blobs import StoredBlob
from backend.storage.sniff import FileKind


class Blob(Model):
    # One row per distinct content; the bytes live in the blob store under the same digest.

    sha256 = fields.CharField(max_length=64, primary_key=True)
    size = fields.BigIntField()
    # A FileKind value; a plain string so the migration does not import the enum.
    kind = fields.CharField(max_length=16)
    media_type = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    files: fields.ReverseRelation[StoredFile]

    class Meta:
        table = "blob"

    def as_stored(self) -> StoredBlob:
        return StoredBlob(self.sha256, self.size, FileKind(self.kind))


class StoredFile(Model):
    # An upload as its owner sees it: a server-chosen id, a display name and what it is for.
    # Domains (evidence, documents, ID photos) reference this row, never a blob or a path.

    id = fields.UUIDField(primary_key=True)
    blob: fields.ForeignKeyRelation[Blob] = fields.ForeignKeyField(
        "blobs.Blob", related_name="files", on_delete=fields.RESTRICT
    )
    # Sanitised client filename, for display and Content-Disposition only.
    original_name = fields.CharField(max_length=255)
    purpose = fields.CharField(max_length=32, db_index=True)
    owner_account_id = fields.UUIDField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stored_file"
