"""Immutable attributes (RFC 7643 §7): once assigned, a value is neither changed nor removed.

`apply_patch` checks each operation as it goes, to name the path the client wrote. This module
has the last word: it compares the resource before and after all the operations, so that an
immutable value cannot leave through its container (``remove hardware`` with an immutable
``hardware.model``), an extension removed whole, an add to an immutable list, or two operations
that together replace it. An element of a multi-valued attribute may still be removed whole
(the attribute itself is not immutable): elements are matched by their ``value``; those
without one cannot be told apart here, and only the per-operation checks see them. A Group's
member entries (immutable sub-attributes) never change in the resource: `patch_members` holds
member changes as id sets.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from app.scim.errors import Mutability
from app.scim.schemas import GROUP_URN, USER_URN, Attribute, Schema, schemas_for


def assigned(value: Any) -> bool:
    """Whether a value is set: null, [] and {} are unassigned (RFC 7643 §2.5); False, 0 and
    "" are values."""
    return value is not None and value != [] and value != {}


def refuse(where: str) -> Mutability:
    return Mutability(f"'{where}' is immutable and already has a value")


def check_unchanged(before: dict[str, Any], after: dict[str, Any], resource_type: str) -> None:
    """Raise Mutability if `after` changed or removed an immutable value that `before` had."""
    for urn, attribute, whole in _watched(schemas_for(resource_type)):
        old_holder = before if urn is None else before.get(urn)
        new_holder = after if urn is None else after.get(urn)
        old = old_holder.get(attribute.name) if isinstance(old_holder, dict) else None
        new = new_holder.get(attribute.name) if isinstance(new_holder, dict) else None
        where = f"{urn}:{attribute.name}" if urn else attribute.name
        if whole:
            if assigned(old) and old != new:
                raise refuse(where)
        else:
            _check_elements(attribute, old, new, where)


_Watched = tuple[tuple[str | None, Attribute, bool], ...]
_WATCHED: dict[int, tuple[tuple[Schema, ...], _Watched]] = {}


def _watched(schemas: tuple[Schema, ...]) -> _Watched:
    """(URN or None for a core schema, attribute, whether it is immutable itself) for each
    attribute that is immutable or has immutable sub-attributes; worked out once per set of
    schemas (this runs on every PATCH)."""
    cached = _WATCHED.get(id(schemas))
    if cached is not None and cached[0] is schemas:
        return cached[1]
    found = []
    for schema in schemas:
        # The core schemas' attributes are top-level keys; any other schema's, under its URN.
        urn = None if schema.id in (USER_URN, GROUP_URN) else schema.id
        for attribute in schema.attributes:
            if schema.id == GROUP_URN and attribute.name == "members":
                continue  # never changed in the resource (speed only: a group may be large)
            if attribute.mutability == "immutable":
                found.append((urn, attribute, True))
            elif any(s.mutability == "immutable" for s in attribute.sub_attributes):
                found.append((urn, attribute, False))
    watched = tuple(found)
    _WATCHED[id(schemas)] = (schemas, watched)
    return watched


def _check_elements(attribute: Attribute, old: Any, new: Any, where: str) -> None:
    """The immutable sub-attributes of a complex attribute (of each element, matched by value,
    when it is multi-valued) kept as they were."""
    subs = [s for s in attribute.sub_attributes if s.mutability == "immutable"]
    if not attribute.multi_valued:
        pairs = [(old, new if isinstance(new, dict) else {})]
    else:
        after: dict[Hashable, dict[str, Any]] = {}
        for element in new if isinstance(new, list) else []:
            if isinstance(element, dict) and (key := _key(attribute, element)) is not None:
                after.setdefault(key, element)
        pairs = [
            (element, after[key])
            for element in (old if isinstance(old, list) else [])
            if isinstance(element, dict) and (key := _key(attribute, element)) in after
        ]
    for was, now in pairs:
        if not isinstance(was, dict):
            continue
        for sub in subs:
            if assigned(was.get(sub.name)) and was.get(sub.name) != now.get(sub.name):
                raise refuse(f"{where}.{sub.name}")


def _key(attribute: Attribute, element: dict[str, Any]) -> Hashable | None:
    """Which element this is: its value, folded unless case-exact; None without one."""
    value = element.get("value")
    if isinstance(value, str):
        value_attr = attribute.sub_attribute("value")
        return value if value_attr is not None and value_attr.case_exact else value.lower()
    if isinstance(value, bool | int | float):
        return value
    return None
