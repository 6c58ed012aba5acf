"""Groups and memberships. Member changes touch only the rows named, whatever the group's size."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from app.db import Row, Tx
from app.store import now, paged, violates_unique
from app.store.users import like_pattern


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
    resource_json: str = "{}"

    @cached_property
    def resource(self) -> dict[str, Any]:
        """The stored SCIM payload, decoded when first needed (never on a database thread)."""
        decoded: dict[str, Any] = json.loads(self.resource_json)
        return decoded


@dataclass(frozen=True)
class Member:
    id: str
    display: str
    external_id: str | None = None  # a group's externalId (in `groups_of`); None for users


def _row(row: Row) -> Group:
    return Group(
        id=row["id"],
        display_name=row["display_name"],
        external_id=row["external_id"],
        created=row["created"],
        last_modified=row["last_modified"],
        version=row["version"],
        resource_json=row["resource"],
    )


def get(tx: Tx, group_id: str) -> Group | None:
    row = tx.fetch_one("SELECT * FROM groups WHERE id = ?", (group_id,))
    return _row(row) if row else None


def create(tx: Tx, display_name: str, external_id: str | None, resource_json: str) -> Group:
    """Insert a group; GroupExists on a displayName clash (the unique index decides)."""
    stamp = now()
    try:
        row = tx.fetch_one(
            "INSERT INTO groups (id, display_name, external_id, resource, created, last_modified,"
            " version) VALUES (?, ?, ?, ?, ?, ?, 1) RETURNING *",
            (str(uuid.uuid4()), display_name, external_id, resource_json, stamp, stamp),
        )
    except sqlite3.IntegrityError as exc:
        if violates_unique(exc, "groups.display_name"):
            raise GroupExists(display_name) from None
        raise
    assert row is not None
    return _row(row)


def update(
    tx: Tx, group_id: str, display_name: str, external_id: str | None, resource_json: str
) -> Group | None:
    """Overwrite name and payload and bump the version; None if absent."""
    try:
        row = tx.fetch_one(
            "UPDATE groups SET display_name = ?, external_id = ?, resource = ?, last_modified = ?,"
            " version = version + 1 WHERE id = ? RETURNING *",
            (display_name, external_id, resource_json, now(), group_id),
        )
    except sqlite3.IntegrityError as exc:
        if violates_unique(exc, "groups.display_name"):
            raise GroupExists(display_name) from None
        raise
    return _row(row) if row else None


def touch(tx: Tx, group_id: str) -> Group | None:
    """A new version of the group (its members changed); None if there is no such group."""
    row = tx.fetch_one(
        "UPDATE groups SET last_modified = ?, version = version + 1 WHERE id = ? RETURNING *",
        (now(), group_id),
    )
    return _row(row) if row else None


def version_of(tx: Tx, group_id: str) -> int | None:
    """The group's current version; None if there is no such group."""
    row = tx.fetch_one("SELECT version FROM groups WHERE id = ?", (group_id,))
    return int(row[0]) if row else None


def delete(tx: Tx, group_id: str) -> bool:
    """Remove a group and (by cascade) its memberships."""
    return tx.execute("DELETE FROM groups WHERE id = ?", (group_id,)) > 0


def search(
    tx: Tx,
    where: str = "1 = 1",
    params: Sequence[Any] = (),
    *,
    order_by: str = "groups.created, groups.id",
    offset: int = 0,
    limit: int | None = 100,
) -> tuple[int, list[Group]]:
    """Total matching and one page; `where`/`order_by` come from the filter compiler."""
    total, rows = paged(tx, "groups", where, params, order_by=order_by, offset=offset, limit=limit)
    return total, [_row(r) for r in rows]


def add_members(
    tx: Tx, group_id: str, user_ids: Iterable[str], displays: Mapping[str, str] | None = None
) -> int:
    """Add users to a group; a member already present stays (its display name is updated when
    a different one is given). Returns how many rows were added or changed."""
    names = displays or {}
    ids = list(user_ids)
    if not ids:
        return 0
    added = tx.execute_many(
        "INSERT OR IGNORE INTO group_members (group_id, user_id, display) VALUES (?, ?, ?)",
        [(group_id, user_id, names.get(user_id)) for user_id in ids],
    )
    renamed = [(names[u], group_id, u, names[u]) for u in ids if names.get(u) is not None]
    if renamed:  # rows just inserted already hold their display name: only old ones change
        added += tx.execute_many(
            "UPDATE group_members SET display = ?"
            " WHERE group_id = ? AND user_id = ? AND display IS NOT ?",
            renamed,
        )
    return added


