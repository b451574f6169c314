"""The case record's hot-path reads: raw rows through ``Database.read_models`` must give the very
models the ORM's own queries give (every column type filing uses: uuid, decimal, date, timestamp,
JSON, binary, boolean, nulls), on SQLite and PostgreSQL; and the shared id-list clause."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from tortoise.models import Model

from backend.db import Database, as_date, as_uuid, ids_clause
from backend.settings import Settings
from filing.models import CorrectionNotice, Filing, Party, Representation
from filing.record import CORRECTIONS_SQL, FILING_SQL, PARTIES_SQL, REPRESENTATIONS_SQL


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.open(settings)
    try:
        with database.activate():
            yield database
    finally:
        await database.close()


def _values(model: Model) -> dict[str, Any]:
    return {name: getattr(model, name) for name in model._meta.db_fields}


async def test_read_models_equal_the_orms_models(db: Database) -> None:
    account = uuid4()
    filing = await Filing.create(
        id=uuid4(),
        receiving_court_code="浙0106",
        competent_court_code="浙0281",
        cause_code="4.cont.loan.private",
        claim_amount=Decimal("123456.78"),
        status="registered",
        routing_reasons=[{"rule": "defendant_domicile", "detail_zh": "被告住所地"}],
        received_at=datetime(2026, 11, 2, 3, 4, 5, 678000, tzinfo=UTC),
        decision_due_on=date(2026, 11, 9),
        case_number="(2026)浙0281民初8号",
        fee_total=Decimal("2300.00"),
        fee_due_on=date(2026, 11, 16),
        fee_quote={"total": "2300.00", "lines": [{"label": "案件受理费"}]},
        fee_payable=Decimal("0.00"),
        fee_relief="waiver",
        assigned_judge_id=uuid4(),
        created_by_id=account,
    )
    party = await Party.create(
        id=uuid4(),
        filing=filing,
        role="plaintiff",
        kind="natural",
        name="张三",
        id_number_enc=b"\x00\x01ciphertext",
        id_number_hash="h" * 64,
        id_number_masked="3301**********1234",
        region_code="330106",
        address="杭州市西湖区某路1号",
        service_address_confirmed=True,
        account_id=account,
    )
    await Representation.create(
        id=uuid4(),
        party=party,
        lawyer_account_id=uuid4(),
        power_of_attorney_file_id=uuid4(),
        granted_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    await CorrectionNotice.create(
        id=uuid4(),
        filing=filing,
        items=["补充证据"],
        deadline=date(2026, 11, 20),
        issued_by_id=uuid4(),
        issued_at=datetime(2026, 11, 3, tzinfo=UTC),
    )
    param = db.uuid_param(filing.id)

    cases = [
        (Filing, FILING_SQL, [await Filing.get(id=filing.id)]),
        (Party, PARTIES_SQL, await Party.filter(filing_id=filing.id).order_by("created_at", "id")),
        (
            Representation,
            REPRESENTATIONS_SQL,
            await Representation.filter(party__filing_id=filing.id).order_by("granted_at"),
        ),
        (
            CorrectionNotice,
            CORRECTIONS_SQL,
            await CorrectionNotice.filter(filing_id=filing.id).order_by("issued_at"),
        ),
    ]
    for model, sql, expected in cases:
        got = await db.read_models(model, db.sql(sql), param)
        assert [_values(m) for m in got] == [_values(m) for m in expected], model.__name__
        assert all(type(m) is model for m in got)
    # Types as the ORM gives them, not the driver's raw text.
    (read,) = await db.read_models(Filing, db.sql(FILING_SQL), param)
    assert read.fee_payable == Decimal("0.00") and isinstance(read.fee_payable, Decimal)
    assert read.received_at == datetime(2026, 11, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert read.decision_due_on == date(2026, 11, 9)
    assert read.fee_quote == {"total": "2300.00", "lines": [{"label": "案件受理费"}]}
    assert await db.read_models(Filing, db.sql(FILING_SQL), db.uuid_param(uuid4())) == []


async def test_ids_clause_and_raw_coercions(db: Database) -> None:
    made = [
        await Filing.create(
            id=uuid4(),
            receiving_court_code="浙0281",
            cause_code="4.cont.loan.private",
            fee_due_on=date(2026, 12, i + 1),
            created_by_id=uuid4(),
        )
        for i in range(3)
    ]
    where, params = ids_clause(db, "f.id", [made[0].id, made[2].id, uuid4()])
    rows = await db.read(
        db.sql(f"SELECT f.id, f.fee_due_on FROM filing_filing f WHERE {where} ORDER BY f.id"),
        *params,
    )
    got = {as_uuid(r["id"]): as_date(r["fee_due_on"]) for r in rows}
    assert got == {made[0].id: date(2026, 12, 1), made[2].id: date(2026, 12, 3)}
