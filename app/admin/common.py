"""What every console page shares: the administrators-only gate, rendering, query parameters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypedDict
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.auth.routes import signin_path
from app.auth.sessions import CurrentUser, current_user
from app.errors import Forbidden
from app.logs import current_request_id
from app.services import services
from app.store import audit

PAGE_SIZE = 50


# The way back from a user or group that is not here: to the list it was found in.
async def _admin(request: Request) -> CurrentUser | Response:
    """The signed-in administrator, or the response that sends anyone else away."""
    current = await current_user(request)
    if current is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(
            f"{signin_path(services(request).config)}?{urlencode({'callbackUrl': target})}",
            status_code=302,
        )
    if not current.admin:
        # Audited, so the page's request id can be found: a signed-in employee trying the
        # console is worth knowing. Once a minute per session: a loop cannot flood the log.
        svc = services(request)
        if svc.admin_refusals.first(current.session.id_hash):
            await svc.db.write(
                audit.record,
                action="admin.refused",
                detail={"method": request.method, "path": request.url.path[:200]},
                **audit_fields(request, current),
            )
        # Said to an employee, not to whoever edits the config: no key names here.
        raise Forbidden(
            "This page is for Webrix administrators. If your work needs it, ask an "
            "administrator to grant you access.",
            title="Administrators only",
        )
    return current


def render(
    request: Request, template: str, current: CurrentUser, status_code: int = 200, **context: Any
) -> Response:
    """A console page for `current`; `section` (the template name) marks the current nav entry."""
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request,
        template,
        {
            "current": current,
            "csrf_token": current.session.csrf_token,
            "section": template,
            **context,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )
    return response


def number(request: Request, name: str, default: int | None, digits: int) -> int | None:
    """A small non-negative integer query parameter; anything else gives `default`."""
    raw = request.query_params.get(name, "")
    # ASCII only: str.isdigit() also accepts "²", which int() refuses.
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= digits else default


def page_number(request: Request) -> int:
    return max(1, number(request, "page", 1, 6) or 1)


def pages(total: int, size: int = PAGE_SIZE) -> int:
    return max(1, -(-total // size))


def actor(current: CurrentUser) -> str:
    """How the audit log names an administrator acting in the console."""
    return f"user:{current.user.id}"


class AuditFields(TypedDict):
    """What every audit event of an administrator's request shares, splatted into
    `audit.record(tx, action=…, **fields)`."""

    actor: str
    ip: str | None
    request_id: str


def audit_fields(request: Request, current: CurrentUser) -> AuditFields:
    """Read here, on the request: the store's functions run on the database's thread, where
    the request id is not known (it would be "-")."""
    return {"actor": actor(current), "ip": client_ip(request), "request_id": current_request_id()}


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


AdminPage = Callable[[Request, CurrentUser], Awaitable[Response]]


def admin_page(fn: AdminPage) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint for administrators only; others are sent to sign-in or refused."""

    async def endpoint(request: Request) -> Response:
        current = await _admin(request)
        if isinstance(current, Response):
            return current
        return await fn(request, current)

    endpoint.__name__ = fn.__name__
    endpoint.__doc__ = fn.__doc__
    return endpoint
