"""API tokens: generated (shown once), listed, revoked."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.admin.common import actor, admin_page, client_ip, render
from app.auth.sessions import CurrentUser, check_csrf
from app.db import Tx
from app.errors import BadRequest
from app.logs import current_request_id
from app.services import services
from app.store import audit, tokens


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
        by = actor(current)
        ip = client_ip(request)
        request_id = current_request_id()
        if form.get("action") == "revoke":
            token_id = str(form.get("id", ""))

            def revoke(tx: Tx) -> None:
                revoked = tokens.revoke(tx, token_id)
                audit.record(
                    tx,
                    actor=by,
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
            token, plaintext = tokens.create(tx, name, scopes, created_by=by)
            audit.record(
                tx,
                actor=by,
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
    return render(
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
