"""Errors raised while signing someone in with OpenID Connect.

    OidcError               code + message; the sign-in failed (show a 400-style page)
    ├── ProviderUnreachable the provider could not be reached or answered garbage (show a 503)
    └── SignInRefused       the person may not sign in here (a 403 page with its title that
                            offers another account): deactivated, not provisioned, another
                            organisation's tenant or Workspace domain

`message` is written for the administrator reading the error page: it never contains
secrets or tokens, and provider-supplied text in it is sanitised and truncated. It is
plain text; templates must still escape it.
"""

from __future__ import annotations

import re

__all__ = [
    "OidcError",
    "ProviderUnreachable",
    "SignInRefused",
    "authorization_error",
    "clip",
    "token_error",
]


class OidcError(Exception):
    """A sign-in failure with a machine `code` and a human `message` safe to display."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class ProviderUnreachable(OidcError):
    """The provider is down, timed out, or answered with something unusable."""

    def __init__(self, message: str) -> None:
        super().__init__("provider_unreachable", message)


class SignInRefused(OidcError):
    """Sign-in is refused for a reason about the user (deactivated, not provisioned, not of
    an allowed organisation), with the title of its page."""

    def __init__(
        self, code: str, title: str, message: str, status: int = 403, user_id: str | None = None
    ) -> None:
        super().__init__(code, message)
        self.title, self.status = title, status
        self.user_id = user_id  # the account refused, when there is one (the audit's target)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def clip(value: object, limit: int = 200) -> str:
    """Make provider-controlled text printable, single-line and at most `limit` chars."""
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _error_code(value: object) -> str:
    text = str(value)
    return text if _ERROR_CODE.fullmatch(text) else "unknown_error"


_AUTHORIZATION_HINTS = {
    "access_denied": (
        "{provider} refused the sign-in: the user may not be assigned to this application "
        "(User Groups tab)"
    ),
    "invalid_state": "{provider} rejected the sign-in request's state parameter",
    "invalid_request": (
        "{provider} rejected the sign-in request: check the application's redirect URI "
        "and client id in {provider}"
    ),
    "unauthorized_client": (
        "{provider} does not allow this application to use the authorization code flow: "
        "check its grant types in {provider}"
    ),
    "invalid_client": "{provider} does not know this client id: check the configuration",
    "invalid_scope": "{provider} refused the requested scopes (openid email profile)",
    "unsupported_response_type": "{provider} does not accept response_type=code here",
    "login_required": "{provider} requires the user to sign in again",
    "interaction_required": "{provider} requires the user to interact with the sign-in page",
    "consent_required": "{provider} requires the user's consent for this application",
    "server_error": "{provider} had an internal error during sign-in; try again later",
    "temporarily_unavailable": "{provider} is temporarily unavailable; try again later",
}


def authorization_error(error: str, description: str | None, provider: str) -> OidcError:
    """Build the `provider_error` for an `error=` parameter on the callback."""
    code = _error_code(error)
    hint = _AUTHORIZATION_HINTS.get(code, "{provider} reported an error during sign-in")
    message = hint.format(provider=provider) + f" (error: {code}"
    if description:
        message += f"; {provider} says: {clip(description)}"
    return OidcError("provider_error", message + ").")


_TOKEN_HINTS = {
    "invalid_client": "check the client id and client secret",
    "unauthorized_client": "check that the application allows the authorization code grant",
    "invalid_grant": (
        "the code expired or was already used, or the redirect URI or PKCE verifier did not match"
    ),
    "invalid_request": "the request was malformed",
}


def token_error(status: int, body: object, provider: str, secret: str) -> OidcError:
    """Build the `token_request_failed` error for a refused code exchange."""
    message = f"{provider} refused to exchange the authorization code (HTTP {status}"
    if isinstance(body, dict) and "error" in body:
        code = _error_code(body["error"])
        if secret and secret in code:
            code = "unknown_error"
        message += f", error: {code}"
        if code in _TOKEN_HINTS:
            message += f": {_TOKEN_HINTS[code]}"
        description = body.get("error_description")
        if description:
            text = str(description)
            if secret:
                text = text.replace(secret, "[redacted]")
            message += f"; {provider} says: {clip(text)}"
    return OidcError("token_request_failed", message + ").")
