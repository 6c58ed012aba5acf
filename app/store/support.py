"""What the support bundle reads besides the main tables: recent log warnings and errors, and the
SCIM clients seen (token, user agent, endpoint, status, counts). Both tables are trimmed here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.db import Tx

MAX_LOG_EVENTS = 1000  # newest kept
MAX_CLIENT_ROWS = 2000  # distinct (token, user agent, endpoint, status), most recent kept


@dataclass(frozen=True)
class LogEvent:
    at: str
    level: str
    logger: str
    request_id: str | None
    message: str


@dataclass(frozen=True)
class ClientCount:
    token_id: str
    user_agent: str
    endpoint: str
    status: int
    count: int
    first_seen: str
    last_seen: str


def add_log_events(tx: Tx, events: Iterable[LogEvent]) -> None:
    added = 0
    for e in events:
        tx.execute(
            "INSERT INTO log_events (at, level, logger, request_id, message)"
            " VALUES (?, ?, ?, ?, ?)",
            (e.at, e.level, e.logger, e.request_id, e.message),
        )
        added += 1
    if not added:
        return
    tx.execute(
        "DELETE FROM log_events WHERE id <= (SELECT max(id) FROM log_events) - ?",
        (MAX_LOG_EVENTS,),
    )


def add_client_counts(tx: Tx, counts: Iterable[ClientCount]) -> None:
    added = 0
    for c in counts:
        tx.execute(
            "INSERT INTO scim_clients"
            " (token_id, user_agent, endpoint, status, count, first_seen, last_seen)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (token_id, user_agent, endpoint, status) DO UPDATE SET"
            " count = count + excluded.count, last_seen = excluded.last_seen",
            (c.token_id, c.user_agent, c.endpoint, c.status, c.count, c.first_seen, c.last_seen),
        )
        added += 1
    if added:
        tx.execute(
            "DELETE FROM scim_clients WHERE (token_id, user_agent, endpoint, status) IN"
            " (SELECT token_id, user_agent, endpoint, status FROM scim_clients"
            "  ORDER BY last_seen DESC LIMIT -1 OFFSET ?)",
            (MAX_CLIENT_ROWS,),
        )


def log_events_since(tx: Tx, since: str, limit: int = 500) -> list[LogEvent]:
    rows = tx.fetch_all(
        "SELECT at, level, logger, request_id, message FROM log_events WHERE at >= ?"
        " ORDER BY id DESC LIMIT ?",
        (since, limit),
    )
    return [LogEvent(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def client_counts(tx: Tx) -> list[ClientCount]:
    rows = tx.fetch_all(
        "SELECT token_id, user_agent, endpoint, status, count, first_seen, last_seen"
        " FROM scim_clients ORDER BY token_id, user_agent, endpoint, status"
    )
    return [ClientCount(*r) for r in rows]
