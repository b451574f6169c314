"""Fallback load generator for machines without `wrk`: N keep-alive connections, closed loop.

Runs in its own process (bench/http_bench.py starts it). Prints one line
``LOADGEN_JSON {...}`` with the same fields the wrk script reports. Being Python, it is itself
CPU-heavy: on a small machine it may saturate before a fast server does, so prefer wrk.

    .venv/bin/python bench/loadgen.py --url http://127.0.0.1:8901/hello -c 64 -d 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import Counter

import aiohttp


async def run(url: str, connections: int, duration: float, auth: str | None) -> dict[str, object]:
    headers = {"Authorization": auth} if auth else {}
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    latencies: list[float] = []
    codes: Counter[int] = Counter()
    errors = Counter[str]()
    nbytes = 0
    started = time.perf_counter()
    deadline = started + duration

    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal nbytes
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                try:
                    async with session.get(url) as resp:
                        body = await resp.read()
                        codes[resp.status] += 1
                        nbytes += len(body)
                except (TimeoutError, aiohttp.ClientError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> int:
        if not latencies:
            return 0
        return int(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1e6)

    return {
        "duration_us": int(elapsed * 1e6),
        "requests": sum(codes.values()),
        "bytes": nbytes,
        "errors": {
            "connect": 0,
            "read": sum(errors.values()),
            "write": 0,
            "status": sum(n for c, n in codes.items() if c > 399),
            "timeout": 0,
        },
        "codes": {str(c): n for c, n in codes.items()},
        "latency_us": {
            "mean": sum(latencies) / len(latencies) * 1e6 if latencies else 0,
            "max": int(latencies[-1] * 1e6) if latencies else 0,
            "p50": pct(50),
            "p90": pct(90),
            "p99": pct(99),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("-c", "--connections", type=int, default=64)
    parser.add_argument("-d", "--duration", type=float, default=10.0)
    args = parser.parse_args()
    result = asyncio.run(
        run(args.url, args.connections, args.duration, os.environ.get("BENCH_AUTH") or None)
    )
    print("LOADGEN_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
