"""The application's error tree and the one set of handlers that renders it.

    AppError (status, message)          rendered as HTML for pages, JSON under /api
    ├── BadRequest          400
    ├── Forbidden           403
    └── NotFound            404
    ScimError (app.scim.errors)         rendered as a SCIM Error body under /scim/v2
    DatabaseUnavailable (app.db)        503 with Retry-After: disk full, read-only, locked
    QueryTimeout (app.db)               a query past its budget: 400 invalidFilter under SCIM

Anything else is a 500 whose page shows only the request id; the traceback goes to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from app.db import DatabaseUnavailable, QueryTimeout
from app.logs import current_request_id
from app.scim.errors import InvalidFilter, ScimError

log = logging.getLogger("webrix.error")
RETRY_AFTER_SECONDS = 30


class AppError(Exception):
    status = 500
    title = "Something went wrong"

    def __init__(
        self, message: str, *, title: str | None = None, actions: Sequence[Action] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.actions = tuple(actions)  # what the error page offers instead of its default
        if title:
            self.title = title


class BadRequest(AppError):
    status = 400
    title = "Bad request"


class Forbidden(AppError):
    status = 403
    title = "Not allowed"


class Busy(AppError):
    status = 429
    title = "Busy: try again in a moment"


class NotFound(AppError):
    status = 404
    title = "Not found"


@dataclass(frozen=True)
class Action:
    """A way on from an error page: a link shown as a button."""

    label: str
    href: str
    id: str
    kind: str = ""  # "" (primary) or "secondary"


_TO_DASHBOARD = Action("Go to the dashboard", "/", "to-dashboard")
# What a person reads for Starlette's own errors (whose detail is the bare status phrase).
_HTTP_TEXT = {
    404: (
        "Page not found",
        "There is no page at this address. The link may be mistyped or out of date.",
    ),
    405: ("Method not allowed", "This address does not accept that kind of request."),
}


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/scim/")) or path in ("/healthz", "/readyz")


def error_response(
    request: Request,
    status: int,
    title: str,
    message: str,
    *,
    retry_url: str | None = None,
    page: bool = False,
    headers: dict[str, str] | None = None,
    actions: Sequence[Action] | None = None,
) -> Response:
    """Render an error as JSON or as the HTML error page, always with the request id.

    `page` forces the HTML page for routes under /api/ that browsers navigate to (sign-in,
    callback, sign-out), where JSON would leave a person at a raw document. The page keeps the
    navigation of the signed-in user when this request already knows who that is (see
    `_find_viewer`); `actions` replace the default ways on (try again, or the dashboard).
    """
    rid = current_request_id()
    if request.url.path.startswith("/scim/"):
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": str(status),
            "detail": f"{message} (request id {rid})",
        }
        return JSONResponse(body, status_code=status, media_type="application/scim+json")
    if _wants_json(request) and not page:
        return JSONResponse(
            {"error": title, "message": message, "request_id": rid},
            status_code=status,
            headers=headers,
        )
    if actions is None:
        if retry_url:
            actions = [Action("Try again", retry_url, "try-again")]
        elif status in (403, 404):
            actions = [_TO_DASHBOARD]
    context = {
        "status": status,
        "title": title,
        "message": message,
        "request_id": rid,
        "actions": actions or [],
        "current": getattr(request.state, "current_user", None),
    }
    templates = getattr(request.app.state, "templates", None)
    try:
        if templates is not None:
            response: Response = templates.TemplateResponse(
                request, "error.html", context, status_code=status, headers=headers
            )
            return response
    except Exception:  # an error page must never fail: fall back to a bare one
        log.exception("the error page could not be rendered")
    bare = (
        f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1>"
        f"<p>{escape(message)}</p><p>Request id {escape(rid)}</p>"
    )
    return HTMLResponse(bare, status_code=status, headers=headers)


async def _find_viewer(request: Request) -> None:
    """Learn who is signed in, so the error page keeps their navigation.

    Costs nothing when the request already asked (the user is cached on request.state) or
    carries no session cookie, and one indexed read otherwise; any failure just means a page
    without navigation. Only for errors that leave the database usable (not 500 or 503).
    """
    if hasattr(request.state, "current_user") or _wants_json(request):
        return
    try:
        # Imported here: app.auth.sessions raises this module's Forbidden.
        from app.auth.sessions import current_user

        await current_user(request)
    except Exception:
        log.warning("error page: the signed-in user could not be looked up", exc_info=True)
        request.state.current_user = None


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    await _find_viewer(request)
    return error_response(request, exc.status, exc.title, exc.message, actions=exc.actions or None)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    title, message = "Error", str(exc.detail)
    if exc.status_code in _HTTP_TEXT:
        default_title, default_message = _HTTP_TEXT[exc.status_code]
        title = default_title
        # Starlette's detail is the bare status phrase ("Not Found"): never repeat the title.
        if message.lower() == title.lower() or message == HTTPStatus(exc.status_code).phrase:
            message = default_message
    await _find_viewer(request)
    response = error_response(request, exc.status_code, title, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _scim_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScimError)
    headers = {"WWW-Authenticate": 'Bearer realm="webrix-scim"'} if exc.status == 401 else {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(
        exc.to_body(), status_code=exc.status, headers=headers, media_type="application/scim+json"
    )


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DatabaseUnavailable)
    log.error("database unavailable on %s %s: %s", request.method, request.url.path, exc.reason)
    message = f"The service cannot store changes right now: {exc.reason}. Retry later."
    response = error_response(request, 503, "Service unavailable", message)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


async def _query_timeout(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, QueryTimeout)
    if request.url.path.startswith("/scim/"):
        detail = (
            f"The filter is too costly: it ran past {exc.budget:g} s ([scim]"
            " query_budget_seconds) and was stopped. Narrow it, e.g. with an eq comparison."
        )
        return await _scim_error(request, InvalidFilter(detail))
    message = "The search took too long and was stopped. Narrow it and retry."
    return error_response(request, 503, "Search too costly", message)


async def _unhandled(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(
        request,
        500,
        "Something went wrong",
        "The service hit an unexpected error. Quote the request id to your administrator.",
    )


def handlers() -> dict[Any, Any]:
    """The exception handlers `create_app` registers."""
    return {
        AppError: _app_error,
        ScimError: _scim_error,
        HTTPException: _http_error,
        DatabaseUnavailable: _database_unavailable,
        QueryTimeout: _query_timeout,
        Exception: _unhandled,
    }
