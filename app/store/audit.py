"""Audit events: who did what, when, from where. Callers never pass secrets in `detail`.
Searching them (filters, paging, names for ids) is app.store.audit_search."""

from __future__ import annotations

import json
from dataclasses import dataclass
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


def from_row(row: Row) -> AuditEvent:
    """An event from its row."""
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
    return [from_row(r) for r in tx.fetch_all(sql, params)]


def purge(tx: Tx, before: str, limit: int) -> int:
    """Delete at most `limit` events older than `before`, oldest first; how many went."""
    return tx.execute(
        "DELETE FROM audit_events WHERE id IN"
        " (SELECT id FROM audit_events WHERE at < ? ORDER BY id LIMIT ?)",
        (before, limit),
    )
