"""The audit log in the console: newest first, paged."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.admin.common import PAGE_SIZE, admin_page, number, render
from app.auth.sessions import CurrentUser
from app.services import services
from app.store import audit


@admin_page
async def audit_log(request: Request, current: CurrentUser) -> Response:
    svc = services(request)
    before_id = number(request, "before", None, 18)
    events = await svc.db.read(audit.recent, limit=PAGE_SIZE, before_id=before_id)
    older = events[-1].id if len(events) == PAGE_SIZE else None
    return render(request, "admin_audit.html", current, events=events, older=older)
