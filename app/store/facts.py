"""Facts the service remembers about its own setup, one JSON value per key (the setup
checklist reads them): when SSO was last tested and how, the first SCIM request seen."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.db import Tx
from app.store import now


@dataclass(frozen=True)
class Fact:
    key: str
    value: dict[str, Any]
    at: str


def put(tx: Tx, key: str, value: dict[str, Any]) -> None:
    """Set `key` to `value`, replacing what it held."""
    tx.execute(
        "INSERT INTO facts (key, value, at) VALUES (?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, at = excluded.at",
        (key, json.dumps(value), now()),
    )


def put_once(tx: Tx, key: str, value: dict[str, Any]) -> None:
    """Set `key` unless it is already set (the first occurrence wins)."""
    tx.execute(
        "INSERT INTO facts (key, value, at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
        (key, json.dumps(value), now()),
    )


def all_facts(tx: Tx) -> dict[str, Fact]:
    rows = tx.fetch_all("SELECT key, value, at FROM facts")
    return {r["key"]: Fact(r["key"], json.loads(r["value"]), r["at"]) for r in rows}
