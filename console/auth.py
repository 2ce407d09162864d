"""Who is asking: configured users (argon2 password hashes) with signed session cookies and
CSRF tokens for forms, or a bearer token for the JSON API. Viewers read; reviewers also decide."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request

from maskwatch.config import WebConfig

_hasher = PasswordHasher()
# Checked when the user name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@dataclass(frozen=True)
class Principal:
    name: str  # as kept in the audit trail: a user name, or token:<name>
    role: str

    @property
    def can_review(self) -> bool:
        return self.role == "reviewer"


class Auth:
    def __init__(self, cfg: WebConfig) -> None:
        self.cfg = cfg
        self.users = {u.name: u for u in cfg.users}

    def login(self, name: str, password: str) -> Principal | None:
        user = self.users.get(name)
        stored = user.password_hash.get_secret_value() if user else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        return Principal(name, user.role) if user else None

    def from_token(self, token: str) -> Principal | None:
        for t in self.cfg.api_tokens:
            if hmac.compare_digest(t.token.get_secret_value().encode(), token.encode()):
                return Principal(f"token:{t.name}", t.role)
        return None

    def current(self, request: Request) -> Principal | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return self.from_token(header[7:].strip())
        session = request.session
        if session.get("user") and session.get("expires", 0) > time.time():
            user = self.users.get(session["user"])
            if user is not None:  # a user removed from the config loses access at once
                return Principal(user.name, user.role)
        return None

    def start_session(self, request: Request, who: Principal) -> None:
        request.session.clear()
        request.session.update(
            {
                "user": who.name,
                "expires": time.time() + self.cfg.session_hours * 3600,
                "csrf": secrets.token_urlsafe(24),
            }
        )


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not submitted or not hmac.compare_digest(str(expected), submitted):
        raise HTTPException(status_code=403, detail="form expired or forged (CSRF check failed); reload the page")
