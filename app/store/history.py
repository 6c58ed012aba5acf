"""The audit events about one user or one group, for their pages in the console."""

from __future__ import annotations

from app.db import Tx
from app.store.audit import AuditEvent, from_row


def of_user(tx: Tx, user_id: str, *, limit: int) -> list[AuditEvent]:
    """Events whose target or actor is the user, newest first, `limit` at most (two index
    lookups: target and actor)."""
    rows = tx.fetch_all(
        "SELECT * FROM audit_events WHERE (target_type = 'user' AND target_id = ?1)"
        " OR actor = ?2 ORDER BY id DESC LIMIT ?3",
        (user_id, f"user:{user_id}", limit),
    )
    return [from_row(r) for r in rows]


def of_group(tx: Tx, group_id: str, *, limit: int) -> list[AuditEvent]:
    """Events whose target is the group, newest first, `limit` at most."""
    rows = tx.fetch_all(
        "SELECT * FROM audit_events WHERE target_type = 'group' AND target_id = ?"
        " ORDER BY id DESC LIMIT ?",
        (group_id, limit),
    )
    return [from_row(r) for r in rows]
