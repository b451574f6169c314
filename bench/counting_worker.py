"""``python bench/counting_worker.py COUNT_FILE``: a standalone job worker (``backend.cli
worker``) that counts its PostgreSQL round trips — every statement sent through asyncpg
(``execute``, ``fetch*``, one per ``executemany`` batch, transaction commands included) — and
rewrites the total to COUNT_FILE twice a second, so a worker killed with SIGKILL has left a
count that is at most half a second old. For service_bench.py's round-trips-per-delivery
figure; the counting costs a few microseconds per statement. With ``BENCH_PROFILE=PATH`` the
worker also runs under cProfile and writes ``PATH.<pid>`` when it stops (not when killed)."""

from __future__ import annotations

import cProfile
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import asyncpg

COUNT = [0]


def _counted(name: str) -> None:
    original = getattr(asyncpg.Connection, name)

    async def wrapper(self: asyncpg.Connection, *args: Any, **kwargs: Any) -> Any:
        COUNT[0] += 1
        return await original(self, *args, **kwargs)

    setattr(asyncpg.Connection, name, wrapper)


def _writer(path: Path) -> None:
    while True:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(str(COUNT[0]))
        os.replace(tmp, path)
        time.sleep(0.5)


def main() -> None:
    path = Path(sys.argv[1])
    for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
        _counted(name)
    threading.Thread(target=_writer, args=(path,), daemon=True).start()
    from backend.cli import main as cli_main

    profile = os.environ.get("BENCH_PROFILE")
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    try:
        cli_main(["worker"])
    finally:
        path.write_text(str(COUNT[0]))
        if profiler is not None and profile:
            profiler.disable()
            profiler.dump_stats(f"{profile}.{os.getpid()}")


if __name__ == "__main__":
    main()
