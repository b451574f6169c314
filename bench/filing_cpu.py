"""Server CPU per request of the filing dashboard and case status (one client, requests in
sequence), on the same seeded PostgreSQL data as bench/filing_bench.py.

    .venv/bin/python bench/filing_cpu.py                    # 10,000 cases, 300 requests each
    .venv/bin/python bench/filing_cpu.py --profile /tmp/p   # + cProfile of the server (stats files)

CPU time is read from /proc (utime + stime of the server, all threads) around each endpoint's
requests, so other processes' load inflates it only through contention (caches, frequency), not
by queueing: on a busy machine it is the figure to compare before/after, where latency is not.
``GET /api/v1/auth/me`` is the floor every authenticated request pays (middleware, bearer token,
session lookup). With ``--profile DIR`` the server runs under cProfile and DIR/server.prof is
written when it stops; the top functions by own and cumulative time are printed.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from common import BenchError, free_port, run_checked, stop, tail, wait_ready
from filing_bench import DEFAULT_PG_ADMIN, _drop_pg, run_json
from http_bench import CLK_TCK, _reset_pg, pg_backend_ticks, pg_url_for, pin, proc_ticks

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PY = sys.executable
ENDPOINTS = ("auth_me", "dashboard", "case")


async def measure(
    base_url: str, lawyers: list[dict[str, Any]], server_pid: int, db: str, n: int, warmup: int
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    async with aiohttp.ClientSession() as session:

        def path(endpoint: str, i: int) -> tuple[str, dict[str, str]]:
            lawyer = lawyers[i % len(lawyers)]
            headers = {"Authorization": f"Bearer {lawyer['token']}"}
            if endpoint == "auth_me":
                return "/api/v1/auth/me", headers
            if endpoint == "dashboard":
                return "/api/v1/filing/dashboard", headers
            cases = lawyer["cases"]
            return f"/api/v1/filing/filings/{cases[(i // len(lawyers)) % len(cases)]}", headers

        async def run(endpoint: str, count: int) -> int:
            sizes = 0
            for i in range(count):
                url, headers = path(endpoint, i)
                async with session.get(base_url + url, headers=headers) as resp:
                    body = await resp.read()
                    if resp.status != 200:
                        raise BenchError(f"{url} -> {resp.status} {body[:300]!r}")
                    sizes += len(body)
            return sizes

        for endpoint in ENDPOINTS:
            await run(endpoint, warmup)
            server0, pg0 = proc_ticks(server_pid), pg_backend_ticks(db)
            t0 = time.monotonic()
            size = await run(endpoint, n)
            wall = time.monotonic() - t0
            server1, pg1 = proc_ticks(server_pid), pg_backend_ticks(db)
            pg = sum(t - pg0.get(pid, 0) for pid, t in pg1.items())
            out[endpoint] = {
                "server_cpu_ms": (server1 - server0) / CLK_TCK * 1000 / n,
                "postgres_cpu_ms": pg / CLK_TCK * 1000 / n,
                "wall_ms": wall * 1000 / n,
                "bytes": size / n,
            }
    return out


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--lawyers", type=int, default=200)
    parser.add_argument("-n", type=int, default=300, help="measured requests per endpoint")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="measurements (the best is kept)")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN)
    parser.add_argument("--db", default="mc_filing_cpu")
    parser.add_argument("--server-cpus", default="0")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile the server here")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)

    work = Path(tempfile.mkdtemp(prefix="filing-cpu-"))
    var_dir = work / "var"
    var_dir.mkdir()
    db_url = pg_url_for(args.pg_admin_url, args.db)
    env = dict(os.environ, MC_VAR_DIR=str(var_dir), MC_DATABASE_URL=db_url, MC_LOG_LEVEL="WARNING")
    env.pop("DATABASE_URL", None)
    env["MC_ACCESS_TOKEN_TTL_S"] = "900"
    asyncio.run(_reset_pg(args.pg_admin_url, args.db))
    run_checked([PY, "-m", "backend.cli", "migrate"], env, "migrate")
    seeded = run_json(
        [
            PY,
            str(BENCH_DIR / "filing_seed.py"),
            str(args.cases),
            str(args.events),
            str(args.lawyers),
            str(args.seed),
        ],
        env | {"MC_MODE": "development"},
        "SEED_JSON",
        "seed",
    )
    server_env = env | {
        "MC_MODE": "production",
        "MC_FIELD_ENCRYPTION_KEY": (var_dir / "secrets" / "field_key").read_text().strip(),
        "MC_FACE_WARM_UP": "false",
        "MC_RUN_WORKER": "false",
    }
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = work / "server.log"
    cmd = [PY]
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        cmd += ["-m", "cProfile", "-o", str(args.profile / "server.prof")]
    cmd += ["-m", "backend.cli", "serve", "--port", str(port)]
    server = None
    results: list[dict[str, dict[str, float]]] = []
    try:
        with log.open("wb") as log_fh:
            server = subprocess.Popen(
                [*pin(args.server_cpus), *cmd],
                env=server_env,
                cwd=ROOT,
                stdout=log_fh,
                stderr=subprocess.STDOUT,
            )
        wait_ready(f"{base_url}/healthz", server, log)
        for _ in range(args.repeat):
            results.append(
                asyncio.run(
                    measure(base_url, seeded["lawyers"], server.pid, args.db, args.n, args.warmup)
                )
            )
    except BenchError:
        print(f"server log:\n{tail(log)}", file=sys.stderr)
        raise
    finally:
        stop(server)
        if not args.keep:
            asyncio.run(_drop_pg(args.pg_admin_url, args.db))
        shutil.rmtree(work, ignore_errors=True)

    best = {e: min((r[e] for r in results), key=lambda m: m["server_cpu_ms"]) for e in ENDPOINTS}
    print(f"load average {load_average()}; {args.n} requests per endpoint, best of {args.repeat}")
    print("endpoint    server CPU ms/req  postgres CPU ms/req  wall ms/req  bytes")
    for e in ENDPOINTS:
        m = best[e]
        print(
            f"{e:<11} {m['server_cpu_ms']:>17.2f}  {m['postgres_cpu_ms']:>19.2f}  "
            f"{m['wall_ms']:>11.2f}  {m['bytes']:>5.0f}"
        )
    print("CPU_JSON " + json.dumps({"best": best, "runs": results, "load": load_average()}))
    if args.profile is not None:
        stats = pstats.Stats(str(args.profile / "server.prof"))
        stats.sort_stats("tottime").print_stats(35)
        stats.sort_stats("cumulative").print_stats(60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
