"""Test connection: reach the identity provider the way sign-in will, and say what to fix.

One test, shared by the "Test connection" button on /admin/settings and `webrix check`:
the configuration (no placeholder left), the discovery document, the signing keys (JWKS),
the Client ID and Client Secret, or with private_key_jwt the service's key (a token request
for a code that cannot exist, authenticated exactly as sign-in is: `invalid_grant` means they
were accepted, `invalid_client` or HTTP 401 that they were not), the sign-in request with the
Redirect URI, and whether anyone can administer the service. Each problem names the screen and
field of the active provider's console that fixes it (app.check_fixes). The client secret never
appears in a step: provider text is clipped and the secret redacted.
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
from app.check_fixes import Fixes, fixes
from app.config import Config, ProviderConfig
from app.db import Tx
from app.placeholders import EXAMPLES as EXAMPLES  # re-exported: this module's public names
from app.placeholders import PLACEHOLDERS as PLACEHOLDERS
from app.placeholders import unconfigured as unconfigured
from app.store import audit, facts

# JumpCloud's fixes (the default provider); `fixes(config)` gives the active provider's.
_JUMPCLOUD = fixes(ProviderConfig(client_id="", client_secret=""))
APP = _JUMPCLOUD.app
FIX_CREDENTIALS = _JUMPCLOUD.credentials
FIX_GRANT = _JUMPCLOUD.grant
FIX_AUTH_TYPE = _JUMPCLOUD.auth_type
FIX_ISSUER = _JUMPCLOUD.issuer
FIX_ADMINS = _JUMPCLOUD.admins

Status = Literal["ok", "problem", "warning", "skipped"]


@dataclass(frozen=True)
class Step:
    """One thing tested: what was found and, for a problem, where to fix it."""

    name: str
    status: Status
    text: str
    fix: str | None = None
    details: tuple[str, ...] = ()


ACCEPTED = "Discovery, signing keys, Client ID and Client Secret accepted by the provider."
ACCEPTED_KEY = "Discovery, signing keys, Client ID and the service's key accepted by the provider."


@dataclass(frozen=True)
class Report:
    steps: tuple[Step, ...]
    accepted: str = ACCEPTED  # the summary when nothing is wrong

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
        return self.accepted


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def no_administrator(config: Config) -> bool:
    """Nobody can open /admin: every way of naming an administrator is empty."""
    access = config.access
    return not (access.admin_emails or access.admin_groups or access.admin_group_external_ids)


def fixes_for(config: Config) -> Fixes:
    """The fixes for the active provider, as the connection test words them."""
    return fixes(config.auth.active, config.jwks_url)


async def run_connection_test(config: Config, client: OidcClient) -> Report:
    """Every step, within the configured timeout overall; never raises for the provider."""
    fx = fixes_for(config)
    steps: list[Step] = []
    missing = unconfigured(config)
    if missing:
        steps.append(
            Step(
                "Configuration",
                "problem",
                "Not configured: " + "; ".join(missing) + ".",
                fix=f"Edit {config.source}: {fx.configure}, then restart.",
            )
        )
    else:
        steps.append(Step("Configuration", "ok", f"{config.source}: every required key is set."))
    timeout = config.auth.active.timeout_seconds
    skip_credentials = any(m.startswith(f"[{config.auth.active.section}] client_") for m in missing)
    try:
        with anyio.fail_after(timeout):
            await _provider_steps(client, steps, skip_credentials, fx)
    except TimeoutError:
        host = urlsplit(client.issuer).netloc
        steps.append(
            Step(
                "Identity provider",
                "problem",
                f"{host} did not answer every check within {timeout:g} s ({fx.timeout_key}).",
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
                fix=fx.admins,
            )
        )
    return Report(tuple(steps), ACCEPTED_KEY if fx.uses_key else ACCEPTED)


async def _provider_steps(
    client: OidcClient, steps: list[Step], skip_credentials: bool, fx: Fixes
) -> None:
    host = urlsplit(client.issuer).netloc
    try:
        meta, findings = await client.diagnose()
    except OidcError as exc:
        keys = "signing keys" in exc.message or exc.code == "invalid_jwks"
        if exc.code == "provider_unreachable" and not keys:
            fix = (
                f"Let this server reach {host} over HTTPS (DNS, firewall, outbound proxy); "
                f"if the address is wrong: {fx.issuer}"
            )
        elif exc.code == "client_auth_unsupported":
            fix = fx.auth_type
        elif keys:
            fix = "The provider's signing keys are unusable: try again; if it stays, ask support."
        else:
            fix = fx.issuer
        name = "Signing keys (JWKS)" if keys else "Discovery document"
        steps.append(Step(name, "problem", exc.message, fix=fix))
        return
    found = findings[0].removeprefix("Discovery document ")
    steps.append(Step("Discovery document", "ok", found, details=tuple(findings[1:-1])))
    steps.append(Step("Signing keys (JWKS)", "ok", findings[-1]))
    if skip_credentials:
        steps.append(
            Step(
                fx.credentials_name,
                "skipped",
                "Not tested: they are not configured.",
                fix=fx.credentials,
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
    steps.append(_credentials_step(answers["token"], host, fx))
    steps.append(_redirect_step(answers["authorize"], client.redirect_uri, fx))


def _said(answer: ProbeAnswer) -> str:
    text = f"HTTP {answer.status}"
    if answer.error:
        text += f", error {answer.error}"
    if answer.description:
        text += f": {answer.description}"
    return text


def _credentials_step(answer: ProbeAnswer | OidcError, host: str, fx: Fixes) -> Step:
    name = fx.credentials_name
    if isinstance(answer, OidcError):
        return Step(name, "problem", answer.message, fix=f"Let this server reach {host}.")
    if answer.error == "invalid_grant":
        what = (
            "verified the service's signed client assertion (private_key_jwt)"
            if fx.uses_key
            else f"authenticated them ({fx.method})"
        )
        return Step(
            name,
            "ok",
            f"Accepted: the token endpoint {what} and refused only the test's made-up code "
            "(invalid_grant), as it should.",
        )
    if answer.error == "invalid_client" or answer.status == 401:
        text = (
            f"{fx.title} refused the service's signed client assertion: it does not have the "
            f"service's public key, or cannot fetch it from {fx.jwks_url} ({_said(answer)})."
            if fx.uses_key
            else "The Client ID or Client Secret is wrong: the token endpoint refused them "
            f"({_said(answer)})."
        )
        return Step(name, "problem", text, fix=fx.credentials)
    if answer.error == "unauthorized_client":
        return Step(
            name,
            "problem",
            f"The app may not use the authorization code grant ({_said(answer)}).",
            fix=fx.grant,
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
        fix=fx.credentials,
    )


def _redirect_step(answer: ProbeAnswer | OidcError, redirect_uri: str, fx: Fixes) -> Step:
    name = "Redirect URI"
    fix = fx.redirect(redirect_uri)
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
            text, fix_for = "The sign-in request was refused: unknown Client ID", fx.credentials
        elif answer.error == "unauthorized_client":
            text, fix_for = "The sign-in request was refused", fx.grant
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
