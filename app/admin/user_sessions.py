"""Ending a user's sessions from their page: one, or all. Sessions live in the database and
are looked up on every request, so the browser is signed out at its next request."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.admin.common import admin_page, audit_fields
from app.admin.devices import device
from app.admin.directory import not_found, path_id
from app.auth.sessions import CurrentUser, check_csrf
from app.db import Tx
from app.errors import BadRequest
from app.services import services
from app.store import audit
from app.store import sessions as session_store
from app.store import users as user_store


def _back(user_id: str, ended: int | None = None) -> Response:
    query = f"?ended={ended}" if ended is not None else ""
    return RedirectResponse(f"/admin/users/{user_id}{query}#sessions", status_code=303)


@admin_page
async def end_session(request: Request, current: CurrentUser) -> Response:
    """POST: end the session named by the form's `session`; GET (after a sign-in that started
    here): back to the user's page."""
    user_id = path_id(request, "user")
    if request.method != "POST":
        return _back(user_id)
    form = await request.form()
    check_csrf(request, current, form.get("csrfToken"))
    ref = str(form.get("session", ""))
    if len(ref) != session_store.REF_LENGTH or not ref.isalnum():
        raise BadRequest("This form names no session; reload the user's page and retry.")
    fields = audit_fields(request, current)

    def end(tx: Tx) -> bool | None:
        if user_store.get(tx, user_id) is None:
            return None
        ended = session_store.end(tx, user_id, ref)
        if ended is None:
            return False
        detail = {"session": ended.ref, "device": device(ended.user_agent), "ip": ended.ip}
        audit.record(
            tx,
            action="session.end",
            target_type="user",
            target_id=user_id,
            detail=detail,
            **fields,
        )
        return True

    outcome = await services(request).db.write(end)
    if outcome is None:
        raise not_found("user")
    return _back(user_id, int(outcome))


@admin_page
async def end_all_sessions(request: Request, current: CurrentUser) -> Response:
    """POST: end every session of the user; GET: back to the user's page."""
    user_id = path_id(request, "user")
    if request.method != "POST":
        return _back(user_id)
    form = await request.form()
    check_csrf(request, current, form.get("csrfToken"))
    fields = audit_fields(request, current)

    def end_all(tx: Tx) -> int | None:
        if user_store.get(tx, user_id) is None:
            return None
        count = session_store.delete_for_user(tx, user_id)
        audit.record(
            tx,
            action="session.end_all",
            target_type="user",
            target_id=user_id,
            detail={"sessions": count},
            **fields,
        )
        return count

    count = await services(request).db.write(end_all)
    if count is None:
        raise not_found("user")
    return _back(user_id, count)
