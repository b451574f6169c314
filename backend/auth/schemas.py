from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from backend.auth.principal import Role
from backend.schemas import Input, Output


class RefreshIn(Input):
    refresh_token: str = Field(min_length=20, max_length=200)


class TokenPairOut(Output):
    token_type: str = "Bearer"
    access_token: str
    refresh_token: str
    expires_in: int = Field(description="seconds until the access token expires")


class RoleOut(Output):
    role: Role
    display_name: str


class AccountOut(Output):
    id: UUID
    display_name: str
    roles: list[RoleOut]
    status: str
    court_code: str | None
    created_at: datetime


class JwkOut(Output):
    kty: str
    crv: str
    alg: str
    use: str
    kid: str
    x: str


class JwksOut(Output):
    keys: list[JwkOut]
