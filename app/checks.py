"""Test connection: reach the identity provider the way sign-in will, and say what to fix.

One test, shared by the "Test connection" button on /admin/settings and `webrix check`:
the configuration (no placeholder left), the discovery document, the signing keys (JWKS),
the Client ID and Client Secret (a token request for a code that cannot exist, authenticated
exactly as sign-in is: `invalid_grant` means they were accepted, `invalid_client` or HTTP 401
that they were not), the sign-in request with the Redirect URI, and whether anyone can
administer the service. Each problem names the JumpCloud screen and field that fixes it. The
client secret never appears in a step: provider text is clipped and the secret redacted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import anyio

from app.auth.diagnostics import ProbeAnswer
from app.auth.discovery import ProviderMetadata
from app.auth.errors import OidcError
from app.auth.oidc import OidcClient
from app.config import Config
from app.db import Tx
from app.store import audit, facts

# Values config.example.toml ships with: a config still holding one is not configured.
PLACEHOLDERS = {
    ("auth.jumpcloud", "client_id"): "paste-the-client-id-from-jumpcloud",
    ("auth.jumpcloud", "client_secret"): "...",
    ("server", "public_url"): "https://connect.example.com",
    ("server", "secret_key"): "...",
}

APP = "JumpCloud Admin Console → SSO (SSO Applications) → your Webrix app → SSO tab"
FIX_CREDENTIALS = (
    f"{APP} → Client ID and Client Secret: copy the Client ID into [auth.jumpcloud] client_id; "
    "JumpCloud shows a Client Secret only once, so regenerate it there and put the new one in "
    "[auth.jumpcloud] client_secret (or client_secret_file, or the environment variable "
    "WEBRIX_AUTH_JUMPCLOUD_CLIENT_SECRET), then restart. On the same tab, Client "
    "Authentication Type must be Client Secret Basic."
)
FIX_GRANT = f"{APP} → Grant Types: tick Authorization Code."
FIX_AUTH_TYPE = f"{APP} → Client Authentication Type: select Client Secret Basic."
FIX_ISSUER = (
    "[auth.jumpcloud] issuer: JumpCloud has one issuer for every organisation, "
    "https://oauth.id.jumpcloud.com/ (the default): remove the key or set it back."
)
FIX_ADMINS = (
    "Add your email to [access] admin_emails, or a JumpCloud group pushed by SCIM to "
    "[access] admin_groups, then restart."
)

Status = Literal["ok", "problem", "warning", "skipped"]


@dataclass(frozen=True)
class Step:
    """One thing tested: what was found and, for a problem, where to fix it."""

    name: str
    status: Status
    text: str
    fix: str | None = None
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    steps: tuple[Step, ...]

    @property
    def ok(self) -> bool:
        """No problem (warnings allowed)."""
        return all(s.status != "problem" for s in self.steps)

    @property
    def summary(self) -> str:
        """One short line: the first problem, or what works."""
        for step in self.steps:
            if step.status == "problem":
                return _short(f"{step.name}: {step.text}")
        return "Discovery, signing keys, Client ID and Client Secret accepted by the provider."


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def unconfigured(config: Config) -> list[str]:
    """The keys still holding a placeholder from config.example.toml (or empty), as
    "[section] key" with what to put there; empty when sign-in is configured."""
    active, provider = config.auth.active, f"auth.{config.auth.provider}"
    values = {(provider, "client_id"): active.client_id}
    if not active.uses_client_key:  # private_key_jwt: no secret
        values[(provider, "client_secret")] = active.client_secret
    values[("server", "public_url")] = config.server.public_url
    values[("server", "secret_key")] = config.server.secret_key
    return [
        f"[{section}] {key} still holds the example value from config.example.toml"
        if value.strip() == PLACEHOLDERS.get((section, key))
        else f"[{section}] {key} is empty"
        for (section, key), value in values.items()
        if not value.strip() or value.strip() == PLACEHOLDERS.get((section, key))
    ]


def no_administrator(config: Config) -> bool:
    """Nobody can open /admin: every way of naming an administrator is empty."""
    access = config.access
    return not (access.admin_emails or access.admin_groups or access.admin_group_external_ids)


async def run_connection_test(config: Config, client: OidcClient) -> Report:
    """Every step, within the configured timeout overall; never raises for the provider."""
    steps: list[Step] = []
    missing = unconfigured(config)
    if missing:
        steps.append(
            Step(
                "Configuration",
                "problem",
                "Not configured: " + "; ".join(missing) + ".",
                fix=f"Edit {config.source}: paste the values from JumpCloud "
                f"({APP} → Client ID, Client Secret), then restart.",
            )
        )
    else:
        steps.append(Step("Configuration", "ok", f"{config.source}: every required key is set."))
    timeout = config.auth.jumpcloud.timeout_seconds
    skip_credentials = any(m.startswith("[auth.jumpcloud] client_") for m in missing)
    try:
        with anyio.fail_after(timeout):
            await _provider_steps(client, steps, skip_credentials)
    except TimeoutError:
        host = urlsplit(client.issuer).netloc
        steps.append(
            Step(
                "Identity provider",
                "problem",
                f"{host} did not answer every check within {timeout:g} s "
                "([auth.jumpcloud] timeout_seconds).",
                fix=f"Let this server reach {host} over HTTPS (DNS, firewall, outbound proxy).",
            )
        )
    if no_administrator(config):
        steps.append(
            Step(
                "Administrators",
                "warning",
                "No administrator configured: [access] admin_emails, admin_groups and "
                "admin_group_external_ids are all empty, so nobody can open /admin.",
                fix=FIX_ADMINS,
            )
        )
    return Report(tuple(steps))


async def _provider_steps(client: OidcClient, steps: list[Step], skip_credentials: bool) -> None:
    host = urlsplit(client.issuer).netloc
    try:
        meta, findings = await client.diagnose()
    except OidcError as exc:
        keys = "signing keys" in exc.message or exc.code == "invalid_jwks"
        if exc.code == "provider_unreachable" and not keys:
            fix = (
                f"Let this server reach {host} over HTTPS (DNS, firewall, outbound proxy); "
                f"if the address is wrong: {FIX_ISSUER}"
            )
        elif exc.code == "client_auth_unsupported":
            fix = FIX_AUTH_TYPE
        elif keys:
            fix = "The provider's signing keys are unusable: try again; if it stays, ask support."
        else:
            fix = FIX_ISSUER
        name = "Signing keys (JWKS)" if keys else "Discovery document"
        steps.append(Step(name, "problem", exc.message, fix=fix))
        return
    found = findings[0].removeprefix("Discovery document ")
    steps.append(Step("Discovery document", "ok", found, details=tuple(findings[1:-1])))
    steps.append(Step("Signing keys (JWKS)", "ok", findings[-1]))
    if skip_credentials:
        steps.append(
            Step(
                "Client ID and Client Secret",
                "skipped",
                "Not tested: they are not configured.",
                fix=FIX_CREDENTIALS,
            )
        )
        return
    answers: dict[str, ProbeAnswer | OidcError] = {}

    async def probe(name: str, fn: Callable[[ProviderMetadata], Awaitable[ProbeAnswer]]) -> None:
        try:
            answers[name] = await fn(meta)
        except OidcError as exc:
            answers[name] = exc

    async with anyio.create_task_group() as group:  # both at once: one round trip of time
        group.start_soon(probe, "token", client.probe_token_endpoint)
        group.start_soon(probe, "authorize", client.probe_authorization)
    steps.append(_credentials_step(answers["token"], host))
    steps.append(_redirect_step(answers["authorize"], client.redirect_uri))


def _said(answer: ProbeAnswer) -> str:
    text = f"HTTP {answer.status}"
    if answer.error:
        text += f", error {answer.error}"
    if answer.description:
        text += f": {answer.description}"
    return text


def _credentials_step(answer: ProbeAnswer | OidcError, host: str) -> Step:
    name = "Client ID and Client Secret"
    if isinstance(answer, OidcError):
        return Step(name, "problem", answer.message, fix=f"Let this server reach {host}.")
    if answer.error == "invalid_grant":
        return Step(
            name,
            "ok",
            "Accepted: the token endpoint authenticated them (client_secret_basic) and "
            "refused only the test's made-up code (invalid_grant), as it should.",
        )
    if answer.error == "invalid_client" or answer.status == 401:
        return Step(
            name,
            "problem",
            "The Client ID or Client Secret is wrong: the token endpoint refused them "
            f"({_said(answer)}).",
            fix=FIX_CREDENTIALS,
        )
    if answer.error == "unauthorized_client":
        return Step(
            name,
            "problem",
            f"The app may not use the authorization code grant ({_said(answer)}).",
            fix=FIX_GRANT,
        )
    if answer.status >= 500:
        return Step(
            name,
            "problem",
            f"The token endpoint failed ({_said(answer)}).",
            fix="A fault at the provider: try again later.",
        )
    return Step(
        name,
        "warning",
        f"Could not be confirmed: the token endpoint answered {_said(answer)}, neither "
        "invalid_grant (accepted) nor invalid_client (refused).",
        fix=FIX_CREDENTIALS,
    )


def _redirect_step(answer: ProbeAnswer | OidcError, redirect_uri: str) -> Step:
    name = "Redirect URI"
    fix = f"{APP} → Redirect URIs: add {redirect_uri} exactly."
    if isinstance(answer, OidcError):
        return Step(name, "problem", answer.message, fix=fix)
    to_us = answer.location is not None and answer.location.startswith(redirect_uri)
    if answer.error and not to_us:
        said = f"{answer.error} {answer.description or ''}".lower()
        if "redirect" in said:
            text, fix_for = (
                "The sign-in request was refused: this Redirect URI is not registered",
                fix,
            )
        elif answer.error == "invalid_client":
            text, fix_for = "The sign-in request was refused: unknown Client ID", FIX_CREDENTIALS
        elif answer.error == "unauthorized_client":
            text, fix_for = "The sign-in request was refused", FIX_GRANT
        else:
            text, fix_for = "The sign-in request was refused", fix
        return Step(name, "problem", f"{text} ({_said(answer)}).", fix=fix_for)
    if answer.status >= 400:
        return Step(name, "problem", f"The sign-in request was refused ({_said(answer)}).", fix=fix)
    return Step(
        name,
        "ok",
        f"The sign-in request for {redirect_uri} was accepted (HTTP {answer.status}, on to "
        "the provider's sign-in page).",
    )


TESTED = "sso.tested"  # the service's own test (Settings → Test connection)
TESTED_CLI = "sso.tested.cli"  # `webrix check`: the command line's config and environment


def record(
    tx: Tx,
    report: Report,
    actor: str,
    ip: str | None = None,
    request_id: str | None = None,
    key: str = TESTED,
) -> None:
    """Audit the test ("sso.test") and remember its outcome and steps (the fact `key`; the
    command line keeps its own, as its environment may differ from the running service's)."""
    audit.record(
        tx,
        actor=actor,
        action="sso.test",
        detail={"ok": report.ok, "result": report.summary},
        ip=ip,
        request_id=request_id,
    )
    steps = [dataclasses.asdict(step) for step in report.steps]
    facts.put(tx, key, {"ok": report.ok, "result": report.summary, "by": actor, "steps": steps})
