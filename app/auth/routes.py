"""SP-initiated sign-in through the configured OpenID provider, sessions, sign-out, dashboard."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlencode, urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from app.auth import sessions as auth_sessions
from app.auth.admission import Where, admit, jit_user, legacy_links
from app.auth.client_auth import public_jwks
from app.auth.errors import OidcError, ProviderUnreachable, SignInRefused
from app.auth.oidc import SignInResult
from app.auth.test_signin import finish_test_sign_in
from app.auth.transaction import TRANSACTION_MAX_AGE, LoginTransaction
from app.config import Config
from app.db import Tx
from app.errors import Action, Forbidden, error_response
from app.logs import current_request_id
from app.services import Services, services
from app.store import audit
from app.store import sessions as session_store
from app.store.users import User
from app.throttle import client_key, retry_after

log = logging.getLogger("webrix.auth")
LOGIN_COOKIE = "webrix-login-"
MAX_PENDING_LOGINS = 5


def signin_path(config: Config) -> str:
    """Where sign-in starts: `/api/auth/signin/{provider}`."""
    return f"/api/auth/signin/{config.auth.provider}"


def safe_return_path(value: str | None) -> str:
    """A same-origin path to return to; anything else becomes `/`."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def _tx_signer(config: Config) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(config.server.secret_key, salt="webrix.login")


def _tx_cookie_base(state: str) -> str:
    return LOGIN_COOKIE + hashlib.sha256(state.encode()).hexdigest()[:16]


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _where(request: Request) -> Where:
    """The audit fields every event of this request shares."""
    return {"ip": _client_ip(request), "request_id": current_request_id()}


