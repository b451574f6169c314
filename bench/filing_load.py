"""Load processes for bench/filing_bench.py (run in their own process, pinned away from the server).

``poll``: every lawyer (own token) polls on a fixed period: the dashboard, then the status of one
of their cases (``GET /api/v1/filing/filings/{id}``). Each lawyer starts at a random phase so the
requests spread over the period; a lawyer whose previous poll has not finished sends the next one
as soon as it is answered (late polls are counted). Latency is from sending the request to the end
of the body. Prints ``POLL_JSON {...}``: per endpoint counts, status codes, errors, p50/p95/p99/max.

``drafts``: one draft filing (``POST /api/v1/filing/filings``) per given lawyer; prints the ids.

``upload``: every (token, filing id) pair uploads its own ``--mb`` MiB PDF as evidence at the same
moment (multipart, streamed from memory by the client); checks 201 and that the SHA-256 and size
the server recorded match, then downloads each file back and hashes it. Prints ``UPLOAD_JSON``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import sys
import time
from collections import Counter
from typing import Any

import aiohttp

DASHBOARD_DEFAULT = "/api/v1/filing/dashboard"
FILINGS = "/api/v1/filing/filings"


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    return {
        "p50": pct(50),
        "p95": pct(95),
        "p99": pct(99),
        "max": ordered[-1] * 1000,
        "mean": sum(ordered) / len(ordered) * 1000,
    }


async def poll(args: argparse.Namespace, lawyers: list[dict[str, Any]]) -> dict[str, Any]:
    rng = random.Random(7)
    base = args.base_url
    endpoints = ("dashboard", "case")
    latencies: dict[str, list[float]] = {e: [] for e in endpoints}
    codes: dict[str, Counter[str]] = {e: Counter() for e in endpoints}
    errors: dict[str, Counter[str]] = {e: Counter() for e in endpoints}
    late = 0
    polls = 0
    answered = 0  # every response, warm-up included: the server's CPU is measured over it all
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=30)
    loop_start = time.perf_counter()
    measure_from = loop_start + args.warmup
    stop_at = measure_from + args.duration

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def get(endpoint: str, path: str, headers: dict[str, str]) -> None:
            nonlocal answered
            t0 = time.perf_counter()
            try:
                async with session.get(base + path, headers=headers) as resp:
                    await resp.read()
                    status = str(resp.status)
                    answered += 1
            except (TimeoutError, aiohttp.ClientError) as exc:
                if t0 >= measure_from:
                    errors[endpoint][type(exc).__name__] += 1
                return
            if t0 >= measure_from:
                latencies[endpoint].append(time.perf_counter() - t0)
                codes[endpoint][status] += 1

        async def lawyer(entry: dict[str, Any]) -> None:
            nonlocal late, polls
            headers = {"Authorization": f"Bearer {entry['token']}"}
            cases = entry["cases"]
            due = loop_start + rng.random() * args.interval
            while True:
                now = time.perf_counter()
                if due > now:
                    await asyncio.sleep(due - now)
                elif now - due > args.interval / 2 and now >= measure_from:
                    late += 1
                if due >= stop_at or now >= stop_at:
                    return
                if due >= measure_from:
                    polls += 1
                await get("dashboard", args.dashboard_path, headers)
                await get("case", f"{FILINGS}/{cases[rng.randrange(len(cases))]}", headers)
                due += args.interval if args.interval > 0 else 0.0
                if args.interval <= 0:
                    due = time.perf_counter()

        await asyncio.gather(*(lawyer(entry) for entry in lawyers))
    elapsed = args.duration
    return {
        "clients": len(lawyers),
        "interval_s": args.interval,
        "duration_s": elapsed,
        "polls": polls,
        "late_polls": late,
        "answered_all": answered,
        "endpoints": {
            e: {
                "requests": sum(codes[e].values()),
                "rps": sum(codes[e].values()) / elapsed,
                "codes": dict(codes[e]),
                "errors": dict(errors[e]),
                "latency_ms": percentiles(latencies[e]),
            }
            for e in endpoints
        },
    }


async def drafts(args: argparse.Namespace, tokens: list[str]) -> list[str]:
    body = {
        "court": args.court,
        "cause": args.cause,
        "case_type": "民初",
        "procedure": "ordinary",
        "claim_amount": "350000.00",
        "claims": "请求判令被告支付货款。",
        "facts_and_reasons": "被告未按合同约定付款。",
    }
    async with aiohttp.ClientSession() as session:

        async def one(token: str) -> str:
            headers = {"Authorization": f"Bearer {token}"}
            async with session.post(args.base_url + FILINGS, json=body, headers=headers) as resp:
                data = await resp.json()
                if resp.status != 201:
                    raise SystemExit(f"draft: {resp.status} {data}")
                return str(data["id"])

        return list(await asyncio.gather(*(one(t) for t in tokens)))


def evidence_pdf(size: int, index: int) -> bytes:
    head = b"%PDF-1.7\n% bench evidence " + str(index).encode() + b"\n"
    tail = b"\n%%EOF\n"
    return head + os.urandom(size - len(head) - len(tail)) + tail


async def upload(args: argparse.Namespace, pairs: list[dict[str, str]]) -> dict[str, Any]:
    size = int(args.mb * 1024 * 1024)
    files = [evidence_pdf(size, i) for i in range(len(pairs))]
    digests = [hashlib.sha256(f).hexdigest() for f in files]
    results: list[dict[str, Any]] = []
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        start = asyncio.Event()

        async def one(i: int, pair: dict[str, str]) -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {pair['token']}"}
            form = aiohttp.FormData()
            form.add_field("title", f"证据{i + 1} 合同扫描件")
            form.add_field("description", "bench upload")
            form.add_field(
                "file", files[i], filename=f"evidence-{i}.pdf", content_type="application/pdf"
            )
            await start.wait()
            t0 = time.perf_counter()
            url = f"{args.base_url}{FILINGS}/{pair['filing_id']}/evidence"
            async with session.post(url, data=form, headers=headers) as resp:
                data = await resp.json()
                status = resp.status
            seconds = time.perf_counter() - t0
            ok = status == 201 and data.get("sha256") == digests[i] and data.get("size") == size
            return {
                "status": status,
                "seconds": seconds,
                "hash_ok": ok,
                "evidence_id": data.get("id"),
                "detail": None if status == 201 else data,
            }

        tasks = [asyncio.create_task(one(i, p)) for i, p in enumerate(pairs)]
        await asyncio.sleep(0.2)  # every request built and waiting
        t_all = time.perf_counter()
        start.set()
        results = list(await asyncio.gather(*tasks))
        wall = time.perf_counter() - t_all
        print("UPLOADS_DONE", flush=True)

        # Read each file back and hash it (after the measured window).
        downloads_ok = 0
        for i, (pair, res) in enumerate(zip(pairs, results, strict=True)):
            if res["status"] != 201:
                continue
            headers = {"Authorization": f"Bearer {pair['token']}"}
            url = f"{args.base_url}{FILINGS}/{pair['filing_id']}/evidence/{res['evidence_id']}/file"
            digest = hashlib.sha256()
            async with session.get(url, headers=headers) as resp:
                if resp.status == 200:
                    async for chunk in resp.content.iter_chunked(1 << 16):
                        digest.update(chunk)
                    if digest.hexdigest() == digests[i]:
                        downloads_ok += 1
    return {
        "uploads": len(pairs),
        "bytes_each": size,
        "wall_s": wall,
        "ok": sum(1 for r in results if r["status"] == 201),
        "hash_ok": sum(1 for r in results if r["hash_ok"]),
        "downloads_hash_ok": downloads_ok,
        "seconds": percentiles([r["seconds"] for r in results]),
        "failures": [r["detail"] for r in results if r["status"] != 201][:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["poll", "drafts", "upload"])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--input", required=True, help="JSON file (lawyers / tokens / pairs)")
    parser.add_argument("--dashboard-path", default=DASHBOARD_DEFAULT)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--mb", type=float, default=5.0)
    parser.add_argument("--court", default="浙0281")
    parser.add_argument("--cause", default="")
    args = parser.parse_args()
    data = json.loads(open(args.input, encoding="utf-8").read())
    if args.mode == "poll":
        print("POLL_JSON " + json.dumps(asyncio.run(poll(args, data))), flush=True)
    elif args.mode == "drafts":
        print("DRAFTS_JSON " + json.dumps(asyncio.run(drafts(args, data))), flush=True)
    else:
        print("UPLOAD_JSON " + json.dumps(asyncio.run(upload(args, data))), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
