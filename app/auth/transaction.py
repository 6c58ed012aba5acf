"""A login transaction: the single-use state, nonce and PKCE verifier of one sign-in attempt.

The sign-in route keeps it in its own signed, short-lived cookie; the callback checks the
provider's answer against it and then deletes it. A test sign-in (started by an administrator
from /admin/settings) is marked inside the signed transaction with `test_for`, the hash of
the administrator's session: its callback shows what the provider sent and changes nothing,
and a transaction without the mark can never be taken for one.
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
    test_for: str | None = None  # a test sign-in: the hash of the starting admin's session

    @classmethod
    def new(
        cls, return_to: str, *, created_at: float, test_for: str | None = None
    ) -> LoginTransaction:
        """Fresh state, nonce and PKCE verifier for one sign-in attempt."""
        return cls(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(48),  # 64 unreserved chars (RFC 7636)
            return_to=return_to,
            created_at=created_at,
            test_for=test_for,
        )

    def as_dict(self) -> dict[str, str | float]:
        """Plain JSON-able form, for a signed cookie."""
        data: dict[str, str | float] = {
            "state": self.state,
            "nonce": self.nonce,
            "code_verifier": self.code_verifier,
            "return_to": self.return_to,
            "created_at": self.created_at,
        }
        if self.test_for is not None:
            data["test_for"] = self.test_for
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> LoginTransaction:
        """Rebuild a transaction from `as_dict()` output; ValueError if malformed."""
        values = [data.get(name) for name in ("state", "nonce", "code_verifier", "return_to")]
        created_at = data.get("created_at")
        if not all(isinstance(v, str) for v in values):
            raise ValueError("malformed login transaction")
        if isinstance(created_at, bool) or not isinstance(created_at, int | float):
            raise ValueError("malformed login transaction")
        test_for = data.get("test_for")
        if test_for is not None and (not isinstance(test_for, str) or not test_for):
            raise ValueError("malformed login transaction")
        state, nonce, verifier, return_to = (str(v) for v in values)
        return cls(state, nonce, verifier, return_to, float(created_at), test_for)