def _page(
    request: Request,
    status: int,
    title: str,
    message: str,
    retry: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    """The HTML error page: these routes are browser navigations, even under /api/."""
    retry_url = signin_path(services(request).config) if retry else None
    headers = {"Cache-Control": "no-store", **(headers or {})}
    return error_response(
        request, status, title, message, retry_url=retry_url, page=True, headers=headers
    )


async def signin(request: Request) -> Response:
    """Start a login transaction in its own cookie and send the browser to the provider."""
    return await start_sign_in(request, safe_return_path(request.query_params.get("callbackUrl")))


async def start_sign_in(
    request: Request, return_to: str, *, test_for: str | None = None
) -> Response:
    """The redirect to the provider, with the login transaction in its own cookie;
    `test_for` (the hash of an administrator's session) marks a test sign-in."""
    svc = services(request)
    tx = svc.oidc.new_transaction(return_to, test_for=test_for)
    # prompt=login (and only that) asks the provider for a fresh sign-in: "someone else".
    extra = {"prompt": "login"} if request.query_params.get("prompt") == "login" else None
    try:
        url = await svc.oidc.authorization_url(tx, extra_params=extra)
    except ProviderUnreachable as exc:
        log.warning("identity provider unreachable: %s", exc.message)
        return _page(
            request,
            503,
            "Identity provider unreachable",
            f"{svc.oidc.provider_name} could not be reached, so sign-in cannot start. "
            f"{exc.message}",
            retry=True,
        )
    except OidcError as exc:  # e.g. its discovery document names another issuer
        log.warning("identity provider's discovery refused: %s", exc.code)
        return _page(
            request,
            502,
            "Identity provider misconfigured",
            f"{svc.oidc.provider_name}'s configuration was refused, so sign-in cannot start. "
            f"{exc.message} Ask your administrator to check [{svc.config.auth.active.section}] "
            "issuer.",
            retry=True,
        )
    response = RedirectResponse(url, status_code=302 if test_for is None else 303)
    response.headers["Cache-Control"] = "no-store"
    config = svc.config
    # Every pending sign-in has its own cookie (two tabs never clobber each other);
    # only the newest few are kept so abandoned attempts cannot bloat the request headers.
    prefix = auth_sessions.cookie_name(config, LOGIN_COOKIE)
    ours = re.compile(re.escape(prefix) + "[0-9a-f]{16}")  # as _tx_cookie_base names them
    pending = sorted(
        # Only names this service made: another name (sent by anyone) is none of ours to
        # clear, and may not even be a name Set-Cookie can carry.
        (name for name in request.cookies if ours.fullmatch(name)),
        key=lambda name: _started_at(_decode_transaction(request.cookies[name], config)),
    )
    for name in pending[: max(0, len(pending) - (MAX_PENDING_LOGINS - 1))]:
        auth_sessions.clear_cookie(response, config, name.removeprefix("__Host-"))
    value = _tx_signer(config).dumps(tx.as_dict())
    auth_sessions.set_cookie(
        response, config, _tx_cookie_base(tx.state), value, TRANSACTION_MAX_AGE
    )
    return response


def _started_at(tx: LoginTransaction | None) -> float:
    """When a pending sign-in began; 0 (pruned first) if its cookie is unreadable or stale."""
    return tx.created_at if tx is not None else 0.0


def _decode_transaction(raw: str | None, config: Config) -> LoginTransaction | None:
    """The login transaction in a cookie value, if it is ours, intact and not expired."""
    if not raw or len(raw) > 4000:
        return None
    try:
        data = _tx_signer(config).loads(raw, max_age=TRANSACTION_MAX_AGE)
        return LoginTransaction.from_dict(data) if isinstance(data, dict) else None
    except (BadSignature, SignatureExpired, ValueError):
        return None


def _load_transaction(request: Request, config: Config, state: str) -> LoginTransaction | None:
    raw = request.cookies.get(auth_sessions.cookie_name(config, _tx_cookie_base(state)))
    return _decode_transaction(raw, config)


async def callback(request: Request) -> Response:
    """The Redirect URI: check the response, redeem the code, admit the user, open a session."""
    svc = services(request)
    params = {k: v for k, v in request.query_params.items() if len(v) <= 8192}
    state = params.get("state", "")
    tx = _load_transaction(request, svc.config, state) if 8 <= len(state) <= 512 else None
    if tx is None or not svc.used_states.claim(tx.state):
        # Anyone can send these without signing in: counted in the log, never one audit row
        # each (they would push real events off the console), and slowed per address.
        svc.unknown_states.count()
        client = client_key(_client_ip(request) or "-")
        if wait := svc.bad_callbacks.fail(client):
            return _page(
                request,
                429,
                "Too many sign-in attempts",
                "Too many sign-in responses that match no sign-in came from this address. "
                f"Wait {retry_after(wait)} seconds, then start again from the dashboard.",
                headers={"Retry-After": str(retry_after(wait))},
            )
        response = _page(
            request,
            400,
            "Sign-in link expired or already used",
            "This sign-in response does not match a sign-in started in this browser, or it was "
            "already used. Start again from the dashboard.",
            retry=True,
        )
        if tx is not None or state:
            auth_sessions.clear_cookie(response, svc.config, _tx_cookie_base(state))
        return response
    if tx.test_for is not None:  # an administrator's test sign-in: shows, changes nothing
        response = await finish_test_sign_in(request, svc, params, tx)
        auth_sessions.clear_cookie(response, svc.config, _tx_cookie_base(tx.state))
        return response
    try:
        result = await svc.oidc.handle_callback(params, tx)
        user = await _admit(request, svc, result)
    except OidcError as exc:  # SignInRefused too
        response = await _refusal(request, svc, exc)
        auth_sessions.clear_cookie(response, svc.config, _tx_cookie_base(tx.state))
        return response
    config = svc.config
    where = _where(request)

    previous = auth_sessions.session_id_from(request, config)

    def open_session(tx: Tx) -> str:
        if previous:  # a sign-in over an open session replaces it rather than leaving it valid
            session_store.delete(tx, previous)
        session_store.purge_expired(tx)  # indexed; keeps the table to live sessions
        session_id = session_store.create(
            tx,
            user.id,
            lifetime=timedelta(minutes=config.session.lifetime_minutes),
            id_token=result.id_token,
            groups=tuple(result.groups),
            ip=where["ip"],
            user_agent=user_agent,
        )
        audit.record(
            tx,
            action="auth.signin",
            actor=f"user:{user.id}",
            target_type="user",
            target_id=user.id,
            # Entra's groups overage: the sign-in carried no groups; SCIM membership stands.
            detail={"email": user.email, **({"groups_overage": True} if overage else {})},
            **where,
        )
        return session_id

    user_agent = request.headers.get("user-agent")
    overage = result.groups_overage
    if overage:
        log.info("sign-in without groups: the groups claim was left out (overage); SCIM decides")
    session_id = await svc.db.write(open_session)
    response = RedirectResponse(safe_return_path(tx.return_to), status_code=303)
    response.headers["Cache-Control"] = "no-store"
    auth_sessions.clear_cookie(response, config, _tx_cookie_base(tx.state))
    auth_sessions.set_session_cookie(response, config, session_id)
    return response


async def _refusal(request: Request, svc: Services, exc: OidcError) -> Response:
    if isinstance(exc, ProviderUnreachable):
        status, title = 503, "Identity provider unreachable"
        message = (
            f"{svc.oidc.provider_name} could not be reached to finish the sign-in. {exc.message}"
        )
    elif isinstance(exc, SignInRefused):
        status, title, message = exc.status, exc.title, exc.message
    else:
        status, title, message = 400, "Sign-in failed", exc.message
    log.warning("sign-in refused: %s", exc.code)
    refused = exc.user_id if isinstance(exc, SignInRefused) else None
    await svc.db.write(
        audit.record,
        action="auth.signin.refused",
        actor="anonymous",
        target_type="user" if refused else None,
        target_id=refused,  # the account refused, when known: in its history and filters
        detail={"reason": exc.code},
        **_where(request),
    )
    if status == 403:
        return await _refused_page(request, svc, title, message)
    return _page(request, status, title, message, retry=True)


async def _refused_page(request: Request, svc: Services, title: str, message: str) -> Response:
    """A refusal about the person (deactivated, not provisioned): the provider still has them
    signed in, so "the dashboard" or "try again" would come straight back here. Offer to sign
    out at the provider, or to sign in there as someone else."""
    config = svc.config
    logout = await _sign_out_url(svc, None)
    actions = [
        Action("Sign in as someone else", f"{signin_path(config)}?prompt=login", "switch-user"),
        Action("Sign out", logout, "signout-provider", kind="secondary"),
    ]
    headers = {"Cache-Control": "no-store"}
    return error_response(request, 403, title, message, page=True, headers=headers, actions=actions)


async def _sign_out_url(svc: Services, id_token: str | None) -> str:
    """Where signing out goes once the session here has ended: the provider's RP-initiated
    logout; without one (Google), /signed-out saying the provider's session stays."""
    signed_out = f"{svc.config.public_url}/signed-out"
    try:
        end = await svc.oidc.end_session_url(
            id_token, svc.config.auth.active.post_logout_redirect_uri or None
        )
    except OidcError as exc:
        log.warning("no RP-initiated logout, provider unavailable: %s", exc.code)
        return signed_out
    return end or f"{signed_out}?provider=kept"


async def _admit(request: Request, svc: Services, result: SignInResult) -> User:
    """Find (or create just in time) the user for a verified sign-in; SignInRefused if not."""
    config = svc.config
    jit = jit_user(result) if config.access.jit_provisioning and result.email else None
    return await svc.db.write(
        partial(admit, legacy=legacy_links(config)),
        result,
        config.access.jit_provisioning,
        jit,
        _where(request),
    )


async def session_info(request: Request) -> Response:
    """Auth.js-style JSON of the current session; `{}` when signed out."""
    current = await auth_sessions.current_user(request)
    body: dict[str, Any] = {}
    if current is not None:
        u = current.user
        body = {
            "user": {"id": u.id, "name": u.name, "email": u.email, "image": None},
            "groups": list(current.groups),
            "admin": current.admin,
            "expires": current.session.expires,
        }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def csrf(request: Request) -> Response:
    current = await auth_sessions.current_user(request)
    token = current.session.csrf_token if current else None
    return JSONResponse({"csrfToken": token}, headers={"Cache-Control": "no-store"})


async def signout(request: Request) -> Response:
    """End the session here, then at the provider when it offers RP-initiated logout."""
    svc = services(request)
    config = svc.config
    current = await auth_sessions.current_user(request)
    signed_out = f"{config.public_url}/signed-out"
    if current is None:
        response: Response = RedirectResponse(signed_out, status_code=303)
        auth_sessions.clear_session_cookie(response, config)
        return response
    form = await request.form()
    try:
        auth_sessions.check_csrf(request, current, form.get("csrfToken"))
    except Forbidden as exc:
        return _page(request, 403, exc.title, exc.message)
    session_id = auth_sessions.session_id_from(request, config) or ""
    where = _where(request)

    def end_session(tx: Tx) -> None:
        session_store.delete(tx, session_id)
        audit.record(
            tx,
            action="auth.signout",
            actor=f"user:{current.user.id}",
            target_type="user",
            target_id=current.user.id,
            **where,
        )

    await svc.db.write(end_session)
    response = RedirectResponse(await _sign_out_url(svc, current.session.id_token), 303)
    auth_sessions.clear_session_cookie(response, config)
    response.headers["Cache-Control"] = "no-store"
    return response


async def dashboard(request: Request) -> Response:
    """The dashboard; a visitor without a session is sent into sign-in (SP-initiated SSO)."""
    current = await auth_sessions.current_user(request)
    if current is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(
            f"{signin_path(services(request).config)}?{urlencode({'callbackUrl': path})}",
            status_code=302,
        )
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "current": current,
            "claim_groups": current.session.groups,
            "csrf_token": current.session.csrf_token,
        },
        headers={"Cache-Control": "no-store"},
    )
    return response


async def signed_out(request: Request) -> Response:
    templates = request.app.state.templates
    context = {
        "signin_path": signin_path(services(request).config),
        "provider_kept": request.query_params.get("provider") == "kept",
    }
    response: Response = templates.TemplateResponse(request, "signed_out.html", context)
    return response


async def jwks(request: Request) -> Response:
    """The public half of the service's private_key_jwt key, for the provider to fetch."""
    svc = services(request)
    if not svc.config.auth.active.uses_client_key:
        return JSONResponse({"error": "not_found"}, status_code=404)
    return JSONResponse(public_jwks(svc.client_key), headers={"Cache-Control": "max-age=300"})


def routes(config: Config) -> list[Route]:
    provider = config.auth.provider
    return [
        Route("/", dashboard, name="dashboard"),
        Route("/signed-out", signed_out, name="signed_out"),
        Route(signin_path(config), signin, name="signin"),
        Route(f"/api/auth/callback/{provider}", callback, name="callback"),
        Route("/api/auth/jwks", jwks, name="jwks"),
        Route("/api/auth/session", session_info, name="session"),
        Route("/api/auth/csrf", csrf, name="csrf"),
        Route("/api/auth/signout", signout, methods=["POST"], name="signout"),
    ]
