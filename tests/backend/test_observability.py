"""Logs are JSON lines with the request id, and never carry ID numbers, phones or tokens."""

from __future__ import annotations

import json
import logging

from backend.observability import JsonFormatter, request_id_var
from backend.redact import looks_sensitive, redact


def format_record(msg: str, *args: object, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("mobile_court.test", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return json.loads(JsonFormatter().format(record))


def test_log_line_is_json_with_request_id() -> None:
    token = request_id_var.set("req-12345678")
    try:
        entry = format_record("hello %s", "世界", route="/api/v1/x", status=200)
    finally:
        request_id_var.reset(token)
    assert entry["msg"] == "hello 世界"
    assert entry["request_id"] == "req-12345678"
    assert entry["route"] == "/api/v1/x" and entry["status"] == 200
    assert str(entry["ts"]).endswith("+00:00")


def test_sensitive_values_are_masked_in_logs() -> None:
    entry = format_record(
        "party %s phone %s sent Authorization: Bearer abc.def.ghi",
        "11010519491231002X",
        "13812345678",
        detail="token=s3cr3t url=postgres://u:pw@db/x",
    )
    text = json.dumps(entry)
    for secret in ("11010519491231002X", "13812345678", "abc.def.ghi", "s3cr3t", ":pw@"):
        assert secret not in text
    assert "[id-number]" in text and "[phone]" in text


def test_redaction_leaves_ordinary_identifiers_alone() -> None:
    uuid_text = "session d2fe6773-eb50-4c3f-8b5a-e16268563064 case (2026)浙0281民初1234号"
    assert not looks_sensitive(uuid_text)
    assert redact(uuid_text) == uuid_text
