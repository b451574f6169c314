"""The authorization table: principal × resource × action → allowed, 403 or 404.

Domains extend the policy with their rules; their tests add rows in the same form.
"""

from __future__ import annotations

import uuid

import pytest

from backend.auth.principal import Principal, Role
from backend.errors import Forbidden, NotFound
from backend.policy import CaseAccess, Relation, spine_policy

ME = uuid.uuid4()
OTHER = uuid.uuid4()
COURT = "浙0281"


def who(*roles: Role, account: uuid.UUID = ME, court: str | None = None) -> Principal:
    return Principal(
        account_id=account, roles=frozenset(roles), session_id=uuid.uuid4(), court_code=court
    )


LITIGANT = who(Role.LITIGANT)
LAWYER = who(Role.LAWYER)
JUDGE = who(Role.JUDGE, court=COURT)
CLERK = who(Role.CLERK, court=COURT)
COURT_ADMIN = who(Role.COURT_ADMIN, court=COURT)
OTHER_COURT_ADMIN = who(Role.COURT_ADMIN, court="京0491")
SYSADMIN = who(Role.SYSTEM_ADMIN)

ALLOW, DENY = "allow", "deny"

SPINE_TABLE = [
    # principal, action, resource type, resource, expected
    (LITIGANT, "read", "account", ME, ALLOW),
    (LITIGANT, "read", "account", OTHER, DENY),
    (SYSADMIN, "read", "account", OTHER, ALLOW),
    (LITIGANT, "disable", "account", OTHER, DENY),
    (COURT_ADMIN, "disable", "account", OTHER, DENY),
    (SYSADMIN, "disable", "account", OTHER, ALLOW),
    (COURT_ADMIN, "create", "court_staff", COURT, ALLOW),
    (COURT_ADMIN, "disable", "court_staff", COURT, ALLOW),
    (OTHER_COURT_ADMIN, "create", "court_staff", COURT, DENY),
    (JUDGE, "create", "court_staff", COURT, DENY),
    (SYSADMIN, "create", "court_staff", COURT, ALLOW),
    (LITIGANT, "read", "audit_log", None, DENY),
    (COURT_ADMIN, "read", "audit_log", None, DENY),
    (SYSADMIN, "verify", "audit_log", None, ALLOW),
    (SYSADMIN, "read", "jobs", None, ALLOW),
    (JUDGE, "read", "jobs", None, DENY),
    (SYSADMIN, "launch", "rocket", None, DENY),  # nothing is allowed unless a rule says so
    (None, "read", "account", ME, DENY),
]


@pytest.mark.parametrize(("principal", "action", "rtype", "resource", "expected"), SPINE_TABLE)
def test_spine_table(
    principal: Principal | None, action: str, rtype: str, resource: object, expected: str
) -> None:
    policy = spine_policy()
    assert policy.permits(principal, action, rtype, resource) is (expected == ALLOW)
    if expected == DENY:
        with pytest.raises(Forbidden):
            policy.check(principal, action, rtype, resource)


PARTY, AGENT, CASE_JUDGE, CASE_CLERK = (uuid.uuid4() for _ in range(4))
CASE = CaseAccess(
    court_code=COURT,
    party_account_ids=frozenset({PARTY}),
    agent_account_ids=frozenset({AGENT}),
    judge_account_ids=frozenset({CASE_JUDGE}),
    clerk_account_ids=frozenset({CASE_CLERK}),
)

CASE_TABLE = [
    (who(Role.LITIGANT, account=PARTY), "read", ALLOW),
    (who(Role.LITIGANT, account=PARTY), "assign_judge", DENY),
    (who(Role.LAWYER, account=AGENT), "read", ALLOW),
    # an agent relation counts only for an account that holds the lawyer role
    (who(Role.LITIGANT, account=AGENT), "read", DENY),
    (who(Role.JUDGE, account=CASE_JUDGE, court=COURT), "read", ALLOW),
    (who(Role.JUDGE, court=COURT), "read", DENY),  # a judge of the court not on this case
    (who(Role.CLERK, account=CASE_CLERK, court=COURT), "read", ALLOW),
    (COURT_ADMIN, "read", ALLOW),
    (COURT_ADMIN, "assign_judge", ALLOW),
    (OTHER_COURT_ADMIN, "read", DENY),
    (LITIGANT, "read", DENY),
    (SYSADMIN, "read", DENY),  # system admins run the platform, they don't read case files
]


@pytest.mark.parametrize(("principal", "action", "expected"), CASE_TABLE)
def test_case_scoped_denials_are_404(principal: Principal, action: str, expected: str) -> None:
    policy = spine_policy()
    policy.allow_case_relations(
        "case",
        ["read"],
        [Relation.PARTY, Relation.AGENT, Relation.JUDGE, Relation.CLERK, Relation.COURT_ADMIN],
    )
    policy.allow_case_relations("case", ["assign_judge"], [Relation.COURT_ADMIN])
    assert policy.permits(principal, action, "case", CASE) is (expected == ALLOW)
    if expected == DENY:
        with pytest.raises(NotFound):  # no existence oracle for outsiders
            policy.check(principal, action, "case", CASE)


def test_rules_cannot_be_registered_twice() -> None:
    policy = spine_policy()
    with pytest.raises(ValueError, match="twice"):
        policy.allow("account", ["read"], lambda p, r: True)
