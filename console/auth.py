"""Who is asking: configured users (argon2 password hashes) with signed session cookies and
CSRF tokens for forms, or a bearer token for the JSON API. Viewers read; reviewers also decide."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import HTTPException, Request
from sqlalchemy import Engine

from maskwatch.config import WebConfig
from maskwatch.config.web import WebUser
from maskwatch.storage.sessions import next_session_generation, session_generation

log = logging.getLogger(__name__)
SESSION_COOKIE = "maskwatch_session"
# Said instead of the CSRF failure when the browser kept the session cookie back: it was set for
# HTTPS only, and the console was opened over plain HTTP, so no login can ever work that way.
HTTPS_NEEDED = (
    "Login needs HTTPS: web.secure_cookies is true, so the browser does not send the session cookie over "
    "plain HTTP. Open the console through https:// (the TLS proxy), or set web.secure_cookies: false only "
    "on a trusted network."
)
_hasher = PasswordHasher()
# Checked when the user name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@dataclass(frozen=True)
class Principal:
    name: str  # as kept in the audit trail: a user name, or token:<name>
    role: str
    by_token: bool = False  # a verified bearer token, which a browser cannot send on its own
    faces: bool = False  # a viewer granted the violator's face unblurred (web.users[].faces)

    @property
    def can_review(self) -> bool:
        return self.role == "reviewer"

    @property
    def sees_faces(self) -> bool:
        """Reviewers see faces to judge them; a viewer only where the config grants it."""
        return self.can_review or self.faces


def _fingerprint(user: WebUser) -> str:
    """Changes when the user's password or role changes in the configuration, which ends their sessions."""
    data = "\0".join((user.name, user.password_hash.get_secret_value(), user.role))
    return hashlib.sha256(data.encode()).hexdigest()[:32]


class Auth:
    def __init__(self, cfg: WebConfig, engine: Engine) -> None:
        self.cfg = cfg
        self.users = {u.name: u for u in cfg.users}
        # A logout moves the user's generation on, which ends every session they hold; kept in the
        # database, so it holds in every console process and after a restart.
        self.engine = engine
        self._told_https = False  # the operator is told once per process, not at every attempt

    def cookie_kept_back(self, request: Request) -> bool:
        """A form came over plain HTTP without the session cookie, which is set for HTTPS only: the
        browser keeps it back, so the CSRF token in the session can never match. Logged the first time."""
        if not self.cfg.secure_cookies or SESSION_COOKIE in request.cookies:
            return False
        forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        if request.url.scheme != "http" or forwarded == "https":
            return False
        if not self._told_https:
            self._told_https = True
            log.warning(
                "a form was posted over plain HTTP to %s without the session cookie: %s",
                request.url.path,
                HTTPS_NEEDED,
                extra={"event": "login_needs_https", "path": request.url.path},
            )
        return True

    def verify(self, name: str, password: str) -> Principal | None:
        """The argon2 check itself: slow and memory-hungry by design, so callers bound how many run."""
        user = self.users.get(name)
        stored = user.password_hash.get_secret_value() if user else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        return Principal(name, user.role, faces=user.faces) if user else None

    def from_token(self, token: str) -> Principal | None:
        for t in self.cfg.api_tokens:
            if hmac.compare_digest(t.token.get_secret_value().encode(), token.encode()):
                return Principal(f"token:{t.name}", t.role, by_token=True)
        return None

    def current(self, request: Request) -> Principal | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return self.from_token(header[7:].strip())
        return self.from_session(request)

    def from_session(self, request: Request) -> Principal | None:
        session = request.session
        user = self.users.get(str(session.get("user", "")))
        if user is None:  # also a user removed from the config: access ends at once
            return None
        live = (
            session.get("expires", 0) > time.time()
            and session.get("generation") == session_generation(self.engine, user.name)
            and session.get("fingerprint") == _fingerprint(user)
        )
        return Principal(user.name, user.role, faces=user.faces) if live else None

    def start_session(self, request: Request, who: Principal) -> None:
        request.session.clear()
        request.session.update(
            {
                "user": who.name,
                "expires": time.time() + self.cfg.session_hours * 3600,
                "csrf": secrets.token_urlsafe(24),
                "generation": session_generation(self.engine, who.name),
                "fingerprint": _fingerprint(self.users[who.name]),
            }
        )

    def end_sessions(self, name: str) -> None:
        """Every session `name` holds, including copies of its cookie, stops working."""
        next_session_generation(self.engine, name)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected:
        auth: Auth = request.app.state.console.auth
        if auth.cookie_kept_back(request):
            raise HTTPException(status_code=403, detail=HTTPS_NEEDED)
    # As bytes: compare_digest refuses str with non-ASCII characters, which a forged form may carry.
    if not expected or not submitted or not hmac.compare_digest(str(expected).encode(), submitted.encode()):
        raise HTTPException(status_code=403, detail="form expired or forged (CSRF check failed); reload the page")
