"""Incoming SCIM bodies made canonical: attribute names spelled as the schema does, values of
the declared types, read-only attributes dropped. What POST and PUT store."""

from __future__ import annotations

import json
from typing import Any

from app.config import ScimConfig
from app.scim.errors import InvalidSyntax, InvalidValue
from app.scim.schemas import (
    COMMON_ATTRIBUTES,
    GROUP_URN,
    LEGACY_CORE_URN,
    ResolvedAttr,
    Schema,
    UnknownAttribute,
    resolve,
    schema_for_urn,
    schemas_for,
)
from app.scim.values import BODY_RULES, DEFAULT_LIMITS, check_count, coerce_attribute


def _object(
    schema: Schema, body: dict[str, Any], where: str, limits: ScimConfig, core: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in body.items():
        attribute = schema.attribute(key)
        if attribute is None and core:
            attribute = next((a for a in COMMON_ATTRIBUTES if a.name.lower() == key.lower()), None)
        if attribute is None or value is None or attribute.mutability == "readOnly":
            continue
        if attribute.returned == "never":
            # The password: sign-in is SSO only, so it is accepted and dropped, never stored
            # (a stored one could be probed through filters and sortBy).
            continue
        name = attribute.name
        if attribute.multi_valued and isinstance(value, list):
            members = schema.id == GROUP_URN and name == "members"
            check_count(f"{where}{name}", len(value), limits, members=members)
        out[name] = coerce_attribute(attribute, value, f"{where}{name}", BODY_RULES)
    return out


def normalize(resource_type: str, body: Any, limits: ScimConfig = DEFAULT_LIMITS) -> dict[str, Any]:
    """The stored form of a POST/PUT body (no id, meta or other read-only attributes)."""
    if not isinstance(body, dict):
        raise InvalidSyntax("The request body must be a JSON object")
    core, *extensions = schemas_for(resource_type)
    schemas = body.get("schemas", [core.id])
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise InvalidSyntax("'schemas' must be a list of URNs")
    core_body: dict[str, Any] = {}
    result: dict[str, Any] = {}
    for key, value in body.items():
        if key.lower() == "schemas":
            continue
        if key[:4].lower() == "urn:":
            schema = schema_for_urn(resource_type, key)
            if schema is core or key.lower() == LEGACY_CORE_URN:
                if isinstance(value, dict):
                    core_body.update(value)  # legacy clients nest core attributes under the URN
                continue
            if schema is not None:
                if value is None:
                    continue
                if not isinstance(value, dict):
                    raise InvalidValue(f"'{schema.id}' must be an object")
                ext = _object(schema, value, f"{schema.id}:", limits)
                if ext:
                    result[schema.id] = ext
            elif (named := _qualified(resource_type, key)) is not None:
                # A URN-qualified attribute name as a key ("urn:scim:schemas:core:2.0:title").
                if not named.is_extension:
                    core_body[named.attribute.name] = value
                elif value is not None:
                    owner = next(e for e in extensions if e.id == named.schema)
                    ext = _object(owner, {named.attribute.name: value}, f"{owner.id}:", limits)
                    result.setdefault(owner.id, {}).update(ext)
            elif isinstance(value, dict):
                result[key] = value  # an extension we do not know: kept as sent
            continue
        core_body[key] = value
    result = {**_object(core, core_body, "", limits, core=True), **result}
    if resource_type == "User":
        _require_string(result, "userName")
    else:
        _require_string(result, "displayName")
    known = {core.id, *(e.id for e in extensions)}
    urns = [core.id] + [k for k in result if k[:4].lower() == "urn:" and k not in known]
    urns += [e.id for e in extensions if e.id in result]
    result["schemas"] = urns
    return result


def encode(resource: dict[str, Any], limits: ScimConfig) -> str:
    """The resource as the JSON text the store keeps; refused past `max_resource_bytes`, so
    that reading it back never costs much (it is decoded on every read)."""
    text = json.dumps(resource)
    if len(text) > limits.max_resource_bytes:
        raise InvalidValue(
            f"The resource would take {len(text)} bytes; at most {limits.max_resource_bytes}"
            " are kept ([scim] max_resource_bytes)"
        )
    return text


def _qualified(resource_type: str, key: str) -> ResolvedAttr | None:
    """The top-level attribute a URN-qualified key names, or None."""
    try:
        named = resolve(resource_type, key)
    except UnknownAttribute:
        return None
    return named if named.parent is None else None


def _require_string(resource: dict[str, Any], name: str) -> None:
    value = resource.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"'{name}' is required and must be a non-empty string")
    resource[name] = value.strip()
