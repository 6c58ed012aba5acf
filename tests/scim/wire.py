"""The SCIM wire format as the tests write it: schema URNs and request bodies.

The URNs are literal strings on purpose, never imported from `app`: the tests stay an
independent check of what goes over the wire. This module imports nothing of the app, so the
unit tests and the tests of a real server process can use it too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

BASE = "/scim/v2"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp request carrying `operations` in order."""
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


def user_body(user_name: str = "ada@example.com", **extra: Any) -> dict[str, Any]:
    """A User as JumpCloud's default mapping sends it, plus (or overridden by) `extra`."""
    return {
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "displayName": "Ada Lovelace",
        "active": True,
        **extra,
    }


def group_body(name: str, members: Iterable[str] = (), **extra: Any) -> dict[str, Any]:
    """A Group named `name` whose members are the user ids `members`, plus `extra`."""
    return {
        "schemas": [GROUP_URN],
        "displayName": name,
        "members": [{"value": m} for m in members],
        **extra,
    }


def members_op(op: str, *user_ids: str) -> dict[str, Any]:
    """One PATCH operation on `members` in JumpCloud's shape: a value array, no display."""
    return {"op": op, "path": "members", "value": [{"value": u} for u in user_ids]}
