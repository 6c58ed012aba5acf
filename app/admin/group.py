"""One group's page: its attributes, whether it makes administrators, its members (searchable,
paged by userName: a group may have 100,000) and its history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from app.admin.common import PAGE_SIZE, admin_page, render
from app.admin.directory import HISTORY, not_found, path_id, search_text
from app.auth.sessions import CurrentUser, group_grant
from app.db import Tx
from app.services import services
from app.store import audit_search, history
from app.store import groups as group_store
from app.store.audit import AuditEvent

MAX_KEY = 320  # characters of a userName in a paging link; a longer value is ignored


@dataclass(frozen=True)
class _Read:
    group: group_store.Group
    members: group_store.MemberPage
    events: list[AuditEvent]
    names: dict[str, str]  # actors and targets of the events, by name
    people: dict[str, str]  # the page's members: a person's name, by user id (when known)


def _people(tx: Tx, ids: list[str]) -> dict[str, str]:
    """The names the users of one page of members gave SCIM (a page: at most PAGE_SIZE ids)."""
    if not ids:
        return {}
    rows = tx.fetch_all(
        "SELECT id, display_name, trim(coalesce(given_name, '') || ' ' ||"
        " coalesce(family_name, '')) FROM users WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(ids),),
    )
    return {r[0]: r[1] or r[2] for r in rows if r[1] or r[2]}


def _read(tx: Tx, group_id: str, query: str, after: str | None, before: str | None) -> _Read | None:
    group = group_store.get(tx, group_id)
    if group is None:
        return None
    members = group_store.member_page(
        tx, group_id, query, after=after, before=before, limit=PAGE_SIZE
    )
    events = history.of_group(tx, group_id, limit=HISTORY)
    people = _people(tx, [m.id for m in members.members])
    return _Read(group, members, events, audit_search.names(tx, events), people)


def _key(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name, "")
    return raw if 0 < len(raw) <= MAX_KEY else None


def _links(path: str, query: str, page: group_store.MemberPage) -> dict[str, str]:
    """The first, previous, next and last pages of members (those that exist), by userName."""
    kept = {"q": query} if query else {}

    def url(**extra: str) -> str:
        params = {**kept, **extra}
        return f"{path}?{urlencode(params)}#members" if params else f"{path}#members"

    links: dict[str, str] = {}
    if page.more_before and page.members:
        links["first"] = url()
        links["previous"] = url(before=page.members[0].user_name)
    if page.more_after and page.members:
        links["next"] = url(after=page.members[-1].user_name)
        links["last"] = url(last="1")
    return links


@admin_page
async def group_page(request: Request, current: CurrentUser) -> Response:
    svc = services(request)
    group_id = path_id(request, "group")
    query = search_text(request)
    after, before = _key(request, "after"), _key(request, "before")
    if request.query_params.get("last") == "1":
        after, before = None, ""  # before the end: the last page
    read = await svc.db.read(_read, group_id, query, after, before)
    if read is None:
        raise not_found("group")
    group = read.group
    return render(
        request,
        "admin_group.html",
        current,
        group=group,
        grant=group_grant(
            svc.config, group_store.Member(group.id, group.display_name, group.external_id)
        ),
        resource=json.dumps(group.resource, indent=2, ensure_ascii=False),
        members=read.members.members,
        total=read.members.total,
        links=_links(f"/admin/groups/{group.id}", query, read.members),
        q=query,
        events=read.events,
        names=read.names,
        people=read.people,
        history_limit=HISTORY,
    )
