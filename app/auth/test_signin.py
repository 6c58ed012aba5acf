"""Test sign-in: an administrator's full round trip through the provider that changes nothing.

Started from /admin/settings (`start` in app/admin/settings.py): the normal authorization
request, its login transaction marked with `test_for`, the hash of the administrator's session.
The callback (app/auth/routes.py) hands such a transaction here: only the administrator whose
session started it sees the result; every ID token check still applies; no session is opened
or replaced and no user created, linked or updated. The page shows what the provider sent and
whom it would admit; an audit event "sso.test_signin" is the only write, with the fact
"sso.test_signin" after a success (the setup checklist reads it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.auth.admission import Admission, SignInRefused, decide, legacy_links
from app.auth.errors import OidcError, ProviderUnreachable
from app.auth.oidc import SignInResult
from app.auth.sessions import current_user, session_id_from
from app.auth.transaction import LoginTransaction
from app.config import Config
from app.db import Tx
from app.errors import error_response
from app.logs import current_request_id
from app.services import Services
from app.store import audit, facts
from app.store import groups as group_store
from app.store.users import User

log = logging.getLogger("webrix.auth")
ACTION = "sso.test_signin"
MAX_CLAIMS = 200  # a page, not a dump: claims beyond these are counted, not shown
MAX_VALUE = 4000  # characters of one claim's JSON shown
EPOCH_CLAIMS = frozenset({"exp", "iat", "auth_time", "nbf", "updated_at"})  # seconds since 1970


def session_binding(session_id: str) -> str:
    """What a test transaction stores of the starting session: a hash, never the id."""
    return hashlib.sha256(f"webrix.test-signin:{session_id}".encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    name: str
    value: str  # JSON text, clipped; the template escapes it
    at: str | None = None  # an epoch claim's number as a UTC time


def epoch_time(name: str, value: Any) -> str | None:
    """'2026-11-30 18:12:57 UTC' for a numeric exp, iat, auth_time, nbf or updated_at."""
    if name not in EPOCH_CLAIMS or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return f"{datetime.fromtimestamp(value, UTC):%Y-%m-%d %H:%M:%S} UTC"
    except (OverflowError, OSError, ValueError):
        return None  # a number no calendar has: shown as sent


def shown_claims(claims: dict[str, Any] | None) -> list[Claim]:
    """Claims as name and JSON text, sorted, bounded in number and length."""
    if not claims:
        return []
    shown = []
    for name in sorted(claims)[:MAX_CLAIMS]:
        text = json.dumps(claims[name], ensure_ascii=False, default=str)
        if len(text) > MAX_VALUE:
            text = text[: MAX_VALUE - 1] + "…"
        shown.append(Claim(str(name)[:200], text, epoch_time(name, claims[name])))
    return shown


def _match_text(admission: Admission, result: SignInResult) -> str:
    if admission.how == "subject" and admission.user is not None:
        return (
            f"Signs in as {admission.user.email or admission.user.user_name}: the account "
            "already linked to this OpenID subject (sub)."
        )
    if admission.how == "email" and admission.user is not None:
        return (
            f"Signs in as {admission.user.email or admission.user.user_name}: matched by the "
            "verified email address; the first real sign-in links it to this subject (sub)."
        )
    return (
        f"No Webrix account has this subject or email yet: a real sign-in would create "
        f"{result.email} just in time ([access] jit_provisioning is on)."
    )


@dataclass(frozen=True)
class Difference:
    """What the provider sent that differs from the Webrix account the sign-in matches."""

    what: str
    sent: str
    stored: str


def differences(result: SignInResult, user: User) -> list[Difference]:
    """Name and email as the provider sends them against the stored account's: where they
    differ, the provider's attribute mapping (or the SCIM user) needs a look."""
    found = []
    stored_name = user.display_name or " ".join(p for p in (user.given_name, user.family_name) if p)
    sent_name = result.name or " ".join(p for p in (result.given_name, result.family_name) if p)
    if sent_name.strip() != stored_name.strip():
        found.append(Difference("Name", sent_name or "none", stored_name or "none"))
    if (result.email or "").lower() != (user.email or "").lower():
        found.append(Difference("Email", result.email or "none", user.email or "none"))
    return found


