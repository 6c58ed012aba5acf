"""Users in the console: search, filters (status, source, group, administrator), paging."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from app.admin.common import PAGE_SIZE, admin_page, page_number, pages, render
from app.admin.directory import admin_rules, choice, optional_id, page_links, search_text
from app.auth.sessions import AdminGrant, CurrentUser, admin_grants
from app.db import Tx
from app.services import services
from app.store import groups as group_store
from app.store import sessions as session_store
from app.store import users as user_store

STATUSES = {"active": "Active", "suspended": "Suspended"}
SOURCES = {"scim": "SCIM", "jit": "First sign-in (JIT)", "cli": "Command line"}
ADMINS = {"yes": "Administrators", "no": "Not administrators"}
GROUP_CHOICES = 200  # groups offered in the filter; others are reached from their page


@dataclass(frozen=True)
class UserRow:
    user: user_store.User
    groups: list[group_store.Member]  # SCIM memberships
    claimed: list[str]  # named by the groups claim at sign-in but not SCIM memberships
    grants: list[AdminGrant]


@dataclass(frozen=True)
class _Found:
    total: int
    rows: list[tuple[user_store.User, list[group_store.Member], list[str]]]
    choices: list[tuple[str, str]]
    group: group_store.Group | None


def _find(
    tx: Tx, criteria: user_store.Criteria, rules: user_store.AdminRules, offset: int
) -> _Found:
    total, found = user_store.directory(tx, criteria, rules, offset=offset, limit=PAGE_SIZE)
    ids = [u.id for u in found]
    memberships = group_store.groups_of_many(tx, ids)
    claims = session_store.claim_groups_of_many(tx, ids)
    rows = [(u, memberships[u.id], claims[u.id]) for u in found]
    group = group_store.get(tx, criteria.group_id) if criteria.group_id else None
    return _Found(total, rows, group_store.choices(tx, GROUP_CHOICES), group)


@admin_page
async def users(request: Request, current: CurrentUser) -> Response:
    svc = services(request)
    params = {
        "q": search_text(request),
        "status": choice(request, "status", STATUSES),
        "source": choice(request, "source", SOURCES),
        "group": optional_id(request, "group"),
        "admin": choice(request, "admin", ADMINS),
    }
    criteria = user_store.Criteria(
        query=params["q"],
        active=None if not params["status"] else params["status"] == "active",
        source=params["source"] or None,
        group_id=params["group"] or None,
        admin=None if not params["admin"] else params["admin"] == "yes",
    )
    page = page_number(request)
    found = await svc.db.read(_find, criteria, admin_rules(svc.config), (page - 1) * PAGE_SIZE)
    rows = []
    for user, groups, claims in found.rows:
        names = {g.display.lower() for g in groups}
        claimed = [c for c in claims if c.lower() not in names]
        rows.append(UserRow(user, groups, claimed, admin_grants(svc.config, user, groups)))
    choices = found.choices
    if found.group and all(found.group.id != gid for gid, _ in choices):
        choices = [(found.group.id, found.group.display_name), *choices]
    count = pages(found.total)
    return render(
        request,
        "admin_users.html",
        current,
        rows=rows,
        total=found.total,
        first=(page - 1) * PAGE_SIZE + 1,
        page=page,
        pages=count,
        links=page_links("/admin/users", params, page, count),
        params=params,
        filtered=any(params.values()),
        statuses=STATUSES,
        sources=SOURCES,
        admins=ADMINS,
        group_choices=choices,
        unknown_group=bool(params["group"]) and found.group is None,
    )
