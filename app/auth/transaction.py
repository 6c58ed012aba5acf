"""A login transaction: the single-use state, nonce and PKCE verifier of one sign-in attempt.

The sign-in route keeps it in its own signed, short-lived cookie; the callback checks the
provider's answer against it and then deletes it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["TRANSACTION_MAX_AGE", "LoginTransaction"]

#: Seconds a login transaction stays valid (also the right max-age for its cookie).
TRANSACTION_MAX_AGE = 600


@dataclass(frozen=True)
class LoginTransaction:
    """One sign-in attempt: what the callback must match, and where to go afterwards."""

    state: str
    nonce: str
    code_verifier: str
    return_to: str
    created_at: float

    @classmethod
    def new(cls, return_to: str, *, created_at: float) -> LoginTransaction:
        """Fresh state, nonce and PKCE verifier for one sign-in attempt."""
        return cls(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(48),  # 64 unreserved chars (RFC 7636)
            return_to=return_to,
            created_at=created_at,
        )

    def as_dict(self) -> dict[str, str | float]:
        """Plain JSON-able form, for a signed cookie."""
        return {
            "state": self.state,
            "nonce": self.nonce,
            "code_verifier": self.code_verifier,
            "return_to": self.return_to,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> LoginTransaction:
        """Rebuild a transaction from `as_dict()` output; ValueError if malformed."""
        values = [data.get(name) for name in ("state", "nonce", "code_verifier", "return_to")]
        created_at = data.get("created_at")
        if not all(isinstance(v, str) for v in values):
            raise ValueError("malformed login transaction")
        if isinstance(created_at, bool) or not isinstance(created_at, int | float):
            raise ValueError("malformed login transaction")
        state, nonce, verifier, return_to = (str(v) for v in values)
        return cls(state, nonce, verifier, return_to, float(created_at))
