"""E-service throughput with a crash: N documents served through the fake gateways on PostgreSQL,
the worker killed mid-run and restarted.

    .venv/bin/python bench/service_bench.py [--deliveries 10000] [--per-case 100]
                                            [--kill-at 0.3] [--workers 2] [--concurrency 24]
                                            [--no-write]

Set-up (not timed): a fresh PostgreSQL database (``MC_TEST_POSTGRES_URL`` server, default the
local one), migrated; ``deliveries / per-case`` registered cases with ``per-case`` parties each,
every party with an account, a bound mobile and an email address it gave in its pleadings
(consent by pleadings, Art. 29); one service task per case serving a notice of response (one
uploaded PDF) to all its parties with the plan ``[inapp, sms, email]`` — created through
``service_of_process.service.create_service_task`` exactly as the console does, so every task
enqueues its fan-out job. The fake SMS gateway (``miniapp_stub.sms``, delivering at once) and an
aiosmtpd SMTP server run in this process on loopback.

Timed: ``--workers`` standalone workers (``backend.cli worker`` through
``bench/counting_worker.py``, which counts their PostgreSQL statements; ``--concurrency`` jobs
each) start; when ``--kill-at`` of the deliveries are served, the first worker is killed with
SIGKILL and a new one started in its place; the clock stops when every delivery is served.

Checks: every delivery served exactly once in effect — one ``service.served`` audit event each,
exactly one attempt row per channel, no dead job — and none lost; emails and texts received are
counted (a message in flight at the kill may go out twice: at-least-once to the gateway, exactly
once in the record). Target (issue 5): all 10,000 in <= 60 s on PostgreSQL. Writes its section of
bench/RESULTS.md between ``<!-- service-bench:start -->`` and ``<!-- service-bench:end -->``.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
# This tree's packages, not whatever the shared virtualenv's editable install points at.
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from aiohttp import web  # noqa: E402
from aiosmtpd.smtp import SMTP, Envelope, Session  # noqa: E402
from common import BenchError, free_port, tail, write_section  # noqa: E402
from tortoise.transactions import in_transaction  # noqa: E402

from backend.audit.service import AuditLog  # noqa: E402
from backend.auth.principal import Actor  # noqa: E402
from backend.db import Database, migrate  # noqa: E402
from backend.fieldcrypto import FieldCipher  # noqa: E402
from backend.keys import load_keyring  # noqa: E402
from backend.settings import Settings  # noqa: E402
from backend.storage.blobs import create_blob_store  # noqa: E402
from backend.storage.service import register_file  # noqa: E402
from backend.storage.sniff import FileKind  # noqa: E402
from filing.courts import seed_reference_data  # noqa: E402
from filing.models import Filing, Party  # noqa: E402
from identity.models import PhoneBinding  # noqa: E402
from identity.phone import PHONE_CONTEXT, mask_phone  # noqa: E402
from miniapp_stub.sms import SMS_STATE, FakeSmsConfig, create_fake_sms_app  # noqa: E402
from service_of_process.documents import DocumentKind  # noqa: E402
from service_of_process.models import Channel  # noqa: E402
from service_of_process.service import (  # noqa: E402
    Fallback,
    Plan,
    PreparedDocument,
    RecipientRef,
    create_service_task,
)

START, END = "<!-- service-bench:start -->", "<!-- service-bench:end -->"
PG_ADMIN = os.environ.get("MC_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# BENCH_PROFILE=/path: the workers run under cProfile and write /path.<pid> when they stop.
PROFILE = "BENCH_PROFILE" in os.environ
PDF = b"%PDF-1.7\n% notice of response\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"


class CountingMailbox:
    def __init__(self) -> None:
        self.received: Counter[str] = Counter()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for rcpt in envelope.rcpt_tos:
            self.received[rcpt] += 1
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        email.message_from_bytes(raw, policy=email.policy.default)
        return "250 OK"


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed(settings: Settings, cases: int, per_case: int) -> tuple[list[str], float]:
    """Cases, parties, accounts, phones and one service task per case; the delivery ids."""
    keyring = load_keyring(settings)
    cipher, audit = FieldCipher(keyring.field_key), AuditLog(keyring.server_key)
    database = await Database.open(settings)
    blobs = await create_blob_store(settings)
    started = time.perf_counter()
    clerk = uuid.uuid4()
    try:
        async with in_transaction() as conn:
            await seed_reference_data(conn)
        blob = await blobs.put_bytes(PDF, allowed=frozenset({FileKind.PDF}))
        async with in_transaction() as conn:
            stored = await register_file(
                conn,
                blob=blob,
                original_name="notice.pdf",
                purpose="document",
                owner_account_id=clerk,
            )
        pool = await asyncpg.create_pool(settings.effective_database_url, min_size=1, max_size=4)
        now = datetime.now(UTC)
        filings: list[uuid.UUID] = []
        n = 0
        for c in range(cases):
            filing_id = uuid.uuid4()
            filings.append(filing_id)
            accounts, parties, phones = [], [], []
            for _ in range(per_case):
                n += 1
                account_id = uuid.uuid4()
                phone = f"139{n:08d}"
                accounts.append((account_id, f"当事人{n}", '["litigant"]', "active", now, now))
                parties.append(
                    (
                        uuid.uuid4(),
                        filing_id,
                        "defendant",
                        "natural",
                        f"当事人{n}",
                        "330281",
                        "浙江省余姚市某路1号",
                        f"party{n}@example.com",
                        True,
                        account_id,
                        now,
                    )
                )
                phones.append(
                    (
                        uuid.uuid4(),
                        account_id,
                        cipher.encrypt(phone, context=PHONE_CONTEXT),
                        cipher.lookup_hash(phone, context=PHONE_CONTEXT),
                        mask_phone(phone),
                        "86",
                        "sms",
                        now,
                    )
                )
            async with pool.acquire() as pg:
                await pg.executemany(
                    "INSERT INTO account (id, display_name, roles, status, created_at, updated_at)"
                    " VALUES ($1, $2, $3::jsonb, $4, $5, $6)",
                    accounts,
                )
                await pg.execute(
                    "INSERT INTO filing_filing (id, receiving_court_code, competent_court_code, "
                    "case_type_code, procedure, cause_code, claims, facts_and_reasons, status, "
                    "routing_reasons, case_number, created_by_id, created_at, updated_at) VALUES "
                    "($1, '浙0281', '浙0281', '民初', 'ordinary', '9', '', '', 'registered', "
                    "'[]'::jsonb, $2, $3, $4, $4)",
                    filing_id,
                    f"(2026)浙0281民初{c + 1}号",
                    clerk,
                    now,
                )
                await pg.executemany(
                    "INSERT INTO filing_party (id, filing_id, role, kind, name, region_code, "
                    "address, service_address, service_address_confirmed, account_id, "
                    "created_at, domiciled_abroad) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, false)",
                    parties,
                )
                await pg.executemany(
                    "INSERT INTO identity_phone (id, account_id, phone_enc, phone_hash, "
                    "phone_masked, country_code, source, verified_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    phones,
                )
        await pool.close()
        plan = Plan(
            stages=((Channel.INAPP, Channel.SMS, Channel.EMAIL),),
            fallback=Fallback.POSTAL,
            escalate_after_s=3600,
        )

        async def one_task(filing_id: uuid.UUID) -> None:
            async with in_transaction() as conn:
                filing = await Filing.filter(id=filing_id).using_db(conn).get()
                party_ids = (
                    await Party.filter(filing_id=filing_id)
                    .using_db(conn)
                    .values_list("id", flat=True)
                )
                await create_service_task(
                    conn,
                    cipher,
                    audit,
                    Actor.system("bench"),
                    filing=filing,
                    documents=[PreparedDocument(DocumentKind.NOTICE_OF_RESPONSE, stored.id)],
                    recipients=[RecipientRef(party_id=p) for p in party_ids],  # type: ignore[arg-type]
                    plan=plan,
                    created_by=clerk,
                )

        for start in range(0, len(filings), 8):
            await asyncio.gather(*(one_task(f) for f in filings[start : start + 8]))
        rows = await database.fetch("SELECT id FROM service_delivery")
        assert PhoneBinding  # the table the phones went to
        return [str(r["id"]) for r in rows], time.perf_counter() - started
    finally:
        await blobs.close()
        await database.close()


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    counts = log.with_suffix(".statements")
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "counting_worker.py"), str(counts)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def read_counts(folder: Path) -> int:
    return sum(int(f.read_text() or 0) for f in folder.glob("*.statements"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process so far (``/proc/<pid>/stat``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def count(pg: asyncpg.Pool, sql: str) -> int:
    return int(await pg.fetchval(sql))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    name = f"mc_bench_service_{os.getpid()}"
    base, _, _ = PG_ADMIN.rpartition("/")
    url = f"{base}/{name}"
    await admin(f'CREATE DATABASE "{name}"')
    tmp = Path(tempfile.mkdtemp(prefix="service-bench-"))
    mailbox = CountingMailbox()
    loop = asyncio.get_running_loop()
    smtp_server = await loop.create_server(
        lambda: SMTP(mailbox, hostname="mx.bench"), "127.0.0.1", 0
    )
    smtp_port = smtp_server.sockets[0].getsockname()[1]
    sms_app = create_fake_sms_app(FakeSmsConfig(control=True))
    runner = web.AppRunner(sms_app, access_log=None)
    await runner.setup()
    sms_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", sms_port).start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        settings = Settings(
            database_url=url,
            var_dir=tmp / "var",
            auto_migrate=False,
            log_level="WARNING",
            sms_base_url=f"http://127.0.0.1:{sms_port}",
        )
        await migrate(settings)
        cases = max(1, args.deliveries // args.per_case)
        ids, seed_s = await seed(settings, cases, args.per_case)
        total = len(ids)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "MC_DATABASE_URL": url,
            "MC_VAR_DIR": str(tmp / "var"),
            "MC_AUTO_MIGRATE": "false",
            "MC_SMS_BASE_URL": f"http://127.0.0.1:{sms_port}",
            "MC_SERVICE_SMTP_PORT": str(smtp_port),
            "MC_WORKER_CONCURRENCY": str(args.concurrency),
            "MC_JOB_POLL_S": "0.05",
            "MC_JOB_LEASE_S": str(args.lease),
            "MC_DB_POOL_MAX": str(min(args.concurrency + 2, 40)),
            "MC_LOG_LEVEL": os.environ.get("BENCH_WORKER_LOG_LEVEL", "ERROR"),
        }
        pg = await asyncpg.create_pool(url, min_size=1, max_size=2)
        served_sql = "SELECT count(*) FROM service_delivery WHERE status = 'served'"
        began = time.perf_counter()
        bench_cpu0 = time.process_time()
        load_start = os.getloadavg()[0]
        worker_cpu = 0.0  # of the workers that are gone (the killed one)
        for i in range(args.workers):
            workers.append(start_worker(env, tmp / f"worker{i}.log"))
        killed_at: float | None = None
        served_at_kill = 0
        timeline: list[tuple[float, int]] = []
        while True:
            served = await count(pg, served_sql)
            elapsed = time.perf_counter() - began
            timeline.append((elapsed, served))
            if killed_at is None and served >= args.kill_at * total:
                worker_cpu += cpu_seconds(workers[0].pid)
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait()
                killed_at, served_at_kill = elapsed, served
                workers[0] = start_worker(env, tmp / "worker-restarted.log")
            if served >= total:
                break
            if elapsed > args.timeout:
                raise BenchError(
                    f"only {served}/{total} served after {args.timeout}s; log:\n"
                    + tail(tmp / "worker-restarted.log")
                )
            await asyncio.sleep(0.2)
        wall = time.perf_counter() - began
        worker_cpu += sum(cpu_seconds(w.pid) for w in workers)
        bench_cpu = time.process_time() - bench_cpu0
        every = max(1, len(timeline) // 12)
        print(
            "served over time: "
            + ", ".join(f"{t:.0f}s:{n}" for t, n in timeline[::every] + timeline[-1:]),
            file=sys.stderr,
        )
        print(f"served {total} in {wall:.1f} s", file=sys.stderr)
        checks = {
            "served_events": await count(
                pg, "SELECT count(*) FROM audit_event WHERE action = 'service.served'"
            ),
            "attempts": await count(pg, "SELECT count(*) FROM service_attempt"),
            "per_delivery_channels_wrong": await count(
                pg,
                "SELECT count(*) FROM (SELECT delivery_id FROM service_attempt "
                "GROUP BY delivery_id HAVING count(*) <> 3) x",
            ),
            "undelivered_attempts": await count(
                pg, "SELECT count(*) FROM service_attempt WHERE status <> 'delivered'"
            ),
            "dead_jobs": await count(pg, "SELECT count(*) FROM job WHERE status = 'dead'"),
            "rule_reached": await count(
                pg,
                "SELECT count(*) FROM service_delivery "
                "WHERE service_rule = 'reached_confirmed_address'",
            ),
            "deadlines": await count(pg, "SELECT count(*) FROM service_deadline"),
        }
        await pg.close()
        # Every worker's last count (the killed one's is at most 0.5 s old: a slight undercount).
        await asyncio.sleep(0.6)
        statements = read_counts(tmp)
        sms_sent = len(sms_app[SMS_STATE].messages)
        emails = sum(mailbox.received.values())
        return {
            "total": total,
            "cases": cases,
            "per_case": args.per_case,
            "seed_s": seed_s,
            "wall_s": wall,
            "rate": total / wall,
            "killed_at_s": killed_at,
            "served_at_kill": served_at_kill,
            "emails": emails,
            "email_duplicates": emails - len(mailbox.received),
            "sms": sms_sent,
            "statements": statements,
            "worker_cpu_s": worker_cpu,
            "bench_cpu_s": bench_cpu,
            "load": (load_start, os.getloadavg()[0]),
            "timeline": [(round(t, 1), n) for t, n in timeline[::every] + timeline[-1:]],
            "checks": checks,
            "args": vars(args),
        }
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                # Waiting in a thread: the fake gateways in this loop must keep answering
                # while the workers shut down (closing their SMTP connections politely).
                await asyncio.to_thread(proc.wait, 60 if PROFILE else 15)
            except subprocess.TimeoutExpired:
                proc.kill()
        smtp_server.close()
        await runner.cleanup()
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"worker logs in {tmp}", file=sys.stderr)


def section(result: dict[str, Any]) -> str:
    checks = result["checks"]
    total = result["total"]
    ok = (
        checks["served_events"] == total
        and checks["attempts"] == 3 * total
        and checks["per_delivery_channels_wrong"] == 0
        and checks["dead_jobs"] == 0
    )
    met = ok and result["wall_s"] <= 60 and total >= 10_000
    args = result["args"]
    cmd = (
        f".venv/bin/python bench/service_bench.py --deliveries {args['deliveries']} "
        f"--per-case {args['per_case']} --kill-at {args['kill_at']} --workers {args['workers']} "
        f"--concurrency {args['concurrency']}"
    )
    return "\n".join(
        [
            START,
            "## E-service: documents served through the fake gateways, worker killed mid-run "
            "(bench/service_bench.py)",
            "",
            f"Command: `{cmd}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python "
            f"{platform.python_version()}, PostgreSQL on 127.0.0.1, {os.cpu_count()} cores "
            "shared with other work.",
            "",
            f"{total} deliveries ({result['cases']} cases × {result['per_case']} parties, one "
            "notice of response each, plan `[inapp, sms, email]`, email to the address given in "
            f"the pleadings). Set-up (cases, tasks, fan-out jobs; not timed): "
            f"{result['seed_s']:.1f} s.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| all served in | **{result['wall_s']:.1f} s** (target ≤ 60 s: "
            f"{'met' if met else 'NOT met'}) |",
            f"| throughput | **{result['rate']:.0f} documents/s** |",
            (
                f"| worker killed (SIGKILL) at | {result['killed_at_s']:.1f} s, "
                f"{result['served_at_kill']} served; restarted at once |"
                if result["killed_at_s"] is not None
                else "| worker killed | no (finished before the kill point) |"
            ),
            f"| `service.served` audit events | {checks['served_events']} (one per delivery) |",
            f"| attempt rows | {checks['attempts']} (3 per delivery; deliveries with another "
            f"count: {checks['per_delivery_channels_wrong']}) |",
            f"| attempts not delivered | {checks['undelivered_attempts']} |",
            f"| dead jobs | {checks['dead_jobs']} |",
            f"| served by the confirmed-address rule | {checks['rule_reached']} |",
            f"| deadline rows | {checks['deadlines']} |",
            f"| emails received / duplicates | {result['emails']} / "
            f"{result['email_duplicates']} (in flight at the kill: sent again, recorded once) |",
            f"| SMS accepted by the gateway | {result['sms']} |",
            f"| workers' CPU (all workers, the killed one until the kill) | "
            f"{result['worker_cpu_s']:.1f} s = **{1000 * result['worker_cpu_s'] / total:.2f} ms "
            "per delivery** |",
            f"| this process's CPU (fake SMS gateway, SMTP server, polling) | "
            f"{result['bench_cpu_s']:.1f} s |",
            f"| load average (1 min) at start / end | {result['load'][0]:.1f} / "
            f"{result['load'][1]:.1f} |",
            f"| PostgreSQL round trips (statements sent by the workers) | "
            f"{result['statements']} = **{result['statements'] / total:.2f} per delivery** |",
            "",
            "Every delivery served exactly once in effect, none lost: "
            f"**{'yes' if ok else 'NO'}**.",
            *(["", result["args"]["note"]] if result["args"].get("note") else []),
            END,
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--per-case", type=int, default=100)
    parser.add_argument("--kill-at", type=float, default=0.3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--lease", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--note", default="", help="a remark kept in the RESULTS.md section")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    text = section(result)
    print(text)
    if not args.no_write:
        write_section(text, START, END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
