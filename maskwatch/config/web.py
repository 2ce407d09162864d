"""`web`: the review console, its users and API tokens."""

from __future__ import annotations

import string
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from maskwatch.config.base import Section

Role = Literal["viewer", "reviewer"]

SECRET_MIN_LENGTH = 32
GENERATE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


class WebUser(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$", description="Login name, kept in the review audit trail.")
    password_hash: SecretStr = Field(
        description="argon2 hash from `maskwatch users hash-password` (never the password)."
    )
    role: Role = Field("viewer", description="viewer: read only; reviewer: may also confirm or dismiss violations.")
    faces: bool = Field(
        False,
        description="viewer only: may see the violator's face unblurred (reviewers always do, to judge it). "
        "Off: a viewer sees every face blurred.",
    )


class ApiToken(Section):
    name: str = Field(min_length=1, max_length=64, description="Shown in the audit trail as token:<name>.")
    token: SecretStr = Field(min_length=16, description="Bearer token for /api/; use ${VAR}.")
    role: Role = "viewer"


def secret_weakness(secret: str) -> str | None:
    """Why `secret` cannot carry 32 bytes of randomness, or None. Only a heuristic: it refuses the
    short, the repetitive and the hand-typed, and passes what token_urlsafe(32) or 64 hex digits give."""
    if len(secret) < SECRET_MIN_LENGTH:
        return f"has {len(secret)} characters; it needs at least {SECRET_MIN_LENGTH} random ones"
    if len(secret) < 64 and set(secret.lower()) <= set(string.hexdigits.lower()):
        return f"looks like {len(secret) // 2} bytes in hex; 32 bytes are 64 hex digits"
    distinct = len(set(secret))
    # 64 hex digits (openssl rand -hex 32) often lack one or two of the 16; shorter secrets need more variety.
    if distinct < (10 if len(secret) >= 64 else 16):
        return f"uses only {distinct} different characters, too few to be random"
    if secret in (secret + secret)[1:-1]:
        return "repeats a shorter pattern"
    return None


class WebConfig(Section):
    """`maskwatch serve`: the review console and its JSON API."""

    address: str = Field("127.0.0.1", description="Listen address (0.0.0.0 behind a reverse proxy or in a container).")
    port: int = Field(8080, ge=1, le=65535)
    session_secret: SecretStr | None = Field(
        None,
        description="Signs session cookies: at least 32 random characters, from "
        f"`{GENERATE_SECRET}`; use ${{VAR}}. Unset: a random one per start (logins end on restart).",
    )
    secure_cookies: bool = Field(False, description="Send cookies over HTTPS only (set true behind TLS).")
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="A login lasts this long.")
    page_size: int = Field(50, ge=5, le=500, description="Violations per page.")
    login_failures: int = Field(
        5,
        ge=1,
        le=100,
        description="Failed logins allowed per user name, and per client address, within login_failure_minutes; "
        "after that logins are refused (429), even with the right password, until the oldest failure is older. "
        "Behind a reverse proxy, let uvicorn trust its X-Forwarded-For (FORWARDED_ALLOW_IPS), or every client "
        "shares the proxy's address.",
    )
    login_failure_minutes: float = Field(
        5.0, gt=0, le=24 * 60, description="How long a failed login counts against its user name and address."
    )
    password_checks_at_once: int = Field(
        2,
        ge=1,
        le=16,
        description="argon2 password checks running at once; each holds the hash's memory (64 MiB with "
        "`maskwatch users hash-password`), so this bounds what a flood of logins can take.",
    )
    login_queue: int = Field(
        32,
        ge=0,
        le=10_000,
        description="Logins waiting for a password check beyond this many are answered 429 at once.",
    )
    users: list[WebUser] = Field(default_factory=list)
    api_tokens: list[ApiToken] = Field(default_factory=list)

    @field_validator("session_secret")
    @classmethod
    def _random_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        weakness = secret_weakness(value.get_secret_value())
        if weakness:
            raise ValueError(f"the session secret {weakness}; generate one with {GENERATE_SECRET}")
        return value
