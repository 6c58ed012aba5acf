"""Users: the columns sign-in and lookups need, plus the SCIM payload kept as JSON."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from app.db import Row, Tx
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
    resource_json: str = "{}"
    oidc_issuer: str | None = None  # whose subject oidc_sub is; None: linked by JumpCloud

    @cached_property
    def resource(self) -> dict[str, Any]:
        """The stored SCIM payload, decoded when first needed (never on a database thread)."""
        decoded: dict[str, Any] = json.loads(self.resource_json)
        return decoded

    def knowing(self, resource: dict[str, Any]) -> User:
        """This user, told that `resource` is what its `resource_json` decodes to (the caller
        encoded it), so that it is never decoded again."""
        self.__dict__["resource"] = resource
        return self

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
        resource_json=row["resource"],
        oidc_issuer=row["oidc_issuer"],
    )


def get(tx: Tx, user_id: str) -> User | None:
    row = tx.fetch_one("SELECT * FROM users WHERE id = ?", (user_id,))
    return _row(row) if row else None


def find_by_sub(tx: Tx, sub: str, issuer: str, *, legacy: bool = True) -> User | None:
    """The user linked to `issuer`'s subject `sub`; `legacy`: a link made before issuers were
    recorded (by JumpCloud, the only provider then) counts as `issuer`'s."""
    row = tx.fetch_one(
        "SELECT * FROM users WHERE oidc_sub = ?1"
        " AND (oidc_issuer = ?2 OR (?3 AND oidc_issuer IS NULL))",
        (sub, issuer, legacy),
    )
    return _row(row) if row else None


def find_by_email(tx: Tx, email: str) -> User | None:
    """A user whose userName, primary email or any email is `email` (case-insensitive)."""
    row = tx.fetch_one(
        "SELECT * FROM users WHERE user_name = ?1 OR email = ?1"
        " OR id IN (SELECT user_id FROM user_emails WHERE value = ?1)"
        " ORDER BY (user_name = ?1) DESC, created LIMIT 1",
        (email,),
    )
    return _row(row) if row else None


def find_by_user_name(tx: Tx, user_name: str) -> User | None:
    row = tx.fetch_one("SELECT * FROM users WHERE user_name = ?", (user_name,))
    return _row(row) if row else None


def _write_emails(tx: Tx, user_id: str, emails: Sequence[Email], *, new: bool = False) -> None:
    if not new:
        tx.execute("DELETE FROM user_emails WHERE user_id = ?", (user_id,))
    if emails:
        tx.execute_many(
            "INSERT INTO user_emails (user_id, value, type, is_primary) VALUES (?, ?, ?, ?)",
            [(user_id, e.value, e.type, int(e.primary)) for e in emails],
        )


def create(
    tx: Tx,
    fields: UserFields,
    resource_json: str,
    *,
    source: str = "scim",
    oidc_sub: str | None = None,
    oidc_issuer: str | None = None,
) -> User:
    """Insert a user; UserExists on a userName clash (the unique index decides).

    `resource_json` is the SCIM payload already encoded: encoding is done before the write."""
    stamp = now()
    try:
        row = tx.fetch_one(
            "INSERT INTO users (id, user_name, external_id, email, given_name, family_name,"
            " display_name, active, oidc_sub, oidc_issuer, source, resource, created,"
            " last_modified, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
            " RETURNING *",
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
                oidc_issuer,
                source,
                resource_json,
                stamp,
                stamp,
            ),
        )
    except sqlite3.IntegrityError as exc:
        if violates_unique(exc, "users.user_name"):
            raise UserExists(fields.user_name) from None
        raise
    assert row is not None
    _write_emails(tx, row["id"], fields.emails, new=True)
    return _row(row)


