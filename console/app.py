"""The console's application object: middleware, static files, and the two routers."""

from __future__ import annotations

import secrets

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware

from maskwatch.config import Settings
from maskwatch.console import api, pages
from maskwatch.console.deps import HERE, Console, NotLoggedIn


def create_app(settings: Settings, engine: Engine) -> FastAPI:
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
