"""The console under attack, over HTTP against a real server on 127.0.0.1: weak session secrets,
password guessing and login floods, stolen cookies after logout, forged posts, framing and script
injection, absurd numbers in URLs, and text smuggled into the login page."""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from maskwatch.config import ConfigError, Settings, parse_settings
from maskwatch.console.auth import hash_password
from tests.support.console import (
    PASSWORDS,
    ConsoleServer,
    bearer,
    console_process,
    console_settings,
    csrf_of,
    login,
    proc_status_kib,
    running_console,
    seed,
)

MIB = 1024  # KiB


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return console_settings(f"sqlite:///{tmp_path / 'maskwatch.db'}", tmp_path)


@pytest.fixture()
def console(settings: Settings) -> Iterator[ConsoleServer]:
    seed(settings)
    with running_console(settings) as server:
        yield server


def client_at(url: str, address: str) -> httpx.Client:
    """A client whose connections come from `address` (any of 127.0.0.0/8 reaches the server)."""
    return httpx.Client(base_url=url, timeout=120, transport=httpx.HTTPTransport(local_address=address))


def try_login(client: httpx.Client, user: str, password: str) -> httpx.Response:
    return client.post("/login", data={"username": user, "password": password, "csrf": csrf_of(client, "/login")})


def web_settings(**web: Any) -> dict[str, Any]:
    return {"web": web}


# 1. Session secrets


