"""The only place with SQL. Plain async functions over `app.db` connections; no HTTP here."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> str:
    """The current time as the ISO-8601 UTC text every table stores."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Inverse of `now()`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
