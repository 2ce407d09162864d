"""The console's application object: middleware, static files, and the two routers."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware

from maskwatch.config import Settings
from maskwatch.config.web import GENERATE_SECRET
from maskwatch.console import api, camera_pages, login, pages
from maskwatch.console.deps import HERE, Console, NotLoggedIn
from maskwatch.console.headers import SecurityHeaders

log = logging.getLogger(__name__)


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    console = Console(settings, engine)
    # No HTML docs page: Swagger UI would come from a public CDN, with inline script the CSP forbids.
    # The OpenAPI document opens in any local tool (editor plugin, `npx @redocly/cli preview`...).
    app = FastAPI(
        title="maskwatch",
        description="Violations, reviews, compliance statistics and cameras. Authenticate with a session "
        "(log in on /login) or `Authorization: Bearer <token>` (web.api_tokens).",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=_session_secret(settings),
        session_cookie="maskwatch_session",
        max_age=int(settings.web.session_hours * 3600),
        same_site="strict",
        https_only=settings.web.secure_cookies,
    )
    app.add_middleware(SecurityHeaders)  # added last: outermost, so it sees every response
    app.state.console = console
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(login.router)
    app.include_router(pages.router)
    app.include_router(camera_pages.router)
    app.include_router(api.router, prefix="/api")

    @app.exception_handler(NotLoggedIn)
    async def _to_login(request: Request, exc: NotLoggedIn) -> Response:
        query = {"next": request.url.path}
        if exc.ended:
            request.session.clear()
            query["error"] = "ended"
        return RedirectResponse(f"/login?{urlencode(query)}", status_code=303)

    return app


def _session_secret(settings: Settings) -> str:
    if settings.web.session_secret:
        return settings.web.session_secret.get_secret_value()
    log.warning(
        "web.session_secret is not set: sessions are signed with a random key, so every login ends "
        "when the console restarts; set it to the output of %s",
        GENERATE_SECRET,
        extra={"event": "session_secret_missing"},
    )
    return secrets.token_hex(32)