def replace(
    tx: Tx,
    user_id: str,
    fields: UserFields,
    resource_json: str,
    *,
    source: str | None = None,
    expect_version: int | None = None,
) -> User | None:
    """Overwrite a user's fields and payload (and `source` if given); None if absent, or if
    `expect_version` is given and the user is no longer at that version."""
    try:
        row = tx.fetch_one(
            "UPDATE users SET user_name = ?, external_id = ?, email = ?, given_name = ?,"
            " family_name = ?, display_name = ?, active = ?, resource = ?, last_modified = ?,"
            " source = coalesce(?, source), version = version + 1"
            " WHERE id = ? AND version = coalesce(?, version) RETURNING *",
            (
                fields.user_name,
                fields.external_id,
                fields.email,
                fields.given_name,
                fields.family_name,
                fields.display_name,
                int(fields.active),
                resource_json,
                now(),
                source,
                user_id,
                expect_version,
            ),
        )
    except sqlite3.IntegrityError as exc:
        if violates_unique(exc, "users.user_name"):
            raise UserExists(fields.user_name) from None
        raise
    if row is None:
        return None
    _write_emails(tx, user_id, fields.emails)
    return _row(row)


def link_sub(tx: Tx, user_id: str, sub: str, issuer: str) -> None:
    """Remember the OpenID subject (and its issuer) of a user at their first sign-in through
    the active provider; it replaces a link to another provider's subject."""
    tx.execute(
        "UPDATE users SET oidc_sub = ?, oidc_issuer = ? WHERE id = ?", (sub, issuer, user_id)
    )


def record_issuer(tx: Tx, user_id: str, issuer: str) -> None:
    """Name the issuer of a link made before issuers were recorded."""
    tx.execute(
        "UPDATE users SET oidc_issuer = ? WHERE id = ? AND oidc_issuer IS NULL", (issuer, user_id)
    )


def delete(tx: Tx, user_id: str) -> bool:
    """Remove a user, their emails, memberships and sessions (by cascade)."""
    # Their groups lose a member: a new version, so no client keeps a stale copy current.
    tx.execute(
        "UPDATE groups SET last_modified = ?, version = version + 1"
        " WHERE id IN (SELECT group_id FROM group_members WHERE user_id = ?)",
        (now(), user_id),
    )
    return tx.execute("DELETE FROM users WHERE id = ?", (user_id,)) > 0


def search(
    tx: Tx,
    where: str = "1 = 1",
    params: Sequence[Any] = (),
    *,
    order_by: str = "users.rowid",
    offset: int = 0,
    limit: int | None = 100,
) -> tuple[int, list[User]]:
    """Total matching and one page; `where`/`order_by` come from the filter compiler."""
    total, rows = paged(tx, "users", where, params, order_by=order_by, offset=offset, limit=limit)
    return total, [_row(r) for r in rows]


def existing_ids(tx: Tx, ids: Sequence[str]) -> set[str]:
    """Which of `ids` are users (one statement, whatever the number of ids)."""
    if not ids:
        return set()
    rows = tx.fetch_all(
        "SELECT id FROM users WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),)
    )
    return {r[0] for r in rows}


def count(tx: Tx) -> int:
    row = tx.fetch_one("SELECT count(*) FROM users")
    return int(row[0]) if row else 0


def browse(tx: Tx, query: str, *, offset: int, limit: int) -> tuple[int, list[User]]:
    """Users whose userName, email or name contains `query` (all when empty), by userName."""
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    where = (
        "(user_name LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\'"
        " OR display_name LIKE ?1 ESCAPE '\\'"
        " OR given_name || ' ' || family_name LIKE ?1 ESCAPE '\\')"
    )
    total, rows = paged(
        tx, "users", where, [pattern], order_by="user_name", offset=offset, limit=limit
    )
    return total, [_row(r) for r in rows]


def counts(tx: Tx) -> dict[str, int]:
    """How many users there are, active and suspended."""
    row = tx.fetch_one("SELECT count(*), coalesce(sum(active), 0) FROM users")
    total, active = (int(row[0]), int(row[1])) if row else (0, 0)
    return {"total": total, "active": active, "suspended": total - active}


# -- the admin console's directory ----------------------------------------------------------------

SOURCES = ("scim", "jit", "cli")


@dataclass(frozen=True)
class AdminRules:
    """`[access]` as the store needs it to tell administrators apart (see
    app.auth.sessions.admin_grants, which this mirrors in SQL): emails lower-cased, group
    names, group externalIds."""

    emails: tuple[str, ...] = ()
    group_names: tuple[str, ...] = ()
    group_external_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Criteria:
    """What the Users page asks for; every field optional (None or empty: any)."""

    query: str = ""
    active: bool | None = None
    source: str | None = None
    group_id: str | None = None
    admin: bool | None = None


