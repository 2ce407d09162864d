"""Logging in and out. Only the console's own messages reach the login page: an error in its URL
is a code looked up here, never text to show."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from maskwatch.console.auth import HTTPS_NEEDED, check_csrf
from maskwatch.console.deps import console
from maskwatch.console.logins import Refused
from maskwatch.console.pages import render

router = APIRouter(include_in_schema=False)
ERRORS = {"ended": "Your session has ended; log in again."}
WRONG = "Wrong user name or password."
BUSY = "Too many logins at once; try again in a moment."


def safe_next(target: str) -> str:
    """A page of this console to go to after logging in: never another site (`//host`, `/\\host`)."""
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/violations"


def _locked(retry_after: int) -> str:
    return f"Too many failed logins; try again in {max(1, -(-retry_after // 60))} minute(s)."


@router.get("/login")
def login_page(request: Request, next: str = "/violations", error: str = "") -> HTMLResponse:
    return render(request, "login.html", None, next=safe_next(next), error=ERRORS.get(error, ""))


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=256)],
    password: Annotated[str, Form(max_length=4096)],
    csrf: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/violations",
) -> Response:
    c = console(request)
    if not request.session.get("csrf") and c.auth.cookie_kept_back(request):
        # The login page again, with what to do: no login can work over this address.
        return render(request, "login.html", None, status_code=403, next=safe_next(next), error=HTTPS_NEEDED)
    check_csrf(request, csrf)
    address = request.client.host if request.client else "unknown"
    who = await c.logins.attempt(username, password, address)
    if isinstance(who, Refused):
        error = BUSY if who.reason == "busy" else _locked(who.retry_after)
        headers = {"Retry-After": str(who.retry_after)}
        return render(request, "login.html", None, status_code=429, headers=headers, next=safe_next(next), error=error)
    if who is None:
        return render(request, "login.html", None, status_code=401, next=safe_next(next), error=WRONG)
    c.auth.start_session(request, who)
    return RedirectResponse(safe_next(next), 303)


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()]) -> Response:
    check_csrf(request, csrf)
    who = console(request).auth.from_session(request)
    if who is not None:
        console(request).auth.end_sessions(who.name)
    request.session.clear()
    return RedirectResponse("/login", 303)
