"""The settings page: what the configuration file says (read-only), Test connection and
Test sign-in (app/checks.py and app/auth/test_signin.py do the work)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.admin.common import actor, admin_page, client_ip, render
from app.auth.routes import start_sign_in
from app.auth.sessions import CurrentUser, check_csrf, session_id_from
from app.auth.test_signin import session_binding
from app.checks import (
    TESTED,
    TESTED_CLI,
    no_administrator,
    record,
    run_connection_test,
    unconfigured,
)
from app.db import Tx
from app.logs import current_request_id
from app.services import services
from app.store import audit_search, facts


def _known(tx: Tx) -> tuple[dict[str, facts.Fact], dict[str, str]]:
    """The setup facts, and the names of the people who ran the tests they record."""
    known = facts.all_facts(tx)
    return known, audit_search.names_of(tx, (str(f.value.get("by", "")) for f in known.values()))


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
