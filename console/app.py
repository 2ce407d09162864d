"""The console's application object: middleware, templates, and the two routers."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware

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


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    from maskwatch.console import api, pages

    console = Console(settings, engine)
    app = FastAPI(
        title="maskwatch",
        description="Violations, reviews, compliance statistics and cameras. Authenticate with a session "
        "(log in on /login) or `Authorization: Bearer <token>` (web.api_tokens).",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    secret = settings.web.session_secret.get_secret_value() if settings.web.session_secret else secrets.token_hex(32)
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="maskwatch_session",
        max_age=int(settings.web.session_hours * 3600),
        same_site="strict",
        https_only=settings.web.secure_cookies,
    )
    app.state.console = console
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(pages.router)
    app.include_router(api.router, prefix="/api")

    @app.exception_handler(NotLoggedIn)
    async def _to_login(request: Request, _exc: NotLoggedIn) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    return app
