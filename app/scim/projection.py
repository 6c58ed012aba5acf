"""Attribute projection for SCIM responses (RFC 7644 §3.4.2.5 and §3.9).

``attributes`` replaces the default set; ``excludedAttributes`` removes from it. Either way the
``returned`` characteristic of each attribute wins: "always" is always there, "never" never,
"request" only when named in ``attributes``. Names are case-insensitive and may be dotted
(``name.givenName``) or URN-qualified; names the schemas do not know are ignored.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from app.scim.schemas import (
    Attribute,
    UnknownAttribute,
    resolve,
    schema_for_urn,
    schemas_for,
)

Keys = tuple[str, ...]


def parse_attribute_list(text: str | None) -> list[str] | None:
    """Split an ``attributes``/``excludedAttributes`` query value; None when empty or absent."""
    if text is None:
        return None
    names = [part.strip() for part in text.split(",")]
    names = [name for name in names if name]
    return names or None


def _keys_of(resource_type: str, name: str) -> Keys | None:
    """The JSON key chain a client-supplied attribute name points at, or None if unknown."""
    name = name.strip()
    if name[:4].lower() == "urn:":
        schema = schema_for_urn(resource_type, name)
        if schema is not None:
            core = schemas_for(resource_type)[0]
            # The core URN alone means "everything in the core schema": no narrowing.
            return () if schema is core else (schema.id,)
    try:
        return resolve(resource_type, name).keys
    except UnknownAttribute:
        return None


def _key_set(resource_type: str, names: Iterable[str] | None) -> set[Keys] | None:
    if names is None:
        return None
    found = (_keys_of(resource_type, name) for name in names)
    return {keys for keys in found if keys is not None}


class _Selection:
    """The parsed ``attributes``/``excludedAttributes`` pair, answering per key chain."""

    def __init__(self, requested: set[Keys] | None, excluded: set[Keys] | None) -> None:
        self.requested = requested
        self.excluded = excluded or set()

    def _named(self, keys: Keys) -> bool:
        """``keys`` or one of its ancestors was named in ``attributes``."""
        return self.requested is not None and any(keys[: len(r)] == r for r in self.requested)

    def _below(self, keys: Keys) -> bool:
        """Some descendant of ``keys`` was named in ``attributes``."""
        return self.requested is not None and any(
            len(r) > len(keys) and r[: len(keys)] == keys for r in self.requested
        )

    def is_excluded(self, keys: Keys) -> bool:
        """``keys`` or one of its ancestors was named in ``excludedAttributes``."""
        return any(keys[: len(e)] == e for e in self.excluded)

    def decide(self, keys: Keys, returned: str) -> str:
        """Return "all", "some" (project the children) or "none" for the value at ``keys``."""
        if returned == "never":
            return "none"
        if returned == "always":
            return "all"
        if self.is_excluded(keys):
            return "none"
        if self.requested is None:
            return "none" if returned == "request" else "all"
        if self._named(keys):
            return "all"
        return "some" if self._below(keys) else "none"

    def excludes_below(self, keys: Keys) -> bool:
        """``keys``, an ancestor or a descendant was named in ``excludedAttributes``."""
        n = len(keys)
        return any(e[:n] == keys or keys[: len(e)] == e for e in self.excluded)


def _project_complex(
    value: dict[str, Any], attribute: Attribute, keys: Keys, sel: _Selection, whole: bool
) -> dict[str, Any]:
    """Project the sub-attributes of one complex value; ``whole`` when the parent was chosen."""
    if whole and attribute.subs_by_default and not sel.excludes_below(keys):
        return value  # every key stays: the common case of a plain GET, at no cost
    out: dict[str, Any] = {}
    for key, sub_value in value.items():
        sub = attribute.sub_attribute(key)
        if sub is None:
            if whole:
                out[key] = sub_value
            continue
        sub_keys = (*keys, sub.name)
        decision = sel.decide(sub_keys, sub.returned)
        # Within a chosen parent, default sub-attributes come along unless excluded.
        fallback = whole and sub.returned == "default" and not sel.is_excluded(sub_keys)
        if decision == "all" or fallback:
            out[key] = sub_value
    return out


_DROP = object()


def _project_value(value: Any, attribute: Attribute, keys: Keys, sel: _Selection) -> Any:
    """The projected value of ``attribute``; ``_DROP`` when it is left out entirely."""
    decision = sel.decide(keys, attribute.returned)
    if decision == "none":
        return _DROP
    if attribute.type != "complex" or not attribute.sub_attributes:
        return value if decision == "all" else _DROP
    whole = decision == "all"
    if attribute.multi_valued and isinstance(value, list):
        items = [
            _project_complex(item, attribute, keys, sel, whole) if isinstance(item, dict) else item
            for item in value
        ]
        items = [item for item in items if item != {}]
        return items if items or whole else _DROP
    if isinstance(value, dict):
        projected = _project_complex(value, attribute, keys, sel, whole)
        return projected if projected or whole else _DROP
    return value if whole else _DROP


def project(
    resource: dict[str, Any],
    resource_type: str,
    attributes: list[str] | None,
    excluded: list[str] | None,
) -> dict[str, Any]:
    """Return ``resource`` reduced per ``attributes``/``excludedAttributes`` and ``returned``."""
    return projector(resource_type, attributes, excluded)(resource)


def projector(
    resource_type: str, attributes: list[str] | None, excluded: list[str] | None
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """`project` for many resources of one request: the names are resolved once, not per
    resource (a page of a thousand users and a hundred names is a hundred resolutions)."""
    if attributes is None and excluded is None:
        return partial(_project_default, resource_type=resource_type)
    sel = _Selection(_key_set(resource_type, attributes), _key_set(resource_type, excluded))
    return partial(_project, resource_type=resource_type, sel=sel)


_DEFAULT = _Selection(None, None)
_KEEP, _DROP_KEY, _ELEMENTS, _GENERAL = "keep", "drop", "elements", "general"


@functools.lru_cache(maxsize=512)
def _default_action(resource_type: str, key: str) -> str:
    """What the default view (no ``attributes``, no ``excludedAttributes``) does with a
    top-level key: keep its value as it is, drop it, keep a multi-valued complex value minus
    empty elements, or go through `_project_value` (for keys this cannot tell by name alone).
    The same decisions as `_project`, taken once per key instead of once per resource."""
    if key == "schemas":
        return _KEEP  # `_fix_schemas` sees to it
    if any(key == schema.id for schema in schemas_for(resource_type)[1:]):
        return _GENERAL  # an extension's object: its keys are checked one by one
    try:
        resolved = resolve(resource_type, key)
    except UnknownAttribute:
        return _KEEP
    if resolved.is_extension or resolved.parent is not None:
        return _DROP_KEY
    attribute = resolved.attribute
    decision = _DEFAULT.decide(resolved.keys, attribute.returned)
    if decision == "none":
        return _DROP_KEY
    if attribute.type != "complex" or not attribute.sub_attributes:
        return _KEEP
    if decision == "all" and attribute.subs_by_default:
        return _ELEMENTS if attribute.multi_valued else _KEEP
    return _GENERAL


def _project_default(resource: dict[str, Any], resource_type: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in resource.items():
        action = _default_action(resource_type, key)
        if action == _KEEP:
            out[key] = value
        elif action == _ELEMENTS:
            out[key] = [item for item in value if item != {}] if isinstance(value, list) else value
        elif action == _GENERAL:  # an extension's object: the general way, for all of it
            return _project(resource, resource_type, _DEFAULT)
    return _fix_schemas(out, resource_type)


def _fix_schemas(out: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """`schemas` lists the extension URNs whose objects are left, and at least the core one."""
    if isinstance(out.get("schemas"), list):
        core, *extensions = schemas_for(resource_type)
        extension_ids = {schema.id for schema in extensions}
        out["schemas"] = [
            urn
            for urn in out["schemas"]
            if isinstance(urn, str) and (urn not in extension_ids or urn in out)
        ] or [core.id]
    return out


def _project(resource: dict[str, Any], resource_type: str, sel: _Selection) -> dict[str, Any]:
    extensions = schemas_for(resource_type)[1:]
    extension_ids = {schema.id: schema for schema in extensions}
    out: dict[str, Any] = {}
    for key, value in resource.items():
        if key == "schemas":
            out[key] = value
        elif key in extension_ids:
            if not isinstance(value, dict):
                continue
            schema = extension_ids[key]
            inner: dict[str, Any] = {}
            for name, sub_value in value.items():
                found = schema.attribute(name)
                if found is None:
                    continue
                projected = _project_value(sub_value, found, (key, found.name), sel)
                if projected is not _DROP:
                    inner[name] = projected
            if inner:
                out[key] = inner
        else:
            try:
                resolved = resolve(resource_type, key)
            except UnknownAttribute:
                if sel.requested is None:
                    out[key] = value
                continue
            if resolved.is_extension or resolved.parent is not None:
                continue  # an extension attribute outside its URN object: not canonical
            projected = _project_value(value, resolved.attribute, resolved.keys, sel)
            if projected is not _DROP:
                out[key] = projected
    return _fix_schemas(out, resource_type)


def wants(
    attr: str,
    attributes: list[str] | None,
    excluded: list[str] | None,
    resource_type: str = "Group",
) -> bool:
    """Whether any part of ``attr`` would survive projection (e.g. whether to load members)."""
    keys = _keys_of(resource_type, attr)
    if keys is None:
        return False
    try:
        returned = resolve(resource_type, attr).attribute.returned
    except UnknownAttribute:
        returned = "default"  # an extension URN on its own
    sel = _Selection(_key_set(resource_type, attributes), _key_set(resource_type, excluded))
    return sel.decide(keys, returned) != "none"
