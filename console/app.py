"""The console's application object: middleware, static files, the routers, and error pages."""

from __future__ import annotations

import logging
import secrets
from http import HTTPStatus
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from maskwatch.config import Settings
from maskwatch.config.web import GENERATE_SECRET
from maskwatch.console import api, camera_pages, login, pages, shared_images
from maskwatch.console.auth import SESSION_COOKIE, Principal
from maskwatch.console.deps import HERE, Console, NotLoggedIn, console
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
        session_cookie=SESSION_COOKIE,
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
    app.include_router(shared_images.router)
    app.include_router(api.router, prefix="/api")

    @app.exception_handler(NotLoggedIn)
    async def _to_login(request: Request, exc: NotLoggedIn) -> Response:
        query = {"next": request.url.path}
        if exc.ended:
            request.session.clear()
            query["error"] = "ended"
        return RedirectResponse(f"/login?{urlencode(query)}", status_code=303)

    _error_pages(app)
    return app


TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    422: "Cannot read that request",
    500: "Something went wrong",
}
# Said instead of the bare reason phrase ("Not Found") that routing errors carry.
PLAIN_WORDS = {
    404: "There is no such page in this console.",
    405: "This page cannot be used that way.",
}


def _plain(request: Request) -> bool:
    """The JSON API and static files answer errors as they always do; pages answer with a page."""
    return request.url.path.startswith(("/api/", "/static/")) or request.url.path == "/api"


def _error_page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    try:  # the navigation, where the visitor is logged in; an error page never needs the database to work
        user: Principal | None = console(request).auth.current(request)
    except SQLAlchemyError:
        user = None
    title = TITLES.get(status, "Error")
    return pages.render(
        request, "error.html", user, status_code=status, headers=headers, status=status, title=title, message=message
    )


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def _error_pages(app: FastAPI) -> None:
    """Errors on pages come as pages in the console's layout, with a way back; /api/ keeps JSON."""

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _plain(request):
            return await http_exception_handler(request, exc)
        detail = str(exc.detail)
        if detail == HTTPStatus(exc.status_code).phrase:
            detail = PLAIN_WORDS.get(exc.status_code, detail)
        return _error_page(request, exc.status_code, detail, dict(exc.headers) if exc.headers else None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if _plain(request):
            return await request_validation_exception_handler(request, exc)
        return _error_page(request, 422, _validation_message(exc))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        # Logged with its traceback by the server; the visitor gets no detail of it.
        log.error("%s %s failed: %s", request.method, request.url.path, type(exc).__name__)
        if _plain(request):
            return JSONResponse({"detail": "internal error; the console's log has the details"}, status_code=500)
        return _error_page(request, 500, "The console could not answer this request; its log has the details.")


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
