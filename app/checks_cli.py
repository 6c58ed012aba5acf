"""`webrix check`: the configuration, what to paste into JumpCloud, and the connection test.
The same text goes into the support bundle (`check_text`)."""

from __future__ import annotations

import httpx

from app.checks import TESTED_CLI, Report, Step, record, run_connection_test, unconfigured
from app.config import Config
from app.db import Database, DatabaseError
from app.services import USER_AGENT, make_oidc_client

LABELS = {"ok": "OK", "problem": "PROBLEM", "warning": "WARNING", "skipped": "SKIPPED"}


def _step_lines(step: Step) -> list[str]:
    lines = [f"  {LABELS[step.status]:<8} {step.name}: {step.text}"]
    lines += [f"           {line}" for line in step.details]
    if step.fix and step.status != "ok":
        lines.append(f"           Fix: {step.fix}")
    return lines


def header_lines(config: Config) -> list[str]:
    """The configuration's state and the values to paste into JumpCloud."""
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
        "Paste into JumpCloud (SSO → your Webrix app):",
        f"  Redirect URI:   {config.redirect_uri}",
        "  Client Authentication Type: Client Secret Basic",
        "Paste into JumpCloud (Identity Management → SCIM):",
        f"  Base URL:       {config.scim_base_url}",
        "  Token Key:      API Token (Bearer); create one with `webrix token create`",
        "",
        f"Identity provider {config.auth.active.issuer}:",
    ]


def report_lines(report: Report) -> list[str]:
    lines = [line for step in report.steps for line in _step_lines(step)]
    lines.append("")
    if report.ok:
        lines.append(
            "OK: sign-in can reach the identity provider, and it accepts the Client ID and "
            "Client Secret."
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


async def check(config: Config, transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Print the whole test; 0 if sign-in can work (warnings allowed), 1 if not. The outcome
    is recorded in the database as the console's button records it (by "cli")."""
    print("\n".join(header_lines(config)))
    async with provider_client(config, transport) as http:
        report = await run_connection_test(config, make_oidc_client(config, http))
    print("\n".join(report_lines(report)))
    await _record(config, report)
    return 0 if report.ok else 1


async def check_text(config: Config, http: httpx.AsyncClient) -> str:
    """What `webrix check` prints, as text, without recording anything (support bundle)."""
    report = await run_connection_test(config, make_oidc_client(config, http))
    status = 0 if report.ok else 1
    lines = [*header_lines(config), *report_lines(report), f"(webrix check exit status: {status})"]
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
