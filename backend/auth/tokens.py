"""Access tokens: short-lived EdDSA JWTs verified against our own key set only."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import jwt

from backend.errors import Unauthenticated
from backend.keys import KeyRing

ALGORITHM = "EdDSA"
TOKEN_TYPE = "at+jwt"  # RFC 9068: stops an ID token or other JWT being replayed as an access token
# Header parameters that would let a token choose its own verification key.
FORBIDDEN_HEADERS = frozenset({"jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "crit"})
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "jti", "sid"]
LEEWAY_S = 5
MAX_VERIFIED = 20_000


@dataclass(frozen=True, slots=True)
class AccessClaims:
    subject: UUID
    session_id: UUID
    jti: str
    issued_at: datetime
    expires_at: datetime
    presence_verified_at: datetime | None
    # Court staff's step-up (a fresh authenticator code), distinct from a face check.
    step_up_verified_at: datetime | None = None


class TokenCodec:
    def __init__(self, keyring: KeyRing, *, issuer: str, audience: str, ttl_s: int) -> None:
        self.keyring = keyring
        self.issuer = issuer
        self.audience = audience
        self.ttl_s = ttl_s
        self._verified: dict[str, AccessClaims] = {}

    def issue(
        self,
        subject: UUID,
        session_id: UUID,
        *,
        now: datetime | None = None,
        presence_verified_at: datetime | None = None,
        step_up_verified_at: datetime | None = None,
    ) -> tuple[str, int]:
        issued = int((now or datetime.now(UTC)).timestamp())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(subject),
            "sid": str(session_id),
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.ttl_s,
            "jti": secrets.token_urlsafe(16),
        }
        if presence_verified_at is not None:
            claims["pvt"] = int(presence_verified_at.timestamp())
        if step_up_verified_at is not None:
            claims["svt"] = int(step_up_verified_at.timestamp())
        key = self.keyring.active_jwt_key
        token = jwt.encode(
            claims,
            key.private_key,
            algorithm=ALGORITHM,
            headers={"kid": key.kid, "typ": TOKEN_TYPE},
        )
        return token, self.ttl_s

    def verify(self, token: str) -> AccessClaims:
        """Verify a token; a token already verified (the exact same string, hence the same
        signature) is answered from memory until it expires."""
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at.timestamp() + LEEWAY_S < time.time():
                del self._verified[token]
                raise Unauthenticated("access token expired", code="token_expired")
            return cached
        claims = self._verify(token)
        if len(self._verified) >= MAX_VERIFIED:
            for old in list(self._verified)[: MAX_VERIFIED // 2]:
                del self._verified[old]
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> AccessClaims:
        if len(token) > 4096:
            raise Unauthenticated("access token is too long", code="invalid_token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("malformed access token", code="invalid_token") from exc
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated("token algorithm not accepted", code="invalid_token")
        if header.get("typ") != TOKEN_TYPE:
            raise Unauthenticated("not an access token", code="invalid_token")
        if FORBIDDEN_HEADERS.intersection(header):
            raise Unauthenticated("token names its own key material", code="invalid_token")
        kid = header.get("kid")
        key = self.keyring.jwt_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthenticated("token signed by an unknown key", code="invalid_token")
        try:
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("access token expired", code="token_expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid access token: {exc}", code="invalid_token") from exc
        try:
            pvt = claims.get("pvt")
            svt = claims.get("svt")
            return AccessClaims(
                subject=UUID(claims["sub"]),
                session_id=UUID(claims["sid"]),
                jti=str(claims["jti"]),
                issued_at=datetime.fromtimestamp(claims["iat"], UTC),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
                presence_verified_at=datetime.fromtimestamp(pvt, UTC) if pvt else None,
                step_up_verified_at=datetime.fromtimestamp(svt, UTC) if svt else None,
            )
        except (TypeError, ValueError, OverflowError) as exc:
            raise Unauthenticated(
                "access token claims are malformed", code="invalid_token"
            ) from exc
