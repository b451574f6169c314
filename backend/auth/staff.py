"""Creating court staff and administrator accounts."""

from __future__ import annotations

from uuid import uuid4

from tortoise.transactions import in_transaction

from backend.audit.service import AuditLog
from backend.auth.models import Account
from backend.auth.passwords import check_password_strength, hash_password
from backend.auth.principal import Actor, Role
from backend.errors import Conflict, ValidationFailed

STAFF_ROLES = frozenset({Role.JUDGE, Role.CLERK, Role.COURT_ADMIN, Role.SYSTEM_ADMIN})


async def create_staff_account(
    *,
    audit: AuditLog,
    username: str,
    display_name: str,
    role: str,
    court_code: str | None,
    password: str,
    actor: Actor,
) -> Account:
    try:
        staff_role = Role(role)
    except ValueError:
        raise ValidationFailed(f"unknown role {role!r}") from None
    if staff_role not in STAFF_ROLES:
        raise ValidationFailed("staff accounts are judges, clerks or administrators")
    if staff_role is not Role.SYSTEM_ADMIN and not court_code:
        raise ValidationFailed("court staff need a court code")
    try:
        check_password_strength(password)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    async with in_transaction() as conn:
        if await Account.filter(username=username).using_db(conn).exists():
            raise Conflict(f"username {username!r} is taken", code="username_taken")
        account = await Account.create(
            id=uuid4(),
            display_name=display_name,
            roles=[staff_role.value],
            court_code=court_code if staff_role is not Role.SYSTEM_ADMIN else None,
            username=username,
            password_hash=hash_password(password),
            using_db=conn,
        )
        await audit.record(
            conn,
            actor,
            "account.staff_created",
            "account",
            str(account.id),
            {"role": staff_role.value, "court_code": account.court_code},
        )
    return account
