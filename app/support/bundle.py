"""The support bundle: one .zip with what Webrix support needs to see, and nothing that could
sign anyone in or name an end user (see README_TEXT, which the bundle carries)."""

from __future__ import annotations

import contextlib
import io
import json
import platform
import sqlite3
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import anyio
import httpx
from joserfc.jwk import RSAKey

from app.auth.errors import OidcError
from app.checks_cli import check_text, client_key
from app.config import Config
from app.db import DatabaseError
from app.services import make_oidc_client
from app.store.support import LogEvent
from app.support.redact import redacted_config, scrub, secrets_of

MAX_ERRORS = 200  # log and audit errors each, newest first
PER_ACTION = 50  # audit errors of one action at most
MAX_USERS = 10_000  # listed with --include-users
README_TEXT = """\
Webrix identity service: support bundle
=======================================
Made {made} for the window since {since} ({window}). Send this file to Webrix support with
your identity provider's organization domain and a description of the problem.

What it holds
  system.json        Webrix, Python and SQLite versions; the platform.
  config.json        The effective configuration. Every secret is replaced by "<set> (N
                     characters)" or "<not set>".
  check.txt          The output of `webrix check`: the configuration, what to paste into
                     the identity provider, and the provider reached the way sign-in does.
  database.json      Schema version, counts of users, groups, sessions and tokens; tokens by
                     id, name and prefix (never their hashes); integrity (PRAGMA
                     quick_check); file and WAL size.
  errors.json        The last warnings and errors of the log and the refusals and failures of
                     the audit log in the window, each with its request id.
  scim_clients.json  Which SCIM clients were seen: token, user agent, first and last request,
                     counts by endpoint and status (what the SCIM client actually sent).
  idp.json           The identity provider's discovery document and the ids of its keys.

What was removed
  API tokens, the client secret, the secret key and every other secret; session cookies,
  ID tokens, access tokens and Authorization headers (none is read; a last pass over every
  file removes anything that looks like one). {users}
"""
USERS_REMOVED = (
    "End users' email addresses: only counts and email domains are included (make the bundle "
    "with --include-users to list users)."
)
USERS_INCLUDED = "Made with --include-users: users.json lists users (userName, email, status)."


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _version() -> str:
    try:
        return metadata.version("webrix-identity")
    except metadata.PackageNotFoundError:
        return "unknown"


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _database_facts(path: str, since: str, include_users: bool) -> dict[str, Any]:
    """Read on a connection of its own, read-only (run in a worker thread)."""
    db = Path(path)
    wal = db.with_name(db.name + "-wal")
    facts: dict[str, Any] = {
        "path": str(db),
        "file_bytes": db.stat().st_size if db.exists() else None,
        "wal_bytes": wal.stat().st_size if wal.exists() else 0,
    }
    if not db.exists():
        return {**facts, "problem": "the database file does not exist"}
    conn = sqlite3.connect(f"file:{db.resolve()}?mode=ro", uri=True, timeout=10)
    try:

        def one(sql: str) -> Any:
            return conn.execute(sql).fetchone()[0]

        facts["schema_version"] = one("PRAGMA user_version")
        # quick_check: every page and record, not the indexes against their tables; linear in
        # the file, so a bundle of a large database still downloads before a proxy gives up
        # (`webrix db backup` runs the full integrity_check on its copy).
        facts["integrity_check"] = {
            "pragma": "quick_check",
            "result": [r[0] for r in conn.execute("PRAGMA quick_check(20)")],
        }
        facts["counts"] = {
            "users": one("SELECT count(*) FROM users"),
            "users_active": one("SELECT count(*) FROM users WHERE active = 1"),
            "users_by_source": dict(conn.execute("SELECT source, count(*) FROM users GROUP BY 1")),
            "users_linked_to_openid_subject": one(
                "SELECT count(*) FROM users WHERE oidc_sub IS NOT NULL"
            ),
            "groups": one("SELECT count(*) FROM groups"),
            "group_memberships": one("SELECT count(*) FROM group_members"),
            "sessions": one("SELECT count(*) FROM sessions"),
            "sessions_unexpired": one(
                "SELECT count(*) FROM sessions"
                " WHERE expires > strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
            ),
            "tokens": one("SELECT count(*) FROM api_tokens"),
            "audit_events": one("SELECT count(*) FROM audit_events"),
        }
        facts["user_email_domains"] = dict(
            conn.execute(
                "SELECT lower(substr(email, instr(email, '@') + 1)) AS domain, count(*)"
                " FROM users WHERE instr(email, '@') > 0 GROUP BY 1 ORDER BY 2 DESC LIMIT 50"
            )
        )
        facts["tokens"] = _rows(
            conn,
            "SELECT id, name, prefix, scopes, created, created_by, last_used, expires, revoked,"
            " revoked_by FROM api_tokens ORDER BY created",
        )
        # Newest first, at most PER_ACTION of each action: one noisy kind of refusal (a loop
        # on a console page, say) cannot push the others out of the bundle.
        facts["_audit_errors"] = _rows(
            conn,
            "SELECT id, at, actor, action, target_type, target_id, detail, ip, request_id FROM"
            " (SELECT *, row_number() OVER (PARTITION BY action ORDER BY id DESC) AS nth"
            "  FROM audit_events WHERE at >= ? AND (action LIKE '%refused%'"
            "  OR action LIKE '%fail%' OR action LIKE '%error%' OR action LIKE '%denied%'))"
            " WHERE nth <= ? ORDER BY id DESC LIMIT ?",
            (since, PER_ACTION, MAX_ERRORS),
        )
        facts["_log_events"] = _rows(
            conn,
            "SELECT at, level, logger, request_id, message FROM log_events WHERE at >= ?"
            " ORDER BY id DESC LIMIT ?",
            (since, MAX_ERRORS),
        )
        facts["_scim_clients"] = _rows(
            conn,
            "SELECT c.token_id, t.name AS token_name, c.user_agent, c.endpoint, c.status,"
            " c.count, c.first_seen, c.last_seen FROM scim_clients c"
            " LEFT JOIN api_tokens t ON t.id = c.token_id"
            " ORDER BY c.token_id, c.user_agent, c.endpoint, c.status",
        )
        if include_users:
            facts["_users"] = _rows(
                conn,
                "SELECT id, user_name, email, active, source, created FROM users"
                " ORDER BY user_name LIMIT ?",
                (MAX_USERS,),
            )
    finally:
        conn.close()
    return facts


