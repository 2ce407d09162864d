"""`web`: the review console, its users and API tokens."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from maskwatch.config.base import Section

Role = Literal["viewer", "reviewer"]


class WebUser(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$", description="Login name, kept in the review audit trail.")
    password_hash: SecretStr = Field(
        description="argon2 hash from `maskwatch users hash-password` (never the password)."
    )
    role: Role = Field("viewer", description="viewer: read only; reviewer: may also confirm or dismiss violations.")


class ApiToken(Section):
    name: str = Field(min_length=1, max_length=64, description="Shown in the audit trail as token:<name>.")
    token: SecretStr = Field(min_length=16, description="Bearer token for /api/; use ${VAR}.")
    role: Role = "viewer"


class WebConfig(Section):
    """`maskwatch serve`: the review console and its JSON API."""

    address: str = Field("127.0.0.1", description="Listen address (0.0.0.0 behind a reverse proxy or in a container).")
    port: int = Field(8080, ge=1, le=65535)
    session_secret: SecretStr | None = Field(
        None, description="Signs session cookies; use ${VAR}. Unset: a random one per start (logins end on restart)."
    )
    secure_cookies: bool = Field(False, description="Send cookies over HTTPS only (set true behind TLS).")
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="A login lasts this long.")
    page_size: int = Field(50, ge=5, le=500, description="Violations per page.")
    users: list[WebUser] = Field(default_factory=list)
    api_tokens: list[ApiToken] = Field(default_factory=list)
