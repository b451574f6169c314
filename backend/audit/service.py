"""The audit log: every event chained to the previous one, h_n = SHA-256(h_{n-1} ‖ event).

Events are written through the caller's transaction connection so an event exists exactly when the
change it records does. Appends lock the single head row, which serialises writers on PostgreSQL
(SQLite serialises transactions anyway).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from backend.audit.models import GENESIS_HASH, AuditCheckpoint, AuditEvent, AuditHead
from backend.auth.principal import Actor
from backend.keys import SigningKey
from backend.redact import looks_sensitive

HEAD_ID = 1

# Keys and value shapes that must never be written to the audit log (DESIGN §5, PIPL).
_FORBIDDEN_KEYS = re.compile(
    r"token|secret|password|passwd|otp|id_?number|id_?card|phone|mobile|image|photo|selfie|"
    r"session_key|signature_code",
    re.IGNORECASE,
)
_MAX_DETAILS_BYTES = 8 * 1024


class AuditDataError(ValueError):
    """A caller tried to put sensitive or unserialisable data in the audit log."""


def _check_details(value: Any, path: str = "details") -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise AuditDataError(f"{path}: keys must be strings")
            if _FORBIDDEN_KEYS.search(key) and not key.endswith(("_masked", "_count", "_id")):
                raise AuditDataError(f"{path}.{key}: sensitive field must not be audited")
            _check_details(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_details(item, f"{path}[{index}]")
    elif isinstance(value, str):
        if looks_sensitive(value):
            raise AuditDataError(f"{path}: looks like an ID number, phone number or token")
    elif isinstance(value, float):
        # Floats do not round-trip byte-exactly through every database; use strings or ints.
        raise AuditDataError(f"{path}: floats are not allowed, use a string or an integer")
    elif value is not None and not isinstance(value, bool | int):
        raise AuditDataError(f"{path}: {type(value).__name__} is not JSON")


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_event(event: AuditEvent) -> bytes:
    body = {
        "seq": event.seq,
        "occurred_at": _timestamp(event.occurred_at),
        "actor_subject": event.actor_subject,
        "actor_roles": event.actor_roles,
        "ip": event.ip,
        "request_id": event.request_id,
        "action": event.action,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "details": event.details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_event(event)).hexdigest()


def checkpoint_message(seq: int, head_hash: str) -> bytes:
    return f"mobile-court-audit-checkpoint:{seq}:{head_hash}".encode()


@dataclass
class VerifyReport:
    events: int = 0
    checkpoints: int = 0
    head_seq: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditLog:
    def __init__(self, signing_key: SigningKey) -> None:
        self.signing_key = signing_key

    async def record(
        self,
        conn: BaseDBAsyncClient,
        actor: Actor,
        action: str,
        resource_type: str,
        resource_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        """Append one event inside the caller's transaction ``conn``."""
        payload = dict(details or {})
        _check_details(payload)
        if len(json.dumps(payload, ensure_ascii=False)) > _MAX_DETAILS_BYTES:
            raise AuditDataError("audit details are too large")
        head = await AuditHead.select_for_update().using_db(conn).get(id=HEAD_ID)
        event = AuditEvent(
            seq=head.seq + 1,
            occurred_at=datetime.now(UTC),
            actor_subject=actor.subject,
            actor_roles=",".join(actor.roles),
            ip=actor.ip,
            request_id=actor.request_id,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            details=payload,
            prev_hash=head.hash,
        )
        event.hash = chain_hash(head.hash, event)
        await event.save(using_db=conn, force_create=True)
        head.seq, head.hash = event.seq, event.hash
        await head.save(using_db=conn, update_fields=["seq", "hash"])
        return event

    async def record_many(
        self,
        conn: BaseDBAsyncClient,
        actor: Actor,
        entries: Sequence[tuple[str, str, str | None, Mapping[str, Any] | None]],
    ) -> list[AuditEvent]:
        """Append several events by one actor, ``(action, resource_type, resource_id, details)``
        each, inside the caller's transaction ``conn``: the same chain as that many ``record``
        calls, but one head lock, one multi-row insert and one head update, so a batch job
        holds the head row (which serialises every writer) for one round trip, not three per
        event. Call it last in the transaction to keep that lock short."""
        payloads = []
        for _, _, _, details in entries:
            payload = dict(details or {})
            _check_details(payload)
            if len(json.dumps(payload, ensure_ascii=False)) > _MAX_DETAILS_BYTES:
                raise AuditDataError("audit details are too large")
            payloads.append(payload)
        if not entries:
            return []
        head = await AuditHead.select_for_update().using_db(conn).get(id=HEAD_ID)
        seq, prev = head.seq, head.hash
        events = []
        for (action, resource_type, resource_id, _), payload in zip(entries, payloads, strict=True):
            seq += 1
            event = AuditEvent(
                seq=seq,
                occurred_at=datetime.now(UTC),
                actor_subject=actor.subject,
                actor_roles=",".join(actor.roles),
                ip=actor.ip,
                request_id=actor.request_id,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                details=payload,
                prev_hash=prev,
            )
            event.hash = prev = chain_hash(prev, event)
            events.append(event)
        await AuditEvent.bulk_create(events, using_db=conn)
        head.seq, head.hash = seq, prev
        await head.save(using_db=conn, update_fields=["seq", "hash"])
        return events

    async def checkpoint(self) -> AuditCheckpoint | None:
        """Sign the current head so later truncation or rewriting is detectable."""
        async with in_transaction() as conn:
            head = await AuditHead.get(id=HEAD_ID, using_db=conn)
            last = await AuditCheckpoint.all().using_db(conn).order_by("-seq").first()
            if head.seq == 0 or (last is not None and last.seq == head.seq):
                return None
            signature = self.signing_key.private_key.sign(checkpoint_message(head.seq, head.hash))
            return await AuditCheckpoint.create(
                seq=head.seq,
                hash=head.hash,
                signed_at=datetime.now(UTC),
                key_id=self.signing_key.kid,
                signature=base64.b64encode(signature).decode(),
                using_db=conn,
            )

    async def verify(
        self, public_keys: Mapping[str, Ed25519PublicKey], batch: int = 2000
    ) -> VerifyReport:
        """Recompute the chain from genesis; report every break, gap and bad checkpoint."""
        report = VerifyReport()
        checkpoints: dict[int, AuditCheckpoint] = {
            c.seq: c for c in await AuditCheckpoint.all().order_by("seq")
        }
        report.checkpoints = len(checkpoints)
        for cp in checkpoints.values():
            key = public_keys.get(cp.key_id)
            if key is None:
                report.problems.append(f"checkpoint at seq {cp.seq}: unknown key {cp.key_id}")
                continue
            try:
                key.verify(base64.b64decode(cp.signature), checkpoint_message(cp.seq, cp.hash))
            except (InvalidSignature, ValueError):
                report.problems.append(f"checkpoint at seq {cp.seq}: signature does not verify")

        expected_seq, prev = 1, GENESIS_HASH
        last_seq = 0
        while True:
            rows = await AuditEvent.filter(seq__gt=last_seq).order_by("seq").limit(batch)
            if not rows:
                break
            for event in rows:
                if event.seq != expected_seq:
                    report.problems.append(
                        f"seq {expected_seq}..{event.seq - 1} missing (deleted or reordered)"
                    )
                if event.prev_hash != prev:
                    report.problems.append(
                        f"seq {event.seq}: prev_hash does not link to seq {event.seq - 1}"
                    )
                recomputed = chain_hash(prev, event)
                if recomputed != event.hash:
                    report.problems.append(
                        f"seq {event.seq}: content does not match its hash (edited)"
                    )
                signed = checkpoints.get(event.seq)
                if signed is not None and signed.hash != recomputed:
                    report.problems.append(f"seq {event.seq}: differs from signed checkpoint")
                prev, expected_seq = recomputed, event.seq + 1
                report.events += 1
            last_seq = rows[-1].seq

        head = await AuditHead.get_or_none(id=HEAD_ID)
        report.head_seq = head.seq if head else 0
        if head is None:
            report.problems.append("audit head row is missing")
        elif head.seq != expected_seq - 1 or head.hash != prev:
            report.problems.append(
                f"head says seq {head.seq} but the chain ends at seq {expected_seq - 1} "
                "(rows deleted from the end?)"
            )
        beyond = [seq for seq in checkpoints if seq >= expected_seq]
        if beyond:
            report.problems.append(
                f"signed checkpoint at seq {beyond[0]} but the chain ends at {expected_seq - 1}"
            )
        return report
