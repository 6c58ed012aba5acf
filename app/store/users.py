"""Users: the columns sign-in and lookups need, plus the SCIM payload kept as JSON."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.db import Conn, Row
from app.store import now, paged, violates_unique


class UserExists(Exception):
    """Another user already has this userName (compared case-insensitively)."""


@dataclass(frozen=True)
class Email:
    value: str
    type: str | None = None
    primary: bool = False


@dataclass(frozen=True)
class UserFields:
    """What the service itself understands of a user; the rest stays in `resource`."""

    user_name: str
    email: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    display_name: str | None = None
    external_id: str | None = None
    active: bool = True
    emails: tuple[Email, ...] = ()


@dataclass(frozen=True)
class User:
    id: str
    user_name: str
    email: str | None
    given_name: str | None
    family_name: str | None
    display_name: str | None
    external_id: str | None
    active: bool
    oidc_sub: str | None
    source: str
    created: str
    last_modified: str
    version: int
    resource: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """A name to show a person."""
        parts = " ".join(p for p in (self.given_name, self.family_name) if p)
        return self.display_name or parts or self.email or self.user_name


def _row(row: Row) -> User:
    return User(
        id=row["id"],
        user_name=row["user_name"],
        email=row["email"],
        given_name=row["given_name"],
        family_name=row["family_name"],
        display_name=row["display_name"],
        external_id=row["external_id"],
        active=bool(row["active"]),
        oidc_sub=row["oidc_sub"],
        source=row["source"],
        created=row["created"],
        last_modified=row["last_modified"],
        version=row["version"],
        resource=json.loads(row["resource"]),
    )


async def get(conn: Conn, user_id: str) -> User | None:
    row = await conn.fetch_one("SELECT * FROM users WHERE id = ?", (user_id,))
    return _row(row) if row else None


async def find_by_sub(conn: Conn, sub: str) -> User | None:
    row = await conn.fetch_one("SELECT * FROM users WHERE oidc_sub = ?", (sub,))
    return _row(row) if row else None


async def find_by_email(conn: Conn, email: str) -> User | None:
    """A user whose userName, primary email or any email is `email` (case-insensitive)."""
    row = await conn.fetch_one(
        "SELECT * FROM users WHERE user_name = ?1 OR email = ?1"
        " OR id IN (SELECT user_id FROM user_emails WHERE value = ?1)"
        " ORDER BY (user_name = ?1) DESC, created LIMIT 1",
        (email,),
    )
    return _row(row) if row else None


async def find_by_user_name(conn: Conn, user_name: str) -> User | None:
    row = await conn.fetch_one("SELECT * FROM users WHERE user_name = ?", (user_name,))
    return _row(row) if row else None


async def _write_emails(conn: Conn, user_id: str, emails: Sequence[Email]) -> None:
    await conn.execute("DELETE FROM user_emails WHERE user_id = ?", (user_id,))
    for e in emails:
        await conn.execute(
            "INSERT INTO user_emails (user_id, value, type, is_primary) VALUES (?, ?, ?, ?)",
            (user_id, e.value, e.type, int(e.primary)),
        )


async def create(
    conn: Conn,
    fields: UserFields,
    resource: dict[str, Any],
    *,
    source: str = "scim",
    oidc_sub: str | None = None,
) -> User:
    """Insert a user; UserExists on a userName clash (the unique index decides)."""
    stamp = now()
    try:
        row = await conn.fetch_one(
            "INSERT INTO users (id, user_name, external_id, email, given_name, family_name,"
            " display_name, active, oidc_sub, source, resource, created, last_modified, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING *",
            (
                str(uuid.uuid4()),
                fields.user_name,
                fields.external_id,
                fields.email,
                fields.given_name,
                fields.family_name,
                fields.display_name,
                int(fields.active),
                oidc_sub,
                source,
                json.dumps(resource),
                stamp,
                stamp,
            ),
        )
    except sqlite3.IntegrityError as exc:
        if violates_unique(exc, "users.user_name"):
            raise UserExists(fields.user_name) from None
        raise
    assert row is not None
    await _write_emails(conn, row["id"], fields.emails)
    return _row(row)


async def replace(
    conn: Conn,
    user_id: str,
    fields: UserFields,
    resource: dict[str, Any],
    *,
    source: str | None = None,
) -> User | None:
    """Overwrite a user's fields and payload (and `source` if given); None if absent."""
    try:
        row = await conn.fetch_one(
            "UPDATE users SET user_name = ?, external_id = ?, email = ?, given_name = ?,"
            " family_name = ?, display_name = ?, active = ?, resource = ?, last_modified = ?,"
            " source = coalesce(?, source), version = version + 1 WHERE id = ? RETURNING *",
            (
                fields.user_name,
                fields.external_id,
                fields.email,
                fields.given_name,
                fields.family_name,
                fields.display_name,
                int(fields.active),
                json.dumps(resource),
                now(),
                source,
                user_id,
            ),
        )
    except sqlite3.IntegrityError as exc:
        if violates_unique(exc, "users.user_name"):
            raise UserExists(fields.user_name) from None
        raise
    if row is None:
        return None
    await _write_emails(conn, user_id, fields.emails)
    return _row(row)


