"""Admin console pages. Every page admits administrators only, decided on each request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.auth.sessions import CurrentUser, check_csrf, current_user
from app.db import Tx
from app.errors import BadRequest, Forbidden
from app.logs import current_request_id
from app.services import services
from app.store import audit, tokens
from app.store import groups as group_store
from app.store import users as user_store

PAGE_SIZE = 50


async def _admin(request: Request) -> CurrentUser | Response:
    """The signed-in administrator, or the response that sends anyone else away."""
    current = await current_user(request)
    if current is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(
            f"/api/auth/signin/jumpcloud?{urlencode({'callbackUrl': target})}", status_code=302
        )
    if not current.admin:
        raise Forbidden(
            "The admin console is for administrators. Ask for your email to be added to "
            "[access] admin_emails, or to be put in one of the [access] admin_groups."
        )
    return current


def _render(
    request: Request, template: str, current: CurrentUser, status_code: int = 200, **context: Any
) -> Response:
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


def _number(request: Request, name: str, default: int | None, digits: int) -> int | None:
    """A small non-negative integer query parameter; anything else gives `default`."""
    raw = request.query_params.get(name, "")
    # ASCII only: str.isdigit() also accepts "²", which int() refuses.
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= digits else default


def _page_number(request: Request) -> int:
    return max(1, _number(request, "page", 1, 6) or 1)


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


def _overview(tx: Tx) -> dict[str, Any]:
    return {
        "counts": user_store.counts(tx),
        "groups": group_store.count(tx),
        "tokens": [t for t in tokens.list_tokens(tx) if t.active],
        "events": audit.recent(tx, limit=10),
    }


@admin_page
async def overview(request: Request, current: CurrentUser) -> Response:
    svc = services(request)
    facts = await svc.db.read(_overview)
    return _render(request, "admin_overview.html", current, config=svc.config, **facts)


@admin_page
async def settings(request: Request, current: CurrentUser) -> Response:
    return _render(request, "admin_settings.html", current, config=services(request).config)


@admin_page
async def api_tokens(request: Request, current: CurrentUser) -> Response:
    """GET lists tokens; POST generates one or revokes one, then redirects (a reload never
    repeats the POST). A new token is handed to the next GET of the same session, once."""
    svc = services(request)
    created = svc.new_tokens.take(current.session.id_hash) if request.method == "GET" else None
    error = None
    if request.method == "POST":
        form = await request.form()
        check_csrf(request, current, form.get("csrfToken"))
        actor = f"user:{current.user.id}"
        ip = request.client.host if request.client else None
        request_id = current_request_id()
        if form.get("action") == "revoke":
            token_id = str(form.get("id", ""))

            def revoke(tx: Tx) -> None:
                revoked = tokens.revoke(tx, token_id)
                audit.record(
                    tx,
                    actor=actor,
                    action="token.revoke",
                    target_type="token",
                    target_id=revoked.id,
                    ip=ip,
                    request_id=request_id,
                )

            try:
                await svc.db.write(revoke)
            except tokens.TokenError as exc:
                raise BadRequest(str(exc)) from None
            return RedirectResponse("/admin/api-tokens", status_code=303)
        name = str(form.get("name", "")).strip()
        scopes = tuple(str(s) for s in form.getlist("scope")) or tokens.DEFAULT_SCOPES

        def create(tx: Tx) -> tuple[tokens.ApiToken, str]:
            token, plaintext = tokens.create(tx, name, scopes, created_by=actor)
            audit.record(
                tx,
                actor=actor,
                action="token.create",
                target_type="token",
                target_id=token.id,
                detail={"name": name, "scopes": list(scopes)},
                ip=ip,
                request_id=request_id,
            )
            return token, plaintext

        try:
            token, plaintext = await svc.db.write(create)
        except tokens.TokenError as exc:
            error = str(exc)
        else:
            svc.new_tokens.put(current.session.id_hash, token, plaintext)
            return RedirectResponse("/admin/api-tokens", status_code=303)
    return _render(
        request,
        "admin_tokens.html",
        current,
        tokens=await svc.db.read(tokens.list_tokens),
        created=created,
        error=error,
        scopes=tokens.SCOPES,
        scim_base_url=svc.config.scim_base_url,
        status_code=400 if error else 200,
    )


def _users_page(
    tx: Tx, query: str, offset: int
) -> tuple[int, list[user_store.User], dict[str, list[group_store.Member]]]:
    total, found = user_store.browse(tx, query, offset=offset, limit=PAGE_SIZE)
    return total, found, group_store.groups_of_many(tx, [u.id for u in found])


@admin_page
async def users(request: Request, current: CurrentUser) -> Response:
    svc = services(request)
    query = request.query_params.get("q", "").strip()[:200]
    page = _page_number(request)
    total, found, memberships = await svc.db.read(_users_page, query, (page - 1) * PAGE_SIZE)
    return _render(
        request,
        "admin_users.html",
        current,
        users=found,
        memberships=memberships,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        q=query,
    )


@admin_page
async def groups(request: Request, current: CurrentUser) -> Response:
    svc = services(request)
    page = _page_number(request)
    total, found = await svc.db.read(
        group_store.browse, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    access = svc.config.access
    admin_groups = {
        g.id
        for g in found
        if g.display_name.lower() in {n.lower() for n in access.admin_groups}
        or g.external_id in access.admin_group_external_ids
    }
    return _render(
        request,
        "admin_groups.html",
        current,
        groups=found,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        admin_groups=admin_groups,
    )


@admin_page
async def audit_log(request: Request, current: CurrentUser) -> Response:
    svc = services(request)
    before_id = _number(request, "before", None, 18)
    events = await svc.db.read(audit.recent, limit=PAGE_SIZE, before_id=before_id)
    older = events[-1].id if len(events) == PAGE_SIZE else None
    return _render(request, "admin_audit.html", current, events=events, older=older)


def routes() -> list[Route]:
    return [
        Route("/admin", overview, name="admin"),
        Route("/admin/", overview),
        Route("/admin/settings", settings, name="admin_settings"),
        Route("/admin/api-tokens", api_tokens, methods=["GET", "POST"], name="admin_api_tokens"),
        Route("/admin/users", users, name="admin_users"),
        Route("/admin/groups", groups, name="admin_groups"),
        Route("/admin/audit", audit_log, name="admin_audit"),
    ]
