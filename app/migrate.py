"""The database file itself: numbered migrations, tracked by `PRAGMA user_version`, and a
consistent online backup."""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from pathlib import Path

import aiosqlite

from app.files import create_private

BUSY_TIMEOUT_MS = 10_000


class DatabaseError(Exception):
    """The database cannot be opened or migrated."""


def migrations() -> list[tuple[int, str, str]]:
    """The packaged migrations as (number, name, sql), in order."""
    found = []
    for entry in resources.files("app.migrations").iterdir():
        m = re.fullmatch(r"(\d{4})_[a-z0-9_]+\.sql", entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise DatabaseError(f"migrations are not numbered 1..n without gaps: {numbers}")
    return found


def latest_version() -> int:
    return len(migrations())


async def migrate(conn: aiosqlite.Connection) -> int:
    """Apply pending migrations; return the resulting schema version."""
    rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    current = int(rows[0][0]) if rows else 0
    known = migrations()
    if current > len(known):
        raise DatabaseError(
            f"the database schema is version {current}, newer than this webrix knows "
            f"(up to {len(known)}): run a newer webrix, or restore a backup taken by this version"
        )
    for number, name, sql in known[current:]:
        try:
            await conn.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;"
            )
        except sqlite3.Error as exc:
            if conn.in_transaction:
                await conn.rollback()
            raise DatabaseError(f"migration {name} failed: {exc}") from None
    return max(current, len(known))


def backup(source: str, dest: str) -> None:
    """A consistent online copy of `source` at `dest`, safe while another process writes."""
    target = Path(dest)
    if target.exists():
        raise DatabaseError(f"{dest} already exists; choose a new file name")
    if not Path(source).exists():
        raise DatabaseError(f"database {source} does not exist")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        create_private(partial)  # 0600 before a byte is copied: a backup holds every token hash
    except OSError as exc:
        raise DatabaseError(f"cannot create {dest}: {exc.strerror or exc}") from None
    src = sqlite3.connect(f"file:{Path(source).resolve()}?mode=ro", uri=True)
    try:
        src.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # one step: the copy is a single read snapshot
            dst.execute("PRAGMA journal_mode = DELETE")
            (result,) = dst.execute("PRAGMA integrity_check").fetchone()
        finally:
            dst.close()
    finally:
        src.close()
    if result != "ok":
        partial.unlink(missing_ok=True)
        raise DatabaseError(f"backup failed its integrity check: {result}")
    partial.replace(target)
