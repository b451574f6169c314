"""A lean load generator for machines without `wrk`: N keep-alive connections, closed loop,
raw asyncio protocols (no HTTP client library), one request in flight per connection like wrk.

About five times cheaper per request than bench/loadgen.py, so on two cores it keeps an aiohttp
server busy. It understands only what our servers send: ``Content-Length`` bodies, no chunking.
Prints ``LOADGEN_JSON {...}`` with the fields bench/wrk_report.lua reports (latencies omitted).

    BENCH_AUTH="Bearer …" .venv/bin/python bench/rawload.py --url http://127.0.0.1:8080/x -c 64 -d 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import Counter
from urllib.parse import urlsplit


class Client(asyncio.Protocol):
    def __init__(self, request: bytes, codes: Counter[int], deadline: float) -> None:
        self.request = request
        self.codes = codes
        self.deadline = deadline
        self.buffer = b""
        self.done = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 : head.find(b"\r\n", at)]) if at >= 0 else 0
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            self.codes[int(self.buffer[9:12])] += 1
            self.buffer = self.buffer[total:]
            assert self.transport is not None
            if time.perf_counter() >= self.deadline:
                self.transport.close()
                return
            self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(exc)


async def run(url: str, connections: int, duration: float, auth: str | None) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    headers = f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    if auth:
        headers += f"Authorization: {auth}\r\n"
    request = (headers + "\r\n").encode()
    codes: Counter[int] = Counter()
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    deadline = started + duration
    clients = []
    for _ in range(connections):
        _, client = await loop.create_connection(
            lambda: Client(request, codes, deadline), host, port
        )
        clients.append(client)
    errors = [exc for exc in await asyncio.gather(*(c.done for c in clients)) if exc]
    elapsed = time.perf_counter() - started
    return {
        "duration_us": int(elapsed * 1e6),
        "requests": sum(codes.values()),
        "errors": {
            "connect": 0,
            "read": len(errors),
            "write": 0,
            "status": sum(n for c, n in codes.items() if c > 399),
            "timeout": 0,
        },
        "codes": {str(c): n for c, n in codes.items()},
        "latency_us": {"mean": 0, "max": 0, "p50": 0, "p90": 0, "p99": 0},
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
