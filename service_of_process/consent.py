"""Consent to e-service and the addresses a recipient gave or confirmed (Online Litigation Rules
Art. 29, 31).

A recipient's consent in a case is the latest unwithdrawn :class:`ServiceConsent` row; without
one, an electronic address the party gave in its own pleadings and confirmed
(``filing.Party.service_address`` with ``service_address_confirmed``) is consent by pleadings.
An address written by the *other* side (a plaintiff naming the defendant's address) is not
the recipient's consent, which is why only a confirmed pleading address counts.

The addresses of a consent are the recipient's own: service to them is effective when it reaches
them. Anything else (the phone bound to the account, the in-app inbox unless confirmed) is an
address the recipient did not give for service: effective only on their action or read receipt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid4

from tortoise.backends.base.client import BaseDBAsyncClient

from backend.audit.service import AuditLog
from backend.auth.principal import Actor
from backend.errors import ValidationFailed
from backend.fieldcrypto import FieldCipher
from filing.models import Party
from identity.phone import mask_phone
from service_of_process.models import Channel, ConsentBasis, ServiceConsent

ADDRESS_CONTEXT = "service_address"
RESOURCE = "service_case"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")
_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9][0-9]{9})$")


@dataclass(frozen=True)
class ConsentView:
    basis: ConsentBasis
    # channel -> address (plaintext, server side only); the in-app inbox maps to "".
    addresses: dict[str, str] = field(default_factory=dict, repr=False)
    masked: dict[str, str] = field(default_factory=dict)


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_address(channel: str, address: str) -> str:
    if channel == Channel.EMAIL:
        return mask_email(address)
    if channel == Channel.SMS:
        return mask_phone(address)
    if channel == Channel.INAPP:
        return "platform inbox"
    return address[:4] + "***" if address else ""


def normalise_address(channel: Channel, address: str | None) -> str:
    """The address in canonical form; 422 when it does not fit the channel."""
    value = (address or "").strip()
    if channel == Channel.INAPP:
        return ""
    if channel == Channel.EMAIL and _EMAIL.fullmatch(value):
        return value.lower()
    if channel == Channel.SMS and (match := _MOBILE.fullmatch(re.sub(r"[\s-]", "", value))):
        return match.group(1)
    kind = {Channel.EMAIL: "an email address", Channel.SMS: "a mainland mobile number"}
    raise ValidationFailed(
        f"the {channel.value} address must be {kind.get(channel, 'given')} / 送达地址格式不正确",
        code="invalid_address",
        errors=[
            {"location": "body", "field": "addresses", "message": "bad address", "type": "address"}
        ],
    )


def pleading_address(party: Party) -> tuple[str, str] | None:
    """(channel, address) of a party's own confirmed service address from the pleadings."""
    if not party.service_address_confirmed or not party.service_address:
        return None
    raw = party.service_address.strip()
    if _EMAIL.fullmatch(raw):
        return Channel.EMAIL.value, raw.lower()
    if match := _MOBILE.fullmatch(re.sub(r"[\s-]", "", raw)):
        return Channel.SMS.value, match.group(1)
    # Any other e-address in the pleadings ("wx:…", the platform account) is the inbox.
    return Channel.INAPP.value, ""


async def record_consent(
    conn: BaseDBAsyncClient,
    cipher: FieldCipher,
    audit: AuditLog,
    actor: Actor,
    *,
    filing_id: UUID,
    account_id: UUID,
    basis: ConsentBasis,
    addresses: dict[Channel, str | None],
    evidence: str,
    recorded_by: UUID,
) -> ServiceConsent:
    """Record consent (replacing the account's earlier one in this case) in ``conn``."""
    clean = {channel.value: normalise_address(channel, addr) for channel, addr in addresses.items()}
    if Channel.WECHAT.value in clean:
        raise ValidationFailed(
            "WeChat messages are courtesy notices, not a service address / "
            "微信消息不能作为送达地址",
            code="invalid_address",
        )
    now = datetime.now(UTC)
    await (
        ServiceConsent.filter(filing_id=filing_id, account_id=account_id, withdrawn_at__isnull=True)
        .using_db(conn)
        .update(withdrawn_at=now)
    )
    consent = await ServiceConsent.create(
        id=uuid4(),
        filing_id=filing_id,
        account_id=account_id,
        basis=basis.value,
        evidence=evidence,
        addresses_enc=cipher.encrypt(json.dumps(clean), context=ADDRESS_CONTEXT) if clean else None,
        addresses_masked={c: mask_address(c, a) for c, a in clean.items()},
        recorded_by_id=recorded_by,
        created_at=now,
        using_db=conn,
    )
    await audit.record(
        conn,
        actor,
        "service.consent",
        RESOURCE,
        str(filing_id),
        {
            "consent_id": str(consent.id),
            "recipient_account_id": str(account_id),
            "basis": basis.value,
            "channels": sorted(clean),
        },
    )
    return consent


async def consents_of(
    conn: BaseDBAsyncClient | None,
    cipher: FieldCipher,
    recipients: Sequence[tuple[UUID, UUID | None, Party | None]],
) -> list[ConsentView | None]:
    """:func:`consent_of` for many ``(filing, account, party)`` at once: one query for all the
    consent rows instead of one per recipient."""
    accounts = {account for _, account, _ in recipients if account is not None}
    latest: dict[tuple[UUID, UUID], ServiceConsent] = {}
    if accounts:
        query = ServiceConsent.filter(
            filing_id__in={filing for filing, _, _ in recipients},
            account_id__in=accounts,
            withdrawn_at__isnull=True,
        ).order_by("created_at", "id")
        if conn is not None:
            query = query.using_db(conn)
        for row in await query:
            latest[(row.filing_id, row.account_id)] = row  # the newest wins
    return [
        _view(cipher, latest.get((filing, account)) if account is not None else None, party)
        for filing, account, party in recipients
    ]


def _view(
    cipher: FieldCipher, row: ServiceConsent | None, party: Party | None
) -> ConsentView | None:
    if row is not None:
        addresses: dict[str, str] = {}
        if row.addresses_enc is not None:
            addresses = json.loads(cipher.decrypt(row.addresses_enc, context=ADDRESS_CONTEXT))
        return ConsentView(ConsentBasis(row.basis), addresses, dict(row.addresses_masked))
    if party is not None and (given := pleading_address(party)) is not None:
        channel, address = given
        return ConsentView(
            ConsentBasis.PLEADINGS, {channel: address}, {channel: mask_address(channel, address)}
        )
    return None


async def consent_of(
    conn: BaseDBAsyncClient | None,
    cipher: FieldCipher,
    filing_id: UUID,
    account_id: UUID | None,
    party: Party | None,
) -> ConsentView | None:
    """The recipient's consent in this case, or None."""
    row = None
    if account_id is not None:
        query = ServiceConsent.filter(
            filing_id=filing_id, account_id=account_id, withdrawn_at__isnull=True
        ).order_by("-created_at")
        if conn is not None:
            query = query.using_db(conn)
        row = await query.first()
    return _view(cipher, row, party)
