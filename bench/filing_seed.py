"""Bulk seed for bench/filing_bench.py: lawyers, registered cases, parties, powers of attorney and
timeline events, written with PostgreSQL COPY (asyncpg) instead of thousands of HTTP calls.

Run as a subprocess with the server's environment (``MC_DATABASE_URL``, ``MC_VAR_DIR``), so the
field-encryption key and the JWT keys are the ones the server will load. Reference data (courts,
causes of action) goes through ``filing.courts.seed_reference_data``; access tokens are minted by
the real ``AuthService.start_session`` (session row, refresh token, audit event), as the tests'
``accounts`` fixture does. Prints one JSON line: the lawyers with their token and case ids.

The rows match what the real workflow writes for a case filed at the competent court and
registered (filing.filings.submit + filing.review.register): competent court = receiving court,
the routing reason, a 7-day clock, the official case number from the per-court counter (whose
row is set to the last serial, so a later registration continues the sequence), the fee from the
statutory calculator with its 7-day deadline. Each case has a natural-person plaintiff (valid ID
number, encrypted with the server's key, keyed lookup hash, masked form) represented by its lawyer
under a stored power of attorney, and an organisation as defendant (valid credit code). Timeline
events cycle through the real kinds in order. Audit events for the seeded history are not written
(the chain stays valid; the benchmark reads, it does not verify history).
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The order in which a registered case's events happen (filing.filings / filing.review).
EVENT_KINDS = (
    "draft_created",
    "party_added",
    "party_added",
    "representation_granted",
    "submitted",
    "received",
    "registered",
    "fee_notice_issued",
)
# Which of them a case with fewer events keeps (most telling first); beyond eight, court notes.
EVENT_PRIORITY = (6, 7, 4, 5, 0, 3, 1, 2)


def case_event_kinds(count: int) -> list[str]:
    kept = sorted(EVENT_PRIORITY[: min(count, len(EVENT_KINDS))])
    return [EVENT_KINDS[k] for k in kept] + ["court_note"] * max(0, count - len(EVENT_KINDS))


POA_PDF = b"%PDF-1.7\n% power of attorney (bench)\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
CHECK_ORG = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # credit-code characters (no I, O, Z, S, V)


def _resident_id(region: str, born: date, seq: int) -> str:
    from identity.idcard import resident_id_check_char

    first17 = f"{region}{born:%Y%m%d}{seq % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def _credit_code(region: str, n: int) -> str:
    from identity.credit_code import credit_code_check_char, parse_credit_code

    body = ""
    for _ in range(9):
        n, r = divmod(n, len(CHECK_ORG))
        body += CHECK_ORG[r]
    code = "91" + region + body
    return parse_credit_code(code + credit_code_check_char(code)).code


async def seed(cases: int, events: int, lawyers: int, seed_value: int) -> dict[str, Any]:
    import asyncpg
    from aiohttp import web

    from backend.app import create_app
    from backend.appkeys import AUTH, BLOBS, DATABASE, KEYRING
    from backend.auth.models import Account
    from backend.auth.principal import Actor
    from backend.fieldcrypto import FieldCipher
    from backend.settings import Settings
    from backend.storage.purposes import RULES, Purpose
    from filing.case_numbers import CaseNumber
    from filing.courts import court_fee_schedule, seed_reference_data
    from filing.fees import FeeCaseType, fee_payment_deadline, quote_fee
    from filing.models import CauseOfAction, Court
    from filing.parties import RESIDENT_ID_CONTEXT
    from identity.idcard import mask_resident_id

    rng = random.Random(seed_value)
    settings = Settings()
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        database = app[DATABASE]
        with database.activate():
            from tortoise.transactions import in_transaction

            async with in_transaction() as tconn:
                await seed_reference_data(tconn)
            courts = list(await Court.filter(level__in=["basic", "internet"]).order_by("code"))
            all_causes = list(await CauseOfAction.all().order_by("position"))
        parents = {c.parent_code for c in all_causes if c.parent_code}
        leaves = [c for c in all_causes if c.code not in parents]
        internet_leaves = [c for c in leaves if c.internet_category]
        poa_rule = RULES[Purpose.DOCUMENT]
        poa_blob = await app[BLOBS].put_bytes(POA_PDF, allowed=poa_rule.allowed)
        cipher = FieldCipher(app[KEYRING].field_key)

        now = datetime.now(UTC)
        pg = await asyncpg.connect(settings.effective_database_url)
        try:
            async with pg.transaction():
                result = await _bulk(
                    pg,
                    rng=rng,
                    now=now,
                    cases=cases,
                    events=events,
                    lawyers=lawyers,
                    courts=courts,
                    leaves=leaves,
                    internet_leaves=internet_leaves,
                    poa_blob=poa_blob,
                    cipher=cipher,
                    helpers={
                        "CaseNumber": CaseNumber,
                        "FeeCaseType": FeeCaseType,
                        "quote_fee": quote_fee,
                        "fee_payment_deadline": fee_payment_deadline,
                        "court_fee_schedule": court_fee_schedule,
                        "mask": mask_resident_id,
                        "context": RESIDENT_ID_CONTEXT,
                    },
                )
            await pg.execute("ANALYZE")
        finally:
            await pg.close()

        # Sign every lawyer in through the real auth service (session, refresh token, audit).
        with database.activate():
            for lawyer in result["lawyers"]:
                account = await Account.get(id=lawyer["account_id"])
                pair = await app[AUTH].start_session(
                    account, Actor.system("filing_bench"), client="filing_bench", method="bench"
                )
                lawyer["token"] = pair.access_token
            result["token_ttl_s"] = pair.expires_in
        # A cause a basic court hears, for the drafts of the upload run.
        result["draft_cause"] = next(c.code for c in leaves if not c.internet_category)
    finally:
        await runner.cleanup()
    return result


async def _bulk(
    pg: Any,
    *,
    rng: random.Random,
    now: datetime,
    cases: int,
    events: int,
    lawyers: int,
    courts: list[Any],
    leaves: list[Any],
    internet_leaves: list[Any],
    poa_blob: Any,
    cipher: Any,
    helpers: dict[str, Any],
) -> dict[str, Any]:
    dumps = json.dumps
    lawyer_ids = [uuid4() for _ in range(lawyers)]
    clerk_of = {court.code: uuid4() for court in courts}
    accounts = [
        (
            lid,
            f"律师{i:03d} Bench lawyer {i}",
            dumps(["lawyer"]),
            "active",
            None,
            None,
            None,
            now,
            now,
            None,
        )
        for i, lid in enumerate(lawyer_ids)
    ] + [
        (
            cid,
            f"立案庭书记员 Clerk {code}",
            dumps(["clerk"]),
            "active",
            code,
            None,
            None,
            now,
            now,
            None,
        )
        for code, cid in clerk_of.items()
    ]
    await pg.copy_records_to_table(
        "account",
        records=accounts,
        columns=[
            "id",
            "display_name",
            "roles",
            "status",
            "court_code",
            "username",
            "password_hash",
            "created_at",
            "updated_at",
            "disabled_at",
        ],
    )
    await pg.execute(
        "INSERT INTO blob (sha256, size, kind, media_type, created_at) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT DO NOTHING",
        poa_blob.sha256,
        poa_blob.size,
        poa_blob.kind.value,
        poa_blob.media_type,
        now,
    )

    schedules = {court.code: helpers["court_fee_schedule"](court) for court in courts}
    serials: dict[tuple[str, int], int] = {}
    filings: list[tuple[Any, ...]] = []
    parties: list[tuple[Any, ...]] = []
    reps: list[tuple[Any, ...]] = []
    files: list[tuple[Any, ...]] = []
    timeline: list[tuple[Any, ...]] = []
    lawyer_cases: list[list[str]] = [[] for _ in range(lawyers)]
    per_case_events = [events // cases + (1 if i < events % cases else 0) for i in range(cases)]
    event_id = 0
    for i in range(cases):
        lawyer_index = i % lawyers
        lawyer = lawyer_ids[lawyer_index]
        court = courts[i % len(courts)]
        pool = internet_leaves if court.level == "internet" and internet_leaves else leaves
        cause = pool[rng.randrange(len(pool))]
        procedure = "simple" if rng.random() < 0.4 else "ordinary"
        amount = Decimal(rng.randrange(1_000_00, 5_000_000_00)) / 100
        quote = helpers["quote_fee"](
            helpers["FeeCaseType"].PROPERTY,
            amount,
            procedure=procedure,
            schedule=schedules[court.code],
        )
        received = now - timedelta(days=rng.randrange(3, 330), minutes=rng.randrange(1440))
        created = received - timedelta(hours=rng.randrange(1, 48))
        decided = received + timedelta(days=rng.randrange(0, 7), hours=rng.randrange(1, 8))
        china_day = (decided + timedelta(hours=8)).date()  # registration day, China time
        key = (court.code, china_day.year)
        serials[key] = serials.get(key, 0) + 1
        number = str(
            helpers["CaseNumber"](
                year=china_day.year, court_code=court.code, type_code="民初", serial=serials[key]
            )
        )
        fee_due = helpers["fee_payment_deadline"](china_day)
        paid_at = decided + timedelta(days=1) if rng.random() < 0.5 else None
        fid = uuid4()
        filings.append(
            (
                fid,
                court.code,
                court.code,
                "民初",
                procedure,
                cause.code,
                amount,
                None,
                f"请求判令被告支付款项{amount}元。",
                "事实与理由：双方签订合同，被告未按约履行。",
                "registered",
                dumps(
                    [{"zh": "被告住所地法院管辖", "en": "the court of the defendant's domicile"}],
                    ensure_ascii=False,
                ),
                received,
                received,
                (received + timedelta(hours=8)).date() + timedelta(days=7),
                decided,
                None,
                number,
                quote.total,
                fee_due,
                dumps(
                    {
                        "case_type": quote.case_type.value,
                        "procedure": quote.procedure.value,
                        "amount": str(quote.amount),
                        "subtotal": str(quote.subtotal),
                        "total": str(quote.total),
                        "total_fen": quote.total_fen,
                        "prepayment_required": quote.prepayment_required,
                    }
                ),
                paid_at,
                None,
                None,
                lawyer,
                created,
                paid_at or decided,
            )
        )
        # A county-level division for the parties: the basic court's own, else Xihu district.
        region = court.region_code if not court.region_code.endswith("00") else "330106"
        born = date(1960 + rng.randrange(40), 1 + rng.randrange(12), 1 + rng.randrange(28))
        resident = _resident_id(region, born, i)
        plaintiff = uuid4()
        parties.append(
            (
                plaintiff,
                fid,
                "plaintiff",
                "natural",
                f"原告{i}",
                cipher.encrypt(resident, context=helpers["context"]),
                cipher.lookup_hash(resident, context=helpers["context"]),
                helpers["mask"](resident),
                None,
                region,
                f"浙江省某市某区某路{i % 500 + 1}号",
                "wx:mobile-court",
                True,
                None,
                created,
                False,
                "resident_id",
            )
        )
        parties.append(
            (
                uuid4(),
                fid,
                "defendant",
                "organisation",
                f"被告科技有限公司{i}",
                None,
                None,
                None,
                _credit_code(region, i),
                region,
                f"浙江省某市某区某大道{i % 300 + 1}号",
                None,
                False,
                None,
                created,
                False,
                "credit_code",
            )
        )
        poa = uuid4()
        files.append((poa, poa_blob.sha256, "授权委托书.pdf", "document", lawyer, created))
        reps.append((uuid4(), plaintiff, lawyer, poa, created, None))
        for kind in case_event_kinds(per_case_events[i]):
            event_id += 1
            step = EVENT_KINDS.index(kind) if kind in EVENT_KINDS else len(EVENT_KINDS)
            at = created if step < 4 else (received if step < 6 else decided)
            actor = clerk_of[court.code] if kind in ("registered", "court_note") else lawyer
            visibility = "court" if kind == "court_note" else "all"
            details: dict[str, Any] = {}
            if kind == "registered":
                details = {"case_number": number}
            elif kind == "fee_notice_issued":
                details = {"total": str(quote.total), "due_on": str(fee_due)}
                actor = None
            elif kind in ("submitted", "draft_created", "received"):
                details = {"court": court.code}
            timeline.append(
                (event_id, fid, kind, actor, at, dumps(details, ensure_ascii=False), visibility)
            )
        lawyer_cases[lawyer_index].append(str(fid))

    await pg.copy_records_to_table(
        "filing_filing",
        records=filings,
        columns=[
            "id",
            "receiving_court_code",
            "competent_court_code",
            "case_type_code",
            "procedure",
            "cause_code",
            "claim_amount",
            "performance_region_code",
            "claims",
            "facts_and_reasons",
            "status",
            "routing_reasons",
            "received_at",
            "clock_started_at",
            "decision_due_on",
            "decided_at",
            "refusal_reason",
            "case_number",
            "fee_total",
            "fee_due_on",
            "fee_quote",
            "fee_paid_at",
            "assigned_judge_id",
            "assigned_clerk_id",
            "created_by_id",
            "created_at",
            "updated_at",
        ],
    )
    await pg.copy_records_to_table(
        "filing_party",
        records=parties,
        columns=[
            "id",
            "filing_id",
            "role",
            "kind",
            "name",
            "id_number_enc",
            "id_number_hash",
            "id_number_masked",
            "credit_code",
            "region_code",
            "address",
            "service_address",
            "service_address_confirmed",
            "account_id",
            "created_at",
            "domiciled_abroad",
            "id_type",
        ],
    )
    await pg.copy_records_to_table(
        "stored_file",
        records=files,
        columns=["id", "blob_id", "original_name", "purpose", "owner_account_id", "created_at"],
    )
    await pg.copy_records_to_table(
        "filing_representation",
        records=reps,
        columns=[
            "id",
            "party_id",
            "lawyer_account_id",
            "power_of_attorney_file_id",
            "granted_at",
            "revoked_at",
        ],
    )
    await pg.copy_records_to_table(
        "filing_case_event",
        records=timeline,
        columns=["id", "filing_id", "kind", "actor_id", "at", "details", "visibility"],
    )
    # The identity column continues after the ids given here.
    await pg.execute(
        "SELECT setval(pg_get_serial_sequence('filing_case_event', 'id'), "
        "(SELECT MAX(id) FROM filing_case_event))"
    )
    await pg.executemany(
        "INSERT INTO filing_case_counter (court_code, type_code, year, last_serial) "
        "VALUES ($1, '民初', $2, $3) "
        "ON CONFLICT (court_code, type_code, year) "
        "DO UPDATE SET last_serial = EXCLUDED.last_serial",
        [(code, year, last) for (code, year), last in serials.items()],
    )
    return {
        "lawyers": [
            {"account_id": str(lid), "cases": lawyer_cases[n]} for n, lid in enumerate(lawyer_ids)
        ],
        "counts": {
            "accounts": len(accounts),
            "filings": len(filings),
            "parties": len(parties),
            "representations": len(reps),
            "events": len(timeline),
            "courts": len(courts),
        },
    }


def main() -> None:
    cases, events, lawyers, seed_value = (int(x) for x in sys.argv[1:5])
    if cases < lawyers:
        raise SystemExit("need at least one case per lawyer")
    result = asyncio.run(seed(cases, events, lawyers, seed_value))
    print("SEED_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
