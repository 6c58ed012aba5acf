"""Who a verified sign-in is: the user it matches (by subject, else by a verified email), or
one created just in time; refused, with a reason for the page and the audit log, if none."""

from __future__ import annotations

import json
from typing import Any, TypedDict

from app.auth.oidc import SignInResult
from app.db import Tx
from app.store import audit
from app.store import users as user_store
from app.store.users import Email, User, UserFields


class SignInRefused(Exception):
    """Sign-in is refused for a reason about the user (deactivated, not provisioned)."""

    def __init__(self, code: str, title: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code, self.title, self.message, self.status = code, title, message, status


class Where(TypedDict):
    """The audit fields every event of one request shares."""

    ip: str | None
    request_id: str


def admit(
    tx: Tx,
    result: SignInResult,
    jit_provisioning: bool,
    jit: tuple[UserFields, str] | None,
    where: Where,
) -> User:
    user = user_store.find_by_sub(tx, result.sub)
    if user is None and result.email:
        found = user_store.find_by_email(tx, result.email)
        if found is not None and found.oidc_sub is None:
            if not result.email_verified:  # else anyone able to claim an address takes it over
                raise SignInRefused(
                    "email_unverified",
                    "Email address not verified",
                    "JumpCloud did not confirm that this email address is verified, so it "
                    "cannot be matched to an existing Webrix account. Ask your administrator "
                    "to check the user's email in JumpCloud.",
                )
            user_store.link_sub(tx, found.id, result.sub)
            user = user_store.get(tx, found.id)
        elif found is not None:
            raise SignInRefused(
                "email_linked_elsewhere",
                "Account mismatch",
                "This email address belongs to a Webrix account linked to another JumpCloud "
                "identity. Ask your administrator to check the account.",
            )
    if user is None:
        if not jit_provisioning:
            raise SignInRefused(
                "not_provisioned",
                "No Webrix account",
                "Your JumpCloud account has not been provisioned to Webrix yet. Ask your "
                "administrator to assign you to the Webrix application in JumpCloud.",
            )
        if result.email and not result.email_verified:
            raise SignInRefused(
                "email_unverified",
                "Email address not verified",
                "JumpCloud did not confirm that this email address is verified, so no Webrix "
                "account is created for it. Ask your administrator to check the user's email "
                "in JumpCloud.",
            )
        if jit is None:
            raise SignInRefused(
                "no_email",
                "No email address",
                "JumpCloud did not send an email address. Ask your administrator to enable "
                "the Email scope in the Webrix application's attribute mapping.",
                status=400,
            )
        fields, resource_json = jit
        user = user_store.create(tx, fields, resource_json, source="jit", oidc_sub=result.sub)
        audit.record(
            tx,
            actor="system",
            action="user.create.jit",
            target_type="user",
            target_id=user.id,
            detail={"email": user.email},
            **where,
        )
    if not user.active:
        raise SignInRefused(
            "deactivated",
            "Account deactivated",
            "Your Webrix account is deactivated. Ask your administrator to reactivate it "
            "in JumpCloud.",
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
