"""The only place with SQL. Plain async functions over `app.db` connections; no HTTP here."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from app.db import Row, Tx

_MAX_OFFSET = 2**62  # past any table's end; SQLite integers stop at 2**63 - 1


def now() -> str:
    """The current time as the ISO-8601 UTC text every table stores."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Inverse of `now()`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def paged(
    tx: Tx,
    table: str,
    where: str,
    params: Sequence[Any],
    *,
    order_by: str,
    offset: int,
    limit: int | None,
) -> tuple[int, list[Row]]:
    """How many rows of `table` match `where`, and one page of them (`limit` None: all).

    The page is read first: when it is neither full nor past the end, it tells the total by
    itself (a lookup by userName, a last page), and the count is never run.
    `table` is one of ours and `where`/`order_by` come from the filter compiler, with every
    value in `params`; nothing from a request is ever spliced in.
    """
    offset = min(max(offset, 0), _MAX_OFFSET)  # a huge startIndex would overflow SQLite's INTEGER
    rows: list[Row] = []
    if limit != 0:
        rows = tx.fetch_all(
            f"SELECT * FROM {table} WHERE {where} ORDER BY {order_by} LIMIT ? OFFSET ?",  # noqa: S608
            [*params, -1 if limit is None else limit, offset],
        )
        if (limit is None or len(rows) < limit) and (rows or offset == 0):
            return offset + len(rows), rows
    total_row = tx.fetch_one(f"SELECT count(*) FROM {table} WHERE {where}", params)  # noqa: S608
    return (int(total_row[0]) if total_row else 0), rows


def violates_unique(exc: Exception, column: str) -> bool:
    """Whether `exc` is the unique index on `table.column` refusing a duplicate."""
    return isinstance(exc, sqlite3.IntegrityError) and f"UNIQUE constraint failed: {column}" in str(
        exc
    )
