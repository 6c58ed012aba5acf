"""Server-side sessions: the cookie holds a random id, the table holds its hash."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from app.db import Row, Tx
from app.store import now, parse_time

TOUCH_INTERVAL = timedelta(seconds=60)  # write last_seen at most once a minute per session


@dataclass(frozen=True)
class Session:
    id_hash: str
    user_id: str
    created: str
    last_seen: str
    expires: str
    csrf_token: str
    id_token: str | None
    groups: tuple[str, ...]


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def create(
    tx: Tx,
    user_id: str,
    *,
    lifetime: timedelta,
    id_token: str | None = None,
    groups: tuple[str, ...] = (),
    ip: str | None = None,
    user_agent: str | None = None,
) -> str:
    """Start a session; returns the new session id for the cookie (never stored as is)."""
    session_id = secrets.token_urlsafe(32)
    stamp = now()
    expires = (parse_time(stamp) + lifetime).strftime("%Y-%m-%dT%H:%M:%SZ")
    tx.execute(
        "INSERT INTO sessions (id_hash, user_id, created, last_seen, expires, csrf_token,"
        " id_token, groups, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            _hash(session_id),
            user_id,
            stamp,
            stamp,
            expires,
            secrets.token_urlsafe(24),
            id_token,
            json.dumps(list(groups)),
            ip,
            (user_agent or "")[:300] or None,
        ),
    )
    return session_id


def get_valid(tx: Tx, session_id: str, *, idle_timeout: timedelta) -> Session | None:
    """The session if it exists, has not expired or idled out, and its user is active."""
    if not session_id or len(session_id) > 100:
        return None
    row = tx.fetch_one(
        "SELECT s.* FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.id_hash = ? AND u.active = 1",
        (_hash(session_id),),
    )
    if row is None:
        return None
    current = parse_time(now())
    if (
        parse_time(row["expires"]) <= current
        or parse_time(row["last_seen"]) + idle_timeout <= current
    ):
        return None
    return Session(
        id_hash=row["id_hash"],
        user_id=row["user_id"],
        created=row["created"],
        last_seen=row["last_seen"],
        expires=row["expires"],
        csrf_token=row["csrf_token"],
        id_token=row["id_token"],
        groups=tuple(json.loads(row["groups"])),
    )


def needs_touch(session: Session) -> bool:
    """Whether last_seen is old enough to be worth a write."""
    return parse_time(session.last_seen) + TOUCH_INTERVAL <= parse_time(now())


def touch(tx: Tx, session: Session) -> None:
    tx.execute("UPDATE sessions SET last_seen = ? WHERE id_hash = ?", (now(), session.id_hash))


def delete(tx: Tx, session_id: str) -> None:
    tx.execute("DELETE FROM sessions WHERE id_hash = ?", (_hash(session_id),))


def delete_for_user(tx: Tx, user_id: str) -> int:
    """End every session of a user (deactivation, deletion); returns how many."""
    return tx.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))


def purge_expired(tx: Tx) -> int:
    return tx.execute("DELETE FROM sessions WHERE expires <= ?", (now(),))


# -- the admin console's view of sessions ---------------------------------------------------------

REF_LENGTH = 16  # hex characters of id_hash that name a session on a page (never the cookie's id)


@dataclass(frozen=True)
class SessionInfo:
    """A session as the console shows it; `ref` names it in forms and the audit log."""

    ref: str
    user_id: str
    created: str
    last_seen: str
    expires: str
    ip: str | None
    user_agent: str | None
    groups: tuple[str, ...]


def _info(row: Row) -> SessionInfo:
    return SessionInfo(
        ref=row["id_hash"][:REF_LENGTH],
        user_id=row["user_id"],
        created=row["created"],
        last_seen=row["last_seen"],
        expires=row["expires"],
        ip=row["ip"],
        user_agent=row["user_agent"],
        groups=tuple(json.loads(row["groups"])),
    )


def of_user(tx: Tx, user_id: str, *, limit: int) -> tuple[int, list[SessionInfo]]:
    """A user's sessions not past their absolute end, newest first: how many, and `limit`."""
    stamp = now()
    total = tx.fetch_one(
        "SELECT count(*) FROM sessions WHERE user_id = ? AND expires > ?", (user_id, stamp)
    )
    rows = tx.fetch_all(
        "SELECT * FROM sessions WHERE user_id = ? AND expires > ?"
        " ORDER BY created DESC, id_hash LIMIT ?",
        (user_id, stamp, limit),
    )
    return (int(total[0]) if total else 0), [_info(r) for r in rows]


def end(tx: Tx, user_id: str, ref: str) -> SessionInfo | None:
    """End the session of `user_id` named `ref`; what it was, or None if there is none."""
    if len(ref) != REF_LENGTH:
        return None
    row = tx.fetch_one(
        "DELETE FROM sessions WHERE user_id = ? AND substr(id_hash, 1, ?) = ? RETURNING *",
        (user_id, REF_LENGTH, ref),
    )
    return _info(row) if row else None


def claim_groups_of_many(tx: Tx, user_ids: Sequence[str]) -> dict[str, list[str]]:
    """The groups claim remembered by the live sessions of several users (one query), by user:
    what the identity provider said at sign-in, which is not a SCIM membership."""
    result: dict[str, list[str]] = {u: [] for u in user_ids}
    if not user_ids:
        return result
    rows = tx.fetch_all(
        "SELECT DISTINCT s.user_id, g.value FROM sessions s, json_each(s.groups) g"
        " WHERE s.user_id IN (SELECT value FROM json_each(?)) AND s.expires > ?"
        " ORDER BY s.user_id, g.value LIMIT 5000",
        (json.dumps(list(user_ids)), now()),
    )
    for r in rows:
        if isinstance(r[1], str):
            result[r[0]].append(r[1])
    return result
