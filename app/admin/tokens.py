"""API tokens: generated (shown once), listed with their status, revoked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.admin.common import admin_page, audit_fields, render
from app.auth.sessions import CurrentUser, check_csrf
from app.db import Tx
from app.errors import BadRequest
from app.services import services
from app.store import audit, audit_search, tokens

# The lifetimes the page offers, by the value of its select.
LIFETIMES = {"never": None, "30": 30, "90": 90, "365": 365}
SCOPE_HELP = {
    "admin:scim": "SCIM provisioning: what your identity provider needs",
    "admin:read": "read users and groups over SCIM",
    "admin:write": "create, change and delete users and groups over SCIM",
    "all": "every scope, present and future",
}


@dataclass(frozen=True)
class TokenForm:
    """What the Generate form held, to show again beside an error."""

    name: str = ""
    scopes: tuple[str, ...] = tokens.DEFAULT_SCOPES
    expires: str = "never"


def _listing(tx: Tx) -> tuple[list[tokens.ApiToken], dict[str, str]]:
    """Every token, and the names of who created and revoked them (one query)."""
    found = tokens.list_tokens(tx)
    wanted: dict[str, set[str]] = {"user": set(), "token": set(), "group": set()}
    for t in found:
        for who in (t.created_by, t.revoked_by):
            kind, _, ident = (who or "").partition(":")
            if kind in wanted and ident:
                wanted[kind].add(ident)
    return found, audit_search.actor_names(tx, wanted)


def _form(values: dict[str, str], scopes: list[str]) -> TokenForm:
    return TokenForm(
        name=values.get("name", "")[:1000],  # past 100 refused by validate, kept to show
        scopes=tuple(s for s in scopes if s in tokens.SCOPES),
        expires=values.get("expires") or "never",  # absent: never (as the select starts)
    )


async def _revoke(request: Request, current: CurrentUser, token_id: str) -> Response:
    fields = audit_fields(request, current)

    def revoke(tx: Tx) -> None:
        revoked = tokens.revoke(tx, token_id, by=fields["actor"])
        audit.record(
            tx,
            action="token.revoke",
            target_type="token",
            target_id=revoked.id,
            detail={"name": revoked.name},
            **fields,
        )

    try:
        await services(request).db.write(revoke)
    except tokens.TokenError as exc:
        raise BadRequest(str(exc)) from None
    return RedirectResponse("/admin/api-tokens", status_code=303)


async def _create(request: Request, current: CurrentUser, form: TokenForm) -> str | None:
    """Generate the token the form asks for; an error message, or None once it is held for
    the next GET."""
    try:
        tokens.validate(form.name, form.scopes or tokens.DEFAULT_SCOPES)  # the name first
    except tokens.TokenError as exc:
        return str(exc)
    if not form.scopes:  # the page no longer makes an admin:scim token of an empty choice
        return "Choose at least one scope: admin:scim is the one your identity provider needs."
    if form.expires not in LIFETIMES:
        return "Choose when the token expires: never, or after 30, 90 or 365 days."
    days = LIFETIMES[form.expires]
    expires = tokens.expiry(timedelta(days=days) if days else None)
    fields = audit_fields(request, current)
    name, scopes = form.name.strip(), form.scopes

    def create(tx: Tx) -> tuple[tokens.ApiToken, str]:
        token, plaintext = tokens.create(
            tx, name, scopes, created_by=fields["actor"], expires=expires
        )
        audit.record(
            tx,
            action="token.create",
            target_type="token",
            target_id=token.id,
            detail={"name": token.name, "scopes": list(token.scopes), "expires": expires},
            **fields,
        )
        return token, plaintext

    svc = services(request)
    try:
        token, plaintext = await svc.db.write(create)
    except tokens.TokenError as exc:
        return str(exc)
    svc.new_tokens.put(current.session.id_hash, token, plaintext)
    return None


@admin_page
async def api_tokens(request: Request, current: CurrentUser) -> Response:
    """GET lists tokens; POST generates one or revokes one, then redirects (a reload never
    repeats the POST). A new token is handed to the next GET of the same session, once."""
    svc = services(request)
    created = svc.new_tokens.take(current.session.id_hash) if request.method == "GET" else None
    error = None
    form = TokenForm()
    if request.method == "POST":
        posted = await request.form()
        check_csrf(request, current, posted.get("csrfToken"))
        if posted.get("action") == "revoke":
            return await _revoke(request, current, str(posted.get("id", ""))[:100])
        values = {k: str(posted.get(k, "")) for k in ("name", "expires")}
        form = _form(values, [str(s) for s in posted.getlist("scope")][:10])
        unknown = [str(s) for s in posted.getlist("scope") if str(s) not in tokens.SCOPES]
        if unknown:
            error = f"unknown scope {unknown[0][:40]!r}; choose from {', '.join(tokens.SCOPES)}"
        else:
            error = await _create(request, current, form)
        if error is None:
            return RedirectResponse("/admin/api-tokens", status_code=303)
    found, names = await svc.db.read(_listing)
    return render(
        request,
        "admin_tokens.html",
        current,
        tokens=found,
        names=names,
        last_used={t.id: svc.token_usage.last_used(t) for t in found},
        created=created,
        error=error,
        form=form,
        scopes=tokens.SCOPES,
        scope_help=SCOPE_HELP,
        lifetimes=LIFETIMES,
        scim_base_url=svc.config.scim_base_url,
        status_code=400 if error else 200,
    )
