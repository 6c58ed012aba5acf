"""Searching the audit log: filters, keyset paging on the id, names for the ids a page shows.

Pages are newest first, so every read wants matching rows in id order. An equality on an
indexed column (request id, one actor, one exact action, one target) gives them in that order
from its index: nothing to sort. A range (an action family, a time span) or a choice of several
values would make SQLite collect and sort every match, which for "user." over a million events
is seconds; so those scan the newest `WINDOW` events by id first, which a common match fills at
once, and use the index only for what is left (a rare match: few rows to sort). A time span is
turned into the exact id span that holds it (see `_id_span`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from app.db import Row, Tx
from app.store.audit import AuditEvent, from_row

WORD_ACTORS = ("cli", "system", "anonymous", "demo")  # actors that are not a user or a token
MAX_MATCHES = 50  # names a filter may resolve to (tokens may share a name)
WINDOW = 20_000  # newest events scanned by id before an index range is sorted
_PAST_EVERY_ID = 2**62


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
    request_id_prefix: bool = False  # request_id is the start of an id (as a table shows it)
    ids: tuple[int | None, int | None] | None = None  # [low, high) from the time span

    @property
    def ordered(self) -> bool:
        """Whether one index gives the matches in id order (an equality on it)."""
        return (
            (self.request_id is not None and not self.request_id_prefix)
            or (self.action is not None and not self.action.endswith("."))
            or (self.actors is not None and len(self.actors) <= 1)
            or (self.targets is not None and len(self.targets) <= 1)
        )

    def where(self, *, by_id: bool = False) -> tuple[str, list[Any]]:
        """SQL conditions and their parameters; every value is a parameter. With `by_id`,
        no index but the id's may serve them (each column written as `+column`)."""
        plus = "+" if by_id else ""
        clauses: list[str] = []
        params: list[Any] = []
        if self.request_id is not None and self.request_id_prefix:
            # A range, not LIKE: the index serves it ("~" sorts after every id character).
            clauses.append(f"{plus}request_id >= ? AND {plus}request_id < ?")
            params += [self.request_id, self.request_id + "~"]
        elif self.request_id is not None:
            clauses.append(f"{plus}request_id = ?")
            params.append(self.request_id)
        if self.action:
            if self.action.endswith("."):
                # A range, not LIKE: the BINARY index on action serves it.
                clauses.append(f"{plus}action >= ? AND {plus}action < ?")
                params += [self.action, self.action[:-1] + "/"]  # "/" follows "." in ASCII
            else:
                clauses.append(f"{plus}action = ?")
                params.append(self.action)
        if self.actors is not None:
            clauses.append(_in(f"{plus}actor", len(self.actors)))
            params += self.actors
        if self.targets is not None:
            pair = f"({plus}target_type = ? AND {plus}target_id = ?)"
            either = " OR ".join([pair] * len(self.targets))
            clauses.append(f"({either or '0'})")
            params += [part for pair in self.targets for part in pair]
        # With an id span, `+at` keeps SQLite off the `at` index (the span is on the id).
        at = "+at" if self.ids is not None or by_id else "at"
        if self.since is not None:
            clauses.append(f"{at} >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append(f"{at} < ?")
            params.append(self.until)
        if self.ids is not None:
            low, high = self.ids
            if low is not None:
                clauses.append("id >= ?")
                params.append(low)
            if high is not None:
                clauses.append("id < ?")
                params.append(high)
        return " AND ".join(clauses) or "1", params

    def spanned(self, tx: Tx) -> Filter:
        """This filter with its time span also as an id span (see `_id_span`)."""
        if self.ids is not None or (self.since is None and self.until is None):
            return self
        return replace(self, ids=_id_span(tx, self.since, self.until))


def _id_span(tx: Tx, since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """[low, high): ids holding every event of the time span, exactly, whatever the order of
    `at` (a clock stepped back): the least id at or after `since`, read from the `at` index
    (cost: the events after `since`), and the greatest before `until`, read walking ids down
    from the newest (cost: the events after `until`). Recent spans cost next to nothing."""
    low = high = None
    if since is not None:
        row = tx.fetch_one(
            "SELECT min(id) FROM audit_events INDEXED BY audit_events_at WHERE at >= ?", (since,)
        )
        low = int(row[0]) if row and row[0] is not None else _PAST_EVERY_ID
    if until is not None:
        row = tx.fetch_one("SELECT max(id) FROM audit_events NOT INDEXED WHERE at < ?", (until,))
        high = int(row[0]) + 1 if row and row[0] is not None else 0
    return low, high


def _in(column: str, count: int) -> str:
    if count == 0:
        return "0"
    if count == 1:
        return f"{column} = ?"
    return f"{column} IN ({', '.join('?' * count)})"


def _select(
    tx: Tx, where: Filter, *, newest_first: bool, bound: int | None, limit: int
) -> list[Row]:
    """Up to `limit` matching rows past id `bound`, in id order (newest first or oldest)."""
    sql, params = where.where()
    op, order = ("<", "DESC") if newest_first else (">", "ASC")
    if where.ids is not None:  # start inside the id span: the window is spent on it
        low, high = where.ids
        if newest_first and high is not None:
            bound = high if bound is None else min(bound, high)
        elif not newest_first and low is not None:
            bound = low - 1 if bound is None else max(bound, low - 1)
    past = f"id {op} ?" if bound is not None else "1"
    start = [bound] if bound is not None else []
    if where.ordered:
        return tx.fetch_all(
            f"SELECT * FROM audit_events WHERE {sql} AND {past} ORDER BY id {order} LIMIT ?",  # noqa: S608
            [*params, *start, limit],
        )
    # The newest (or oldest) WINDOW events past the bound, walked in id order and filtered
    # there: a common match fills the page at once, with nothing to sort.
    edge_row = tx.fetch_one(
        f"SELECT id FROM audit_events WHERE {past} ORDER BY id {order} LIMIT 1 OFFSET ?",  # noqa: S608
        [*start, WINDOW - 1],
    )
    edge = int(edge_row[0]) if edge_row else None
    inside = "1" if edge is None else f"id {'>=' if newest_first else '<='} ?"
    plain, plain_params = where.where(by_id=True)
    rows = tx.fetch_all(
        f"SELECT * FROM audit_events WHERE {past} AND {inside} AND {plain}"  # noqa: S608
        f" ORDER BY id {order} LIMIT ?",
        [*start, *([edge] if edge is not None else []), *plain_params, limit],
    )
    if len(rows) == limit or edge is None:  # full, or the window held every event
        return rows
    # The rest is rare: `+id` keeps SQLite on the filter's index, sorting its few matches,
    # rather than walking every older event in id order.
    rest = tx.fetch_all(
        f"SELECT * FROM audit_events WHERE {sql} AND +id {op} ? ORDER BY +id {order} LIMIT ?",  # noqa: S608
        [*params, edge, limit - len(rows)],
    )
    return rows + rest


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
    where = where.spanned(tx)
    limit = max(1, min(limit, 1000))
    if after is not None:
        rows = _select(tx, where, newest_first=False, bound=after, limit=limit + 1)
        events = [from_row(r) for r in rows[:limit]][::-1]
        newer = len(rows) > limit
        older = bool(_select(tx, where, newest_first=True, bound=after + 1, limit=1))
    else:
        rows = _select(tx, where, newest_first=True, bound=before, limit=limit + 1)
        events = [from_row(r) for r in rows[:limit]]
        older = len(rows) > limit
        newer = before is not None and bool(
            _select(tx, where, newest_first=False, bound=before - 1, limit=1)
        )
    return Page(events, newer=newer, older=older, names=names(tx, events))


def batch(tx: Tx, where: Filter, *, before: int | None, limit: int) -> Page:
    """For an export: up to `limit` events below id `before`, newest first, with names."""
    rows = _select(tx, where.spanned(tx), newest_first=True, bound=before, limit=limit)
    events = [from_row(r) for r in rows]
    return Page(events, newer=False, older=len(rows) == limit, names=names(tx, events))


def names(tx: Tx, events: Sequence[AuditEvent]) -> dict[str, str]:
    """Readable names for the actors and targets of `events`, keyed "user:<id>",
    "token:<id>", "group:<id>": users by email (else userName), tokens and groups by name.
    One query for the whole page; ids that no longer exist are simply absent."""
    targets = [f"{e.target_type}:{e.target_id}" for e in events if e.target_type and e.target_id]
    return names_of(tx, [*(e.actor for e in events), *targets])


def names_of(tx: Tx, keys: Iterable[str]) -> dict[str, str]:
    """Names for keys written as audit actors are ("user:<id>", "token:<id>", "group:<id>";
    anything else is skipped), in one query."""
    wanted: dict[str, set[str]] = {"user": set(), "token": set(), "group": set()}
    for key in keys:
        kind, _, ident = key.partition(":")
        if ident and kind in wanted:
            wanted[kind].add(ident)
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
