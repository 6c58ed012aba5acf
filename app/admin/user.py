"""One user's page: the SCIM attributes as received, emails, groups and why they make an
administrator, the OpenID subject, live sessions, and the user's history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from app.admin.common import admin_page, number, render
from app.admin.devices import device
from app.admin.directory import HISTORY, not_found, path_id
from app.auth.sessions import AdminGrant, CurrentUser, admin_grants, group_grant
from app.db import Tx
from app.services import services
from app.store import audit_search, history, now, parse_time
from app.store import groups as group_store
from app.store import sessions as session_store
from app.store import users as user_store
from app.store.audit import AuditEvent

SESSIONS = 50  # sessions listed on the page (a user rarely has more than a few)
SOURCES = {
    "scim": "created by SCIM (your identity provider pushed this user)",
    "jit": "created at first sign-in (just-in-time), not by SCIM",
    "cli": "created from the command line",
}


@dataclass(frozen=True)
class SessionRow:
    info: session_store.SessionInfo
    device: str
    idle: bool  # idled out: no longer lets the browser in, though not yet past its end
    mine: bool  # the session of the administrator looking at the page


@dataclass(frozen=True)
class _Read:
    user: user_store.User
    emails: list[user_store.Email]
    groups: list[group_store.Member]
    sessions: tuple[int, list[session_store.SessionInfo]]
    events: list[AuditEvent]
    names: dict[str, str]  # actors and targets of the events, by name


def _read(tx: Tx, user_id: str) -> _Read | None:
    user = user_store.get(tx, user_id)
    if user is None:
        return None
    events = history.of_user(tx, user_id, limit=HISTORY)
    return _Read(
        user,
        user_store.emails_of(tx, user_id),
        group_store.groups_of(tx, user_id),
        session_store.of_user(tx, user_id, limit=SESSIONS),
        events,
        audit_search.names(tx, events),
    )


@admin_page
async def user_page(request: Request, current: CurrentUser) -> Response:
    svc = services(request)
    user_id = path_id(request, "user")
    read = await svc.db.read(_read, user_id)
    if read is None:
        raise not_found("user")
    config = svc.config
    idle = timedelta(minutes=config.session.idle_timeout_minutes)
    at = parse_time(now())
    total, infos = read.sessions
    sessions = [
        SessionRow(
            s,
            device(s.user_agent),
            parse_time(s.last_seen) + idle <= at,
            current.session.id_hash.startswith(s.ref),
        )
        for s in infos
    ]
    scim_names = {g.display.lower() for g in read.groups}
    claimed = sorted(
        {g for s in infos for g in s.groups if g.lower() not in scim_names}, key=str.lower
    )
    grants: list[AdminGrant] = admin_grants(config, read.user, read.groups)
    return render(
        request,
        "admin_user.html",
        current,
        user=read.user,
        resource=json.dumps(read.user.resource, indent=2, ensure_ascii=False),
        emails=read.emails,
        groups=[(g, group_grant(config, g)) for g in read.groups],
        claimed=claimed,
        grants=grants,
        source=SOURCES.get(read.user.source, read.user.source),
        sessions=sessions,
        session_total=total,
        session_limit=SESSIONS,
        events=read.events,
        names=read.names,
        history_limit=HISTORY,
        ended=number(request, "ended", None, 4),
    )
