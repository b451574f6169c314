"""Accounts, login sessions (refresh-token families) and refresh tokens."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class AccountStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class Account(Model):
    # A person who can sign in. Personal data lives in the identity domain, not here.

    id = fields.UUIDField(primary_key=True)
    display_name = fields.CharField(max_length=100)
    roles: list[str] = fields.JSONField(default=list)
    status = fields.CharEnumField(AccountStatus, default=AccountStatus.ACTIVE, max_length=16)
    court_code = fields.CharField(max_length=16, null=True, db_index=True)
    username = fields.CharField(max_length=64, null=True, unique=True)
    password_hash = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    disabled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "account"


class AuthSession(Model):
    # One sign-in; its refresh tokens form one family, revoked together.

    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "auth.Account", related_name="sessions", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    revoke_reason = fields.CharField(max_length=32, null=True)
    client = fields.CharField(max_length=120, default="")

    class Meta:
        table = "auth_session"


class RefreshToken(Model):
    id = fields.BigIntField(primary_key=True)
    session: fields.ForeignKeyRelation[AuthSession] = fields.ForeignKeyField(
        "auth.AuthSession", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    # SHA-256 of the opaque token; the token itself is never stored.
    token_hash = fields.CharField(max_length=64, unique=True)
    issued_at = fields.DatetimeField(auto_now_add=True)
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_token"
