"""Shared pieces of the filing workflow tests: seeded courts, valid identifiers, uploads."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import aiohttp
from aiohttp import web
from tortoise.transactions import in_transaction

from backend.appkeys import DATABASE, KEYRING
from backend.fieldcrypto import FieldCipher
from filing.courts import seed_reference_data
from identity.credit_code import credit_code_check_char
from identity.idcard import mask_resident_id, resident_id_check_char
from identity.models import RealName, RealNameStatus

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"


def resident_id(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


def credit_code(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


PLAINTIFF_ID = resident_id("33010619850312041")
DEFENDANT_ID = resident_id("33028119900101002")
COMPANY_CODE = credit_code("91330281MA2AXXXX0")


async def verify_real_name(app: web.Application, account_id: Any, id_number: str) -> None:
    """A verified real-name record, as identity makes after the ID and face checks."""
    cipher = FieldCipher(app[KEYRING].field_key)
    with app[DATABASE].activate():
        await RealName.create(
            id=uuid.uuid4(),
            account_id=account_id,
            name="张三",
            id_number_enc=cipher.encrypt(id_number, context="resident_id"),
            id_number_hash=cipher.lookup_hash(id_number, context="resident_id"),
            id_number_masked=mask_resident_id(id_number),
            birth_date=date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])),
            sex="male",
            status=RealNameStatus.VERIFIED.value,
        )


async def seed(app: web.Application) -> None:
    with app[DATABASE].activate():
        async with in_transaction() as conn:
            await seed_reference_data(conn)


def form(content: bytes, filename: str = "evidence.pdf", **fields: str) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, value in fields.items():
        data.add_field(name, value)
    data.add_field("file", content, filename=filename, content_type="application/octet-stream")
    return data


def person(role: str, id_number: str, region: str, **extra: Any) -> dict[str, Any]:
    return {
        "role": role,
        "kind": "natural",
        "name": "张三" if role == "plaintiff" else "李四",
        "id_number": id_number,
        "region_code": region,
        "address": f"浙江省某市某区某路{region[-2:]}号",
        "service_address": "wx:mobile-court",
        "service_address_confirmed": True,
        **extra,
    }