async def _idp(config: Config, http: httpx.AsyncClient, key: RSAKey | None) -> dict[str, Any]:
    """The provider's discovery document and key ids, fetched afresh the way sign-in does."""
    if key is None and config.auth.active.uses_client_key:
        return {"problem": "private_key_jwt: the service's key could not be read"}
    client = make_oidc_client(config, http, key)
    try:
        meta, keys = await client.documents()
    except OidcError as exc:
        return {"discovery_url": client.discovery_url, "problem": exc.message}
    return {
        "discovery_url": client.discovery_url,
        "discovery": meta.raw,
        "jwks_uri": meta.jwks_uri,
        "key_ids": [str(k.kid) for k in keys],
    }


def _merge_logs(stored: Iterable[dict[str, Any]], recent: Iterable[LogEvent]) -> list[Any]:
    """The database's log events and this process's ring (not all written yet), once each."""
    seen: set[tuple[Any, ...]] = set()
    merged = []
    for event in [*(asdict(e) for e in recent), *stored]:
        key = (event["at"], event["level"], event["request_id"], event["message"])
        if key not in seen:
            seen.add(key)
            merged.append(event)
    merged.sort(key=lambda e: e["at"], reverse=True)
    return merged[:MAX_ERRORS]


async def build(
    config: Config,
    http: httpx.AsyncClient,
    *,
    since: timedelta = timedelta(hours=24),
    include_users: bool = False,
    recent_logs: Sequence[LogEvent] = (),
    key: RSAKey | None = None,
) -> bytes:
    """The bundle's bytes; `recent_logs` is the running service's ring, for events its next
    write has not stored yet. Runs the connection test of `webrix check` (recording nothing).
    `key`: the service's private_key_jwt key if the caller holds it (else read once here)."""
    made = datetime.now(UTC)
    if key is None and config.auth.active.uses_client_key:
        with contextlib.suppress(DatabaseError):  # check.txt then says why it was not tested
            key = await client_key(config)
    start = _stamp(made - since)
    facts = await anyio.to_thread.run_sync(
        _database_facts, config.database.path, start, include_users
    )
    errors = {
        "log": _merge_logs(facts.pop("_log_events", []), recent_logs),
        "audit": [{**e, "detail": json.loads(e["detail"])} for e in facts.pop("_audit_errors", [])],
    }
    clients = facts.pop("_scim_clients", [])
    users = facts.pop("_users", None)
    system = {
        "webrix": _version(),
        "python": sys.version,
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "made": _stamp(made),
        "window_start": start,
        "include_users": include_users,
    }
    files: dict[str, str] = {
        "README.txt": README_TEXT.format(
            made=_stamp(made),
            since=start,
            window=f"{since.total_seconds() / 3600:g} hours",
            users=USERS_INCLUDED if include_users else USERS_REMOVED,
        ),
        "system.json": _json(system),
        "config.json": _json(redacted_config(config)),
        "check.txt": await check_text(config, http, key),
        "database.json": _json(facts),
        "errors.json": _json(errors),
        "scim_clients.json": _json(clients),
        "idp.json": _json(await _idp(config, http, key)),
    }
    if users is not None:
        files["users.json"] = _json(users)
    # Scrubbing and compressing can take a while with --include-users: not on the event loop.
    return await anyio.to_thread.run_sync(_zip, files, secrets_of(config), include_users)


def _zip(files: dict[str, str], secrets: list[str], include_users: bool) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            clean = scrub(text, secrets=secrets, include_users=include_users)
            archive.writestr(f"webrix-support/{name}", clean)
    return buffer.getvalue()


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n"
