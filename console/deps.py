"""What the pages and the API both depend on: the console's state and who is asking."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from maskwatch.config import Settings
from maskwatch.console.auth import Auth, Principal

HERE = Path(__file__).resolve().parent


class NotLoggedIn(Exception):
    """A page was asked for without a session: the browser goes to the login page."""


class Console:
    """What every route needs: settings, the database, auth, templates."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.auth = Auth(settings.web)
        self.snapshots_root = settings.snapshots.dir.resolve()
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))

    def page_user(self, request: Request) -> Principal:
        who = self.auth.current(request)
        if who is None:
            raise NotLoggedIn()
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
