"""`web`: the review console, its users and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import string
from base64 import urlsafe_b64encode
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from maskwatch.config.base import Section

Role = Literal["viewer", "reviewer"]

SECRET_MIN_LENGTH = 32
GENERATE_SECRET = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'


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
    public_url: str | None = Field(
        None,
        max_length=300,
        pattern=r"^https?://[^\s/?#@]+(/[^\s?#]*)?$",
        description="The console's address as people and alert receivers reach it (e.g. "
        "https://maskwatch.example.org, or with the reverse proxy's path prefix): alerts link to the violation "
        "or camera there and carry a signed link to the snapshot that the console serves. Unset: alerts carry "
        "no links (`maskwatch config check` and the alerts stage say so).",
    )
    image_link_secret: SecretStr | None = Field(
        None,
        description="Key that signs the snapshot links in alerts (HMAC-SHA256); the console checks them with it, "
        f"so the alerts stage and the console need the same one. At least 32 random characters, from "
        f"`{GENERATE_SECRET}`; use ${{VAR}}. Unset: a key derived from web.session_secret (a link can never "
        "pass for a session cookie). Neither set: alerts carry no snapshot link.",
    )
    image_link_hours: float = Field(
        168.0,
        ge=0.25,
        le=24 * 30,
        description="A snapshot link in an alert opens the picture for this long after the delivery, without a "
        "login; then the console answers 403. Chat services keep their messages: this bounds how long the "
        "picture stays reachable through them.",
    )

    @field_validator("session_secret", "image_link_secret")
    @classmethod
    def _random_enough(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            return None
        weakness = secret_weakness(value.get_secret_value())
        if weakness:
            what = "session secret" if info.field_name == "session_secret" else "image link secret"
            raise ValueError(f"the {what} {weakness}; generate one with {GENERATE_SECRET}")
        return value

    @field_validator("public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    def image_link_key(self) -> bytes | None:
        """The key of the snapshot links in alerts, or None when no configured secret can sign them
        (a random per-process session key would make every link fail in another process)."""
        secret = self.image_link_secret or self.session_secret
        if secret is None:
            return None
        # A key of its own: nothing signed for a link can be replayed as a session, or the reverse.
        return hmac.new(secret.get_secret_value().encode(), b"maskwatch image links v1", hashlib.sha256).digest()


def image_link_signature(key: bytes, violation_id: int, expires: int, faces: bool, audience: str) -> str:
    """The MAC of one snapshot link: the alerts stage writes it, the console checks it."""
    message = f"{violation_id}|{expires}|{int(faces)}|{audience}".encode()
    return urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode().rstrip("=")
