"""Request and response shapes of /api/v1/files/."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from backend.schemas import Input, Output
from backend.storage.models import StoredFile
from backend.storage.purposes import Purpose
from backend.storage.sniff import FileKind


class UploadQuery(Input):
    purpose: Purpose | None = Field(
        default=None,
        description="what the file is for; decides the accepted types and size. May instead be "
        "sent as a form field before the file",
    )


class FileOut(Output):
    id: UUID
    sha256: str = Field(description="SHA-256 of the content, lower-case hex")
    size: int = Field(description="bytes")
    media_type: str = Field(description="from the file's content, not from what the client said")
    kind: FileKind
    original_name: str = Field(description="the client's filename, sanitised; a label only")
    purpose: str
    created_at: datetime

    @classmethod
    def of(cls, stored: StoredFile) -> FileOut:
        blob = stored.blob
        return cls(
            id=stored.id,
            sha256=blob.sha256,
            size=blob.size,
            media_type=blob.media_type,
            kind=FileKind(blob.kind),
            original_name=stored.original_name,
            purpose=stored.purpose,
            created_at=stored.created_at,
        )


UPLOAD_FORM: dict[str, Any] = {
    "schema": {
        "type": "object",
        "required": ["file"],
        "properties": {
            "purpose": {
                "type": "string",
                "enum": [p.value for p in Purpose],
                "description": "if not in the query string; must precede the file",
            },
            "file": {
                "type": "string",
                "format": "binary",
                "description": "the file, as the last part",
            },
        },
    },
    "encoding": {"file": {"contentType": "application/octet-stream"}},
}
