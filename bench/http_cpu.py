"""Server CPU time per request: authenticated GET /api/v1/auth/me vs a bare aiohttp hello.

A companion to http_bench.py for a shared machine: wall-clock throughput moves with other
people's load, CPU time per request much less. For each backend it prepares a fresh database and
a signed-in account exactly like http_bench.py, then serves, *in this process* (one event loop,
pinned to one CPU), the real application and a bare aiohttp app (`bench/bare_server.py`'s
handler) on two ports, drives each with wrk or, without it, bench/rawload.py (64 connections,
pinned to the other CPU) and divides the process's CPU time (``time.process_time``: every
thread) by the requests answered.
On PostgreSQL the database backends' CPU per request is reported separately.

    .venv/bin/python bench/http_cpu.py                       # both backends, 3 rounds of 5 s
    .venv/bin/python bench/http_cpu.py --backends postgres -d 5 -r 3
    .venv/bin/python bench/http_cpu.py --backends sqlite --profile /tmp/me.pstats

"bare / auth" is the CPU-bound estimate of http_bench's ratio (the target is >= 35 %). The
minimum over rounds is reported (other load only adds cost). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BenchError, free_port, run_checked
from http_bench import (
    AUTHED_PATH,
    BARE_PATH,
    CLK_TCK,
    DEFAULT_PG_ADMIN,
    PG_DB,
    PY,
    ROOT,
    _reset_pg,
    loadgen_cmd,
    pg_backend_ticks,
    pg_url_for,
)

sys.path.insert(0, str(ROOT))


def prepare(args: argparse.Namespace, backend: str, work: Path) -> tuple[dict[str, str], str]:
    var_dir = work / backend
    var_dir.mkdir(parents=True)
    env = dict(
        os.environ,
        MC_VAR_DIR=str(var_dir),
        MC_RUN_WORKER="false",
        MC_LOG_LEVEL="WARNING",
        MC_MODE="development",
    )
    env.pop("DATABASE_URL", None)
    env.pop("MC_DATABASE_URL", None)
    if backend == "postgres":
        asyncio.run(_reset_pg(args.pg_admin_url, PG_DB))
        env["MC_DATABASE_URL"] = pg_url_for(args.pg_admin_url, PG_DB)
    else:
        env["MC_DATABASE_URL"] = f"sqlite://{var_dir / 'bench.sqlite3'}"
    run_checked([PY, "-m", "backend.cli", "migrate"], env, "migrate")
    out = run_checked(
        [PY, str(Path(__file__).with_name("http_bench.py")), "--_make-token"], env, "token"
    )
    return env, json.loads(out.strip().splitlines()[-1])["token"]


async def wrk(args: argparse.Namespace, url: str, token: str | None, seconds: float) -> int:
    env = dict(os.environ, BENCH_AUTH=f"Bearer {token}" if token else "")
    gen = loadgen_cmd(args.loadgen, url, args.connections, 1, seconds)
    cmd = ["taskset", "-c", args.client_cpus, *gen]
    proc = await asyncio.create_subprocess_exec(
        *cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await proc.communicate()
    line = next(
        (ln for ln in out.decode().splitlines() if ln.startswith(("WRK_JSON ", "LOADGEN_JSON "))),
        None,
    )
    if proc.returncode != 0 or line is None:
        raise BenchError(f"wrk failed: {out.decode()}\n{err.decode()}")
    raw = json.loads(line.split(" ", 1)[1])
    codes = raw["codes"] if isinstance(raw["codes"], dict) else {}
    bad = {k: v for k, v in codes.items() if str(k) != "200"}
    if bad or any(raw["errors"].values()):
        raise BenchError(f"non-200 responses or socket errors: {codes} {raw['errors']}")
    return int(sum(codes.values()))


async def serve_and_measure(args: argparse.Namespace, backend: str, token: str) -> dict[str, float]:
    from aiohttp import web
    from bare_server import hello

    from backend.app import create_app
    from backend.observability import configure_logging
    from backend.settings import Settings

    configure_logging("WARNING")
    app = create_app(Settings())
    bare = web.Application()
    bare.router.add_get(BARE_PATH, hello)
    runners = [web.AppRunner(app, access_log=None), web.AppRunner(bare, access_log=None)]
    ports = [free_port(), free_port()]
    for runner, port in zip(runners, ports, strict=True):
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.sleep(1.5)  # PostgreSQL: the revocation listener connects
        authed = f"http://127.0.0.1:{ports[0]}{AUTHED_PATH}"
        bare_url = f"http://127.0.0.1:{ports[1]}{BARE_PATH}"
        await wrk(args, authed, token, args.warmup)
        await wrk(args, bare_url, None, args.warmup)
        best: dict[str, float] = {}
        # CPU time, not wall time: on a shared machine a preempted send would dominate otherwise.
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        for _ in range(args.rounds):
            for name, url, tok in (("bare", bare_url, None), ("auth", authed, token)):
                pg0 = pg_backend_ticks(PG_DB) if backend == "postgres" else {}
                cpu0 = time.process_time()
                if profiler is not None and name == "auth":
                    profiler.enable()
                n = await wrk(args, url, tok, args.duration)
                if profiler is not None:
                    profiler.disable()
                cpu = time.process_time() - cpu0
                pg1 = pg_backend_ticks(PG_DB) if backend == "postgres" else {}
                pg_s = sum(t - pg0.get(pid, 0) for pid, t in pg1.items()) / CLK_TCK
                us = cpu / n * 1e6
                print(
                    f"[{backend}] {name}: {n} requests, {us:.1f} µs CPU/request"
                    + (f", PostgreSQL {pg_s / n * 1e6:.1f} µs/request" if pg1 else ""),
                    flush=True,
                )
                if us < best.get(name, float("inf")):
                    best[name] = us
                    best[f"{name}_pg"] = pg_s / n * 1e6
        if profiler is not None:
            profiler.dump_stats(args.profile)
        return best
    finally:
        for runner in runners:
            await runner.cleanup()


def child(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {int(c) for c in args.server_cpus.split(",")})
    best = asyncio.run(serve_and_measure(args, args.backend, os.environ["BENCH_TOKEN"]))
    print("RESULT " + json.dumps(best), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("-d", "--duration", type=float, default=5)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("-r", "--rounds", type=int, default=3)
    parser.add_argument("-c", "--connections", type=int, default=64)
    parser.add_argument("--server-cpus", default="0")
    parser.add_argument("--client-cpus", default="1")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN)
    parser.add_argument(
        "--loadgen",
        choices=("wrk", "raw", "python"),
        default="wrk" if shutil.which("wrk") else "raw",
        help="wrk if installed, else bench/rawload.py (it keeps the server busy; loadgen.py"
        " does not, and an idle server spends more CPU per request on wake-ups)",
    )
    parser.add_argument("--profile", help="cProfile the authenticated runs into this file")
    parser.add_argument("--_child", dest="backend", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend:
        child(args)
        return
    with tempfile.TemporaryDirectory(prefix="http_cpu_") as tmp:
        for backend in args.backends.split(","):
            env, token = prepare(args, backend, Path(tmp))
            # A fresh process per backend: the app reads its settings from the environment.
            cmd = [PY, str(Path(__file__).resolve()), *sys.argv[1:], "--_child", backend]
            done = subprocess.run(
                cmd, env=dict(env, BENCH_TOKEN=token), cwd=ROOT, capture_output=True, text=True
            )
            sys.stdout.write("".join(ln + "\n" for ln in done.stdout.splitlines()[:-1]))
            result = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
            if done.returncode != 0 or result is None:
                raise BenchError(f"{backend} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
            best = json.loads(result.split(" ", 1)[1])
            pg = f" (+ PostgreSQL {best['auth_pg']:.0f})" if backend == "postgres" else ""
            print(
                f"== {backend}: bare {best['bare']:.1f} µs, auth {best['auth']:.1f} µs{pg}"
                f" CPU/request (min of {args.rounds}); bare/auth = "
                f"{best['bare'] / best['auth']:.1%} (target >= 35%)",
                flush=True,
            )


if __name__ == "__main__":
    main()
