"""Users in the console: the list (search, paging)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.admin.common import PAGE_SIZE, admin_page, page_number, pages, render
from app.auth.sessions import CurrentUser
from app.db import Tx
from app.services import services
from app.store import groups as group_store
from app.store import users as user_store


def _users_page(
    tx: Tx, query: str, offset: int
) -> tuple[int, list[user_store.User], dict[str, list[group_store.Member]]]:
    total, found = user_store.browse(tx, query, offset=offset, limit=PAGE_SIZE)
    return total, found, group_store.groups_of_many(tx, [u.id for u in found])


@admin_page
async def users(request: Request, current: CurrentUser) -> Response:
    svc = services(request)
    query = request.query_params.get("q", "").strip()[:200]
    page = page_number(request)
    total, found, memberships = await svc.db.read(_users_page, query, (page - 1) * PAGE_SIZE)
    return render(
        request,
        "admin_users.html",
        current,
        users=found,
        memberships=memberships,
        total=total,
        page=page,
        pages=pages(total),
        q=query,
    )
