"""Who is asking: the session cookie, the signed-in user, administrators, CSRF."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

from app.config import Config
from app.db import Tx
from app.errors import Forbidden
from app.services import services
from app.store import groups as group_store
from app.store import sessions as session_store
from app.store import users as user_store
from app.store.groups import Member
from app.store.sessions import Session
from app.store.users import User


@dataclass(frozen=True)
class CurrentUser:
    user: User
    session: Session
    groups: tuple[str, ...]  # current SCIM group names
    admin: bool


def cookie_name(config: Config, base: str) -> str:
    """`__Host-` prefixed on https, where the cookie is also Secure and host-only."""
    return f"__Host-{base}" if config.server.https else base


def _signer(config: Config) -> URLSafeSerializer:
    return URLSafeSerializer(config.server.secret_key, salt="webrix.session")


def set_cookie(response: Response, config: Config, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        cookie_name(config, name),
        value,
        max_age=max_age,
        path="/",
        secure=config.server.https,
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, config: Config, name: str) -> None:
    response.delete_cookie(
        cookie_name(config, name),
        path="/",
        secure=config.server.https,
        httponly=True,
        samesite="lax",
    )


def set_session_cookie(response: Response, config: Config, session_id: str) -> None:
    max_age = config.session.lifetime_minutes * 60
    set_cookie(response, config, "webrix-session", _signer(config).dumps(session_id), max_age)


def clear_session_cookie(response: Response, config: Config) -> None:
    clear_cookie(response, config, "webrix-session")


def session_id_from(request: Request, config: Config) -> str | None:
    raw = request.cookies.get(cookie_name(config, "webrix-session"))
    if not raw or len(raw) > 300:
        return None
    try:
        value = _signer(config).loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class AdminGrant:
    """Why someone is an administrator: the `[access]` key and entry that matched, and the
    group through which it did (None for an email)."""

    key: str  # "admin_emails", "admin_groups" or "admin_group_external_ids"
    entry: str
    group: Member | None = None


def group_grant(config: Config, group: Member) -> AdminGrant | None:
    """The `[access]` entry that makes members of `group` administrators, if any: its name in
    `admin_groups` (case-insensitively), else its externalId in `admin_group_external_ids`."""
    name = group.display.lower()
    for entry in config.access.admin_groups:
        if entry.lower() == name:
            return AdminGrant("admin_groups", entry, group)
    if (
        group.external_id is not None
        and group.external_id in config.access.admin_group_external_ids
    ):
        return AdminGrant("admin_group_external_ids", group.external_id, group)
    return None


def admin_grants(config: Config, user: User, groups: Sequence[Member]) -> list[AdminGrant]:
    """Every reason `user` is an administrator: an email in `admin_emails` (their email or
    userName), or current membership of an admin group (`group_grant`). Empty: not one."""
    grants = [
        AdminGrant("admin_emails", e.lower())
        for e in dict.fromkeys(e for e in (user.email, user.user_name) if e)
        if e.lower() in config.access.admin_emails
    ]
    grants = list({(g.key, g.entry): g for g in grants}.values())
    grants.extend(grant for g in groups if (grant := group_grant(config, g)) is not None)
    return grants


def is_admin(config: Config, user: User, groups: Sequence[Member]) -> bool:
    """An administrator by email, or by current membership of an admin group (`admin_grants`)."""
    return bool(admin_grants(config, user, groups))


def _load(tx: Tx, session_id: str, idle: timedelta) -> tuple[Session, User, list[Member]] | None:
    """The live session, its active user and the user's current groups."""
    session = session_store.get_valid(tx, session_id, idle_timeout=idle)
    user = user_store.get(tx, session.user_id) if session else None
    if session is None or user is None or not user.active:
        return None
    return session, user, group_store.groups_of(tx, user.id)


async def current_user(request: Request) -> CurrentUser | None:
    """The signed-in, active user of this request, decided afresh on every request."""
    if hasattr(request.state, "current_user"):
        cached: CurrentUser | None = request.state.current_user
        return cached
    svc = services(request)
    result: CurrentUser | None = None
    session_id = session_id_from(request, svc.config)
    if session_id:
        idle = timedelta(minutes=svc.config.session.idle_timeout_minutes)
        loaded = await svc.db.lookup(_load, session_id, idle)
        if loaded is not None:
            session, user, groups = loaded
            if session_store.needs_touch(session):
                await svc.db.write(session_store.touch, session)
            names = tuple(g.display for g in groups)
            result = CurrentUser(user, session, names, is_admin(svc.config, user, groups))
    request.state.current_user = result
    return result


def check_csrf(request: Request, current: CurrentUser, token: object) -> None:
    """Refuse a state-changing form unless it carries the session's token and comes from here."""
    config = services(request).config
    origin = request.headers.get("origin")
    if origin and origin != "null" and origin.rstrip("/") != _origin(config.public_url):
        raise Forbidden("This form was sent from another site; refused.")
    if not isinstance(token, str) or not hmac.compare_digest(
        token.encode(), current.session.csrf_token.encode()
    ):
        raise Forbidden("The form's security token is missing or stale; reload the page and retry.")


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
