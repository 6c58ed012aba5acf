"""For the SQL filter tests: the schema a test database is made from, and a filter run on it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from app.scim.filter import parse_filter
from app.scim.filter_sql import SqlTable, to_sql

MIGRATION = Path(__file__).resolve().parents[2] / "app" / "migrations" / "0001_initial.sql"


def select(db: sqlite3.Connection, table: SqlTable, text: str) -> set[str]:
    """The ids of the rows of `table` that the filter `text`, compiled by to_sql, selects."""
    where, params = to_sql(parse_filter(text), table)
    rows = db.execute(f"SELECT {table.name}.id FROM {table.name} WHERE {where}", params)
    return {row[0] for row in rows}
