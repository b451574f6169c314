"""What an upload is for, and what each purpose accepts: kinds (by magic bytes) and a byte cap.

The server-wide ``max_upload_bytes`` setting is a ceiling over every cap here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from backend.storage.sniff import AUDIO, DOCUMENTS, EVIDENCE, IMAGES, FileKind

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class UploadRule:
    allowed: frozenset[FileKind]
    max_bytes: int

    def capped(self, ceiling: int) -> UploadRule:
        return UploadRule(self.allowed, min(self.max_bytes, ceiling))


class Purpose(StrEnum):
    EVIDENCE = "evidence"  # 证据: documents, photos, video and audio recordings
    DOCUMENT = "document"  # 诉状、授权委托书…: PDF or a photo of the paper
    ID_DOCUMENT = "id_document"  # 身份证件照片
    VOICE = "voice"  # 语音留言 in asynchronous hearings and mediation


RULES: dict[Purpose, UploadRule] = {
    Purpose.EVIDENCE: UploadRule(EVIDENCE, 500 * MiB),
    Purpose.DOCUMENT: UploadRule(DOCUMENTS | IMAGES, 30 * MiB),
    Purpose.ID_DOCUMENT: UploadRule(IMAGES, 10 * MiB),
    Purpose.VOICE: UploadRule(AUDIO, 20 * MiB),
}
