"""Groups in the console: the list with the administrators' groups marked."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.admin.common import PAGE_SIZE, admin_page, page_number, pages, render
from app.auth.sessions import CurrentUser
from app.services import services
from app.store import groups as group_store


@admin_page
async def groups(request: Request, current: CurrentUser) -> Response:
    svc = services(request)
    page = page_number(request)
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
    return render(
        request,
        "admin_groups.html",
        current,
        groups=found,
        total=total,
        page=page,
        pages=pages(total),
        admin_groups=admin_groups,
    )