def like_pattern(query: str) -> str:
    """A LIKE pattern (with ESCAPE '\\') that finds `query` anywhere in a value."""
    return "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _admin_sql(rules: AdminRules) -> tuple[str, list[Any]]:
    """Whether a `users` row is an administrator, as admin_grants decides it."""
    emails = json.dumps(list(rules.emails))
    # x IN (SELECT ...) compares with the collation of x: the columns are NOCASE.
    names = json.dumps([n.lower() for n in rules.group_names])
    external_ids = json.dumps(list(rules.group_external_ids))
    sql = (
        "(users.user_name IN (SELECT value FROM json_each(?))"
        " OR users.email IN (SELECT value FROM json_each(?))"
        " OR users.id IN (SELECT m.user_id FROM group_members m JOIN groups g ON g.id = m.group_id"
        "  WHERE g.display_name IN (SELECT value FROM json_each(?))"
        "  OR g.external_id IN (SELECT value FROM json_each(?))))"
    )
    return sql, [emails, emails, names, external_ids]


def directory(
    tx: Tx, criteria: Criteria, rules: AdminRules, *, offset: int, limit: int
) -> tuple[int, list[User]]:
    """The users that match `criteria`, by userName: how many, and one page. The query is
    found in userName, any email or the name, case-insensitively."""
    clauses: list[str] = []
    params: list[Any] = []
    if criteria.query:
        pattern = like_pattern(criteria.query)
        clauses.append(
            "(users.user_name LIKE ? ESCAPE '\\' OR users.email LIKE ? ESCAPE '\\'"
            " OR users.display_name LIKE ? ESCAPE '\\'"
            " OR coalesce(users.given_name, '') || ' ' || coalesce(users.family_name, '')"
            "  LIKE ? ESCAPE '\\'"
            " OR users.id IN (SELECT user_id FROM user_emails WHERE value LIKE ? ESCAPE '\\'))"
        )
        params.extend([pattern] * 5)
    if criteria.active is not None:
        clauses.append("users.active = ?")
        params.append(int(criteria.active))
    if criteria.source is not None:
        clauses.append("users.source = ?")
        params.append(criteria.source)
    if criteria.group_id is not None:
        clauses.append("users.id IN (SELECT user_id FROM group_members WHERE group_id = ?)")
        params.append(criteria.group_id)
    if criteria.admin is not None:
        sql, admin_params = _admin_sql(rules)
        clauses.append(sql if criteria.admin else f"NOT {sql}")
        params.extend(admin_params)
    if not clauses:  # everyone: a walk along the userName index, which stops at the page
        total, rows = paged(
            tx, "users", "1 = 1", (), order_by="users.user_name", offset=offset, limit=limit
        )
        return total, [_row(r) for r in rows]
    # A filter may match few users spread along the index: one pass over the table, a sort
    # of the matches' names only (`+` keeps SQLite from walking the index), then the page.
    where = " AND ".join(clauses)
    offset = min(max(offset, 0), 2**62)
    rows = tx.fetch_all(
        "SELECT * FROM users WHERE rowid IN (SELECT rowid FROM users"  # noqa: S608
        f" WHERE {where} ORDER BY +users.user_name LIMIT ? OFFSET ?) ORDER BY +users.user_name",
        [*params, limit, offset],
    )
    if len(rows) < limit and (rows or offset == 0):
        return offset + len(rows), [_row(r) for r in rows]
    found = tx.fetch_one(f"SELECT count(*) FROM users WHERE {where}", params)  # noqa: S608
    return (int(found[0]) if found else 0), [_row(r) for r in rows]


def emails_of(tx: Tx, user_id: str) -> list[Email]:
    """A user's emails, the primary first."""
    rows = tx.fetch_all(
        "SELECT value, type, is_primary FROM user_emails WHERE user_id = ?"
        " ORDER BY is_primary DESC, rowid",
        (user_id,),
    )
    return [Email(r["value"], r["type"], bool(r["is_primary"])) for r in rows]
