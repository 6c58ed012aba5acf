"""Between SCIM resources and what the store keeps: the seed's attribute mapping.

userName → email (the sign-in name), name.givenName → first name, name.familyName → last name,
emails[primary eq true].value → email (else the first email, else userName), active → not
suspended. Everything else the client sent stays in the stored resource and comes back on GET.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from app.scim.schemas import GROUP_URN, USER_URN
from app.store.groups import Group, Member
from app.store.users import Email, User, UserFields

META_KEYS = ("id", "meta")


def etag(version: int) -> str:
    return f'W/"{version}"'


def user_etag(user: User, groups: list[Member]) -> str:
    """A user's ETag: its version, and the groups it shows (membership changes elsewhere)."""
    if not groups:
        return etag(user.version)
    shown = json.dumps(sorted((g.id, g.display) for g in groups)).encode()
    return f'W/"{user.version}-{hashlib.sha256(shown).hexdigest()[:16]}"'


def user_fields(resource: dict[str, Any]) -> UserFields:
    """The columns of a user, from a normalized SCIM User."""
    name = resource.get("name") or {}
    emails = tuple(
        Email(e["value"], e.get("type"), e.get("primary") is True)
        for e in resource.get("emails", [])
        if isinstance(e, dict) and isinstance(e.get("value"), str) and e["value"]
    )
    primary = next((e.value for e in emails if e.primary), None)
    email = primary or (emails[0].value if emails else None) or resource["userName"]
    active = resource.get("active", True)
    return UserFields(
        user_name=resource["userName"],
        email=email,
        given_name=name.get("givenName"),
        family_name=name.get("familyName"),
        display_name=resource.get("displayName"),
        external_id=resource.get("externalId"),
        active=active is not False,
        emails=emails,
    )


def _meta(
    resource_type: str, location: str, created: str, modified: str, version: int
) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "created": created,
        "lastModified": modified,
        "location": location,
        "version": etag(version),
    }


def user_to_scim(user: User, groups: list[Member], base_url: str) -> dict[str, Any]:
    """The full SCIM representation of a user (before projection).

    Shares nested values with `user.resource`: only top-level keys are set here, and nothing
    downstream changes a value in place."""
    body = dict(user.resource)
    body.setdefault("schemas", [USER_URN])
    body["id"] = user.id
    body["userName"] = user.user_name
    if not user.active or "active" in body:
        body["active"] = user.active  # an unassigned `active` stays absent; suspended shows false
    if groups:
        body["groups"] = [
            {
                "value": g.id,
                "display": g.display,
                "$ref": f"{base_url}/Groups/{g.id}",
                "type": "direct",
            }
            for g in groups
        ]
    else:
        body.pop("groups", None)
    location = f"{base_url}/Users/{user.id}"
    body["meta"] = _meta("User", location, user.created, user.last_modified, user.version)
    body["meta"]["version"] = user_etag(user, groups)
    return body


def group_to_scim(group: Group, members: list[Member] | None, base_url: str) -> dict[str, Any]:
    """The SCIM representation of a group; `members` None when not loaded (excluded).

    Shares nested values with `group.resource`, as `user_to_scim` does."""
    body = dict(group.resource)
    body.setdefault("schemas", [GROUP_URN])
    body["id"] = group.id
    body["displayName"] = group.display_name
    body.pop("members", None)
    if members:
        body["members"] = [
            {
                "value": m.id,
                "display": m.display,
                "$ref": f"{base_url}/Users/{m.id}",
                "type": "User",
            }
            for m in members
        ]
    location = f"{base_url}/Groups/{group.id}"
    body["meta"] = _meta("Group", location, group.created, group.last_modified, group.version)
    return body


def stored(resource: dict[str, Any], *drop: str) -> dict[str, Any]:
    """What the store keeps of a resource: no id, meta or computed attributes."""
    return {k: v for k, v in resource.items() if k not in META_KEYS and k not in drop}
