"""Logins under attack: failures counted per user name and per client address, and a bound on the
argon2 checks running at once, so that guessing is slow and a flood of logins cannot exhaust memory."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from maskwatch.config import WebConfig
from maskwatch.console.auth import Auth, Principal

log = logging.getLogger(__name__)
MAX_TRACKED = 10_000  # keys remembered per window; the longest quiet go first


class FailureWindow:
    """The latest `allowed` failures of each key: a key is locked while all of them are recent."""

    def __init__(self, allowed: int, seconds: float) -> None:
        self.allowed = allowed
        self.seconds = seconds
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, key: str, now: float) -> float:
        recent = self._failures.get(key)
        if recent is None or len(recent) < self.allowed:
            return 0.0
        return max(0.0, recent[0] + self.seconds - now)

    def fail(self, key: str, now: float) -> int:
        """Count a failure; the failures of `key` within the window."""
        # Popped and put back, so the dict runs from the longest quiet key to the latest.
        recent = self._failures.pop(key, None) or deque(maxlen=self.allowed)
        recent.append(now)
        self._failures[key] = recent
        if len(self._failures) > MAX_TRACKED:
            self._forget(now)
        return sum(1 for t in recent if t > now - self.seconds)

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    def _forget(self, now: float) -> None:
        for key in [k for k, recent in self._failures.items() if recent[-1] <= now - self.seconds]:
            del self._failures[key]
        while len(self._failures) > MAX_TRACKED:
            del self._failures[next(iter(self._failures))]


@dataclass(frozen=True)
class Refused:
    """A login not even checked: `retry_after` seconds for the Retry-After header."""

    retry_after: int
    reason: str


class LoginGuard:
    """Every login goes through `attempt`. It runs on the event loop only, so the counters need no lock."""

    def __init__(self, cfg: WebConfig, auth: Auth) -> None:
        self.auth = auth
        self.names = FailureWindow(cfg.login_failures, cfg.login_failure_minutes * 60)
        self.addresses = FailureWindow(cfg.login_failures, cfg.login_failure_minutes * 60)
        self.checks = asyncio.Semaphore(cfg.password_checks_at_once)
        self.queue_limit = cfg.login_queue
        self.waiting = 0

    async def attempt(self, name: str, password: str, address: str) -> Principal | Refused | None:
        """The user, a refusal, or None for a wrong name or password."""
        refused = self._locked(name, address)
        if refused:
            return refused
        if self.checks.locked() and self.waiting >= self.queue_limit:
            log.warning(
                "login refused for user %r from %s: %d logins already wait for a password check",
                name,
                address,
                self.waiting,
                extra={"event": "login_busy", "user_name": name, "client": address},
            )
            return Refused(1, "busy")
        self.waiting += 1
        try:
            await self.checks.acquire()
        finally:
            self.waiting -= 1
        try:
            # Failures may have piled up while this one waited its turn.
            return self._locked(name, address) or await self._check(name, password, address)
        finally:
            self.checks.release()

    def _locked(self, name: str, address: str) -> Refused | None:
        now = time.monotonic()
        wait = max(self.names.retry_after(name, now), self.addresses.retry_after(address, now))
        if not wait:
            return None
        log.warning(
            "login refused for user %r from %s: too many failed logins, retry in %d s",
            name,
            address,
            math.ceil(wait),
            extra={"event": "login_locked", "user_name": name, "client": address},
        )
        return Refused(math.ceil(wait), "locked")

    async def _check(self, name: str, password: str, address: str) -> Principal | None:
        # The thread is waited for even if the request is cancelled, so the semaphore holds while it runs.
        who = await run_in_threadpool(self.auth.verify, name, password)
        if who is not None:
            self.names.clear(name)
            log.info(
                "login: user %r from %s", name, address, extra={"event": "login", "user_name": name, "client": address}
            )
            return who
        now = time.monotonic()
        # Only configured names are counted: made-up ones open nothing, and would crowd out real ones.
        by_name = self.names.fail(name, now) if name in self.auth.users else 0
        by_address = self.addresses.fail(address, now)
        log.warning(
            "login failed for user %r from %s (%d recent failures for the name, %d from the address)",
            name,
            address,
            by_name,
            by_address,
            extra={"event": "login_failed", "user_name": name, "client": address},
        )
        return None