def remove_members(tx: Tx, group_id: str, user_ids: Iterable[str]) -> int:
    rows = [(group_id, user_id) for user_id in user_ids]
    if not rows:
        return 0
    return tx.execute_many("DELETE FROM group_members WHERE group_id = ? AND user_id = ?", rows)


def replace_members(
    tx: Tx, group_id: str, user_ids: Iterable[str], displays: Mapping[str, str] | None = None
) -> None:
    tx.execute("DELETE FROM group_members WHERE group_id = ?", (group_id,))
    add_members(tx, group_id, user_ids, displays)


def members(tx: Tx, group_id: str) -> list[Member]:
    """A group's members as (user id, display name), by userName."""
    return (members_of_many(tx, [group_id]))[group_id]


def members_of_many(tx: Tx, group_ids: Sequence[str]) -> dict[str, list[Member]]:
    """Members of several groups in one query (for list pages)."""
    result: dict[str, list[Member]] = {g: [] for g in group_ids}
    if not group_ids:
        return result
    marks = ",".join("?" * len(group_ids))
    rows = tx.fetch_all(
        "SELECT m.group_id, u.id, coalesce(m.display, u.display_name, u.user_name) AS display"  # noqa: S608
        f" FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id IN ({marks})"
        " ORDER BY u.user_name",
        list(group_ids),
    )
    for r in rows:
        result[r["group_id"]].append(Member(r["id"], r["display"]))
    return result


def member_entries_json(tx: Tx, group_ids: Sequence[str], ref_prefix: str) -> dict[str, str]:
    """The members of several groups as JSON arrays of SCIM member entries (value, display,
    `$ref` = ref_prefix + id, type), built by SQLite, by userName; groups without members are
    absent. For reads of large groups: SQLite writes each entry without holding Python's GIL,
    where 10,000 dicts encoded on the event loop would keep every other request waiting."""
    if not group_ids:
        return {}
    marks = ",".join("?" * len(group_ids))
    rows = tx.fetch_all(
        "SELECT m.group_id, json_object('value', u.id,"  # noqa: S608
        " 'display', coalesce(m.display, u.display_name, u.user_name),"
        " '$ref', ? || u.id, 'type', 'User')"
        f" FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id IN ({marks})"
        " ORDER BY u.user_name",
        [ref_prefix, *group_ids],
    )
    entries: dict[str, list[str]] = {}
    for group_id, entry in rows:
        entries.setdefault(group_id, []).append(entry)
    return {group_id: "[" + ",".join(texts) + "]" for group_id, texts in entries.items()}


def groups_of(tx: Tx, user_id: str) -> list[Member]:
    """The groups a user belongs to, as (group id, displayName)."""
    return (groups_of_many(tx, [user_id]))[user_id]


def groups_of_many(tx: Tx, user_ids: Sequence[str]) -> dict[str, list[Member]]:
    """The groups of several users in one query (for list pages)."""
    result: dict[str, list[Member]] = {u: [] for u in user_ids}
    if not user_ids:
        return result
    marks = ",".join("?" * len(user_ids))
    rows = tx.fetch_all(
        "SELECT m.user_id, g.id, g.display_name, g.external_id FROM group_members m"  # noqa: S608
        f" JOIN groups g ON g.id = m.group_id WHERE m.user_id IN ({marks})"
        " ORDER BY g.display_name",
        list(user_ids),
    )
    for r in rows:
        result[r["user_id"]].append(Member(r["id"], r["display_name"], r["external_id"]))
    return result


