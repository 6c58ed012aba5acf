"""The development identity provider for `webrix demo`: JumpCloud's part, on loopback only.

It speaks just enough OpenID Connect for the service's real sign-in code: discovery shaped like
JumpCloud's, the authorization-code flow with PKCE S256 and `client_secret_basic`, RS256 ID
tokens, userinfo and RP-initiated logout. Its sign-in page lists demo users instead of asking
for a password, so it refuses to run, or answer, anywhere but on loopback.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.datastructures import ImmutableMultiDict
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.routing import Route, Router

from app.demo import tokens
from app.demo.grants import Access, AuthRequest, Code, prune, user_claims
from app.demo.loopback import DemoProviderError, LoopbackOnly, check_loopback_issuer
from app.demo.users import DEFAULT_USERS, DemoUser

__all__ = ["DemoProviderError", "DemoUser", "create_demo_provider"]

REQUEST_TTL = 600  # seconds a sign-in page stays usable
CODE_TTL = 60
ACCESS_TOKEN_TTL = 3600
ID_TOKEN_TTL = 3600
_CLAIMS_SUPPORTED = (
    *("iss", "sub", "aud", "iat", "exp", "auth_time", "nonce", "at_hash", "groups"),
    *("email", "email_verified", "given_name", "family_name"),
)
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
_TEMPLATES = Path(__file__).parent / "templates"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _str_param(values: ImmutableMultiDict[str, Any], name: str) -> str | None:
    """A single string parameter; None when absent, repeated or not text."""
    found = values.getlist(name)
    if len(found) != 1 or not isinstance(found[0], str):
        return None
    return found[0]


class _DemoProvider:
    """The provider's state (one client, its users, pending codes and tokens) and endpoints."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        post_logout_redirect_uri: str,
        users: Sequence[DemoUser],
        clock: Callable[[], float],
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.post_logout_redirect_uri = post_logout_redirect_uri
        self.users = {user.sub: user for user in users}
        self.clock = clock
        self.key = tokens.generate_signing_key()
        self.requests: dict[str, AuthRequest] = {}
        self.codes: dict[str, Code] = {}
        self.redeemed: dict[str, Access] = {}  # used code -> what it bought, to revoke on replay
        self.access: dict[str, Access] = {}
        self.templates = Environment(
            loader=FileSystemLoader(_TEMPLATES), autoescape=True, undefined=StrictUndefined
        )
        self.routes = [
            Route("/.well-known/openid-configuration", self.discovery, name="discovery"),
            Route("/.well-known/jwks.json", self.jwks, name="jwks"),
            Route("/oauth2/auth", self.authorize, methods=["GET"], name="authorize"),
            Route("/oauth2/auth", self.choose_user, methods=["POST"], name="choose_user"),
            Route("/oauth2/token", self.token, methods=["POST"], name="token"),
            Route("/userinfo", self.userinfo, methods=["GET", "POST"], name="userinfo"),
            Route("/oauth2/sessions/logout", self.logout, methods=["GET", "POST"], name="logout"),
        ]
        router = Router(routes=self.routes)
        base = issuer.rstrip("/")
        self.urls = {
            name: base + router.url_path_for(name)
            for name in ("jwks", "authorize", "token", "userinfo", "logout")
        }

    # pages

    def _page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.templates.get_template(template).render(**context)
        csp = (
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
            f"form-action 'self' {_origin(self.redirect_uri)}; frame-ancestors 'none'"
        )
        headers = {
            **_NO_STORE,
            "Content-Security-Policy": csp,
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        }
        return HTMLResponse(html, status_code=status, headers=headers)

    def _problem(self, title: str, message: str, error: str = "") -> HTMLResponse:
        return self._page("message.html", 400, title=title, message=message, error=error)

    # discovery

    async def discovery(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.urls["authorize"],
                "token_endpoint": self.urls["token"],
                "userinfo_endpoint": self.urls["userinfo"],
                "jwks_uri": self.urls["jwks"],
                "end_session_endpoint": self.urls["logout"],
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": [tokens.ALGORITHM],
                "scopes_supported": ["openid", "email", "profile"],
                "claims_supported": list(_CLAIMS_SUPPORTED),
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
                "authorization_response_iss_parameter_supported": True,
            }
        )

    async def jwks(self, request: Request) -> JSONResponse:
        return JSONResponse(tokens.public_jwks(self.key))

    # authorization

    async def authorize(self, request: Request) -> HTMLResponse | RedirectResponse:
        params = request.query_params
        if _str_param(params, "client_id") != self.client_id:
            return self._problem("Unknown application", "client_id is not registered here.")
        # Never redirect to an unregistered URI: an error page instead (RFC 6749 §4.1.2.1).
        if _str_param(params, "redirect_uri") != self.redirect_uri:
            return self._problem(
                "Redirect URI mismatch", "redirect_uri does not match the registered one."
            )
        state = _str_param(params, "state")

        def refuse(error: str, description: str) -> RedirectResponse:
            reply = {"error": error, "error_description": description, "iss": self.issuer}
            if state:
                reply["state"] = state
            return RedirectResponse(_with_query(self.redirect_uri, reply), status_code=302)

        if _str_param(params, "response_type") != "code":
            return refuse("unsupported_response_type", "only response_type=code is supported")
        if state is None or len(state) < 8:
            return refuse("invalid_state", "state must be at least 8 characters")
        scopes = tuple(dict.fromkeys((_str_param(params, "scope") or "").split()))
        if "openid" not in scopes:
            return refuse("invalid_scope", "the openid scope is required")
        challenge = _str_param(params, "code_challenge") or ""
        if _str_param(params, "code_challenge_method") != "S256" or not _CHALLENGE.fullmatch(
            challenge
        ):
            return refuse("invalid_request", "PKCE with code_challenge_method=S256 is required")
        if _str_param(params, "prompt") == "none":
            return refuse("login_required", "the demo provider keeps no sign-in session")

        now = self.clock()
        prune(self.requests, now)
        request_id = secrets.token_urlsafe(24)
        self.requests[request_id] = AuthRequest(
            redirect_uri=self.redirect_uri,
            state=state,
            nonce=_str_param(params, "nonce"),
            scopes=scopes,
            code_challenge=challenge,
            expires_at=now + REQUEST_TTL,
        )
        return self._page(
            "signin.html",
            client_id=self.client_id,
            action=self.urls["authorize"],
            request_id=request_id,
            users=list(self.users.values()),
        )

    async def choose_user(self, request: Request) -> HTMLResponse | RedirectResponse:
        async with request.form() as form:
            request_id = _str_param(form, "request") or ""
            sub = _str_param(form, "user") or ""
        now = self.clock()
        pending = self.requests.pop(request_id, None)
        if pending is None or pending.expires_at <= now:
            return self._problem(
                "Sign-in expired", "This sign-in page has expired or was used. Start again."
            )
        user = self.users.get(sub)
        if user is None:
            return self._problem("Unknown user", "Pick one of the listed demo users.")
        prune(self.codes, now)
        code = tokens.new_opaque_token()
        self.codes[code] = Code(pending, user, int(now), now + CODE_TTL)
        reply = {"code": code, "state": pending.state, "iss": self.issuer}
        return RedirectResponse(_with_query(pending.redirect_uri, reply), status_code=303)

    # token

    def _token_error(self, error: str, description: str, status: int = 400) -> JSONResponse:
        headers = dict(_NO_STORE)
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="webrix-demo"'
        body = {"error": error, "error_description": description}
        return JSONResponse(body, status_code=status, headers=headers)

    def _client_authenticated(self, header: str | None) -> bool:
        credentials = tokens.parse_basic(header)
        if credentials is None:
            return False
        # Both comparisons run every time so the timing says nothing about which one failed.
        id_ok = tokens.same_secret(credentials[0], self.client_id)
        secret_ok = tokens.same_secret(credentials[1], self.client_secret)
        return id_ok and secret_ok

    async def token(self, request: Request) -> JSONResponse:
        if request.headers.get("content-type", "").split(";")[0].strip() != (
            "application/x-www-form-urlencoded"
        ):
            return self._token_error("invalid_request", "send the form url-encoded")
        async with request.form() as form:
            fields = {name: _str_param(form, name) for name in form}
        authorization = request.headers.get("authorization")
        if authorization is None:
            how = "client_secret_post is not accepted; " if "client_secret" in fields else ""
            return self._token_error("invalid_client", f"{how}use HTTP Basic", 401)
        if "client_secret" in fields:
            return self._token_error("invalid_request", "use one client authentication method")
        if not self._client_authenticated(authorization):
            return self._token_error("invalid_client", "client authentication failed", 401)
        if fields.get("client_id") not in (None, self.client_id):
            return self._token_error("invalid_request", "client_id does not match")
        if fields.get("grant_type") != "authorization_code":
            return self._token_error("unsupported_grant_type", "only authorization_code")

        now = self.clock()
        code = fields.get("code") or ""
        record = self.codes.pop(code, None)  # single use, even when the checks below fail
        if record is None:
            bought = self.redeemed.pop(code, None)
            if bought is not None:  # replay: revoke what the code bought (RFC 6749 §4.1.2)
                self.access = {k: v for k, v in self.access.items() if v is not bought}
            return self._token_error("invalid_grant", "unknown, used or expired code")
        if record.expires_at <= now:
            return self._token_error("invalid_grant", "the code has expired")
        if fields.get("redirect_uri") != record.request.redirect_uri:
            return self._token_error("invalid_grant", "redirect_uri does not match")
        verifier = fields.get("code_verifier") or ""
        if not tokens.pkce_matches(verifier, record.request.code_challenge):
            return self._token_error("invalid_grant", "PKCE verification failed")

        access_token = tokens.new_opaque_token()
        access = Access(record.user, record.request.scopes, now + ACCESS_TOKEN_TTL)
        prune(self.access, now)
        prune(self.redeemed, now)
        self.access[access_token] = access
        self.redeemed[code] = access
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": record.user.sub,
            "aud": self.client_id,
            "iat": int(now),
            "exp": int(now) + ID_TOKEN_TTL,
            "auth_time": record.auth_time,
            "at_hash": tokens.at_hash(access_token),
            **user_claims(record.user, record.request.scopes),
        }
        if record.request.nonce is not None:
            claims["nonce"] = record.request.nonce
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_TTL,
            "scope": " ".join(record.request.scopes),
            "id_token": tokens.sign_id_token(self.key, claims),
        }
        return JSONResponse(body, headers=_NO_STORE)

    # userinfo and logout

    async def userinfo(self, request: Request) -> JSONResponse:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        access = self.access.get(value.strip()) if scheme.lower() == "bearer" else None
        if access is None or access.expires_at <= self.clock():
            challenge = 'Bearer realm="webrix-demo", error="invalid_token"'
            headers = {**_NO_STORE, "WWW-Authenticate": challenge}
            return JSONResponse({"error": "invalid_token"}, status_code=401, headers=headers)
        body = {"sub": access.user.sub, **user_claims(access.user, access.scopes)}
        return JSONResponse(body, headers=_NO_STORE)

    async def logout(self, request: Request) -> HTMLResponse | RedirectResponse:
        if request.method == "POST":
            async with request.form() as form:
                params: ImmutableMultiDict[str, Any] = ImmutableMultiDict(form.multi_items())
        else:
            params = request.query_params
        hint = _str_param(params, "id_token_hint")
        if hint is not None:
            claims = tokens.read_id_token(self.key, hint)
            audience = claims.get("aud") if claims else None
            audiences = audience if isinstance(audience, list) else [audience]
            if (
                claims is None
                or claims.get("iss") != self.issuer
                or self.client_id not in audiences
            ):
                return self._problem("Sign-out refused", "id_token_hint is not valid here.")
        client_id = _str_param(params, "client_id")
        if client_id is not None and client_id != self.client_id:
            return self._problem("Sign-out refused", "client_id is not registered here.")
        target = _str_param(params, "post_logout_redirect_uri")
        if target is None:
            return self._page(
                "message.html", title="Signed out", message="You are signed out.", error=""
            )
        if target != self.post_logout_redirect_uri:
            return self._problem(
                "Sign-out refused", "post_logout_redirect_uri is not registered for this client."
            )
        state = _str_param(params, "state")
        reply = {"state": state} if state else {}
        return RedirectResponse(_with_query(target, reply), status_code=303)


def create_demo_provider(
    issuer: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    post_logout_redirect_uri: str,
    users: list[DemoUser] | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """Build the demo identity provider's ASGI app; refuses any issuer not on loopback."""
    check_loopback_issuer(issuer)
    if users is not None and not users:
        raise DemoProviderError("the demo identity provider needs at least one user")
    provider = _DemoProvider(
        issuer,
        client_id,
        client_secret,
        redirect_uri,
        post_logout_redirect_uri,
        DEFAULT_USERS if users is None else users,
        clock,
    )
    return Starlette(routes=provider.routes, middleware=[Middleware(LoopbackOnly)])
