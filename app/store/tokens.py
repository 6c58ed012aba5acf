"""API tokens: `wxt_` + 32 random bytes, stored only as a SHA-256 hash and a short prefix."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.db import Database, Row, Tx
from app.durations import OutOfRange, parse_duration
from app.store import now

TOKEN_PREFIX = "wxt_"  # noqa: S105
SCOPES = ("all", "admin:read", "admin:write", "admin:scim")
DEFAULT_SCOPES = ("admin:scim",)
DISPLAY_PREFIX_LEN = 12  # "wxt_" and 8 characters: enough to recognise, useless to an attacker
LAST_USED_WRITE_INTERVAL = 60.0
MAX_LIFETIME = timedelta(days=3650)  # ten years: past that, "never" is the honest choice


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
    expires: str | None = None
    revoked_by: str | None = None

    def expired(self, at: str | None = None) -> bool:
        """Whether the token's lifetime is over (at `at`, default now); ISO texts compare."""
        return self.expires is not None and self.expires <= (at or now())

    @property
    def active(self) -> bool:
        """Neither revoked nor expired: what SCIM accepts."""
        return self.revoked is None and not self.expired()

    @property
    def status(self) -> str:
        """One of active, expired, revoked (a revoked token that has also expired: revoked)."""
        if self.revoked is not None:
            return "revoked"
        return "expired" if self.expired() else "active"

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
        expires=row["expires"],
        revoked_by=row["revoked_by"],
    )


def parse_lifetime(text: str) -> timedelta:
    """A lifetime written as 90d or 12h; TokenError unless it is 1 hour to ten years."""
    try:
        return parse_duration(text, minimum=timedelta(hours=1), maximum=MAX_LIFETIME, units="dh")
    except OutOfRange:
        raise TokenError(f"a token lifetime must be between 1h and {MAX_LIFETIME.days}d") from None
    except ValueError:
        raise TokenError(
            f"{text[:40]!r} is not a lifetime: write a number of days or hours, e.g. 90d or 12h"
        ) from None


def expiry(lifetime: timedelta | None) -> str | None:
    """When a token made now with `lifetime` stops working (None: never)."""
    if lifetime is None:
        return None
    return (datetime.now(UTC) + lifetime).strftime("%Y-%m-%dT%H:%M:%SZ")


def validate(name: str, scopes: tuple[str, ...]) -> None:
    """Raise TokenError unless the name and scopes are acceptable."""
    if not name.strip() or len(name) > 100:
        raise TokenError("a token needs a name of 1 to 100 characters")
    if not scopes:
        raise TokenError("a token needs at least one scope")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise TokenError(f"unknown scope {unknown[0]!r}; choose from {', '.join(SCOPES)}")


def create(
    tx: Tx,
    name: str,
    scopes: tuple[str, ...] = DEFAULT_SCOPES,
    created_by: str | None = None,
    *,
    expires: str | None = None,
) -> tuple[ApiToken, str]:
    """Create a token (working until `expires`, if given); returns it and the plaintext,
    which is never stored."""
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
        expires=expires,
    )
    tx.execute(
        "INSERT INTO api_tokens (id, name, prefix, hash, scopes, created, created_by, expires)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            token.id,
            token.name,
            token.prefix,
            hash_token(plaintext),
            " ".join(scopes),
            token.created,
            created_by,
            expires,
        ),
    )
    return token, plaintext


def list_tokens(tx: Tx) -> list[ApiToken]:
    rows = tx.fetch_all("SELECT * FROM api_tokens ORDER BY rowid")
    return [_row(r) for r in rows]


def get(tx: Tx, token_id: str) -> ApiToken | None:
    row = tx.fetch_one("SELECT * FROM api_tokens WHERE id = ?", (token_id,))
    return _row(row) if row else None


def revoke(tx: Tx, token_id: str, by: str | None = None) -> ApiToken:
    """Mark a token revoked by `by` (an audit actor; idempotent: the first revocation's time
    and actor stay); TokenError if there is no such token."""
    tx.execute(
        "UPDATE api_tokens SET revoked = ?, revoked_by = ? WHERE id = ? AND revoked IS NULL",
        (now(), by, token_id),
    )
    tx.changed("api_tokens")  # this process's TokenCache forgets it at commit
    token = get(tx, token_id)
    if token is None:
        raise TokenError(f"no token with id {token_id!r}")
    return token