def has_more_members_than(tx: Tx, group_id: str, limit: int) -> bool:
    """Whether the group has more than `limit` members, reading at most `limit` + 1 index
    entries whatever the group's size (a COUNT would read them all)."""
    row = tx.fetch_one(
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


def browse(tx: Tx, *, offset: int, limit: int, query: str = "") -> tuple[int, list[GroupSummary]]:
    """Groups by name (those whose name contains `query`, case-insensitively, when given) with
    their member counts: one page, and one grouped count for the page's groups."""
    where, params = "1 = 1", list[str]()
    if query:
        where = "display_name LIKE ? ESCAPE '\\'"
        params = [like_pattern(query)]
    total, rows = paged(
        tx, "groups", where, params, order_by="display_name", offset=offset, limit=limit
    )
    counts = member_counts(tx, [r["id"] for r in rows])
    groups = [
        GroupSummary(
            r["id"], r["display_name"], r["external_id"], counts[r["id"]], r["last_modified"]
        )
        for r in rows
    ]
    return total, groups


def member_counts(tx: Tx, group_ids: Sequence[str]) -> dict[str, int]:
    """How many members each of `group_ids` has, in one grouped query over the primary key."""
    result = dict.fromkeys(group_ids, 0)
    if not group_ids:
        return result
    rows = tx.fetch_all(
        "SELECT group_id, count(*) FROM group_members"
        " WHERE group_id IN (SELECT value FROM json_each(?)) GROUP BY group_id",
        (json.dumps(list(group_ids)),),
    )
    result.update({r[0]: int(r[1]) for r in rows})
    return result


@dataclass(frozen=True)
class MemberRow:
    """A member as the group page lists it."""

    id: str
    user_name: str
    display: str
    email: str | None
    active: bool


@dataclass(frozen=True)
class MemberPage:
    """One page of a group's members by userName, and whether there are more either side."""

    total: int  # members matching the search (all members without one)
    members: list[MemberRow]
    more_before: bool
    more_after: bool


# At or above this share of all users, a group's members are paged by walking the userName
# index and probing the membership key (the walk stops at the page's end: no sort of the whole
# group); below it, the members are read by the membership key and only they are sorted.
_DENSE = 8
_MEMBER = (
    "SELECT u.id, u.user_name, u.email, u.active,"
    " coalesce(m.display, u.display_name, u.user_name) AS display"
)
# CROSS JOIN fixes which table is outer.
WALK_USERS = "FROM users u CROSS JOIN group_members m ON m.group_id = :g AND m.user_id = u.id"
READ_MEMBERS = "FROM group_members m CROSS JOIN users u ON u.id = m.user_id AND m.group_id = :g"
_SEARCH = (
    "(u.user_name LIKE :q ESCAPE '\\' OR u.email LIKE :q ESCAPE '\\'"
    " OR u.display_name LIKE :q ESCAPE '\\'"
    " OR coalesce(u.given_name, '') || ' ' || coalesce(u.family_name, '') LIKE :q ESCAPE '\\')"
)


def member_page(
    tx: Tx,
    group_id: str,
    query: str = "",
    *,
    after: str | None = None,
    before: str | None = None,
    limit: int,
) -> MemberPage:
    """A group's members by userName, `limit` of them: the first (neither `after` nor
    `before`), those right after the userName `after`, or those right before `before` ("" for
    the last page); with `query`, only those whose userName, email or name contains it.

    Keyset paging over the userName index: any page costs the same as the first. A search
    reads each user once (a LIKE cannot use an index) and probes membership only for matches."""
    found = tx.fetch_one("SELECT count(*) FROM group_members WHERE group_id = ?", (group_id,))
    members = int(found[0]) if found else 0
    users = tx.fetch_one("SELECT max(rowid) FROM users")  # about how many: no scan
    dense = members * _DENSE >= int((users[0] if users else 0) or 0)
    source = WALK_USERS if dense else READ_MEMBERS
    # `+` keeps a search from walking the index row by row: a scan, then a sort of matches.
    name = "+u.user_name" if query and dense else "u.user_name"
    params: dict[str, Any] = {"g": group_id, "limit": limit + 1}
    where: list[str] = []
    total = members
    if query:
        params["q"] = like_pattern(query)
        where.append(_SEARCH)
        counted = tx.fetch_one(f"SELECT count(*) {source} WHERE {_SEARCH}", params)
        total = int(counted[0]) if counted else 0
    backward = before is not None
    key = before if backward else after
    if key:
        params["key"] = key
        where.append(f"{name} {'<' if backward else '>'} :key")
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    order = f"{name} DESC" if backward else name
    rows = tx.fetch_all(
        f"{_MEMBER} {source} {clause} ORDER BY {order} LIMIT :limit",
        params,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    if backward:
        rows.reverse()
    page = [
        MemberRow(r["id"], r["user_name"], r["display"], r["email"], bool(r["active"]))
        for r in rows
    ]
    if backward:
        return MemberPage(total, page, more_before=more, more_after=bool(before))
    return MemberPage(total, page, more_before=bool(after), more_after=more)


def choices(tx: Tx, limit: int) -> list[tuple[str, str]]:
    """The first `limit` groups by name, as (id, displayName), for a filter's options."""
    rows = tx.fetch_all(
        "SELECT id, display_name FROM groups ORDER BY display_name LIMIT ?", (limit,)
    )
    return [(r[0], r[1]) for r in rows]


def count(tx: Tx) -> int:
    row = tx.fetch_one("SELECT count(*) FROM groups")
    return int(row[0]) if row else 0
