"""`webrix check`: the configuration, what to paste into JumpCloud, and the connection test."""

from __future__ import annotations

import httpx

from app.checks import Report, Step, record, run_connection_test, unconfigured
from app.config import Config
from app.db import Database, DatabaseError
from app.services import USER_AGENT, make_oidc_client

LABELS = {"ok": "OK", "problem": "PROBLEM", "warning": "WARNING", "skipped": "SKIPPED"}


def _print_step(step: Step) -> None:
    print(f"  {LABELS[step.status]:<8} {step.name}: {step.text}")
    for line in step.details:
        print(f"           {line}")
    if step.fix and step.status != "ok":
        print(f"           Fix: {step.fix}")


async def check(config: Config, transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Print the whole test; 0 if sign-in can work (warnings allowed), 1 if not. The outcome
    is recorded in the database as the console's button records it (by "cli")."""
    missing = unconfigured(config)
    print(f"Config {config.source}: {'NOT CONFIGURED' if missing else 'OK'}")
    for line in missing:
        print(f"  {line}")
    print()
    print("Paste into JumpCloud (SSO → your Webrix app):")
    print(f"  Redirect URI:   {config.redirect_uri}")
    print("  Client Authentication Type: Client Secret Basic")
    print("Paste into JumpCloud (Identity Management → SCIM):")
    print(f"  Base URL:       {config.scim_base_url}")
    print("  Token Key:      API Token (Bearer); create one with `webrix token create`")
    jc = config.auth.jumpcloud
    print()
    print(f"Identity provider {jc.issuer}:")
    async with httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(jc.timeout_seconds, connect=min(jc.timeout_seconds, 5.0)),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    ) as http:
        report = await run_connection_test(config, make_oidc_client(config, http))
    for step in report.steps:
        _print_step(step)
    print()
    if report.ok:
        print(
            "OK: sign-in can reach the identity provider, and it accepts the Client ID and "
            "Client Secret."
        )
    else:
        print(f"FAILED: {report.summary}")
        print("Sign-in will not work until this is fixed.")
    await _record(config, report)
    return 0 if report.ok else 1


async def _record(config: Config, report: Report) -> None:
    try:
        db = await Database.open(config.database.path, readers=1)
        try:
            await db.write(record, report, "cli")
        finally:
            await db.close()
    except DatabaseError as exc:  # the test stands; only remembering it failed
        print(f"(Not recorded in the database: {exc})")
