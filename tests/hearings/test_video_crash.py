"""A real server process recording a hearing is killed with SIGKILL: every segment it finished
is on disk, readable, hashed and chained; the next process picks the chain up where it stopped."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from backend.settings import Settings
from hearings.models import VideoSegment
from hearings.video_recording import read_journal, verify
from tests.conftest import REPO
from tests.hearings.conftest import BASE, Case, make_due, schedule
from tests.hearings.video_client import Participant

Client = TestClient[Any, Any]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def _start_server(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "serve"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            assert proc.poll() is None, _tail(log)
            try:
                async with http.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"server not ready: {_tail(log)}")


async def test_sigkill_leaves_verifiable_segments(
    client: Client, case: Case, settings: Settings, tmp_path: Path
) -> None:
    hearing = await schedule(client, case)
    hid = hearing["id"]
    await make_due(hid)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "MC_VAR_DIR": str(settings.var_dir),  # same keys: our tokens are valid there
        "MC_DATABASE_URL": settings.effective_database_url,
        "MC_AUTO_MIGRATE": "false",
        "MC_RUN_WORKER": "false",
        "MC_PORT": str(port),
        "MC_VIDEO_SEGMENT_S": "1",
        "MC_VIDEO_ALLOWED_ORIGINS": f'["{base}"]',
        "MC_LOG_LEVEL": "WARNING",
    }
    proc = _start_server(env, log)
    peers: list[Participant] = []
    try:
        await _wait_ready(base, proc, log)
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}{BASE}/{hid}/open", headers=case.judge.headers) as resp:
                assert resp.status == 200, await resp.text()
            url = f"{base}{BASE}/{hid}/signaling"
            judge = Participant(http, url, case.judge.token, audio=False)
            peers.append(judge)
            assert (await judge.connect(origin=base))["state"] == "admitted"
            await judge.publish()
            # Let the server finish a few one-second segments, then kill it mid-window.
            directory = settings.effective_recording_dir / hid
            deadline = time.monotonic() + 30
            while len(read_journal(directory)) < 3:
                assert time.monotonic() < deadline, _tail(log)
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.5)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            for peer in peers:
                await peer.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    links = read_journal(directory)
    finished = sorted(p.name for p in directory.glob("*.mkv"))
    assert len(links) >= 3
    # Every file with a final name is a complete, chained, verifiable segment.
    assert finished == sorted(link.file_name for link in links)
    assert verify(directory, links) == []
    rows = await VideoSegment.filter(hearing_id=hid).order_by("seq")
    assert [r.seq for r in rows] == [link.seq for link in links][: len(rows)]

    # The next server process takes the hearing over: segments that reached the journal but
    # not the database join the record, and closing writes the manifest over all of them.
    judge = Participant(client, f"{BASE}/{hid}/signaling", case.judge.token, audio=False)
    assert (await judge.connect())["state"] == "admitted"
    await judge.close()
    resp = await client.post(f"{BASE}/{hid}/close", headers=case.judge.headers)
    assert resp.status == 200
    rows = await VideoSegment.filter(hearing_id=hid).order_by("seq")
    assert [r.chain_hash for r in rows] == [link.chain_hash for link in links]
    resp = await client.get(f"{BASE}/{hid}/record/verify", headers=case.clerk.headers)
    assert (await resp.json())["ok"] is True

    # Tampering is caught.
    victim = directory / links[1].file_name
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    resp = await client.get(f"{BASE}/{hid}/record/verify", headers=case.clerk.headers)
    report = await resp.json()
    assert report["ok"] is False
    assert report["problems"] == ["segment 2: file content does not match its hash"]
