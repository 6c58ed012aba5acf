"""`webrix check`: the configuration, what to paste into the active provider's console, and
the connection test. The same text goes into the support bundle (`check_text`).

With private_key_jwt the test signs with the service's own key, read from the database as the
service reads it: it authenticates exactly as sign-in does."""

from __future__ import annotations

import httpx
from joserfc.jwk import RSAKey

from app.checks import (
    ACCEPTED_KEY,
    TESTED_CLI,
    Report,
    Step,
    record,
    run_connection_test,
    unconfigured,
)
from app.config import Config
from app.db import Database, DatabaseError
from app.provider_hints import hints
from app.services import USER_AGENT, make_oidc_client
from app.store import client_keys

LABELS = {"ok": "OK", "problem": "PROBLEM", "warning": "WARNING", "skipped": "SKIPPED"}


def _step_lines(step: Step) -> list[str]:
    lines = [f"  {LABELS[step.status]:<8} {step.name}: {step.text}"]
    lines += [f"           {line}" for line in step.details]
    if step.fix and step.status != "ok":
        lines.append(f"           Fix: {step.fix}")
    return lines


def _provider_lines(config: Config) -> list[str]:
    """What to paste into the provider's console, and where."""
    active = config.auth.active
    h = hints(active)
    method = h.methods.get(active.token_endpoint_auth_method, "")
    if active.name == "jumpcloud":
        lines = [
            "Paste into JumpCloud (SSO → your Webrix app):",
            f"  Redirect URI:   {config.redirect_uri}",
            f"  {method.replace(': select ', ': ')}",
        ]
    else:
        lines = [
            f"Paste into {h.title} ({h.app}):",
            f"  Redirect URI:   {config.redirect_uri}   ({h.redirect})",
            f"  Client authentication: {method}",
        ]
    if active.uses_client_key:
        lines.append(f"  JWKS URL:       {config.jwks_url}   ({h.title} fetches the service's key)")
    if h.scim is None:
        return [*lines, f"SCIM: {h.no_scim}"]
    create = "create one with `webrix token create`"
    if active.name == "jumpcloud":
        return [
            *lines,
            "Paste into JumpCloud (Identity Management → SCIM):",
            f"  Base URL:       {config.scim_base_url}",
            f"  Token Key:      API Token (Bearer); {create}",
        ]
    return [
        *lines,
        f"Paste into {h.title} ({h.scim.where}):",
        f"  {h.scim.base_url}: {config.scim_base_url}",
        f"  {h.scim.auth_header}; {create}",
    ]


def header_lines(config: Config) -> list[str]:
    """The configuration's state and the values to paste into the provider's console."""
    missing = unconfigured(config)
    example_url = any(line.startswith("[server] public_url") for line in missing)
    return [
        f"Config {config.source}: {'NOT CONFIGURED' if missing else 'OK'}",
        *(f"  {line}" for line in missing),
        "",
        *(
            ["NOT YET: these URLs use the example public_url; set [server] public_url first."]
            if example_url
            else []
        ),
        *_provider_lines(config),
        "",
        f"Identity provider {config.auth.active.issuer}:",
    ]


def report_lines(report: Report) -> list[str]:
    lines = [line for step in report.steps for line in _step_lines(step)]
    lines.append("")
    if report.ok:
        what = "the service's key" if report.accepted == ACCEPTED_KEY else "Client Secret"
        lines.append(
            f"OK: sign-in can reach the identity provider, and it accepts the Client ID and {what}."
        )
    else:
        lines += [f"FAILED: {report.summary}", "Sign-in will not work until this is fixed."]
    return lines


def provider_client(
    config: Config, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """An HTTP client to the identity provider, as the service's own (timeouts, no redirects)."""
    jc = config.auth.active
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(jc.timeout_seconds, connect=min(jc.timeout_seconds, 5.0)),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


async def client_key(config: Config) -> RSAKey | None:
    """The service's key for private_key_jwt, from the database (made there on first need,
    as the service does); None with a client secret."""
    if not config.auth.active.uses_client_key:
        return None
    db = await Database.open(config.database.path, readers=1)
    try:
        return await db.write(client_keys.load_or_create)
    finally:
        await db.close()


async def check(config: Config, transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Print the whole test; 0 if sign-in can work (warnings allowed), 1 if not. The outcome
    is recorded in the database as the console's button records it (by "cli")."""
    print("\n".join(header_lines(config)))
    try:
        key = await client_key(config)
    except DatabaseError as exc:
        print(f"FAILED: private_key_jwt needs the service's key, kept in the database: {exc}")
        return 1
    async with provider_client(config, transport) as http:
        report = await run_connection_test(config, make_oidc_client(config, http, key))
    print("\n".join(report_lines(report)))
    await _record(config, report)
    return 0 if report.ok else 1


async def check_text(config: Config, http: httpx.AsyncClient, key: RSAKey | None = None) -> str:
    """What `webrix check` prints, as text, without recording anything (support bundle).
    `key`: the service's private_key_jwt key if the caller holds it (else read here)."""
    lines = header_lines(config)
    try:
        key = key or await client_key(config)
    except DatabaseError as exc:
        lines.append(f"Not tested: private_key_jwt needs the service's key: {exc}")
        return "\n".join(lines) + "\n"
    report = await run_connection_test(config, make_oidc_client(config, http, key))
    status = 0 if report.ok else 1
    lines += [*report_lines(report), f"(webrix check exit status: {status})"]
    return "\n".join(lines) + "\n"


async def _record(config: Config, report: Report) -> None:
    try:
        db = await Database.open(config.database.path, readers=1)
        try:
            await db.write(record, report, "cli", key=TESTED_CLI)
        finally:
            await db.close()
    except DatabaseError as exc:  # the test stands; only remembering it failed
        print(f"(Not recorded in the database: {exc})")
