"""What requests share, opened by the app's lifespan and closed at shutdown."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

import anyio
import httpx
from joserfc.jwk import RSAKey
from starlette.requests import Request

from app.auth import presets
from app.auth.client_auth import ClientAuth
from app.auth.oidc import OidcClient
from app.auth.transaction import TRANSACTION_MAX_AGE
from app.config import Config
from app.db import Database
from app.locks import KeyedLocks
from app.logs import flush_logs
from app.store import audit, client_keys
from app.store.tokens import ApiToken, TokenCache, UsageRecorder
from app.support.recorder import SupportRecorder, write_pending
from app.throttle import OncePer, Tally, Throttle

USER_AGENT = "webrix-identity/0.1"
WATCH_INTERVAL = 0.5  # seconds between looks for commits by other processes
RETENTION_INTERVAL = 3600.0  # seconds between audit retention passes
RETENTION_FIRST = 30.0  # seconds after start-up before the first
RETENTION_BATCH = 1000  # audit events deleted per write
SUPPORT_INTERVAL = 5.0  # seconds between writes of the support records (log ring, SCIM clients)
log = logging.getLogger("webrix")


class UsedStates:
    """States of login transactions already redeemed: a callback URL works once."""

    def __init__(self, ttl: float = TRANSACTION_MAX_AGE + 60) -> None:
        self.ttl = ttl
        self._seen: dict[str, float] = {}

    def claim(self, state: str) -> bool:
        """Mark `state` used; False if it already was."""
        clock = time.monotonic()
        if len(self._seen) > 10_000:
            self._seen = {s: t for s, t in self._seen.items() if clock - t < self.ttl}
        if state in self._seen and clock - self._seen[state] < self.ttl:
            return False
        self._seen[state] = clock
        return True


class NewTokens:
    """A token just generated in the console, held for the redirected GET that shows it once.

    Kept in memory only, per session, for a minute: the plaintext never touches a cookie, the
    database or a log, and a reload of the page cannot show it (or mint another) again.
    """

    ttl = 60.0

    def __init__(self) -> None:
        self._held: dict[str, tuple[ApiToken, str, float]] = {}

    def put(self, session_key: str, token: ApiToken, plaintext: str) -> None:
        clock = time.monotonic()
        self._held = {k: v for k, v in self._held.items() if clock - v[2] < self.ttl}
        self._held[session_key] = (token, plaintext, clock)

    def take(self, session_key: str) -> tuple[ApiToken, str] | None:
        held = self._held.pop(session_key, None)
        if held is None or time.monotonic() - held[2] >= self.ttl:
            return None
        return held[0], held[1]


@dataclass
class Services:
    config: Config
    http_transport: httpx.AsyncBaseTransport | None = None
    token_usage: UsageRecorder = field(default_factory=UsageRecorder)
    resource_locks: KeyedLocks = field(default_factory=KeyedLocks)  # PATCH/PUT take turns
    # Unknown bearer tokens and unknown sign-in states: counted per client address.
    bad_tokens: Throttle = field(default_factory=Throttle)
    bad_callbacks: Throttle = field(default_factory=Throttle)
    unknown_states: Tally = field(
        default_factory=lambda: Tally(
            log, "%d sign-in callback(s) with an unknown or used state (not audited one by one)"
        )
    )
    used_states: UsedStates = field(default_factory=UsedStates)
    new_tokens: NewTokens = field(default_factory=NewTokens)
    admin_refusals: OncePer = field(default_factory=OncePer)  # audited once a minute per session
    support: SupportRecorder = field(default_factory=SupportRecorder)
    client_key: RSAKey | None = None  # signs private_key_jwt assertions, when configured
    _db: Database | None = None
    _http: httpx.AsyncClient | None = None
    _oidc: OidcClient | None = None
    _tokens: TokenCache | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            raise RuntimeError("the database is not open (is the lifespan running?)")
        return self._db

    @property
    def tokens(self) -> TokenCache:
        if self._tokens is None:
            raise RuntimeError("the token cache is not ready (is the lifespan running?)")
        return self._tokens

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("the HTTP client is not open (is the lifespan running?)")
        return self._http

    @property
    def oidc(self) -> OidcClient:
        if self._oidc is None:
            raise RuntimeError("the OpenID client is not ready (is the lifespan running?)")
        return self._oidc

    async def start(self) -> None:
        self._db = await Database.open(
            self.config.database.path, query_budget=self.config.scim.query_budget_seconds
        )
        self._tokens = TokenCache(self._db)
        active = self.config.auth.active
        self._http = httpx.AsyncClient(
            transport=self.http_transport,
            timeout=httpx.Timeout(active.timeout_seconds, connect=min(active.timeout_seconds, 5.0)),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )
        if active.uses_client_key:
            self.client_key = await self._db.write(client_keys.load_or_create)
        self._oidc = make_oidc_client(self.config, self._http, self.client_key)
        self.support.attach()

    async def write_support_records(self) -> None:
        """Write the log warnings and SCIM client counts gathered since the last write (kept
        for the next try if the write fails: a full disk must not lose them, nor log about it)."""
        events, counts = self.support.pending()
        if not events and not counts:
            return
        try:
            await self.db.write(write_pending, events, counts)
        except Exception:
            self.support.give_back(events, counts)

    async def keep_support_records(self, interval: float = SUPPORT_INTERVAL) -> None:
        while True:
            await anyio.sleep(interval)
            await self.write_support_records()

    async def enforce_retention(self, batch: int = RETENTION_BATCH) -> int:
        """Delete audit events past `[audit] retention_days`, `batch` at a time (each its own
        short write, so other writes never wait long); how many were deleted."""
        cutoff = datetime.now(UTC) - timedelta(days=self.config.audit.retention_days)
        before = cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")
        deleted = 0
        while True:
            gone = await self.db.write(audit.purge, before, batch)
            deleted += gone
            if gone < batch:
                break
            await anyio.sleep(0)  # let requests in between batches
        if deleted:
            log.info("audit retention: %d event(s) older than %s deleted", deleted, before)
        return deleted

    async def keep_audit_retention(self, interval: float = RETENTION_INTERVAL) -> None:
        """`enforce_retention` a little after start, then every `interval` seconds."""
        await anyio.sleep(RETENTION_FIRST)  # not in the rush of start-up
        while True:
            try:
                await self.enforce_retention()
            except Exception:  # a full disk, say: try again next time, never take the app down
                log.warning("audit retention failed", exc_info=True)
            await anyio.sleep(interval)

    async def watch_other_processes(self, interval: float = WATCH_INTERVAL) -> None:
        """Forget cached tokens whenever another process (the CLI) commits: a token revoked
        with `webrix token revoke` stops working here within `interval` seconds. Also writes
        out buffered log lines at the same pace."""
        db = self.db
        seen = await db.data_version()
        while True:
            await anyio.sleep(interval)
            flush_logs()  # buffered access lines reach the log within `interval`
            try:
                version = await db.data_version()
            except Exception:  # the database closing under us at shutdown, or a fault
                log.warning("cannot read the database's data_version", exc_info=True)
                self.tokens.clear()
                continue
            if version != seen:
                seen = version
                self.tokens.clear()

    async def stop(self) -> None:
        self.support.detach()
        if self._db is not None:
            await self.write_support_records()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._db is not None:
            await self._db.close()
            self._db = None
            self._tokens = None


def make_oidc_client(
    config: Config, http: httpx.AsyncClient, client_key: RSAKey | None = None
) -> OidcClient:
    """The relying party for the configured provider (`client_key`: the service's key, for
    private_key_jwt)."""
    active = config.auth.active
    method = active.token_endpoint_auth_method
    return OidcClient(
        issuer=active.issuer,
        client_id=active.client_id,
        client_secret=active.client_secret,
        redirect_uri=config.redirect_uri,
        http=http,
        timeout=active.timeout_seconds,
        groups_claim=active.groups_claim or None,
        scopes=presets.scopes(active),
        provider_name=presets.title(active),
        client_auth=ClientAuth(method, active.client_id, active.client_secret, client_key),
        rules=presets.rules(active),
        tenant_template=presets.tenant_template(active),
    )


def services(request: Request) -> Services:
    """The Services of the app serving this request."""
    return cast(Services, request.app.state.services)
