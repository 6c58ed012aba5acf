"""Groups and memberships. Member changes touch only the rows named, whatever the group's size."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.db import Conn, Row
from app.store import now, paged, violates_unique


class GroupExists(Exception):
    """Another group already has this displayName (compared case-insensitively)."""


@dataclass(frozen=True)
class Group:
    id: str
    display_name: str
    external_id: str | None
    created: str
    last_modified: str
    version: int
    resource: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Member:
    id: str
    display: str


def _row(row: Row) -> Group:
    return Group(
        id=row["id"],
        display_name=row["display_name"],
        external_id=row["external_id"],
        created=row["created"],
        last_modified=row["last_modified"],
        version=row["version"],
        resource=json.loads(row["resource"]),
    )


async def get(conn: Conn, group_id: str) -> Group | None:
    row = await conn.fetch_one("SELECT * FROM groups WHERE id = ?", (group_id,))
    return _row(row) if row else None


async def create(
    conn: Conn, display_name: str, external_id: str | None, resource: dict[str, Any]
) -> Group:
    """Insert a group; GroupExists on a displayName clash (the unique index decides)."""
    stamp = now()
    try:
        row = await conn.fetch_one(
            "INSERT INTO groups (id, display_name, external_id, resource, created, last_modified,"
            " version) VALUES (?, ?, ?, ?, ?, ?, 1) RETURNING *",
            (str(uuid.uuid4()), display_name, external_id, json.dumps(resource), stamp, stamp),
        )
    except sqlite3.IntegrityError as exc:
        if violates_unique(exc, "groups.display_name"):
            raise GroupExists(display_name) from None
        raise
    assert row is not None
    return _row(row)


async def update(
    conn: Conn, group_id: str, display_name: str, external_id: str | None, resource: dict[str, Any]
) -> Group | None:
    """Overwrite name and payload and bump the version; None if absent."""
    try:
        row = await conn.fetch_one(
            "UPDATE groups SET display_name = ?, external_id = ?, resource = ?, last_modified = ?,"
            " version = version + 1 WHERE id = ? RETURNING *",
            (display_name, external_id, json.dumps(resource), now(), group_id),
        )
    except sqlite3.IntegrityError as exc:
        if violates_unique(exc, "groups.display_name"):
            raise GroupExists(display_name) from None
        raise
    return _row(row) if row else None


async def delete(conn: Conn, group_id: str) -> bool:
    """Remove a group and (by cascade) its memberships."""
    return await conn.execute("DELETE FROM groups WHERE id = ?", (group_id,)) > 0


async def search(
    conn: Conn,
    where: str = "1 = 1",
    params: Sequence[Any] = (),
    *,
    order_by: str = "groups.created, groups.id",
    offset: int = 0,
    limit: int | None = 100,
) -> tuple[int, list[Group]]:
    """Total matching and one page; `where`/`order_by` come from the filter compiler."""
    total, rows = await paged(
        conn, "groups", where, params, order_by=order_by, offset=offset, limit=limit
    )
    return total, [_row(r) for r in rows]


async def add_members(
    conn: Conn, group_id: str, user_ids: Iterable[str], displays: Mapping[str, str] | None = None
) -> int:
    """Add users to a group; a member already present stays (its display name is updated when
    a different one is given). Returns how many rows were added or changed."""
    added = 0
    names = displays or {}
    for user_id in user_ids:
        display = names.get(user_id)
        new = await conn.execute(
            "INSERT OR IGNORE INTO group_members (group_id, user_id, display) VALUES (?, ?, ?)",
            (group_id, user_id, display),
        )
        if not new and display is not None:
            new = await conn.execute(
                "UPDATE group_members SET display = ?"
                " WHERE group_id = ? AND user_id = ? AND display IS NOT ?",
                (display, group_id, user_id, display),
            )
        added += new
    return added


async def remove_members(conn: Conn, group_id: str, user_ids: Iterable[str]) -> int:
    removed = 0
    for user_id in user_ids:
        removed += await conn.execute(
            "DELETE FROM group_members WHERE group_id = ? AND user_id = ?", (group_id, user_id)
        )
    return removed


async def replace_members(
    conn: Conn, group_id: str, user_ids: Iterable[str], displays: Mapping[str, str] | None = None
) -> None:
    await conn.execute("DELETE FROM group_members WHERE group_id = ?", (group_id,))
    await add_members(conn, group_id, user_ids, displays)


async def members(conn: Conn, group_id: str) -> list[Member]:
    """A group's members as (user id, display name), by userName."""
    return (await members_of_many(conn, [group_id]))[group_id]


async def members_of_many(conn: Conn, group_ids: Sequence[str]) -> dict[str, list[Member]]:
    """Members of several groups in one query (for list pages)."""
    result: dict[str, list[Member]] = {g: [] for g in group_ids}
    if not group_ids:
        return result
    marks = ",".join("?" * len(group_ids))
    rows = await conn.fetch_all(
        "SELECT m.group_id, u.id, coalesce(m.display, u.display_name, u.user_name) AS display"  # noqa: S608
        f" FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id IN ({marks})"
        " ORDER BY u.user_name",
        list(group_ids),
    )
    for r in rows:
        result[r["group_id"]].append(Member(r["id"], r["display"]))
    return result


async def groups_of(conn: Conn, user_id: str) -> list[Member]:
    """The groups a user belongs to, as (group id, displayName)."""
    return (await groups_of_many(conn, [user_id]))[user_id]


async def groups_of_many(conn: Conn, user_ids: Sequence[str]) -> dict[str, list[Member]]:
    """The groups of several users in one query (for list pages)."""
    result: dict[str, list[Member]] = {u: [] for u in user_ids}
    if not user_ids:
        return result
    marks = ",".join("?" * len(user_ids))
    rows = await conn.fetch_all(
        "SELECT m.user_id, g.id, g.display_name FROM group_members m"  # noqa: S608
        f" JOIN groups g ON g.id = m.group_id WHERE m.user_id IN ({marks})"
        " ORDER BY g.display_name",
        list(user_ids),
    )
    for r in rows:
        result[r["user_id"]].append(Member(r["id"], r["display_name"]))
    return result


async def has_more_members_than(conn: Conn, group_id: str, limit: int) -> bool:
    """Whether the group has more than `limit` members, reading at most `limit` + 1 index
    entries whatever the group's size (a COUNT would read them all)."""
    row = await conn.fetch_one(
        "SELECT 1 FROM group_members WHERE group_id = ? LIMIT 1 OFFSET ?", (group_id, limit)
    )
    return row is not None


@dataclass(frozen=True)
class GroupSummary:
    id: str
    display_name: str
    external_id: str | None
    members: int
    last_modified: str


async def browse(conn: Conn, *, offset: int, limit: int) -> tuple[int, list[GroupSummary]]:
    """Groups by name with their member counts, one page."""
    total_row = await conn.fetch_one("SELECT count(*) FROM groups")
    rows = await conn.fetch_all(
        "SELECT g.id, g.display_name, g.external_id, g.last_modified,"
        " (SELECT count(*) FROM group_members m WHERE m.group_id = g.id) AS members"
        " FROM groups g ORDER BY g.display_name LIMIT ? OFFSET ?",
        (limit, offset),
    )
    groups = [
        GroupSummary(r["id"], r["display_name"], r["external_id"], r["members"], r["last_modified"])
        for r in rows
    ]
    return (int(total_row[0]) if total_row else 0), groups


async def count(conn: Conn) -> int:
    row = await conn.fetch_one("SELECT count(*) FROM groups")
    return int(row[0]) if row else 0
