"""Audit events: who did what, when, from where. Callers never pass secrets in `detail`.

Read back newest first through `Filter` (every clause on an index: request_id, actor, action,
target, at) with keyset paging on the id, and with the names of the actors and targets a page
mentions resolved in one query (`names`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.db import Row, Tx
from app.store import now


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: str
    actor: str
    action: str
    target_type: str | None
    target_id: str | None
    detail: dict[str, Any]
    ip: str | None
    request_id: str | None


def record(
    tx: Tx,
    *,
    actor: str,
    action: str,
    target_type: str | None = None,
    target_id: str | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
    request_id: str | None = None,
) -> None:
    """Append one event."""
    tx.execute(
        "INSERT INTO audit_events"
        " (at, actor, action, target_type, target_id, detail, ip, request_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (now(), actor, action, target_type, target_id, json.dumps(detail or {}), ip, request_id),
    )


def _row(row: Row) -> AuditEvent:
    return AuditEvent(
        id=row["id"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        target_type=row["target_type"],
        target_id=row["target_id"],
        detail=json.loads(row["detail"]),
        ip=row["ip"],
        request_id=row["request_id"],
    )


def recent(
    tx: Tx, *, limit: int = 100, before_id: int | None = None, action_prefix: str | None = None
) -> list[AuditEvent]:
    """Newest first, `limit` at most, optionally before an id and for one family of actions."""
    sql = "SELECT * FROM audit_events WHERE 1 = 1"
    params: list[Any] = []
    if before_id is not None:
        sql += " AND id < ?"
        params.append(before_id)
    if action_prefix:
        sql += " AND action LIKE ? ESCAPE '\\'"
        params.append(
            action_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(max(1, min(limit, 1000)))
    return [_row(r) for r in tx.fetch_all(sql, params)]


def purge(tx: Tx, before: str, limit: int) -> int:
    """Delete at most `limit` events older than `before`, oldest first; how many went."""
    return tx.execute(
        "DELETE FROM audit_events WHERE id IN"
        " (SELECT id FROM audit_events WHERE at < ? ORDER BY id LIMIT ?)",
        (before, limit),
    )


WORD_ACTORS = ("cli", "system", "anonymous", "demo")  # actors that are not a user or a token
MAX_MATCHES = 50  # names a filter may resolve to (tokens may share a name)


@dataclass(frozen=True)
class Filter:
    """What the audit log is narrowed to; None means "any". `actors` and `targets` are
    resolved (see `resolve_actor`, `resolve_target`): an empty tuple matches nothing."""

    action: str | None = None  # exact, or a family when it ends with "." ("user.")
    actors: tuple[str, ...] | None = None
    targets: tuple[tuple[str, str], ...] | None = None
    since: str | None = None  # ISO-8601 UTC, inclusive
    until: str | None = None  # ISO-8601 UTC, exclusive
    request_id: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        """SQL conditions and their parameters; every value is a parameter."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.request_id is not None:
            clauses.append("request_id = ?")
            params.append(self.request_id)
        if self.action:
            if self.action.endswith("."):
                # A range, not LIKE: the BINARY index on action serves it.
                clauses.append("action >= ? AND action < ?")
                params += [self.action, self.action[:-1] + "/"]  # "/" follows "." in ASCII
            else:
                clauses.append("action = ?")
                params.append(self.action)
        if self.actors is not None:
            clauses.append(_in("actor", len(self.actors)))
            params += self.actors
        if self.targets is not None:
            either = " OR ".join(["(target_type = ? AND target_id = ?)"] * len(self.targets))
            clauses.append(f"({either or '0'})")
            params += [part for pair in self.targets for part in pair]
        if self.since is not None:
            clauses.append("at >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("at < ?")
            params.append(self.until)
        return " AND ".join(clauses) or "1", params


def _in(column: str, count: int) -> str:
    if count == 0:
        return "0"
    if count == 1:
        return f"{column} = ?"
    return f"{column} IN ({', '.join('?' * count)})"


@dataclass(frozen=True)
class Page:
    """One page of events, newest first, and whether there are newer and older ones."""

    events: list[AuditEvent]
    newer: bool
    older: bool
    names: dict[str, str] = field(default_factory=dict)


def page(
    tx: Tx, where: Filter, *, limit: int, before: int | None = None, after: int | None = None
) -> Page:
    """The newest `limit` events matching `where` below id `before`, or the oldest `limit`
    above id `after` (shown newest first); keyset paging, so inserts never shift a page."""
    sql, params = where.where()
    limit = max(1, min(limit, 1000))
    if after is not None:
        rows = tx.fetch_all(
            f"SELECT * FROM audit_events WHERE {sql} AND id > ? ORDER BY id LIMIT ?",  # noqa: S608
            [*params, after, limit + 1],
        )
        newer = len(rows) > limit
        events = [_row(r) for r in rows[:limit]][::-1]
        older = _exists(tx, sql, params, "id <= ?", after)
    else:
        bound = "id < ?" if before is not None else "1"
        rows = tx.fetch_all(
            f"SELECT * FROM audit_events WHERE {sql} AND {bound}"  # noqa: S608
            " ORDER BY id DESC LIMIT ?",
            [*params, *([before] if before is not None else []), limit + 1],
        )
        older = len(rows) > limit
        events = [_row(r) for r in rows[:limit]]
        newer = before is not None and _exists(tx, sql, params, "id >= ?", before)
    return Page(events, newer=newer, older=older, names=names(tx, events))


def _exists(tx: Tx, sql: str, params: list[Any], bound: str, value: int) -> bool:
    row = tx.fetch_one(
        f"SELECT 1 FROM audit_events WHERE {sql} AND {bound} LIMIT 1",  # noqa: S608
        [*params, value],
    )
    return row is not None


def batch(tx: Tx, where: Filter, *, before: int | None, limit: int) -> Page:
    """For an export: up to `limit` events below id `before`, newest first, with names."""
    sql, params = where.where()
    bound = "id < ?" if before is not None else "1"
    rows = tx.fetch_all(
        f"SELECT * FROM audit_events WHERE {sql} AND {bound} ORDER BY id DESC LIMIT ?",  # noqa: S608
        [*params, *([before] if before is not None else []), limit],
    )
    events = [_row(r) for r in rows]
    return Page(events, newer=False, older=len(rows) == limit, names=names(tx, events))


def names(tx: Tx, events: Sequence[AuditEvent]) -> dict[str, str]:
    """Readable names for the actors and targets of `events`, keyed "user:<id>",
    "token:<id>", "group:<id>": users by email (else userName), tokens and groups by name.
    One query for the whole page; ids that no longer exist are simply absent."""
    wanted: dict[str, set[str]] = {"user": set(), "token": set(), "group": set()}
    for e in events:
        kind, _, ident = e.actor.partition(":")
        if ident and kind in wanted:
            wanted[kind].add(ident)
        if e.target_type in wanted and e.target_id:
            wanted[e.target_type].add(e.target_id)
    return actor_names(tx, wanted)


def actor_names(tx: Tx, wanted: dict[str, set[str]]) -> dict[str, str]:
    """Names for {"user": ids, "token": ids, "group": ids}, keyed "kind:id"; one query."""
    if not any(wanted.values()):
        return {}
    rows = tx.fetch_all(
        "SELECT 'user', id, coalesce(email, user_name) FROM users"
        " WHERE id IN (SELECT value FROM json_each(?1))"
        " UNION ALL SELECT 'token', id, name FROM api_tokens"
        " WHERE id IN (SELECT value FROM json_each(?2))"
        " UNION ALL SELECT 'group', id, display_name FROM groups"
        " WHERE id IN (SELECT value FROM json_each(?3))",
        [json.dumps(sorted(wanted.get(kind, ()))) for kind in ("user", "token", "group")],
    )
    return {f"{kind}:{ident}": name for kind, ident, name in rows}


def resolve_actor(tx: Tx, text: str) -> tuple[str, ...]:
    """The actors `text` names: a word actor, "user:<id>", "token:<id>", a user's email or
    userName, or a token's name or id."""
    text = text.strip()
    if text.lower() in WORD_ACTORS:
        return (text.lower(),)
    kind, _, ident = text.partition(":")
    if kind in ("user", "token") and ident:
        return (text,)
    rows = tx.fetch_all(
        "SELECT 'user:' || id FROM users WHERE user_name = ?1 OR email = ?1"
        " UNION SELECT 'token:' || id FROM api_tokens WHERE name = ?1 OR id = ?1"
        " UNION SELECT 'user:' || id FROM users WHERE id = ?1 LIMIT ?2",
        (text, MAX_MATCHES),
    )
    return tuple(r[0] for r in rows)


def resolve_target(tx: Tx, text: str) -> tuple[tuple[str, str], ...]:
    """The targets `text` names: "user:<id>", "group:<id>", "token:<id>", a user's email or
    userName, a group's or token's name, or a bare id (also of something deleted since)."""
    text = text.strip()
    kind, _, ident = text.partition(":")
    if kind in ("user", "group", "token") and ident:
        return ((kind, ident),)
    rows = tx.fetch_all(
        "SELECT 'user', id FROM users WHERE user_name = ?1 OR email = ?1"
        " UNION SELECT 'group', id FROM groups WHERE display_name = ?1"
        " UNION SELECT 'token', id FROM api_tokens WHERE name = ?1 LIMIT ?2",
        (text, MAX_MATCHES),
    )
    found = [(r[0], r[1]) for r in rows]
    # A bare id: whatever it was, its events keep it even after the row is gone.
    found += [(k, text) for k in ("user", "group", "token") if (k, text) not in found]
    return tuple(found[:MAX_MATCHES])
