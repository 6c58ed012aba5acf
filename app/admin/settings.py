"""The settings page: what the configuration file says (read-only), Test connection and
Test sign-in (app/checks.py and app/auth/test_signin.py do the work)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.admin.common import actor, admin_page, client_ip, render
from app.auth.presets import title
from app.auth.routes import start_sign_in
from app.auth.sessions import CurrentUser, check_csrf, session_id_from
from app.auth.test_signin import session_binding
from app.check_fixes import fixes
from app.checks import (
    TESTED,
    TESTED_CLI,
    no_administrator,
    record,
    run_connection_test,
    unconfigured,
)
from app.config import Config, ProviderConfig
from app.config_keys import AUTH_METHODS, PROVIDER_KEYS, env_name
from app.db import Tx
from app.logs import current_request_id
from app.services import services
from app.store import audit_search, facts


def _known(tx: Tx) -> tuple[dict[str, facts.Fact], dict[str, str]]:
    """The setup facts, and the names of the people who ran the tests they record."""
    known = facts.all_facts(tx)
    return known, audit_search.names_of(tx, (str(f.value.get("by", "")) for f in known.values()))


# The preset's own keys, as the settings page labels them.
PRESET_KEYS = {
    "org_url": "Org URL",
    "authorization_server": "Authorization server",
    "tenant_id": "Tenant ID",
    "allowed_tenants": "Allowed tenants",
    "allowed_domains": "Allowed domains (hd)",
    "base_url": "Base URL",
    "realm": "Realm",
    "display_name": "Display name",
}
_EMPTY = {
    "authorization_server": "none: the org authorization server",
    "allowed_tenants": "only the tenant above",
}


def preset_rows(active: ProviderConfig) -> list[tuple[str, str]]:
    """The active preset's keys as (label, value); other presets' keys are not shown."""
    keys = PROVIDER_KEYS[active.name]
    rows = []
    for key, label in PRESET_KEYS.items():
        if key in keys and key != "issuer":
            value = getattr(active, key)
            text = ", ".join(value) if isinstance(value, tuple) else value
            rows.append((label, text or _EMPTY.get(key, "none")))
    return rows


def toml_snippet(config: Config) -> str:
    """The active section as the config file would hold it (no secret: a file or variable)."""
    active = config.auth.active
    name = title(active)
    basic = active.token_endpoint_auth_method == AUTH_METHODS[0]
    if active.name == "jumpcloud" and basic:
        return (
            "[auth.jumpcloud]\n"
            'client_id = "paste the Client ID from JumpCloud"\n'
            'client_secret_file = "jumpcloud_client_secret"   # or client_secret = "…", or '
            "WEBRIX_AUTH_JUMPCLOUD_CLIENT_SECRET"
        )
    lines = ["[auth]", f"provider = {json.dumps(active.name)}", "", f"[{active.section}]"]
    for key in PRESET_KEYS:
        if key in PROVIDER_KEYS[active.name]:
            value = getattr(active, key)
            if not value:  # an optional key left out, as the example leaves it
                continue
            shown = list(value) if isinstance(value, tuple) else value
            lines.append(f"{key} = {json.dumps(shown, ensure_ascii=False)}")
    if active.name == "oidc":
        lines.append(f"issuer = {json.dumps(active.issuer)}")
    lines.append(f'client_id = "paste the Client ID from {name}"')
    if active.uses_client_key:
        lines += [
            'token_endpoint_auth_method = "private_key_jwt"',
            f"# no client secret: {name} fetches the service's key from {config.jwks_url}",
        ]
    else:
        env = env_name(active.section, "client_secret")
        if not basic:
            method = active.token_endpoint_auth_method
            lines.append(f"token_endpoint_auth_method = {json.dumps(method)}")
        lines.append(
            f'client_secret_file = "{active.name}_client_secret"   # or client_secret = "…", '
            f"or {env}"
        )
    return "\n".join(lines)


def provider_context(config: Config) -> dict[str, Any]:
    """What the settings page says of the active provider."""
    active = config.auth.active
    return {
        "provider_section": active.section,
        "fixes": fixes(active, config.jwks_url),
        "preset_rows": preset_rows(active),
        "toml_snippet": toml_snippet(config),
    }


@admin_page
async def settings(request: Request, current: CurrentUser) -> Response:
    """The configuration, and the last connection test with its steps (a test's POST comes
    back here: the result survives a reload and can be bookmarked)."""
    svc = services(request)
    known, names = await svc.db.read(_known)
    context: dict[str, Any] = {
        "config": svc.config,
        "unconfigured": unconfigured(svc.config),
        "no_administrator": no_administrator(svc.config),
        "tested": known.get(TESTED),
        "tested_cli": known.get(TESTED_CLI),
        "test_signin": known.get("sso.test_signin"),
        "names": {**names, "cli": "webrix check"},
        **provider_context(svc.config),
    }
    return render(request, "admin_settings.html", current, **context)


@admin_page
async def test_connection(request: Request, current: CurrentUser) -> Response:
    """POST: run the connection test now, record it, show the page with every step."""
    form = await request.form()
    check_csrf(request, current, form.get("csrfToken"))
    svc = services(request)
    report = await run_connection_test(svc.config, svc.oidc)
    await svc.db.write(record, report, actor(current), client_ip(request), current_request_id())
    return RedirectResponse("/admin/settings#sso-test", status_code=303)


@admin_page
async def test_sign_in(request: Request, current: CurrentUser) -> Response:
    """POST: start a test sign-in bound to this administrator's session."""
    form = await request.form()
    check_csrf(request, current, form.get("csrfToken"))
    session_id = session_id_from(request, services(request).config) or ""
    return await start_sign_in(request, "/admin/settings", test_for=session_binding(session_id))
