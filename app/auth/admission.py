"""Who a verified sign-in is: the user it matches (by subject, else by a verified email), or
one created just in time; refused, with a reason for the page and the audit log, if none."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from app.auth.errors import SignInRefused as SignInRefused  # raised here, re-exported
from app.auth.oidc import SignInResult
from app.config import Config
from app.db import Tx
from app.store import audit
from app.store import users as user_store
from app.store.users import Email, User, UserFields


class Where(TypedDict):
    """The audit fields every event of one request shares."""

    ip: str | None
    request_id: str


@dataclass(frozen=True)
class Admission:
    """Who a verified sign-in would be: `how` is "subject" (linked before), "email" (an
    unlinked account with this verified email, to be linked) or "jit" (to be created)."""

    how: Literal["subject", "email", "jit"]
    user: User | None  # None when a user would be created just in time


def decide(
    tx: Tx, result: SignInResult, jit_provisioning: bool, *, legacy: bool = True
) -> Admission:
    """The admission decision, reading only (a test sign-in shows it); SignInRefused if none.
    `legacy`: links made before issuers were recorded are this provider's (JumpCloud is
    active); else they were JumpCloud's, another provider's."""
    who = result.provider
    user = user_store.find_by_sub(tx, result.sub, result.issuer, legacy=legacy)
    if user is not None:
        return Admission("subject", _active(user, who))
    if result.email:
        found = user_store.find_by_email(tx, result.email)
        if found is not None and not _linked_here(found, result.issuer, legacy):
            if not result.email_verified:  # else anyone able to claim an address takes it over
                raise SignInRefused(
                    "email_unverified",
                    "Email address not verified",
                    f"{who} did not confirm that this email address is verified, so it "
                    "cannot be matched to an existing Webrix account. Ask your administrator "
                    f"to check the user's email in {who}.",
                    user_id=found.id,
                )
            return Admission("email", _active(found, who))
        if found is not None:
            raise SignInRefused(
                "email_linked_elsewhere",
                "Account mismatch",
                f"This email address belongs to a Webrix account linked to another {who} "
                "identity. Ask your administrator to check the account.",
                user_id=found.id,
            )
    if not jit_provisioning:
        raise SignInRefused(
            "not_provisioned",
            "No Webrix account",
            f"Your {who} account has not been provisioned to Webrix yet. Ask your "
            f"administrator to assign you to the Webrix application in {who}.",
        )
    if result.email and not result.email_verified:
        raise SignInRefused(
            "email_unverified",
            "Email address not verified",
            f"{who} did not confirm that this email address is verified, so no Webrix "
            "account is created for it. Ask your administrator to check the user's email "
            f"in {who}.",
        )
    if not result.email:
        raise SignInRefused(
            "no_email",
            "No email address",
            f"{who} did not send an email address. Ask your administrator to enable "
            "the Email scope in the Webrix application's attribute mapping.",
            status=400,
        )
    return Admission("jit", None)


def legacy_links(config: Config) -> bool:
    """Whether links made before issuers were recorded (by JumpCloud, the only provider
    then) are the active provider's: while JumpCloud is active."""
    return config.auth.provider == "jumpcloud"


def _linked_here(user: User, issuer: str, legacy: bool) -> bool:
    """Whether the user is linked to a subject of `issuer` (then another subject with their
    address is someone else); a link to another provider's subject is replaced at the first
    sign-in with a verified address through this one (a provider switch)."""
    if user.oidc_sub is None:
        return False
    return user.oidc_issuer == issuer if user.oidc_issuer is not None else legacy


def _active(user: User, who: str) -> User:
    if not user.active:
        raise SignInRefused(
            "deactivated",
            "Account deactivated",
            "Your Webrix account is deactivated. Ask your administrator to reactivate it "
            f"in {who}.",
            user_id=user.id,
        )
    return user


def admit(
    tx: Tx,
    result: SignInResult,
    jit_provisioning: bool,
    jit: tuple[UserFields, str] | None,
    where: Where,
    *,
    legacy: bool = True,
) -> User:
    """`decide`, then its writes: link the subject, or create the user just in time."""
    decision = decide(tx, result, jit_provisioning, legacy=legacy)
    if decision.how == "subject" and decision.user is not None:
        if decision.user.oidc_issuer is None:
            user_store.record_issuer(tx, decision.user.id, result.issuer)
        return decision.user
    if decision.how == "email" and decision.user is not None:
        user_store.link_sub(tx, decision.user.id, result.sub, result.issuer)
        linked = user_store.get(tx, decision.user.id)
        if linked is None:  # cannot happen inside one transaction
            raise RuntimeError("linked user vanished")
        return linked
    if jit is None:  # `decide` refuses a sign-in without an email before this
        raise RuntimeError("no JIT fields for a just-in-time user")
    fields, resource_json = jit
    user = user_store.create(
        tx, fields, resource_json, source="jit", oidc_sub=result.sub, oidc_issuer=result.issuer
    )
    audit.record(
        tx,
        actor="system",
        action="user.create.jit",
        target_type="user",
        target_id=user.id,
        detail={"email": user.email},
        **where,
    )
    return user


def jit_user(result: SignInResult) -> tuple[UserFields, str]:
    """The fields and SCIM payload of a user created at first sign-in."""
    email = result.email or ""
    resource: dict[str, Any] = {
        "userName": email,
        "name": {
            k: v
            for k, v in (("givenName", result.given_name), ("familyName", result.family_name))
            if v
        },
        "emails": [{"value": email, "type": "work", "primary": True}],
        "active": True,
    }
    if result.name:
        resource["displayName"] = result.name
    fields = UserFields(
        user_name=email,
        email=email,
        given_name=result.given_name,
        family_name=result.family_name,
        display_name=result.name,
        active=True,
        emails=(Email(email, "work", True),),
    )
    return fields, json.dumps(resource)
