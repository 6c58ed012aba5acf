"""Groups in the console: search by name, member counts, the administrators' groups marked."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.admin.common import PAGE_SIZE, admin_page, page_number, pages, render
from app.admin.directory import page_links, search_text
from app.auth.sessions import CurrentUser, group_grant
from app.services import services
from app.store import groups as group_store


@admin_page
async def groups(request: Request, current: CurrentUser) -> Response:
    svc = services(request)
    query = search_text(request)
    page = page_number(request)
    total, found = await svc.db.read(
        group_store.browse, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, query=query
    )
    grants = {
        g.id: group_grant(svc.config, group_store.Member(g.id, g.display_name, g.external_id))
        for g in found
    }
    count = pages(total)
    return render(
        request,
        "admin_groups.html",
        current,
        groups=found,
        grants=grants,
        total=total,
        first=(page - 1) * PAGE_SIZE + 1,
        page=page,
        pages=count,
        links=page_links("/admin/groups", {"q": query}, page, count),
        q=query,
    )
