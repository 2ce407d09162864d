"""What the pages and the API both depend on: the console's state, who is asking, and the bounds
on numbers taken from a URL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from maskwatch.config import Settings
from maskwatch.console.auth import Auth, Principal
from maskwatch.console.logins import LoginGuard

HERE = Path(__file__).resolve().parent
# Violation ids are 32-bit integers on Postgres: a larger one cannot exist, and would fail in the driver.
MAX_ROW_ID = 2**31 - 1
MAX_PAGE = 1_000_000  # far past any real list; keeps OFFSET within 64 bits at any page size

ViolationId = Annotated[int, PathParam(ge=1, le=MAX_ROW_ID, description="a violation's id")]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]


class NotLoggedIn(Exception):
    """A page was asked for without a live session: the browser goes to the login page."""

    def __init__(self, ended: bool) -> None:
        super().__init__("not logged in")
        self.ended = ended  # there was a session, but it expired or was logged out


class Console:
    """What every route needs: settings, the database, auth, templates."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.auth = Auth(settings.web, engine)
        self.logins = LoginGuard(settings.web, self.auth)
        self.snapshots_root = settings.snapshots.dir.resolve()
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))

    def page_user(self, request: Request) -> Principal:
        who = self.auth.current(request)
        if who is None:
            # Only a session that stopped working ends: not one sent along with a wrong bearer token.
            raise NotLoggedIn(ended="user" in request.session and self.auth.from_session(request) is None)
        return who


def console(request: Request) -> Console:
    """The Console of the app serving `request`."""
    found: Console = request.app.state.console
    return found


def page_user(request: Request) -> Principal:
    return console(request).page_user(request)


def api_user(request: Request) -> Principal:
    who = console(request).auth.current(request)
    if who is None:
        raise HTTPException(status_code=401, detail="log in, or send Authorization: Bearer <token>")
    return who


PageUser = Annotated[Principal, Depends(page_user)]
ApiUser = Annotated[Principal, Depends(api_user)]