async def link_sub(conn: Conn, user_id: str, sub: str) -> None:
    """Remember the OpenID subject of a user at first sign-in."""
    await conn.execute(
        "UPDATE users SET oidc_sub = ? WHERE id = ? AND oidc_sub IS NULL", (sub, user_id)
    )


async def delete(conn: Conn, user_id: str) -> bool:
    """Remove a user, their emails, memberships and sessions (by cascade)."""
    # Their groups lose a member: a new version, so no client keeps a stale copy current.
    await conn.execute(
        "UPDATE groups SET last_modified = ?, version = version + 1"
        " WHERE id IN (SELECT group_id FROM group_members WHERE user_id = ?)",
        (now(), user_id),
    )
    return await conn.execute("DELETE FROM users WHERE id = ?", (user_id,)) > 0


async def search(
    conn: Conn,
    where: str = "1 = 1",
    params: Sequence[Any] = (),
    *,
    order_by: str = "users.rowid",
    offset: int = 0,
    limit: int | None = 100,
) -> tuple[int, list[User]]:
    """Total matching and one page; `where`/`order_by` come from the filter compiler."""
    total, rows = await paged(
        conn, "users", where, params, order_by=order_by, offset=offset, limit=limit
    )
    return total, [_row(r) for r in rows]


async def existing_ids(conn: Conn, ids: Sequence[str]) -> set[str]:
    """Which of `ids` are users."""
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        rows = await conn.fetch_all(f"SELECT id FROM users WHERE id IN ({marks})", chunk)  # noqa: S608
        found.update(r[0] for r in rows)
    return found


async def count(conn: Conn) -> int:
    row = await conn.fetch_one("SELECT count(*) FROM users")
    return int(row[0]) if row else 0


async def browse(conn: Conn, query: str, *, offset: int, limit: int) -> tuple[int, list[User]]:
    """Users whose userName, email or name contains `query` (all when empty), by userName."""
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    where = (
        "(user_name LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\'"
        " OR display_name LIKE ?1 ESCAPE '\\'"
        " OR given_name || ' ' || family_name LIKE ?1 ESCAPE '\\')"
    )
    total, rows = await paged(
        conn, "users", where, [pattern], order_by="user_name", offset=offset, limit=limit
    )
    return total, [_row(r) for r in rows]


async def counts(conn: Conn) -> dict[str, int]:
    """How many users there are, active and suspended."""
    row = await conn.fetch_one("SELECT count(*), coalesce(sum(active), 0) FROM users")
    total, active = (int(row[0]), int(row[1])) if row else (0, 0)
    return {"total": total, "active": active, "suspended": total - active}
