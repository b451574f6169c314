"""The filing authorization table: principal × action → allowed or 404 (never 403 on a filing)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from backend.auth.principal import Principal, Role
from backend.errors import NotFound
from backend.policy import spine_policy
from filing.access import ASSIGN, EDIT, READ, RESOURCE, REVIEW, build_access, register_policy
from filing.models import Filing, Party, Representation

RECEIVING, COMPETENT, ELSEWHERE = "浙0106", "浙0281", "京0491"
PLAINTIFF, DEFENDANT, LAWYER_ID, REVOKED_LAWYER, JUDGE_ID, CLERK_ID, FILER = (
    uuid.uuid4() for _ in range(7)
)


def who(*roles: Role, account: uuid.UUID | None = None, court: str | None = None) -> Principal:
    return Principal(
        account_id=account or uuid.uuid4(),
        roles=frozenset(roles),
        session_id=uuid.uuid4(),
        court_code=court,
    )


def filing(status: str = "forwarded") -> Filing:
    return Filing(
        id=uuid.uuid4(),
        receiving_court_code=RECEIVING,
        competent_court_code=COMPETENT,
        status=status,
        created_by_id=FILER,
        assigned_judge_id=JUDGE_ID,
        assigned_clerk_id=CLERK_ID,
    )


def access(status: str = "forwarded") -> object:
    f = filing(status)
    plaintiff = Party(id=uuid.uuid4(), filing_id=f.id, role="plaintiff", account_id=PLAINTIFF)
    defendant = Party(id=uuid.uuid4(), filing_id=f.id, role="defendant", account_id=DEFENDANT)
    reps = [
        Representation(id=uuid.uuid4(), lawyer_account_id=LAWYER_ID),
        Representation(
            id=uuid.uuid4(), lawyer_account_id=REVOKED_LAWYER, revoked_at=datetime.now(UTC)
        ),
    ]
    for rep in reps:
        rep.party_id = plaintiff.id  # unsaved rows: set the foreign key column directly
    return build_access(f, [plaintiff, defendant], reps)


ALLOW, DENY = "allow", "deny"
P_PLAINTIFF = who(Role.LITIGANT, account=PLAINTIFF)
P_DEFENDANT = who(Role.LITIGANT, account=DEFENDANT)
P_LAWYER = who(Role.LAWYER, account=LAWYER_ID)
P_REVOKED = who(Role.LAWYER, account=REVOKED_LAWYER)
P_JUDGE = who(Role.JUDGE, account=JUDGE_ID, court=COMPETENT)
P_OTHER_JUDGE = who(Role.JUDGE, court=COMPETENT)
P_CLERK = who(Role.CLERK, court=COMPETENT)
P_RECEIVING_CLERK = who(Role.CLERK, court=RECEIVING)
P_FOREIGN_CLERK = who(Role.CLERK, court=ELSEWHERE)
P_ADMIN = who(Role.COURT_ADMIN, court=COMPETENT)
P_RECEIVING_ADMIN = who(Role.COURT_ADMIN, court=RECEIVING)
P_OUTSIDER = who(Role.LITIGANT)
P_SYSADMIN = who(Role.SYSTEM_ADMIN)
P_FILER = who(Role.LITIGANT, account=FILER)

TABLE = [
    (P_PLAINTIFF, READ, ALLOW),
    (P_PLAINTIFF, EDIT, ALLOW),
    (P_PLAINTIFF, REVIEW, DENY),
    (P_DEFENDANT, READ, ALLOW),
    (P_LAWYER, READ, ALLOW),
    (P_LAWYER, EDIT, ALLOW),
    (P_REVOKED, READ, DENY),  # revoked power of attorney
    (who(Role.LITIGANT, account=LAWYER_ID), READ, DENY),  # agent only with the lawyer role
    (P_JUDGE, READ, ALLOW),
    (P_JUDGE, REVIEW, DENY),
    (P_OTHER_JUDGE, READ, DENY),
    (P_CLERK, READ, ALLOW),
    (P_CLERK, REVIEW, ALLOW),
    (P_CLERK, EDIT, DENY),
    (P_RECEIVING_CLERK, READ, ALLOW),  # sees the forwarding it made
    (P_RECEIVING_CLERK, REVIEW, DENY),  # but the competent court decides
    (P_FOREIGN_CLERK, READ, DENY),
    (P_ADMIN, READ, ALLOW),
    (P_ADMIN, ASSIGN, ALLOW),
    (P_ADMIN, REVIEW, DENY),
    (P_RECEIVING_ADMIN, ASSIGN, DENY),
    (P_OUTSIDER, READ, DENY),
    (P_SYSADMIN, READ, DENY),
    (P_FILER, READ, DENY),  # the drafter who never became a party loses access on submission
    (None, READ, DENY),
]


@pytest.mark.parametrize(("principal", "action", "expected"), TABLE)
def test_filing_table(principal: Principal | None, action: str, expected: str) -> None:
    policy = spine_policy()
    register_policy(policy)
    resource = access()
    assert policy.permits(principal, action, RESOURCE, resource) is (expected == ALLOW)
    if expected == DENY:
        with pytest.raises(NotFound):
            policy.check(principal, action, RESOURCE, resource)


DRAFT_TABLE = [
    (P_FILER, READ, ALLOW),
    (P_FILER, EDIT, ALLOW),
    (P_CLERK, READ, DENY),  # courts see nothing until it is submitted
    (P_RECEIVING_CLERK, READ, DENY),
    (P_CLERK, REVIEW, DENY),
    (P_OUTSIDER, READ, DENY),
]


@pytest.mark.parametrize(("principal", "action", "expected"), DRAFT_TABLE)
def test_draft_table(principal: Principal, action: str, expected: str) -> None:
    policy = spine_policy()
    register_policy(policy)
    assert policy.permits(principal, action, RESOURCE, access("draft")) is (expected == ALLOW)


def test_sides_drive_masking() -> None:
    from filing.access import FilingAccess, sees_unmasked

    resource = access()
    assert isinstance(resource, FilingAccess)
    assert sees_unmasked(P_PLAINTIFF, resource, "plaintiff")
    assert not sees_unmasked(P_PLAINTIFF, resource, "defendant")
    assert sees_unmasked(P_LAWYER, resource, "plaintiff")
    assert not sees_unmasked(P_DEFENDANT, resource, "plaintiff")
    assert sees_unmasked(P_CLERK, resource, "defendant")
