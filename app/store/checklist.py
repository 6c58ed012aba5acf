"""What the setup checklist on /admin reads besides the counts: the facts, the first sign-in,
how many users came by SCIM, and the people named by those facts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.db import Tx
from app.store import facts
from app.store.audit_search import names_of


@dataclass(frozen=True)
class SignIn:
    at: str
    actor: str
    email: str | None


@dataclass(frozen=True)
class SetupState:
    facts: dict[str, facts.Fact]
    first_signin: SignIn | None
    scim_users: int
    people: dict[str, str]  # "user:<id>" -> email, for the actors the facts name


def first_signin(tx: Tx) -> SignIn | None:
    """The oldest sign-in the audit log still holds (by the index on action)."""
    row = tx.fetch_one(
        "SELECT at, actor, detail FROM audit_events WHERE action = 'auth.signin'"
        " ORDER BY id LIMIT 1"
    )
    if row is None:
        return None
    detail: Any = json.loads(row["detail"])
    email = detail.get("email") if isinstance(detail, dict) else None
    return SignIn(row["at"], row["actor"], email if isinstance(email, str) else None)


def anyone_signed_in(tx: Tx) -> bool:
    """Whether a user was ever linked to a sign-in (when the audit event has been purged)."""
    return tx.fetch_one("SELECT 1 FROM users WHERE oidc_sub IS NOT NULL LIMIT 1") is not None


def scim_users(tx: Tx) -> int:
    row = tx.fetch_one("SELECT count(*) FROM users WHERE source = 'scim'")
    return int(row[0]) if row else 0


def setup_state(tx: Tx) -> SetupState:
    """Everything the checklist needs beyond the overview's counts, in the caller's read."""
    known = facts.all_facts(tx)
    first = first_signin(tx)
    if first is None and anyone_signed_in(tx):
        first = SignIn("", "", None)  # signed in before the oldest event kept
    actors = {str(f.value.get("by", "")) for f in known.values()}
    if first is not None:
        actors.add(first.actor)
    return SetupState(known, first, scim_users(tx), names_of(tx, actors))
