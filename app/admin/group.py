"""One group's page: its attributes, whether it makes administrators, its members (paged and
searchable: a group may have 100,000) and its history."""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from app.admin.common import PAGE_SIZE, admin_page, page_number, pages, render
from app.admin.directory import HISTORY, not_found, page_links, path_id, search_text
from app.auth.sessions import CurrentUser, group_grant
from app.db import Tx
from app.services import services
from app.store import groups as group_store
from app.store import history
from app.store.audit import AuditEvent


@dataclass(frozen=True)
class _Read:
    group: group_store.Group
    total: int
    members: list[group_store.MemberRow]
    events: list[AuditEvent]


def _read(tx: Tx, group_id: str, query: str, offset: int) -> _Read | None:
    group = group_store.get(tx, group_id)
    if group is None:
        return None
    total, members = group_store.member_page(tx, group_id, query, offset=offset, limit=PAGE_SIZE)
    return _Read(group, total, members, history.of_group(tx, group_id, limit=HISTORY))


@admin_page
async def group_page(request: Request, current: CurrentUser) -> Response:
    svc = services(request)
    group_id = path_id(request, "group")
    query = search_text(request)
    page = page_number(request)
    read = await svc.db.read(_read, group_id, query, (page - 1) * PAGE_SIZE)
    if read is None:
        raise not_found("group")
    group = read.group
    count = pages(read.total)
    return render(
        request,
        "admin_group.html",
        current,
        group=group,
        grant=group_grant(
            svc.config, group_store.Member(group.id, group.display_name, group.external_id)
        ),
        resource=json.dumps(group.resource, indent=2, ensure_ascii=False),
        members=read.members,
        total=read.total,
        first=(page - 1) * PAGE_SIZE + 1,
        page=page,
        pages=count,
        links=page_links(f"/admin/groups/{group.id}", {"q": query}, page, count),
        q=query,
        events=read.events,
        history_limit=HISTORY,
    )
