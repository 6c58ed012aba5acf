"""A fake JumpCloud-like OpenID provider for tests, served through `httpx.MockTransport`.

    clock = FakeClock()
    provider = FakeProvider(clock=clock)            # issuer https://oauth.id.jumpcloud.com/
    http = httpx.AsyncClient(transport=provider.transport)
    client = OidcClient(issuer=provider.issuer, client_id=provider.client_id,
                        client_secret=provider.client_secret, redirect_uri=REDIRECT_URI,
                        http=http, clock=clock)
    tx = client.new_transaction("/")
    params = provider.authorize(await client.authorization_url(tx))   # the user signs in
    result = await client.handle_callback(params, tx)

Knobs (plain attributes; change them at any time):
    user                     claims of the user who signs in (sub, email, names, groups...)
    claims_override          merged into issued ID tokens' claims; DROP removes a claim
    header_override          merged into issued ID tokens' JWS header; DROP removes
    signer                   None, or a Signer(header, claims) -> token replacing normal signing
    userinfo_override        merged into userinfo answers; DROP removes
    discovery_override       merged into the discovery document; DROP removes
    token_response_override  merged into the token endpoint's JSON answer; DROP removes
    token_error              (status, json body) the token endpoint answers instead of tokens
    email_in_id_token        False keeps email claims out of ID tokens (forces userinfo)
    iss_parameter_supported  advertise RFC 9207 and add `iss` to callbacks
    redirect_uris            None accepts any redirect_uri, else the registered set
    publish_kid              False: neither the JWKS nor the tokens carry a `kid`
    down                     True: every request fails with httpx.ConnectError
    latency                  seconds each answer is delayed (lets concurrent callers pile up)
Records:
    requests                 every httpx.Request received, in order; count(path) per endpoint
                             (a GET of the authorization endpoint, as Test connection sends,
                             is answered as JumpCloud does: a redirect to its sign-in page or,
                             for a refused request, to its error page)
    authorizations           query parameters of every authorize() call
    token_requests           form bodies of every token request
Keys:
    key                      current RSA signing key; rotate_key() replaces it in the JWKS
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

import anyio
import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

__all__ = [
    "DROP",
    "JUMPCLOUD_ISSUER",
    "FakeClock",
    "FakeProvider",
    "Signer",
    "b64url",
    "hs256_signer",
    "unsigned_signer",
]

JUMPCLOUD_ISSUER = "https://oauth.id.jumpcloud.com/"

#: Marker value in the *_override dicts: remove this member.
DROP: Any = object()

Signer = Callable[[dict[str, Any], dict[str, Any]], str]


class FakeClock:
    """A settable clock to share between the client and the provider."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(value: Mapping[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def unsigned_signer(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """An `alg: none` token (empty signature)."""
    header = {**header, "alg": "none"}
    return f"{_segment(header)}.{_segment(claims)}."


def hs256_signer(secret: bytes) -> Signer:
    """Tokens HMAC-signed with `secret` (e.g. the provider's public key PEM)."""

    def sign(header: dict[str, Any], claims: dict[str, Any]) -> str:
        signing_input = f"{_segment({**header, 'alg': 'HS256'})}.{_segment(claims)}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(mac)}"

    return sign


def _apply(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**base, **override}
    return {k: v for k, v in merged.items() if v is not DROP}


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    user: dict[str, Any]


class FakeProvider:
    """An in-memory OpenID provider imitating JumpCloud (see the module docstring)."""

    def __init__(
        self,
        *,
        issuer: str = JUMPCLOUD_ISSUER,
        client_id: str = "webrix-test-client",
        client_secret: str = "test-secret",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock = clock
        base = urlsplit(issuer.rstrip("/"))
        self._origin = f"{base.scheme}://{base.netloc}"
        self._prefix = base.path

        self.user: dict[str, Any] = {
            "sub": "5f1e0c2a9b8d7e6f5a4b3c2d",
            "email": "ada@example.com",
            "email_verified": True,
            "given_name": "Ada",
            "family_name": "Lovelace",
        }
        self.claims_override: dict[str, Any] = {}
        self.header_override: dict[str, Any] = {}
        self.signer: Signer | None = None
        self.userinfo_override: dict[str, Any] = {}
        self.discovery_override: dict[str, Any] = {}
        self.token_response_override: dict[str, Any] = {}
        self.token_error: tuple[int, dict[str, Any]] | None = None
        self.email_in_id_token = True
        self.iss_parameter_supported = False
        self.redirect_uris: set[str] | None = None
        self.publish_kid = True
        self.down = False
        self.latency = 0.0

        self.requests: list[httpx.Request] = []
        self.authorizations: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []

        self._kid_counter = 0
        self.key = self._new_key()
        self._published: list[RSAKey] = [self.key]
        self._grants: dict[str, _Grant] = {}
        self._access_tokens: dict[str, dict[str, Any]] = {}
        self.transport = httpx.MockTransport(self._handle)

    # -- endpoints and documents --------------------------------------------------------

    def url(self, path: str) -> str:
        """Absolute URL of one of the provider's paths, e.g. url("/oauth2/token")."""
        return f"{self._origin}{self._prefix}{path}"

    def discovery(self) -> dict[str, Any]:
        """The discovery document, shaped like JumpCloud's (Ory Hydra) one."""
        doc: dict[str, Any] = {
            "issuer": self.issuer,
            "authorization_endpoint": self.url("/oauth2/auth"),
            "token_endpoint": self.url("/oauth2/token"),
            "userinfo_endpoint": self.url("/userinfo"),
            "jwks_uri": self.url("/.well-known/jwks.json"),
            "end_session_endpoint": self.url("/oauth2/sessions/logout"),
            "response_types_supported": ["code", "code id_token", "id_token", "token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "client_secret_basic",
                "private_key_jwt",
                "none",
            ],
            "code_challenge_methods_supported": ["plain", "S256"],
            "scopes_supported": ["offline_access", "offline", "openid", "email", "profile"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "response_modes_supported": ["query", "fragment"],
            "frontchannel_logout_supported": True,
            "backchannel_logout_supported": True,
        }
        if self.iss_parameter_supported:
            doc["authorization_response_iss_parameter_supported"] = True
        return _apply(doc, self.discovery_override)

    def jwks(self) -> dict[str, Any]:
        """The published public keys."""
        keys = []
        for key in self._published:
            jwk = dict(key.as_dict(private=False))
            jwk.pop("kid", None)
            jwk.update({"use": "sig", "alg": "RS256"})
            if self.publish_kid:
                jwk["kid"] = str(key.kid)
            keys.append(jwk)
        return {"keys": keys}

    def _new_key(self) -> RSAKey:
        self._kid_counter += 1
        return RSAKey.generate_key(2048, parameters={"kid": f"fake-key-{self._kid_counter}"})

    def rotate_key(self, *, keep_old: bool = False) -> RSAKey:
        """Sign with a new key (new kid) from now on; the old key leaves the JWKS."""
        self.key = self._new_key()
        self._published = [*self._published, self.key] if keep_old else [self.key]
        return self.key

    def count(self, path: str) -> int:
        """How many requests reached `path` (e.g. "/oauth2/token")."""
        return sum(1 for r in self.requests if r.url.path == self._prefix + path)

    # -- tokens -------------------------------------------------------------------------

    def sign(
        self, header: dict[str, Any], claims: dict[str, Any], key: RSAKey | None = None
    ) -> str:
        """RS256-sign with `key` (default: the current key)."""
        return jwt.encode(header, claims, key or self.key, algorithms=["RS256"])

    def id_token(
        self, *, nonce: str | None, access_token: str | None, user: Mapping[str, Any] | None = None
    ) -> str:
        """An ID token as the token endpoint would issue it, overrides applied."""
        now = int(self.clock())
        user = dict(self.user if user is None else user)
        profile = {k: v for k, v in user.items() if k != "sub"}
        if not self.email_in_id_token:
            profile.pop("email", None)
            profile.pop("email_verified", None)
        claims: dict[str, Any] = {
            **profile,
            "iss": self.issuer,
            "sub": user["sub"],
            "aud": self.client_id,
            "exp": now + 600,
            "iat": now,
            "auth_time": now,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            digest = hashlib.sha256(access_token.encode()).digest()
            claims["at_hash"] = b64url(digest[:16])
        claims = _apply(claims, self.claims_override)
        header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
        if self.publish_kid:
            header["kid"] = str(self.key.kid)
        header = _apply(header, self.header_override)
        if self.signer is not None:
            return self.signer(header, claims)
        return self.sign(header, claims)

    # -- the user's side --------------------------------------------------------------

    def authorize(
        self,
        url: str,
        *,
        user: Mapping[str, Any] | None = None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> dict[str, str]:
        """Simulate the browser visiting `url` and the user signing in.

        Returns the query parameters JumpCloud would put on the redirect back: `code` and
        `state` (plus `iss` when advertised), or `error`/`error_description` and `state`.
        """
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.authorizations.append(query)
        state = query.get("state", "")
        callback: dict[str, str] = {}
        if self.iss_parameter_supported:
            callback["iss"] = self.issuer
        problem = self._authorize_problem(parts.path, query)
        if problem is not None:
            error, error_description = problem
        if error is not None:
            callback.update({"error": error, "state": state})
            if error_description is not None:
                callback["error_description"] = error_description
            return callback
        code = secrets.token_urlsafe(24)
        self._grants[code] = _Grant(
            client_id=query["client_id"],
            redirect_uri=query["redirect_uri"],
            code_challenge=query["code_challenge"],
            nonce=query.get("nonce"),
            user=dict(self.user if user is None else user),
        )
        callback.update({"code": code, "state": state})
        return callback

    def _authorize_problem(self, path: str, query: Mapping[str, str]) -> tuple[str, str] | None:
        if path != self._prefix + "/oauth2/auth":
            return "invalid_request", f"unexpected authorization path {path}"
        if query.get("client_id") != self.client_id:
            return "invalid_client", "unknown client"
        if query.get("response_type") != "code":
            return "unsupported_response_type", "only code"
        redirect_uri = query.get("redirect_uri")
        if redirect_uri is None or (
            self.redirect_uris is not None and redirect_uri not in self.redirect_uris
        ):
            return "invalid_request", "redirect_uri not registered"
        if "openid" not in query.get("scope", "").split(" "):
            return "invalid_scope", "openid scope missing"
        if len(query.get("state", "")) < 8:
            return "invalid_state", "The state is missing or does not have enough characters"
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return "invalid_request", "PKCE S256 required"
        return None

    # -- HTTP ---------------------------------------------------------------------------

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.latency:
            await anyio.sleep(self.latency)
        if self.down:
            raise httpx.ConnectError("fake provider is down", request=request)
        path = request.url.path.removeprefix(self._prefix)
        route = (request.method, path)
        if route == ("GET", "/.well-known/openid-configuration"):
            return httpx.Response(200, json=self.discovery())
        if route == ("GET", "/.well-known/jwks.json"):
            return httpx.Response(200, json=self.jwks())
        if route == ("GET", "/oauth2/auth"):
            return self._authorize_page(request)
        if route == ("POST", "/oauth2/token"):
            return self._token(request)
        if route == ("GET", "/userinfo"):
            return self._userinfo(request)
        if route == ("GET", "/oauth2/sessions/logout"):
            target = request.url.params.get("post_logout_redirect_uri", "/")
            return httpx.Response(302, headers={"Location": target})
        return httpx.Response(404, json={"error": "not_found"})

    def _authorize_page(self, request: httpx.Request) -> httpx.Response:
        """A browser's visit to the authorization endpoint, as Ory Hydra (JumpCloud) answers it:
        on to the sign-in page, or to the error page when the request itself is refused."""
        problem = self._authorize_problem(request.url.path, dict(request.url.params))
        if problem is None:
            return httpx.Response(302, headers={"Location": self.url("/login?login_challenge=x")})
        error, description = problem
        query = urlencode({"error": error, "error_description": description})
        return httpx.Response(
            302, headers={"Location": f"{self.url('/oauth2/fallbacks/error')}?{query}"}
        )

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
        self.token_requests.append(form)
        if self.token_error is not None:
            status, body = self.token_error
            return httpx.Response(status, json=body)
        if "client_secret" in form:
            return _oauth_error(400, "invalid_request", "client_secret must not be in the body")
        if not self._basic_ok(request.headers.get("Authorization", "")):
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        if form.get("grant_type") != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type", "")
        grant = self._grants.pop(form.get("code", ""), None)
        if grant is None or grant.client_id != self.client_id:
            return _oauth_error(400, "invalid_grant", "The authorization code is invalid")
        if form.get("redirect_uri") != grant.redirect_uri:
            return _oauth_error(400, "invalid_grant", "redirect_uri mismatch")
        verifier = form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128:
            return _oauth_error(400, "invalid_grant", "code_verifier length")
        if b64url(hashlib.sha256(verifier.encode()).digest()) != grant.code_challenge:
            return _oauth_error(400, "invalid_grant", "PKCE verification failed")
        access_token = secrets.token_urlsafe(32)  # opaque, like JumpCloud's
        self._access_tokens[access_token] = grant.user
        body = {
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": 3600,
            "scope": "openid email profile",
            "id_token": self.id_token(
                nonce=grant.nonce, access_token=access_token, user=grant.user
            ),
        }
        return httpx.Response(200, json=_apply(body, self.token_response_override))

    def _basic_ok(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except ValueError:
            return False
        client_id, sep, secret = decoded.partition(":")
        return (
            sep == ":"
            and unquote_plus(client_id) == self.client_id
            and unquote_plus(secret) == self.client_secret
        )

    def _userinfo(self, request: httpx.Request) -> httpx.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        user = self._access_tokens.get(token) if scheme.lower() == "bearer" else None
        if user is None:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return httpx.Response(200, json=_apply(dict(user), self.userinfo_override))


def _oauth_error(status: int, error: str, description: str) -> httpx.Response:
    return httpx.Response(status, json={"error": error, "error_description": description})
