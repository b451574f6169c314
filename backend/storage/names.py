"""Client-supplied filenames: kept only as a display label, never used to store or type a file.

A name is reduced to its last path component, stripped of control and formatting characters
(including the bidi overrides that make ``exe.pdf`` display as ``fdp.exe``), bounded in length, and
given an extension that matches the sniffed kind, so a saved download never opens in a program other
than the one its bytes are for.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from backend.storage.sniff import FileKind

MAX_NAME_CHARS = 100
MAX_NAME_BYTES = 240  # UTF-8; file systems allow 255
DEFAULT_STEM = "file"

_UNSAFE = re.compile(r'[<>:"/\\|?*]')
_SPACES = re.compile(r"\s+")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}$")
_WINDOWS_RESERVED = frozenset(
    {
        "CON",
        "PRN",
        "AUX",
        "NUL",
        *(f"COM{i}" for i in range(1, 10)),
        *(f"LPT{i}" for i in range(1, 10)),
    }
)
# RFC 5987 attr-char minus ALPHA / DIGIT, which quote() never escapes.
_ATTR_CHARS = "!#$&+-.^_`|~"
_FALLBACK_UNSAFE = re.compile(r"[^A-Za-z0-9._()\- ]+")


def _visible(ch: str) -> bool:
    # Drops Cc (controls, NUL, CR/LF), Cf (bidi overrides, zero-width), Cs, Co, Cn and the
    # line/paragraph separators.
    category = unicodedata.category(ch)
    return category[0] != "C" and category not in ("Zl", "Zp")


def _split_extension(name: str) -> tuple[str, str]:
    match = _EXTENSION.search(name)
    if match is None or match.start() == 0:
        return name, ""
    return name[: match.start()], match.group()


def _bounded(stem: str, extension: str) -> str:
    stem = stem[: MAX_NAME_CHARS - len(extension)]
    while stem and len((stem + extension).encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem.rstrip(" .") + extension


def sanitise_filename(raw: str | None) -> str:
    """A safe display name from what the client sent; "" when nothing usable is left."""
    if not raw:
        return ""
    name = unicodedata.normalize("NFC", raw)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        " " if ch in "\t\n\r\v\f" else ch for ch in name if _visible(ch) or ch in "\t\n\r\v\f"
    )
    name = _UNSAFE.sub("_", name)
    name = _SPACES.sub(" ", name).strip(" .")
    stem, extension = _split_extension(name)
    if len(extension) >= MAX_NAME_CHARS:
        stem, extension = name, ""
    return _bounded(stem, extension).strip(" .")


def name_for_kind(name: str, kind: FileKind) -> str:
    """``name`` sanitised, with an extension the sniffed ``kind`` allows (appended if needed)."""
    name = sanitise_filename(name)
    _, extension = _split_extension(name)
    if not name:
        stem, extension = DEFAULT_STEM, ""
    elif extension.lower() in kind.extensions:
        stem = name[: len(name) - len(extension)]
    else:
        # Appended, not replaced: "report.v2" stays recognisable as "report.v2.pdf".
        stem, extension = name, ""
    if stem.split(".", 1)[0].strip().upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    return _bounded(stem, extension or kind.extension)


def ascii_fallback(name: str) -> str:
    """The plain ASCII ``filename=`` for clients that ignore ``filename*``."""
    stem, extension = _split_extension(name)
    decomposed = unicodedata.normalize("NFKD", stem)
    stem = _FALLBACK_UNSAFE.sub("_", decomposed.encode("ascii", "ignore").decode("ascii"))
    stem = stem.strip(" ._")
    if not any(ch.isalnum() for ch in stem):
        stem = DEFAULT_STEM
    return (stem[:MAX_NAME_CHARS] + extension).replace('"', "_")


def content_disposition(name: str, *, disposition: str = "attachment") -> str:
    """An RFC 6266 header value with an RFC 5987 UTF-8 name; Chinese names survive intact."""
    encoded = quote(name, safe=_ATTR_CHARS, encoding="utf-8")
    return f"{disposition}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{encoded}"
