"""API tokens: `wxt_` + 32 random bytes, stored only as a SHA-256 hash and a short prefix."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from app.db import Conn, Database, Row
from app.store import now

TOKEN_PREFIX = "wxt_"  # noqa: S105
SCOPES = ("all", "admin:read", "admin:write", "admin:scim")
DEFAULT_SCOPES = ("admin:scim",)
DISPLAY_PREFIX_LEN = 12  # "wxt_" and 8 characters: enough to recognise, useless to an attacker
LAST_USED_WRITE_INTERVAL = 60.0


class TokenError(ValueError):
    """A token request is invalid (bad name or scope, unknown id)."""


@dataclass(frozen=True)
class ApiToken:
    id: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created: str
    created_by: str | None
    last_used: str | None
    revoked: str | None

    @property
    def active(self) -> bool:
        return self.revoked is None

    def allows(self, *wanted: str) -> bool:
        """True if the token has `all` or any of the wanted scopes."""
        return "all" in self.scopes or any(s in self.scopes for s in wanted)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX) and 40 <= len(token) <= 200 and token.isascii()


def _row(row: Row) -> ApiToken:
    return ApiToken(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        scopes=tuple(row["scopes"].split()),
        created=row["created"],
        created_by=row["created_by"],
        last_used=row["last_used"],
        revoked=row["revoked"],
    )


def validate(name: str, scopes: tuple[str, ...]) -> None:
    """Raise TokenError unless the name and scopes are acceptable."""
    if not name.strip() or len(name) > 100:
        raise TokenError("a token needs a name of 1 to 100 characters")
    if not scopes:
        raise TokenError("a token needs at least one scope")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise TokenError(f"unknown scope {unknown[0]!r}; choose from {', '.join(SCOPES)}")


async def create(
    conn: Conn, name: str, scopes: tuple[str, ...] = DEFAULT_SCOPES, created_by: str | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns it and the plaintext, which is never stored."""
    scopes = tuple(dict.fromkeys(scopes))
    validate(name, scopes)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        id=secrets.token_hex(6),
        name=name.strip(),
        prefix=plaintext[:DISPLAY_PREFIX_LEN],
        scopes=scopes,
        created=now(),
        created_by=created_by,
        last_used=None,
        revoked=None,
    )
    await conn.execute(
        "INSERT INTO api_tokens (id, name, prefix, hash, scopes, created, created_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            token.id,
            token.name,
            token.prefix,
            hash_token(plaintext),
            " ".join(scopes),
            token.created,
            created_by,
        ),
    )
    return token, plaintext


async def list_tokens(conn: Conn) -> list[ApiToken]:
    rows = await conn.fetch_all("SELECT * FROM api_tokens ORDER BY rowid")
    return [_row(r) for r in rows]


async def get(conn: Conn, token_id: str) -> ApiToken | None:
    row = await conn.fetch_one("SELECT * FROM api_tokens WHERE id = ?", (token_id,))
    return _row(row) if row else None


async def revoke(conn: Conn, token_id: str) -> ApiToken:
    """Mark a token revoked (idempotent); TokenError if there is no such token."""
    await conn.execute(
        "UPDATE api_tokens SET revoked = ? WHERE id = ? AND revoked IS NULL", (now(), token_id)
    )
    token = await get(conn, token_id)
    if token is None:
        raise TokenError(f"no token with id {token_id!r}")
    return token


async def find_by_plaintext(conn: Conn, plaintext: str) -> ApiToken | None:
    """The token whose hash matches, revoked or not; None if unknown or malformed."""
    if not looks_like_token(plaintext):
        return None
    row = await conn.fetch_one("SELECT * FROM api_tokens WHERE hash = ?", (hash_token(plaintext),))
    return _row(row) if row else None


class UsageRecorder:
    """Remembers when each token was last used, writing at most once a minute per token."""

    def __init__(self, interval: float = LAST_USED_WRITE_INTERVAL) -> None:
        self.interval = interval
        self._written: dict[str, float] = {}

    async def record(self, db: Database, token_id: str) -> None:
        clock = time.monotonic()
        last = self._written.get(token_id)
        if last is not None and clock - last < self.interval:
            return
        self._written[token_id] = clock
        await db.execute("UPDATE api_tokens SET last_used = ? WHERE id = ?", (now(), token_id))
