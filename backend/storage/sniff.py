"""What a file is, decided from its first bytes: never from the client's filename or Content-Type.

Only the formats a court accepts are recognised; everything else (HTML, scripts, executables,
archives, Office files, SVG, HEIC, QuickTime, Matroska …) sniffs as ``None`` and is refused. The
checks are strict about where the signature sits: a PDF must *start* with ``%PDF-``, although
readers accept it anywhere in the first KiB, so an HTML page with a PDF header further down is
refused rather than stored as a PDF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# Every signature below lies within the first SNIFF_BYTES; a shorter file is sniffed as it is.
SNIFF_BYTES = 512


@dataclass(frozen=True, slots=True)
class _KindInfo:
    media_type: str
    extension: str
    aliases: tuple[str, ...] = ()


class FileKind(StrEnum):
    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"
    MP4 = "mp4"
    WEBM = "webm"
    MP3 = "mp3"
    WAV = "wav"
    OGG = "ogg"
    M4A = "m4a"
    AAC = "aac"
    AMR = "amr"
    AMR_WB = "amr_wb"

    @property
    def media_type(self) -> str:
        return _INFO[self].media_type

    @property
    def extension(self) -> str:
        """The canonical extension, with its dot (``.pdf``)."""
        return _INFO[self].extension

    @property
    def extensions(self) -> tuple[str, ...]:
        """Every extension a file of this kind may carry, lower case, with the dot."""
        info = _INFO[self]
        return (info.extension, *info.aliases)


_INFO: dict[FileKind, _KindInfo] = {
    FileKind.PDF: _KindInfo("application/pdf", ".pdf"),
    FileKind.JPEG: _KindInfo("image/jpeg", ".jpg", (".jpeg", ".jpe")),
    FileKind.PNG: _KindInfo("image/png", ".png"),
    FileKind.MP4: _KindInfo("video/mp4", ".mp4", (".m4v",)),
    FileKind.WEBM: _KindInfo("video/webm", ".webm"),
    FileKind.MP3: _KindInfo("audio/mpeg", ".mp3"),
    FileKind.WAV: _KindInfo("audio/wav", ".wav"),
    FileKind.OGG: _KindInfo("audio/ogg", ".ogg", (".oga", ".opus")),
    FileKind.M4A: _KindInfo("audio/mp4", ".m4a"),
    FileKind.AAC: _KindInfo("audio/aac", ".aac"),
    FileKind.AMR: _KindInfo("audio/amr", ".amr"),
    FileKind.AMR_WB: _KindInfo("audio/amr-wb", ".awb"),
}

# Per-use allowlists; callers pass one of these (or their own frozenset) to the store.
IMAGES: frozenset[FileKind] = frozenset({FileKind.JPEG, FileKind.PNG})
DOCUMENTS: frozenset[FileKind] = frozenset({FileKind.PDF})
VIDEO: frozenset[FileKind] = frozenset({FileKind.MP4, FileKind.WEBM})
AUDIO: frozenset[FileKind] = frozenset(
    {
        FileKind.MP3,
        FileKind.WAV,
        FileKind.OGG,
        FileKind.M4A,
        FileKind.AAC,
        FileKind.AMR,
        FileKind.AMR_WB,
    }
)
EVIDENCE: frozenset[FileKind] = DOCUMENTS | IMAGES | VIDEO | AUDIO
ALL_KINDS: frozenset[FileKind] = frozenset(FileKind)

_PDF = re.compile(rb"%PDF-[12]\.\d")
_PNG = b"\x89PNG\r\n\x1a\n"
_EBML = b"\x1a\x45\xdf\xa3"
# ISO base media (ftyp) brands. QuickTime ('qt  '), 3GPP and HEIF brands are deliberately absent.
_MP4_BRANDS = frozenset(
    {
        b"isom",
        b"iso2",
        b"iso3",
        b"iso4",
        b"iso5",
        b"iso6",
        b"mp41",
        b"mp42",
        b"avc1",
        b"M4V ",
        b"M4VH",
        b"M4VP",
        b"dash",
        b"mmp4",
        b"MSNV",
    }
)
_M4A_BRANDS = frozenset({b"M4A ", b"M4B "})


def sniff(head: bytes) -> FileKind | None:
    """The kind of a file whose first bytes are ``head`` (pass at least SNIFF_BYTES if it has)."""
    if _PDF.match(head):
        return FileKind.PDF
    if head.startswith(b"\xff\xd8\xff"):
        return FileKind.JPEG
    if head.startswith(_PNG) and head[12:16] == b"IHDR":
        return FileKind.PNG
    if head[4:8] == b"ftyp":
        return _iso_bmff(head)
    if head.startswith(_EBML):
        return FileKind.WEBM if _ebml_doctype(head) == b"webm" else None
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return FileKind.WAV
    if head.startswith(b"OggS\x00"):
        return FileKind.OGG
    if head.startswith(b"#!AMR\n"):
        return FileKind.AMR
    if head.startswith(b"#!AMR-WB\n"):
        return FileKind.AMR_WB
    if _id3(head) or _mpeg_layer3_frame(head):
        return FileKind.MP3
    if _adts_frame(head):
        return FileKind.AAC
    return None


def _iso_bmff(head: bytes) -> FileKind | None:
    box_size = int.from_bytes(head[0:4], "big")
    if box_size < 16 or box_size % 4:
        return None
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
    if major in _M4A_BRANDS:
        return FileKind.M4A
    if major in _MP4_BRANDS:
        return FileKind.MP4
    if major == b"qt  ":
        return None
    if compatible & _M4A_BRANDS:
        return FileKind.M4A
    if compatible & _MP4_BRANDS:
        return FileKind.MP4
    return None


def _ebml_doctype(head: bytes) -> bytes | None:
    """The DocType element of an EBML header ("webm" or "matroska")."""
    at = head.find(b"\x42\x82", 4, 128)
    if at < 0 or at + 2 >= len(head):
        return None
    first = head[at + 2]
    length, mask = 1, 0x80
    while length <= 8 and not first & mask:
        mask >>= 1
        length += 1
    if length > 8:
        return None
    size = first & (mask - 1)
    for byte in head[at + 3 : at + 2 + length]:
        size = size << 8 | byte
    start = at + 2 + length
    return head[start : start + size]


def _id3(head: bytes) -> bool:
    # "ID3", major version 2-4, then a four-byte size whose bytes each have the top bit clear.
    return (
        len(head) >= 10
        and head.startswith(b"ID3")
        and head[3] in (2, 3, 4)
        and all(b < 0x80 for b in head[6:10])
    )


def _mpeg_layer3_frame(head: bytes) -> bool:
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    bitrate = head[2] >> 4
    sample_rate = (head[2] >> 2) & 0b11
    return version != 0b01 and layer == 0b01 and bitrate not in (0, 15) and sample_rate != 0b11


def _adts_frame(head: bytes) -> bool:
    # 12-bit sync, layer 00; sampling-frequency index 13-15 is reserved.
    return (
        len(head) >= 7 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0 and (head[2] >> 2) & 0x0F < 13
    )
