"""Who is calling: the authenticated principal and the product's roles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class Role(StrEnum):
    LITIGANT = "litigant"
    LAWYER = "lawyer"
    JUDGE = "judge"
    CLERK = "clerk"
    COURT_ADMIN = "court_admin"
    SYSTEM_ADMIN = "system_admin"

    @property
    def display_name(self) -> str:
        return ROLE_NAMES[self]


ROLE_NAMES: dict[Role, str] = {
    Role.LITIGANT: "当事人 / Litigant",
    Role.LAWYER: "律师 / Lawyer",
    Role.JUDGE: "法官 / Judge",
    Role.CLERK: "书记员 / Clerk",
    Role.COURT_ADMIN: "法院管理员 / Court administrator",
    Role.SYSTEM_ADMIN: "系统管理员 / System administrator",
}

COURT_STAFF = frozenset({Role.JUDGE, Role.CLERK, Role.COURT_ADMIN})


@dataclass(frozen=True, slots=True)
class Principal:
    account_id: UUID
    roles: frozenset[Role]
    session_id: UUID
    court_code: str | None = None
    # When the principal last passed a face check (step-up presence), if the token carries one.
    presence_verified_at: datetime | None = None
    # When court staff last confirmed a fresh authenticator code (step-up without a face check).
    step_up_verified_at: datetime | None = None

    @property
    def subject(self) -> str:
        return str(self.account_id)

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_court_staff(self) -> bool:
        return bool(self.roles & COURT_STAFF)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something, for the audit log: a principal, the system, or a CLI operator."""

    subject: str | None
    roles: tuple[str, ...] = ()
    ip: str | None = None
    request_id: str | None = None

    @classmethod
    def system(cls, what: str = "system") -> Actor:
        return cls(subject=None, roles=(what,))

    @classmethod
    def of(
        cls, principal: Principal | None, *, ip: str | None = None, request_id: str | None = None
    ) -> Actor:
        if principal is None:
            return cls(subject=None, roles=("anonymous",), ip=ip, request_id=request_id)
        return cls(
            subject=principal.subject,
            roles=tuple(sorted(principal.roles)),
            ip=ip,
            request_id=request_id,
        )
