"""Request values read as their attribute's declared type, with the sub-attribute keys spelled
as the schema does: one reading for POST/PUT bodies (``app.scim.resource``) and PATCH values
(``app.scim.patch``), differing only where ``Rules`` says."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.config import ScimConfig
from app.scim.errors import InvalidValue
from app.scim.schemas import Attribute

DEFAULT_LIMITS = ScimConfig()  # the [scim] defaults, for callers given no config

_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
MAX_STRING = 65_536


@dataclass(frozen=True, slots=True)
class Rules:
    """Where a POST/PUT body (a whole resource) and a PATCH value (merged into one) differ."""

    refuse_unknown: bool  # an unknown sub-attribute is invalidValue; else it is ignored
    ignore_read_only: bool  # read-only sub-attributes are dropped; else kept as sent
    keep_nulls: bool  # a null sub-attribute stays, as None, for a merge to remove; else dropped
    drop_empty: bool  # an element left with no sub-attributes is dropped; else kept as {}
    bare_value: bool  # a single-valued complex attribute may come as its bare "value"
    refuse_primaries: bool  # several elements marked primary is invalidValue; else first wins


BODY_RULES = Rules(
    refuse_unknown=False,
    ignore_read_only=False,
    keep_nulls=False,
    drop_empty=False,
    bare_value=False,
    refuse_primaries=False,
)
PATCH_RULES = Rules(
    refuse_unknown=True,
    ignore_read_only=True,
    keep_nulls=True,
    drop_empty=True,
    bare_value=True,  # Entra sends the enterprise manager as a bare id rather than {"value": id}
    refuse_primaries=True,
)


def coerce(attribute: Attribute, value: Any, where: str, rules: Rules) -> Any:
    """``value`` as ``attribute``'s type (one element if multi-valued); InvalidValue if not."""
    if value is None:
        return None
    if attribute.type == "complex":
        return _complex(attribute, value, where, rules)
    return _scalar(attribute.type, value, where)


def coerce_elements(attribute: Attribute, value: Any, where: str, rules: Rules) -> list[Any]:
    """The elements of a multi-valued attribute; a lone element is wrapped in a list."""
    if value is None:
        return []
    if not isinstance(value, list):
        if attribute.type == "complex" and not isinstance(value, dict):
            raise InvalidValue(f"'{where}' must be an array")
        value = [value]
    out: list[Any] = []
    for item in value:
        element = coerce(attribute, item, where, rules)
        if isinstance(element, dict):
            element = {k: v for k, v in element.items() if v is not None}
            if not element and rules.drop_empty:
                continue
        if element is not None:
            out.append(element)
    if rules.refuse_primaries:
        set_primary(out, out)
    else:
        primaries = [e for e in out if isinstance(e, dict) and e.get("primary") is True]
        for extra in primaries[1:]:
            extra["primary"] = False  # at most one primary (RFC 7643 §2.4)
    return out


def coerce_attribute(attribute: Attribute, value: Any, where: str, rules: Rules) -> Any:
    """A whole attribute's value: lists for multi-valued ones (a lone element is wrapped)."""
    if attribute.multi_valued:
        return coerce_elements(attribute, value, where, rules)
    if isinstance(value, list):
        raise InvalidValue(f"'{where}' is single-valued; got a list")
    return coerce(attribute, value, where, rules)


def set_primary(elements: list[Any], chosen: list[Any]) -> None:
    """Keep ``primary`` true on at most one element: the one ``chosen`` names."""
    flagged = [e for e in chosen if isinstance(e, dict) and e.get("primary") is True]
    if len(flagged) > 1:
        raise InvalidValue("At most one value may have 'primary' set to true")
    for element in elements if flagged else ():
        if element is not flagged[0] and isinstance(element, dict) and element.get("primary"):
            element["primary"] = False


def _complex(attribute: Attribute, value: Any, where: str, rules: Rules) -> dict[str, Any]:
    if not isinstance(value, dict):
        bare = rules.bare_value and not attribute.multi_valued and not isinstance(value, list)
        if not bare or attribute.sub_attribute("value") is None:
            raise InvalidValue(f"'{where}' must be an object")
        value = {"value": value}
    out: dict[str, Any] = {}
    for key, sub_value in value.items():
        sub = attribute.sub_attribute(key)
        if sub is None:
            if rules.refuse_unknown:
                raise InvalidValue(f"'{where}' has no sub-attribute '{key}'")
            continue
        if sub.mutability == "readOnly" and rules.ignore_read_only:
            continue  # read-only values in a request are ignored
        if sub_value is None and not rules.keep_nulls:
            continue  # null means "unassigned"
        out[sub.name] = coerce(sub, sub_value, f"{where}.{sub.name}", rules)
    return out


def _scalar(kind: str, value: Any, where: str) -> Any:
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"  # Entra sends "True"/"False"
        raise InvalidValue(f"'{where}' must be a boolean")
    if kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise InvalidValue(f"'{where}' must be an integer")
    if kind == "decimal":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        raise InvalidValue(f"'{where}' must be a number")
    if not isinstance(value, str):
        raise InvalidValue(f"'{where}' must be a string")
    if len(value) > MAX_STRING:
        raise InvalidValue(f"'{where}' is too long")
    if "\x00" in value:  # stored, it would be cut short by half the tools that read it
        raise InvalidValue(f"'{where}' holds a NUL character")
    if kind == "dateTime" and not _DATETIME.fullmatch(value):
        raise InvalidValue(f"'{where}' must be an xsd:dateTime such as 2026-01-31T12:00:00Z")
    return value


def check_count(
    where: str, count: int, limits: ScimConfig, *, members: bool = False, verb: str = "has"
) -> None:
    """Refuse `count` values for a multi-valued attribute past its limit ([scim] max_members
    for a group's members, else max_values): before any of them is read."""
    limit, key = (
        (limits.max_members, "max_members") if members else (limits.max_values, "max_values")
    )
    if count > limit:
        raise InvalidValue(
            f"'{where}' {verb} {count} values; at most {limit} are accepted ([scim] {key})"
        )
