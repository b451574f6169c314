"""The audit chain: written with its change, append-only, and any tampering is detected."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from typing import Any

import pytest
from aiohttp import web
from tortoise.exceptions import OperationalError, TransactionManagementError
from tortoise.transactions import in_transaction

from backend.appkeys import AUDIT, DATABASE, KEYRING
from backend.audit.models import AuditCheckpoint, AuditEvent
from backend.audit.service import AuditDataError, AuditLog, canonical_event, chain_hash
from backend.auth.models import Account
from backend.auth.principal import Actor, Role
from backend.settings import Settings
from tests.conftest import BACKEND, REPO

JSON = "::jsonb" if BACKEND == "postgres" else ""
# What the database raises when a trigger refuses a change, per dialect.
REFUSED: tuple[type[BaseException], ...] = (OperationalError, TransactionManagementError)
if BACKEND == "postgres":
    import asyncpg

    REFUSED += (asyncpg.exceptions.RaiseError,)

ACTOR = Actor(subject="tester", roles=("system_admin",), ip="127.0.0.1", request_id="r-1")


async def record_many(audit: AuditLog, count: int) -> None:
    for i in range(count):
        async with in_transaction() as conn:
            await audit.record(conn, ACTOR, "test.event", "thing", str(i), {"n": i, "名": "值"})


async def verify(app: web.Application) -> Any:
    key = app[KEYRING].server_key
    return await app[AUDIT].verify({key.kid: key.public_key})


async def raw_sql(app: web.Application, *statements: str) -> None:
    """What an attacker with database access could do, bypassing the append-only triggers."""
    conn = app[DATABASE].connection()
    if BACKEND == "postgres":
        await conn.execute_script("ALTER TABLE audit_event DISABLE TRIGGER USER")
        try:
            for sql in statements:
                await conn.execute_script(sql)
        finally:
            await conn.execute_script("ALTER TABLE audit_event ENABLE TRIGGER USER")
    else:
        await conn.execute_script("DROP TRIGGER audit_event_no_update")
        await conn.execute_script("DROP TRIGGER audit_event_no_delete")
        for sql in statements:
            await conn.execute_script(sql)


async def test_chain_links_and_verifies(client: Any, app: web.Application) -> None:
    await record_many(app[AUDIT], 5)
    events = await AuditEvent.all().order_by("seq")
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == "0" * 64
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash
    assert events[2].details == {"n": 2, "名": "值"}
    assert events[0].occurred_at.tzinfo is not None
    report = await verify(app)
    assert report.ok, report.problems
    assert report.events == 5


async def test_event_is_written_in_the_same_transaction(client: Any, app: web.Application) -> None:
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await Account.create(display_name="rolled back", using_db=conn)
            await app[AUDIT].record(conn, ACTOR, "account.created", "account", "x")
            raise RuntimeError("the change fails after its audit event was written")
    assert await AuditEvent.all().count() == 0
    assert await Account.filter(display_name="rolled back").count() == 0
    assert (await verify(app)).ok


async def test_database_refuses_update_and_delete(client: Any, app: web.Application) -> None:
    await record_many(app[AUDIT], 1)
    with pytest.raises(REFUSED):
        await AuditEvent.filter(seq=1).update(action="forged")
    with pytest.raises(REFUSED):
        await AuditEvent.filter(seq=1).delete()
    assert (await AuditEvent.get(seq=1)).action == "test.event"


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("UPDATE audit_event SET action = 'account.enabled' WHERE seq = 3", "seq 3: content"),
        (f"UPDATE audit_event SET details = '{{\"n\":99}}'{JSON} WHERE seq = 2", "seq 2: content"),
        ("DELETE FROM audit_event WHERE seq = 3", "missing"),
        ("DELETE FROM audit_event WHERE seq = 6", "head says seq 6"),
        # Swap the contents of two rows but keep each hash in place: a reordering.
        (
            "UPDATE audit_event SET resource_id = CASE seq WHEN 2 THEN '3' WHEN 3 THEN '2' END,"
            f' details = CASE seq WHEN 2 THEN \'{{"n":3,"名":"值"}}\'{JSON}'
            f' ELSE \'{{"n":2,"名":"值"}}\'{JSON} END WHERE seq IN (2, 3)',
            "seq 2: content",
        ),
    ],
    ids=["edit-action", "edit-details", "delete-middle", "delete-last", "reorder"],
)
async def test_tampering_is_detected(
    client: Any, app: web.Application, tamper: str, expected: str
) -> None:
    await record_many(app[AUDIT], 6)
    assert (await verify(app)).ok
    await raw_sql(app, tamper)
    report = await verify(app)
    assert not report.ok
    assert any(expected in p for p in report.problems), report.problems


async def test_rewritten_chain_is_caught_by_signed_checkpoint(
    client: Any, app: web.Application
) -> None:
    """An attacker who edits a row AND recomputes every later hash still fails the checkpoint."""
    audit = app[AUDIT]
    await record_many(audit, 4)
    checkpoint = await audit.checkpoint()
    assert checkpoint is not None and checkpoint.seq == 4
    assert await audit.checkpoint() is None  # nothing new to sign
    events = await AuditEvent.all().order_by("seq")
    events[1].action = "forged"
    prev = events[0].hash
    rewrites = []
    for event in events[1:]:
        event.prev_hash = prev
        event.hash = chain_hash(prev, event)
        prev = event.hash
        rewrites.append(
            f"UPDATE audit_event SET action = '{event.action}', prev_hash = '{event.prev_hash}', "
            f"hash = '{event.hash}' WHERE seq = {event.seq}"
        )
    await raw_sql(app, *rewrites, f"UPDATE audit_head SET hash = '{prev}' WHERE id = 1")
    report = await verify(app)
    assert not report.ok
    assert any("signed checkpoint" in p for p in report.problems), report.problems


async def test_forged_checkpoint_signature_is_detected(client: Any, app: web.Application) -> None:
    await record_many(app[AUDIT], 2)
    await app[AUDIT].checkpoint()
    await AuditCheckpoint.filter(seq=2).update(signature="A" * 88)
    report = await verify(app)
    assert any("signature does not verify" in p for p in report.problems)


@pytest.mark.parametrize(
    "details",
    [
        {"access_token": "abc"},
        {"id_number": "11010519491231002X"},
        {"note": "身份证 11010519491231002X"},
        {"contact": "13812345678"},
        {"phone": "masked"},
        {"selfie": "..."},
        {"header": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig"},
        {"ratio": 0.5},
        {"when": object()},
    ],
)
async def test_sensitive_or_unstable_details_are_refused(
    client: Any, app: web.Application, details: dict[str, Any]
) -> None:
    with pytest.raises(AuditDataError):
        async with in_transaction() as conn:
            await app[AUDIT].record(conn, ACTOR, "x", "y", None, details)
    assert await AuditEvent.all().count() == 0


async def test_canonical_form_is_stable(client: Any, app: web.Application) -> None:
    await record_many(app[AUDIT], 1)
    event = await AuditEvent.get(seq=1)
    again = await AuditEvent.get(seq=1)
    assert canonical_event(event) == canonical_event(again)
    assert b'"seq":1' in canonical_event(event)
    assert canonical_event(event).decode().endswith("}")


async def test_audit_api_for_system_admin_only(
    client: Any, app: web.Application, accounts: Any
) -> None:
    await record_many(app[AUDIT], 3)
    _, litigant = await accounts.headers(Role.LITIGANT)
    _, admin = await accounts.headers(Role.SYSTEM_ADMIN)
    assert (await client.get("/api/v1/audit/events", headers=litigant)).status == 403
    page = await (await client.get("/api/v1/audit/events?limit=2", headers=admin)).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    assert page["items"][0]["seq"] > page["items"][1]["seq"]
    rest = await (
        await client.get(
            f"/api/v1/audit/events?limit=50&cursor={page['next_cursor']}", headers=admin
        )
    ).json()
    seqs = [e["seq"] for e in page["items"] + rest["items"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs)
    filtered = await (
        await client.get("/api/v1/audit/events?action=auth.login", headers=admin)
    ).json()
    assert filtered["items"] and {e["action"] for e in filtered["items"]} == {"auth.login"}
    resp = await client.post("/api/v1/audit/checkpoints", headers=admin)
    assert (await resp.json())["created"] is True
    report = await (await client.post("/api/v1/audit/verify", headers=admin)).json()
    assert report["ok"] is True and report["checkpoints"] == 1


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MC_VAR_DIR": str(settings.var_dir),
        "DATABASE_URL": settings.effective_database_url,
        "MC_AUTO_MIGRATE": "false",
    }
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_cli_audit_verify_exit_code(
    client: Any, app: web.Application, settings: Settings
) -> None:
    await record_many(app[AUDIT], 3)
    ok = run_cli(settings, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert '"ok": true' in ok.stdout
    await raw_sql(app, "UPDATE audit_event SET resource_id = 'other' WHERE seq = 2")
    broken = run_cli(settings, "audit", "verify")
    assert broken.returncode == 1
    assert "seq 2" in broken.stdout


async def test_record_many_extends_the_same_chain(client: Any, app: web.Application) -> None:
    audit: AuditLog = app[AUDIT]
    await record_many(audit, 2)
    async with in_transaction() as conn:
        written = await audit.record_many(
            conn,
            ACTOR,
            [("test.batch", "thing", str(i), {"n": i}) for i in range(3)],
        )
        assert await audit.record_many(conn, ACTOR, []) == []
    assert [e.seq for e in written] == [3, 4, 5]
    await record_many(audit, 1)
    events = await AuditEvent.all().order_by("seq")
    assert [e.action for e in events] == ["test.event"] * 2 + ["test.batch"] * 3 + ["test.event"]
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash
    report = await verify(app)
    assert report.ok, report.problems
    assert report.events == 6
    with pytest.raises(AuditDataError):
        async with in_transaction() as conn:
            await audit.record_many(conn, ACTOR, [("test.batch", "thing", None, {"phone": "x"})])
