"""The `mobile-court` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from backend.settings import Settings
from miniapp_stub.platform import configure_platform_parser

Command = Callable[[Settings, argparse.Namespace], Awaitable[int] | int]


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from backend.app import create_app
    from backend.observability import configure_logging

    configure_logging(settings.log_level)
    web.run_app(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        access_log=None,
        print=None,
    )
    return 0


async def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from backend.job_kinds import build_job_registry
    from backend.jobs.worker import run_worker_forever
    from backend.observability import configure_logging

    configure_logging(settings.log_level)
    await run_worker_forever(settings, build_job_registry)
    return 0


async def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from backend.db import migrate

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            print(f"applied {app_label}.{name}")

    await migrate(settings, progress=progress)
    print("database is up to date")
    return 0


async def _makemigrations(settings: Settings, args: argparse.Namespace) -> int:
    from backend.db import makemigrations

    await makemigrations(settings, tuple(args.apps), args.name)
    return 0


async def _with_database(settings: Settings, work: Callable[[], Awaitable[int]]) -> int:
    from backend.db import Database, migrate

    if settings.should_auto_migrate:
        await migrate(settings)
    database = await Database.open(settings)
    try:
        return await work()
    finally:
        await database.close()


async def _audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from backend.audit.service import AuditLog
    from backend.keys import load_keyring

    keyring = load_keyring(settings)
    audit = AuditLog(keyring.server_key)

    async def work() -> int:
        report = await audit.verify({keyring.server_key.kid: keyring.server_key.public_key})
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "events": report.events,
                    "checkpoints": report.checkpoints,
                    "head_seq": report.head_seq,
                    "problems": report.problems,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0 if report.ok else 1

    return await _with_database(settings, work)


async def _audit_checkpoint(settings: Settings, args: argparse.Namespace) -> int:
    from backend.audit.service import AuditLog
    from backend.keys import load_keyring

    audit = AuditLog(load_keyring(settings).server_key)

    async def work() -> int:
        created = await audit.checkpoint()
        print(f"signed checkpoint at seq {created.seq}" if created else "nothing new to sign")
        return 0

    return await _with_database(settings, work)


async def _create_staff(settings: Settings, args: argparse.Namespace) -> int:
    from backend.audit.service import AuditLog
    from backend.auth.principal import Actor
    from backend.auth.staff import create_staff_account
    from backend.keys import load_keyring

    audit = AuditLog(load_keyring(settings).server_key)
    password = args.password or getpass.getpass("password for the new account: ")

    async def work() -> int:
        account = await create_staff_account(
            audit=audit,
            username=args.username,
            display_name=args.display_name,
            role=args.role,
            court_code=args.court,
            password=password,
            actor=Actor.system("cli"),
        )
        print(
            json.dumps(
                {
                    "id": str(account.id),
                    "username": account.username,
                    "roles": account.roles,
                    "court_code": account.court_code,
                }
            )
        )
        return 0

    return await _with_database(settings, work)


async def _seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from backend.audit.service import AuditLog
    from backend.demo.seed import seed_demo
    from backend.keys import load_keyring
    from backend.settings import Mode

    if settings.mode is Mode.PRODUCTION:
        print("seed-demo refuses to run in production mode", file=sys.stderr)
        return 2
    audit = AuditLog(load_keyring(settings).server_key)

    async def work() -> int:
        await seed_demo(audit, print)
        return 0

    return await _with_database(settings, work)


def _fake_wechat(settings: Settings, args: argparse.Namespace) -> int:
    from miniapp_stub.pay import DEFAULT_PAY_KEYS_DIR
    from miniapp_stub.platform import run_platform_from_args

    if args.pay_keys_dir == DEFAULT_PAY_KEYS_DIR:
        # Next to the backend's other development secrets, wherever MC_VAR_DIR points.
        args.pay_keys_dir = settings.var_dir / "fake-wechat-pay"
    return run_platform_from_args(args)


async def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from backend.demo.runner import run_demo_command

    return await run_demo_command(settings, args)


def _face(command: str, argv: list[str]) -> int:
    from identity.face import cli as face_cli

    result: int = getattr(face_cli, command)(argv)
    return result


def _rotate_keys(settings: Settings, args: argparse.Namespace) -> int:
    from backend.keys import rotate_jwt_keys

    key = rotate_jwt_keys(settings, keep=args.keep)
    print(f"new signing key {key.kid}; restart servers to pick it up")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mobile-court", description="Mobile court backend")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP server (and, embedded, the job worker)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=_migrate)
    sub.add_parser(
        "worker", help="run a standalone job worker (several may run against PostgreSQL)"
    ).set_defaults(func=_worker)
    mk = sub.add_parser("makemigrations", help="(developers) write migrations for model changes")
    mk.add_argument("apps", nargs="*", help="app labels (default: all)")
    mk.add_argument("--name")
    mk.set_defaults(func=_makemigrations)

    audit = sub.add_parser("audit", help="audit log tools").add_subparsers(
        dest="audit_cmd", required=True
    )
    audit.add_parser("verify", help="recompute the hash chain; exit 1 on any problem").set_defaults(
        func=_audit_verify
    )
    audit.add_parser("checkpoint", help="sign the current chain head").set_defaults(
        func=_audit_checkpoint
    )

    staff = sub.add_parser("create-staff", help="create a court staff or administrator account")
    staff.add_argument("--username", required=True)
    staff.add_argument("--display-name", required=True)
    staff.add_argument(
        "--role", required=True, choices=["judge", "clerk", "court_admin", "system_admin"]
    )
    staff.add_argument("--court", help="court code, e.g. 浙0281 (not for system_admin)")
    staff.add_argument("--password", help="omit to be prompted")
    staff.set_defaults(func=_create_staff)

    face = sub.add_parser("face", help="face matching tools").add_subparsers(
        dest="face_cmd", required=True
    )
    calibrate = face.add_parser(
        "calibrate", help="distance statistics, ROC and threshold for a labelled folder"
    )
    calibrate.add_argument("args", nargs=argparse.REMAINDER)
    calibrate.set_defaults(func=lambda settings, args: _face("calibrate_main", args.args))
    compare = face.add_parser("compare", help="compare two photos; prints a JSON verdict")
    compare.add_argument("args", nargs=argparse.REMAINDER)
    compare.set_defaults(func=lambda settings, args: _face("compare_main", args.args))

    fake = sub.add_parser(
        "fake-wechat", help="run the fake WeChat platform: login, messages, SMS, WeChat Pay"
    )
    configure_platform_parser(fake)
    fake.set_defaults(func=_fake_wechat)

    demo = sub.add_parser(
        "demo",
        help="set up, start the server and the fake WeChat platform, run the scripted court "
        "scenario end to end, then keep serving (development only)",
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, help="backend port (default MC_PORT, 8080)")
    demo.add_argument("--wechat-port", type=int, default=8930, help="fake WeChat platform port")
    demo.add_argument(
        "--no-wait", action="store_true", help="exit after the summary instead of serving on"
    )
    demo.add_argument("--faces", help="folder of the demo's photos (default ../shared/faces)")
    demo.set_defaults(func=_demo)

    sub.add_parser(
        "seed-demo", help="courts, causes of action and demo staff (development only)"
    ).set_defaults(func=_seed_demo)

    keys = sub.add_parser("keys", help="key management").add_subparsers(
        dest="keys_cmd", required=True
    )
    rotate = keys.add_parser("rotate", help="add a new JWT signing key, keeping older ones")
    rotate.add_argument("--keep", type=int, default=2, help="older keys kept for verification")
    rotate.set_defaults(func=_rotate_keys)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    func: Any = args.func
    result = func(settings, args)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    sys.exit(int(result or 0))


if __name__ == "__main__":
    main()