def _decide(tx: Tx, result: SignInResult, config: Config) -> tuple[Admission, str]:
    """The admission decision and, for the account it matches, whether (and why) that
    account is an administrator here: by email or SCIM group, never by the groups claim."""
    legacy = legacy_links(config)
    admission = decide(tx, result, config.access.jit_provisioning, legacy=legacy)
    user = admission.user
    groups = group_store.groups_of(tx, user.id) if user is not None else []
    emails = {user.email, user.user_name} if user is not None else {result.email}
    names = {g.lower() for g in config.access.admin_groups}
    granting = [
        g.display
        for g in groups
        if g.display.lower() in names or g.external_id in config.access.admin_group_external_ids
    ]
    if any(e and e.lower() in config.access.admin_emails for e in emails):
        return admission, "yes: the email is in [access] admin_emails."
    if granting:
        return admission, f"yes: member of the SCIM group {', '.join(granting)}."
    return admission, (
        "no. Administrators are named by [access] admin_emails or by SCIM-pushed groups in "
        "[access] admin_groups; the groups claim of a sign-in grants nothing."
    )


async def finish_test_sign_in(
    request: Request, svc: Services, params: dict[str, str], tx: LoginTransaction
) -> Response:
    """The callback of a test sign-in: the result page for the administrator who started it."""
    ip = request.client.host if request.client else None
    current = await current_user(request)
    session_id = session_id_from(request, svc.config)
    bound = (
        current is not None
        and current.admin
        and session_id is not None
        and tx.test_for is not None
        and hmac.compare_digest(session_binding(session_id), tx.test_for)
    )
    if current is None or not bound:
        # The test belongs to another browser session (or its administrator left): nothing
        # is redeemed, shown or opened; the code dies with the transaction.
        await svc.db.write(
            audit.record,
            action=ACTION,
            actor=f"user:{current.user.id}" if current else "anonymous",
            detail={"ok": False, "reason": "other_session"},
            request_id=current_request_id(),
            ip=ip,
        )
        return error_response(
            request,
            403,
            "Test sign-in of another session",
            "This test sign-in was started by an administrator in another browser session, "
            "and only they can see its result. Nobody was signed in. Start a test sign-in "
            "from the console's Settings page.",
            page=True,
            headers={"Cache-Control": "no-store"},
        )
    actor = f"user:{current.user.id}"
    result: SignInResult | None = None
    admission: Admission | None = None
    admin_text: str | None = None
    refusal: tuple[str, str, str] | None = None  # code, title, message
    try:
        result = await svc.oidc.handle_callback(params, tx, always_userinfo=True)
        admission, admin_text = await svc.db.read(_decide, result, svc.config)
    except SignInRefused as exc:
        refusal = (exc.code, exc.title, exc.message)
    except ProviderUnreachable as exc:
        refusal = (exc.code, "Identity provider unreachable", exc.message)
    except OidcError as exc:
        refusal = (exc.code, "The provider's answer was refused", exc.message)
    ok = refusal is None
    detail: dict[str, Any] = {"ok": ok}
    if refusal is not None:
        detail["reason"] = refusal[0]
    if result is not None:
        detail["sub"] = result.sub[:200]
        detail["email"] = (result.email or "")[:320] or None
    if admission is not None:
        detail["match"] = admission.how
    log.info("test sign-in by %s: %s", actor, "ok" if ok else detail.get("reason"))

    request_id = current_request_id()  # here: `record` runs on the database's thread

    def record(tx: Tx) -> None:
        audit.record(tx, action=ACTION, actor=actor, detail=detail, request_id=request_id, ip=ip)
        if ok:
            facts.put(tx, "sso.test_signin", {"ok": True, "by": actor})

    await svc.db.write(record)
    templates = request.app.state.templates
    page: Response = templates.TemplateResponse(
        request,
        "admin_test_signin.html",
        {
            "current": current,
            "csrf_token": current.session.csrf_token,
            "section": "admin_settings.html",
            "ok": ok,
            "refusal": refusal,
            "result": result,
            "match": _match_text(admission, result) if admission and result else None,
            "admin_text": admin_text,
            "account": admission.user if admission else None,
            "differences": (
                differences(result, admission.user)
                if result and admission and admission.user
                else []
            ),
            "id_token_claims": shown_claims(result.id_token_claims if result else None),
            "userinfo": shown_claims(result.userinfo if result else None),
            "userinfo_fetched": result is not None and result.userinfo is not None,
            "groups_setting": svc.config.auth.active.groups_claim,
            "provider_section": svc.config.auth.active.section,
        },
        headers={"Cache-Control": "no-store"},
    )
    return page