@pytest.mark.attack(
    "forge sessions with a guessable secret", expected="the config refuses the secret, says how to make one"
)
@pytest.mark.parametrize(
    "weak",
    [
        "",
        "x",
        "test-session-secret-0123456789",  # 30 characters
        "a" * 64,
        "changeme" * 5,
        "0123456789abcdef" * 4,  # 16 different characters, but a pattern
        "9b2e4f7a1c3d5e6f8a0b2c4d6e8f0a1b",  # 32 characters, but only 16 bytes in hex
    ],
    ids=["empty", "one-char", "short", "one-repeated", "word-repeated", "pattern", "hex-16-bytes"],
)
def test_weak_session_secrets_are_refused_with_how_to_make_one(weak: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_settings(web_settings(session_secret=weak))
    assert "web.session_secret" in str(refused.value)
    assert 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"' in str(refused.value)
    if len(weak) > 1:
        assert weak not in str(refused.value)  # the secret itself is never echoed


def test_generated_secrets_pass_and_a_missing_one_warns(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(200):
        parse_settings(web_settings(session_secret=secrets.token_urlsafe(32)))
        parse_settings(web_settings(session_secret=secrets.token_hex(32)))
    unset = settings.model_copy(update={"web": settings.web.model_copy(update={"session_secret": None})})
    caplog.set_level(logging.WARNING, logger="maskwatch.console")
    with running_console(unset) as server, login(server.url, "victor") as client:
        assert client.get("/violations").status_code == 200  # still works, with a key of its own
    warned = [r.getMessage() for r in caplog.records if "session_secret" in r.getMessage()]
    assert warned and "every login ends when the console restarts" in warned[0]


# 2. Login throttling


@pytest.mark.attack("guess one user's password", expected="429 + Retry-After after 5 failures, each logged")
def test_guessing_one_users_password_locks_that_name_for_a_while(
    console: ConsoleServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="maskwatch.console")
    allowed = console.settings.web.login_failures
    with client_at(console.url, "127.0.0.1") as guesser:
        for i in range(allowed):
            assert try_login(guesser, "rita", f"guess-{i}").status_code == 401
        locked = try_login(guesser, "rita", "guess-last")
        assert locked.status_code == 429 and "Too many failed logins" in locked.text
        assert 0 < int(locked.headers["Retry-After"]) <= console.settings.web.login_failure_minutes * 60
        assert try_login(guesser, "rita", PASSWORDS["rita"]).status_code == 429  # even the right password
    with client_at(console.url, "127.0.0.2") as elsewhere:  # the name is locked from any address
        assert try_login(elsewhere, "rita", PASSWORDS["rita"]).status_code == 429
    with client_at(console.url, "127.0.0.3") as other_user:
        assert try_login(other_user, "victor", PASSWORDS["victor"]).status_code == 303
    failed = [r for r in caplog.records if r.getMessage().startswith("login failed")]
    assert len(failed) == allowed
    assert all("'rita'" in r.getMessage() and "127.0.0.1" in r.getMessage() for r in failed)
    assert all(getattr(r, "user_name", None) == "rita" and getattr(r, "client", None) == "127.0.0.1" for r in failed)
    assert any("login refused" in r.getMessage() for r in caplog.records)
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert "guess-" not in logged and PASSWORDS["rita"] not in logged


@pytest.mark.attack("guess many passwords from one address", expected="429 for that address")
def test_guessing_from_one_address_locks_that_address(console: ConsoleServer) -> None:
    allowed = console.settings.web.login_failures
    with client_at(console.url, "127.0.0.4") as guesser:
        for i in range(allowed):
            assert try_login(guesser, f"someone-{i}", "guess").status_code == 401
        assert try_login(guesser, "victor", PASSWORDS["victor"]).status_code == 429
    with client_at(console.url, "127.0.0.5") as colleague:
        assert try_login(colleague, "victor", PASSWORDS["victor"]).status_code == 303


@pytest.mark.attack("flood the login with parallel guesses", expected="401/429, never 500; memory bounded")
def test_a_login_flood_gets_401_or_429_and_memory_stays_bounded(settings: Settings, tmp_path: Path) -> None:
    """Each argon2 check holds 64 MiB: unbounded, 48 at once took the server's peak RSS from 149 MiB
    to 2025 MiB. Names and addresses all differ, so only the bound on checks at once holds it."""
    seed(settings)
    flood = 200  # as many as a small botnet would send at once
    with console_process(settings, tmp_path) as server:
        with client_at(server.url, "127.0.1.1") as warm:  # argon2 and the templates loaded once
            assert try_login(warm, "nobody", "x").status_code == 401
        clients = [client_at(server.url, f"127.0.2.{i + 1}") for i in range(flood)]
        tokens = [csrf_of(c, "/login") for c in clients]
        rss, peak_before = proc_status_kib(server.pid, "VmRSS"), proc_status_kib(server.pid, "VmHWM")
        start = threading.Barrier(flood)
        results: list[tuple[int, float]] = [(0, 0.0)] * flood

        def attack(i: int) -> None:
            start.wait()
            began = time.monotonic()
            form = {"username": f"guess-{i}", "password": "hunter2-wrong", "csrf": tokens[i]}
            results[i] = (clients[i].post("/login", data=form).status_code, time.monotonic() - began)

        threads = [threading.Thread(target=attack, args=(i,)) for i in range(flood)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        peak = proc_status_kib(server.pid, "VmHWM")
        for c in clients:
            c.close()
        log = server.log.read_text()
    codes = Counter(code for code, _ in results)
    waits = sorted(seconds for _, seconds in results)
    print(
        f"\n{flood} parallel wrong logins: {dict(codes)}; latency median {waits[flood // 2]:.2f} s, "
        f"max {waits[-1]:.2f} s; server RSS {rss // MIB} MiB, peak {peak_before // MIB} MiB before "
        f"and {peak // MIB} MiB after (+{(peak - peak_before) // MIB} MiB)"
    )
    assert set(codes) <= {401, 429} and codes[401] >= settings.web.password_checks_at_once
    checks = settings.web.password_checks_at_once
    assert peak - peak_before < (checks + 2) * 64 * MIB
    # Which guesses won a password check depends on thread timing: every answer must be logged.
    for i, (code, _) in enumerate(results):
        verdict = "failed" if code == 401 else "refused"
        assert f"login {verdict} for user 'guess-{i}' from 127.0.2.{i + 1}" in log
    assert "hunter2" not in log


# 3. Logout


@pytest.mark.attack("reuse a cookie copied before logout", expected="redirected to login; no review recorded")
def test_logout_ends_the_session_for_copies_of_the_cookie(console: ConsoleServer) -> None:
    with login(console.url, "rita") as client:
        csrf = csrf_of(client, "/violations/1")
        stolen = dict(client.cookies)
        assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    with httpx.Client(base_url=console.url, cookies=stolen, timeout=10) as thief:
        page = thief.get("/violations")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fviolations&error=ended"
        posted = thief.post("/violations/1/review", data={"state": "confirmed", "csrf": csrf})
        assert posted.status_code == 303 and posted.headers["location"].startswith("/login")
    with httpx.Client(base_url=console.url, cookies=stolen, timeout=10) as thief:
        assert thief.get("/api/violations").status_code == 401
        api = thief.post("/api/violations/1/review", json={"state": "confirmed"}, headers={"X-CSRF-Token": csrf})
        assert api.status_code == 401
    with httpx.Client(base_url=console.url, headers=bearer("read-bot"), timeout=10) as reader:
        assert reader.get("/api/violations/1").json()["review_state"] == "unreviewed"
    with login(console.url, "rita") as again:  # logging in again works
        assert again.get("/violations").status_code == 200


@pytest.mark.attack("reuse a logged-out cookie after the console restarts", expected="still redirected to login")
def test_a_logout_holds_across_a_restart(settings: Settings) -> None:
    seed(settings)
    with running_console(settings) as first, login(first.url, "rita") as client:
        csrf = csrf_of(client, "/violations/1")
        stolen = dict(client.cookies)
        assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    with running_console(settings) as again, httpx.Client(base_url=again.url, cookies=stolen, timeout=10) as thief:
        assert thief.get("/violations").status_code == 303


@pytest.mark.attack("keep a session after a password or role change", expected="the session ends")
def test_a_password_or_role_change_ends_sessions(settings: Settings) -> None:
    seed(settings)
    with running_console(settings) as first, login(first.url, "rita") as client:
        cookies = dict(client.cookies)
    with running_console(settings) as same, httpx.Client(base_url=same.url, cookies=cookies, timeout=10) as c:
        assert c.get("/violations").status_code == 200  # a persistent secret keeps logins over a restart
    rita, victor = settings.web.users
    for changed in (
        rita.model_copy(update={"role": "viewer"}),
        rita.model_copy(update={"password_hash": SecretStr(hash_password("a-new-password-1"))}),
    ):
        web = settings.web.model_copy(update={"users": [changed, victor]})
        with (
            running_console(settings.model_copy(update={"web": web})) as after,
            httpx.Client(base_url=after.url, cookies=cookies, timeout=10) as c,
        ):
            assert c.get("/violations").status_code == 303


# 4. CSRF


@pytest.mark.attack("post a review without a CSRF token", expected="refused unless a verified bearer token")
@pytest.mark.parametrize("authorization", ["Basic x", "Token abc", "Bearer", "Digest username=rita"])
def test_only_a_verified_bearer_token_skips_the_csrf_check(console: ConsoleServer, authorization: str) -> None:
    with login(console.url, "rita") as client:
        forged = client.post(
            "/api/violations/5/review", json={"state": "confirmed"}, headers={"Authorization": authorization}
        )
        assert forged.status_code in (401, 403)
    with httpx.Client(base_url=console.url, headers=bearer("read-bot"), timeout=10) as reader:
        assert reader.get("/api/violations/5").json()["review_state"] == "unreviewed"
    with httpx.Client(base_url=console.url, headers=bearer("review-bot"), timeout=10) as bot:
        assert bot.post("/api/violations/5/review", json={"state": "confirmed"}).status_code == 200


# 5. Headers


def assert_secure_headers(r: httpx.Response, personal: bool) -> None:
    csp = r.headers.get("content-security-policy", "")
    directives = {d.strip().partition(" ")[0]: d.strip().partition(" ")[2] for d in csp.split(";")}
    assert directives.get("script-src") == "'self'" and "unsafe-inline" not in csp, (r.url, csp)
    assert directives.get("frame-ancestors") == "'none'", r.url
    assert r.headers.get("x-content-type-options") == "nosniff", r.url
    assert r.headers.get("x-frame-options") == "DENY", r.url
    assert r.headers.get("referrer-policy") in ("same-origin", "no-referrer", "strict-origin"), r.url
    if personal:
        assert r.headers.get("cache-control") == "no-store", r.url


@pytest.mark.attack("frame the console, sniff types, cache pages", expected="CSP, frame-ancestors, nosniff, no-store")
def test_every_response_carries_security_headers(console: ConsoleServer) -> None:
    with login(console.url, "rita") as client:
        pages = ["/violations", "/violations/1", "/dashboard", "/cameras", "/cameras/cam-1", "/violations/1/image/crop"]
        for path in pages:
            r = client.get(path)
            assert r.status_code == 200, path
            assert_secure_headers(r, personal=True)
            if r.headers["content-type"].startswith("text/html"):
                assert not re.search(r"<script(?![^>]*\bsrc=)", r.text), path  # no inline script
                assert not re.search(r"\son[a-z]+=", r.text), path  # no inline event handlers
                assert not re.search(r'(src|href)="(https?:)?//', r.text), path  # nothing from other sites
        for path in ("/api/violations", "/api/violations/1", "/api/cameras", "/api/nothing", "/violations/999"):
            assert_secure_headers(client.get(path), personal=True)
        assert_secure_headers(client.get("/login"), personal=True)
        assert_secure_headers(client.get("/static/style.css"), personal=False)
    with httpx.Client(base_url=console.url, timeout=10) as anon:
        assert_secure_headers(anon.get("/violations"), personal=True)  # the redirect to the login page too


@pytest.mark.attack("load script from a public CDN", expected="no CDN page; OpenAPI served locally")
def test_no_api_docs_page_from_a_cdn_but_the_openapi_document(console: ConsoleServer) -> None:
    with httpx.Client(base_url=console.url, headers=bearer("read-bot"), timeout=10) as c:
        assert c.get("/api/docs").status_code == 404
        spec = c.get("/api/openapi.json")
        assert spec.status_code == 200 and "/api/violations" in spec.json()["paths"]


# 6. Numbers out of range


@pytest.fixture()
def any_db_console(database_url: str, tmp_path: Path) -> Iterator[ConsoleServer]:
    settings = console_settings(database_url, tmp_path)
    seed(settings)
    with running_console(settings) as server:
        yield server


HUGE = str(2**63)


OUT_OF_RANGE = [
    (f"/violations/{HUGE}", {404, 422}),
    (f"/violations/{2**31}", {404, 422}),
    ("/violations/-1", {404, 422}),
    (f"/violations/{HUGE}/image/frame", {404, 422}),
    (f"/violations?page={10**19}", {404, 422}),
    ("/violations?until=9999-12-31", {200}),
    ("/violations?since=0001-01-01&until=0001-01-01", {200}),
    ("/cameras/cam-1?days=99999999", {200}),
    (f"/cameras/cam-1?days=-{HUGE}", {200}),
    (f"/dashboard?days={10**30}", {200}),
    (f"/api/violations/{HUGE}", {404, 422}),
    (f"/api/violations/{2**31}", {404, 422}),
    (f"/api/violations?page={10**19}", {404, 422}),
    (f"/api/violations?page_size={10**19}", {422}),
    ("/api/violations?until=9999-12-31T23:59:59-14:00", {200}),
    ("/api/violations?since=0001-01-01T00:00:00%2B14:00", {200}),
    ("/api/stats?since=0001-01-01T00:00:00%2B14:00&until=9999-12-31T23:59:59-14:00&bucket=hour", {200}),
    ("/api/stats?since=99999-01-01", {422}),
]
REVIEWED_OUT_OF_RANGE = [f"/violations/{HUGE}", f"/violations/{2**31}", "/violations/-1"]


@pytest.mark.attack("send out-of-range numbers and dates", expected="404/422 or 200, never 500")
def test_out_of_range_numbers_are_refused_not_crashed_on(any_db_console: ConsoleServer) -> None:
    with login(any_db_console.url, "rita") as client:
        answers = {path: client.get(path).status_code for path, _ in OUT_OF_RANGE}
        csrf = csrf_of(client, "/violations/1")
        for path in REVIEWED_OUT_OF_RANGE:
            answers[f"POST {path}/review"] = client.post(
                f"{path}/review", data={"state": "confirmed", "csrf": csrf}
            ).status_code
            answers[f"POST /api{path}/review"] = client.post(
                f"/api{path}/review", json={"state": "confirmed"}, headers=bearer("review-bot")
            ).status_code
    expected = dict(OUT_OF_RANGE) | {path: {404, 422} for path in answers if path.startswith("POST")}
    wrong = {path: status for path, status in answers.items() if status not in expected[path]}
    assert not wrong, wrong


# 7. The login page's messages


@pytest.mark.attack("smuggle text or a redirect into /login", expected="fixed messages only; next stays local")
def test_the_login_page_shows_only_its_own_messages(console: ConsoleServer) -> None:
    planted = "Your account is locked. Call 555-0100 with your password"
    with httpx.Client(base_url=console.url, timeout=10) as c:
        page = c.get("/login", params={"error": planted})
        assert page.status_code == 200 and "555-0100" not in page.text and 'class="error"' not in page.text
        assert "<b>bold</b>" not in c.get("/login", params={"error": "<b>bold</b>"}).text
        assert "Your session has ended" in c.get("/login", params={"error": "ended"}).text
        for target in ("//evil.example/x", "/\\evil.example/x", "https://evil.example/"):
            assert 'name="next" value="/violations"' in c.get("/login", params={"next": target}).text


# 8. Cookies for HTTPS only, on a console opened over plain HTTP

SAYS_HTTPS = (
    "Login needs HTTPS: web.secure_cookies is true, so the browser does not send the session cookie over plain "
    "HTTP. Open the console through https:// (the TLS proxy), or set web.secure_cookies: false only on a "
    "trusted network."
)


def test_a_login_over_plain_http_with_secure_cookies_says_to_use_https(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The cookie is set for HTTPS only, so a real client keeps it back over http://: the login page
    says why no login can work there, not that the form was forged, and the log says it once."""
    secure = settings.model_copy(update={"web": settings.web.model_copy(update={"secure_cookies": True})})
    caplog.set_level(logging.WARNING, logger="maskwatch.console")
    with running_console(secure) as server, httpx.Client(base_url=server.url, timeout=10) as browser:
        page = browser.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
        for _ in range(3):
            refused = browser.post(
                "/login", data={"username": "rita", "password": PASSWORDS["rita"], "csrf": csrf_of(browser, "/login")}
            )
            assert refused.status_code == 403
            assert SAYS_HTTPS in refused.text and 'id="username"' in refused.text  # the login form, with why
            assert "CSRF check failed" not in refused.text
        logout = browser.post("/logout", data={"csrf": csrf_of(browser, "/login")})
        assert logout.status_code == 403 and SAYS_HTTPS in logout.text and "CSRF check failed" not in logout.text
        # Behind a TLS proxy the cookie would have come: a form without it is a plain CSRF failure.
        proxied = browser.post(
            "/login",
            data={"username": "rita", "password": PASSWORDS["rita"], "csrf": csrf_of(browser, "/login")},
            headers={"X-Forwarded-Proto": "https"},
        )
        assert proxied.status_code == 403 and "CSRF check failed" in proxied.text and SAYS_HTTPS not in proxied.text
    told = [r for r in caplog.records if getattr(r, "event", "") == "login_needs_https"]
    assert len(told) == 1 and SAYS_HTTPS in told[0].getMessage()
