"""Recognising and masking what must never be written down: tokens, secrets, resident ID numbers,
mainland phone numbers, credentials in URLs (DESIGN §5, PIPL). One set of patterns serves the audit
log's guard, job error texts and the log formatter."""

from __future__ import annotations

import re

_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"

RESIDENT_ID = re.compile(_NOT_ALNUM_BEFORE + r"\d{17}[\dXx]" + _NOT_ALNUM_AFTER)
MOBILE_PHONE = re.compile(_NOT_ALNUM_BEFORE + r"1[3-9]\d{9}" + _NOT_ALNUM_AFTER)
JWT = re.compile(r"eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]*")

_REPLACEMENTS: tuple[tuple[re.Pattern[str], str], ...] = (
    # before key=value, which would otherwise eat only the word "Bearer"
    (re.compile(r"(?i)\bbearer\s+[\w.~+/=-]+"), "Bearer [redacted]"),
    # key=value / key: value pairs whose key names a secret
    (
        re.compile(
            r"(?i)\b(\w*(?:token|secret|password|passwd|api_?key|session_key|authorization)"
            r"\w*)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)"
        ),
        r"\1\2[redacted]",
    ),
    (JWT, "[jwt]"),
    (RESIDENT_ID, "[id-number]"),
    (MOBILE_PHONE, "[phone]"),
    (re.compile(r"(?i)(\w+://[^:/@\s]*:)[^@\s]+@"), r"\1[redacted]@"),
)


def looks_sensitive(text: str) -> bool:
    """True when the text holds an ID number, a phone number or a token."""
    return any(p.search(text) for p in (RESIDENT_ID, MOBILE_PHONE, JWT))


def redact(text: str) -> str:
    for pattern, replacement in _REPLACEMENTS:
        text = pattern.sub(replacement, text)
    return text