def find_by_plaintext(tx: Tx, plaintext: str) -> ApiToken | None:
    """The token whose hash matches, revoked or not; None if unknown or malformed."""
    if not looks_like_token(plaintext):
        return None
    return find_by_hash(tx, hash_token(plaintext))


def find_by_hash(tx: Tx, token_hash: str) -> ApiToken | None:
    row = tx.fetch_one("SELECT * FROM api_tokens WHERE hash = ?", (token_hash,))
    return _row(row) if row else None


class TokenCache:
    """Active tokens by hash, so that checking a request's token costs no round trip.

    A revocation by this process empties it when the write commits (`Database.on_change`);
    one by another process (`webrix token revoke`) when the watcher sees SQLite's
    `data_version` move (`clear`). An expiry needs no event: `cached` checks it on every hit.
    Unknown, revoked and expired tokens are never kept: each such request asks the database,
    and made-up tokens cannot fill the cache.
    """

    def __init__(self, db: Database, max_size: int = 1024) -> None:
        self._db = db
        self._max_size = max_size
        self._by_hash: dict[str, ApiToken] = {}
        self._generation = 0
        db.on_change("api_tokens", self.clear)

    def clear(self) -> None:
        self._by_hash.clear()
        self._generation += 1

    def cached(self, plaintext: str) -> ApiToken | None:
        """The active token `plaintext` names if this cache holds it (no await, no I/O)."""
        return self._cached(hash_token(plaintext))

    def _cached(self, token_hash: str) -> ApiToken | None:
        token = self._by_hash.get(token_hash)
        if token is not None and token.expires is not None and token.expired():
            del self._by_hash[token_hash]  # its lifetime ended while cached
            return None
        return token

    async def find(self, plaintext: str) -> ApiToken | None:
        """The token `plaintext` names, revoked or not; None if unknown or malformed."""
        if not looks_like_token(plaintext):
            return None
        token_hash = hash_token(plaintext)
        cached = self._cached(token_hash)
        if cached is not None:
            return cached
        generation = self._generation
        token = await self._db.lookup(find_by_hash, token_hash)
        # A revocation that committed while we read must not be undone by caching the row.
        if token is not None and token.active and generation == self._generation:
            if len(self._by_hash) >= self._max_size:
                self._by_hash.clear()
            self._by_hash[token_hash] = token
        return token


class UsageRecorder:
    """Remembers when each token was last used, writing at most once a minute per token.

    The latest use is also kept in memory (`last_used`), so that this process's console shows
    it to the second although the database may be up to `interval` behind.
    """

    def __init__(self, interval: float = LAST_USED_WRITE_INTERVAL) -> None:
        self.interval = interval
        self._written: dict[str, float] = {}
        self._seen: dict[str, float] = {}  # token id -> time.time() of its latest use

    def due(self, token_id: str) -> bool:
        """Note a use of `token_id` now; whether it should be written (and that it will be)."""
        if len(self._seen) >= 10_000 and token_id not in self._seen:
            self._seen.clear()  # only valid tokens get here, but stay bounded all the same
        self._seen[token_id] = time.time()
        clock = time.monotonic()
        last = self._written.get(token_id)
        if last is not None and clock - last < self.interval:
            return False
        self._written[token_id] = clock
        return True

    def last_used(self, token: ApiToken) -> str | None:
        """The later of the stored last use and the latest one this process saw."""
        seen = self._seen.get(token.id)
        if seen is None:
            return token.last_used
        stamp = datetime.fromtimestamp(seen, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return max(stamp, token.last_used or "")

    async def record(self, db: Database, token_id: str) -> None:
        if self.due(token_id):
            await db.write(mark_used, token_id)


def mark_used(tx: Tx, token_id: str) -> None:
    tx.execute("UPDATE api_tokens SET last_used = ? WHERE id = ?", (now(), token_id))
