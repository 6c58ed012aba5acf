"""What the demo identity provider remembers between requests, and the claims it releases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from app.demo.users import DemoUser

MAX_PENDING = 1000  # per table; past it the oldest entries go first
SCOPE_CLAIMS: Mapping[str, tuple[str, ...]] = {
    "email": ("email", "email_verified"),
    "profile": ("given_name", "family_name"),
}


class _Expiring(Protocol):
    @property
    def expires_at(self) -> float: ...


_E = TypeVar("_E", bound=_Expiring)


@dataclass(frozen=True)
class AuthRequest:
    """A validated authorization request waiting for the user to be picked."""

    redirect_uri: str
    state: str
    nonce: str | None
    scopes: tuple[str, ...]
    code_challenge: str
    expires_at: float


@dataclass(frozen=True)
class Code:
    """An issued authorization code: single use, bound to its request and user."""

    request: AuthRequest
    user: DemoUser
    auth_time: int
    expires_at: float


@dataclass(frozen=True)
class Access:
    """What an access token grants at userinfo."""

    user: DemoUser
    scopes: tuple[str, ...]
    expires_at: float


def prune(table: dict[str, _E], now: float) -> None:
    """Drop expired entries, then the oldest ones past MAX_PENDING, to make room for one more."""
    for key in [k for k, v in table.items() if v.expires_at <= now]:
        del table[key]
    while len(table) >= MAX_PENDING:
        del table[next(iter(table))]


def user_claims(user: DemoUser, scopes: Sequence[str]) -> dict[str, Any]:
    """The user's claims released for `scopes`; groups always, like JumpCloud's groups claim."""
    values: dict[str, Any] = {
        "email": user.email,
        "email_verified": True,
        "given_name": user.given_name,
        "family_name": user.family_name,
    }
    claims: dict[str, Any] = {"groups": list(user.groups)}
    for scope in scopes:
        for name in SCOPE_CLAIMS.get(scope, ()):
            claims[name] = values[name]
    return claims
