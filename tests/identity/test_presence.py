"""Step-up presence: the ``pvt`` claim, ``require_recent_presence`` and GET /face/presence.

Tokens with a chosen presence time are issued through the application's own codec, so no face
work is needed here (the liveness path that issues them is in test_face_http.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from aiohttp import web

from backend.appkeys import AUTH
from backend.auth.principal import Actor, Principal, Role
from backend.errors import Forbidden
from identity.presence import (
    PRESENCE_MAX_AGE_S,
    StepUp,
    presence_of,
    require_recent_presence,
    require_signing_step_up,
)
from tests.identity.conftest import Client, bearer

PRESENCE = "/api/v1/identity/face/presence"
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def _principal(verified_at: datetime | None) -> Principal:
    return Principal(
        account_id=uuid4(),
        roles=frozenset({Role.LITIGANT}),
        session_id=uuid4(),
        presence_verified_at=verified_at,
    )


@pytest.mark.parametrize("age_s", [0, 1, 120, PRESENCE_MAX_AGE_S])
def test_fresh_presence_passes(age_s: int) -> None:
    verified = NOW - timedelta(seconds=age_s)
    presence = require_recent_presence(_principal(verified), now=NOW)
    assert presence.verified_at == verified and presence.max_age_s == 300
    assert presence.valid_until == verified + timedelta(seconds=300)


@pytest.mark.parametrize(
    ("verified_at", "stale"),
    [
        (None, False),
        (NOW - timedelta(seconds=PRESENCE_MAX_AGE_S + 1), True),
        (NOW - timedelta(days=2), True),
        (NOW + timedelta(minutes=5), True),  # from the future: not believed
    ],
    ids=["missing", "just-stale", "old", "future"],
)
def test_missing_or_stale_presence_is_refused(verified_at: datetime | None, stale: bool) -> None:
    with pytest.raises(Forbidden) as caught:
        require_recent_presence(_principal(verified_at), now=NOW)
    error = caught.value
    assert error.status == 403 and error.code == "presence_required"
    assert error.extra["max_age_s"] == 300 and error.extra["alternative"] == "in_person"
    # Chinese and English, and the way for people who cannot use face recognition
    assert "人脸核验" in error.detail and "face check" in error.detail
    assert "当面核验" in error.detail and "in person" in error.detail
    assert ("too old" in error.detail) is stale


def test_a_stricter_maximum_age() -> None:
    principal = _principal(NOW - timedelta(seconds=90))
    assert presence_of(principal, 120, now=NOW) is not None
    with pytest.raises(Forbidden) as caught:
        require_recent_presence(principal, 60, now=NOW)
    assert caught.value.extra["max_age_s"] == 60


async def _session(app: web.Application, accounts: Any) -> tuple[Any, Any]:
    account = await accounts.create(Role.LITIGANT)
    pair = await app[AUTH].start_session(account, Actor.system("test"), method="test")
    return account, pair


async def test_presence_endpoint_fresh_stale_and_missing(
    client: Client, app: web.Application, accounts: Any
) -> None:
    account, pair = await _session(app, accounts)
    codec = app[AUTH].codec
    now = datetime.now(UTC)

    fresh, _ = codec.issue(account.id, pair.session_id, presence_verified_at=now)
    resp = await client.get(PRESENCE, headers=bearer(fresh))
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["present"] is True and body["max_age_s"] == 300
    verified = datetime.fromisoformat(body["presence_verified_at"])
    assert verified == datetime.fromtimestamp(int(now.timestamp()), UTC)
    assert datetime.fromisoformat(body["presence_valid_until"]) == verified + timedelta(seconds=300)

    stale, _ = codec.issue(
        account.id, pair.session_id, presence_verified_at=now - timedelta(seconds=301)
    )
    for token in (stale, pair.access_token):
        resp = await client.get(PRESENCE, headers=bearer(token))
        assert resp.status == 403, await resp.text()
        problem = await resp.json()
        assert problem["code"] == "presence_required" and problem["max_age_s"] == 300
        assert problem["face_check"] == "/api/v1/identity/face/liveness/challenges"

    assert (await client.get(PRESENCE)).status == 401


async def test_refreshing_the_session_drops_presence(
    client: Client, app: web.Application, accounts: Any
) -> None:
    account, pair = await _session(app, accounts)
    present, _ = app[AUTH].codec.issue(
        account.id, pair.session_id, presence_verified_at=datetime.now(UTC)
    )
    assert (await client.get(PRESENCE, headers=bearer(present))).status == 200
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair.refresh_token})
    assert resp.status == 200, await resp.text()
    refreshed = (await resp.json())["access_token"]
    assert (await client.get(PRESENCE, headers=bearer(refreshed))).status == 403


def _staff(step_up_at: datetime | None, presence_at: datetime | None = None) -> Principal:
    return Principal(
        account_id=uuid4(),
        roles=frozenset({Role.JUDGE}),
        session_id=uuid4(),
        court_code="浙0281",
        presence_verified_at=presence_at,
        step_up_verified_at=step_up_at,
    )


def test_signing_step_up_staff_by_code_parties_by_face() -> None:
    fresh = NOW - timedelta(seconds=PRESENCE_MAX_AGE_S)
    assert require_signing_step_up(_staff(fresh), now=NOW) == StepUp(fresh, "totp")
    # a face check also counts for staff, should they have one
    assert require_signing_step_up(_staff(None, fresh), now=NOW) == StepUp(fresh, "face")
    assert require_signing_step_up(_principal(fresh), now=NOW) == StepUp(fresh, "face")
    # a step-up claim is no face check: parties are asked for one
    party = Principal(
        account_id=uuid4(),
        roles=frozenset({Role.LITIGANT}),
        session_id=uuid4(),
        step_up_verified_at=fresh,
    )
    with pytest.raises(Forbidden) as caught:
        require_signing_step_up(party, now=NOW)
    assert caught.value.code == "presence_required"


@pytest.mark.parametrize(
    ("step_up_at", "stale"),
    [
        (None, False),
        (NOW - timedelta(seconds=PRESENCE_MAX_AGE_S + 1), True),
        (NOW + timedelta(minutes=5), True),
    ],
    ids=["missing", "just-stale", "future"],
)
def test_staff_without_a_fresh_code_are_refused(step_up_at: datetime | None, stale: bool) -> None:
    with pytest.raises(Forbidden) as caught:
        require_signing_step_up(_staff(step_up_at), now=NOW)
    error = caught.value
    assert error.status == 403 and error.code == "step_up_required"
    assert error.extra == {
        "max_age_s": 300,
        "step_up": "/api/v1/identity/staff/step-up",
        "method": "totp",
    }
    assert "动态验证码" in error.detail and "authenticator code" in error.detail
    assert ("too old" in error.detail) is stale
