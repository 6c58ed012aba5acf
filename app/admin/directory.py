"""What the Users and Groups pages share: ids from the path, bounded query parameters, the
administrator rules in the store's terms, and paging links that keep the filters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlencode

from starlette.requests import Request

from app.config import Config
from app.errors import Action, NotFound
from app.store.users import AdminRules

MAX_QUERY = 200  # characters of a search
HISTORY = 20  # audit events on a user's or group's page
# SCIM ids are the UUIDs the store makes (str(uuid.uuid4())).
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def path_id(request: Request, kind: str) -> str:
    """The SCIM id in the path; NotFound (a clear page) when it cannot be one."""
    raw = str(request.path_params.get("id", ""))
    if not _ID.fullmatch(raw):
        raise not_found(kind)
    return raw


_BACK = {
    "user": Action("Back to Users", "/admin/users", "back-to-users"),
    "group": Action("Back to Groups", "/admin/groups", "back-to-groups"),
}


def not_found(kind: str) -> NotFound:
    """The 404 for a user or group that is not here (never existed, or deleted by SCIM),
    leading back to Users or Groups."""
    plural = "Users" if kind == "user" else "Groups"
    return NotFound(
        f"There is no {kind} with this id. It may have been deleted by your identity provider "
        f"(SCIM), or the link is incomplete. Find the {kind} on the {plural} page.",
        title=f"{kind.capitalize()} not found",
        actions=[_BACK[kind]],
    )


def search_text(request: Request, name: str = "q") -> str:
    """A search box's text, trimmed and cut to MAX_QUERY characters."""
    return request.query_params.get(name, "").strip()[:MAX_QUERY]


def choice(request: Request, name: str, allowed: Mapping[str, str]) -> str:
    """The parameter if it is one of `allowed` (value -> label), else "" (any)."""
    raw = request.query_params.get(name, "")
    return raw if raw in allowed else ""


def optional_id(request: Request, name: str) -> str:
    raw = request.query_params.get(name, "")
    return raw if _ID.fullmatch(raw) else ""


def admin_rules(config: Config) -> AdminRules:
    access = config.access
    return AdminRules(access.admin_emails, access.admin_groups, access.admin_group_external_ids)


def page_links(path: str, params: Mapping[str, str], page: int, pages: int) -> dict[str, str]:
    """URLs of the first, previous, next and last pages (those that exist), filters kept."""
    kept = {k: v for k, v in params.items() if v}

    def url(n: int) -> str:
        return f"{path}?{urlencode({**kept, 'page': str(n)})}"

    links: dict[str, str] = {}
    if page > 1:
        links["first"] = url(1)
        links["previous"] = url(min(page - 1, pages))
    if page < pages:
        links["next"] = url(page + 1)
        links["last"] = url(pages)
    return links
