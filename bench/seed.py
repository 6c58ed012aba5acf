"""Seed a benchmark database straight through sqlite3, with the server's schema.

Users look like what JumpCloud pushes (userName = email, name, one primary work email, active);
one group holds the first `group_size` users. A few spare users belong to no group: the
member benchmark adds and removes them.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
STAMP = "2026-01-01T00:00:00Z"
SPARE_USERS = 200


@dataclass(frozen=True)
class Seeded:
    users: list[tuple[str, str]]  # (id, userName) of every member-eligible user
    spare: list[tuple[str, str]]  # users in no group
    group_id: str
    group_size: int


def user_resource(email: str, i: int) -> str:
    return json.dumps(
        {
            "schemas": [USER_URN],
            "userName": email,
            "name": {"givenName": "Seed", "familyName": f"User {i}"},
            "emails": [{"value": email, "type": "work", "primary": True}],
            "active": True,
        }
    )


def seed(db_path: Path, users: int, group_size: int) -> Seeded:
    """`users` users (plus the spares) and one group of `group_size` of them."""
    rows = [(str(uuid.uuid4()), f"seed-{i:06d}@example.com") for i in range(users + SPARE_USERS)]
    db = sqlite3.connect(db_path)
    try:
        db.execute("PRAGMA foreign_keys = ON")
        with db:
            db.executemany(
                "INSERT INTO users (id, user_name, email, given_name, family_name, resource,"
                " created, last_modified, version, source)"
                " VALUES (?, ?, ?, 'Seed', ?, ?, ?, ?, 1, 'scim')",
                (
                    (uid, email, email, f"User {i}", user_resource(email, i), STAMP, STAMP)
                    for i, (uid, email) in enumerate(rows)
                ),
            )
            db.executemany(
                "INSERT INTO user_emails (user_id, value, type, is_primary)"
                " VALUES (?, ?, 'work', 1)",
                rows,
            )
            gid = str(uuid.uuid4())
            name = f"Bench {group_size}"
            db.execute(
                "INSERT INTO groups (id, display_name, resource, created, last_modified)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    gid,
                    name,
                    json.dumps({"schemas": [GROUP_URN], "displayName": name}),
                    STAMP,
                    STAMP,
                ),
            )
            db.executemany(
                "INSERT INTO group_members (group_id, user_id) VALUES (?, ?)",
                ((gid, uid) for uid, _ in rows[:group_size]),
            )
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return Seeded(rows[:users], rows[users:], gid, group_size)


def seed_baseline(db_path: Path, users: int) -> None:
    """The baseline app's table: the same users, an index on userName as the service has."""
    db = sqlite3.connect(db_path)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute(
            "CREATE TABLE users (id TEXT PRIMARY KEY, user_name TEXT NOT NULL COLLATE NOCASE,"
            " resource TEXT NOT NULL)"
        )
        db.execute("CREATE UNIQUE INDEX users_user_name ON users (user_name)")
        with db:
            db.executemany(
                "INSERT INTO users VALUES (?, ?, ?)",
                (
                    (str(uuid.uuid4()), f"seed-{i:06d}@example.com", user_resource("x", i))
                    for i in range(users + SPARE_USERS)
                ),
            )
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
