"""Demo data: the reference data (courts, causes of action) and one court's staff."""

from __future__ import annotations

from collections.abc import Callable

from backend.audit.service import AuditLog

DEMO_PASSWORD = "Demo-Court-2026!"
DEMO_STAFF = (
    ("admin", "系统管理员 System Admin", "system_admin", None),
    ("court_admin_0281", "余姚法院管理员 Court Admin", "court_admin", "浙0281"),
    ("judge_0281", "王法官 Judge Wang", "judge", "浙0281"),
    ("clerk_0281", "李书记员 Clerk Li", "clerk", "浙0281"),
)


async def seed_demo(audit: AuditLog, say: Callable[[str], None]) -> None:
    """Idempotent: existing accounts are left alone (and keep their authenticators)."""
    from tortoise.transactions import in_transaction

    from backend.auth.models import Account
    from backend.auth.principal import Actor
    from backend.auth.staff import create_staff_account
    from filing.courts import seed_reference_data

    async with in_transaction() as conn:
        report = await seed_reference_data(conn)
    say(f"reference data: {report}")
    for username, name, role, court in DEMO_STAFF:
        if await Account.filter(username=username).exists():
            say(f"exists   {username}")
            continue
        await create_staff_account(
            audit=audit,
            username=username,
            display_name=name,
            role=role,
            court_code=court,
            password=DEMO_PASSWORD,
            actor=Actor.system("seed-demo"),
        )
        say(f"created  {username:<18} {role:<13} {court or ''}")
    say(f"demo staff password: {DEMO_PASSWORD}")
