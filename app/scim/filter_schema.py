"""How a parsed filter meets the schema: the semantics ``matches`` and ``to_sql`` share.

Tests hold the two to the same answers: attribute names are case-insensitive; strings compare
case-insensitively (ASCII folding, as SQLite's NOCASE and LIKE do) unless the attribute is
caseExact; a multi-valued attribute matches when any element does; ``ne`` is the negation of
``eq``, so a missing attribute is "not equal"; ``eq null`` means "not present"; ``pr`` means
present and neither null nor empty.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from app.scim.filter import ORDERING_OPS, STRING_OPS, AttrPath, FilterError, Scalar
from app.scim.schemas import Attribute, ResolvedAttr, UnknownAttribute, resolve

# The dateTime shapes that both Python and SQLite's julianday() read the same way.
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:\d{2})?"
)
_KINDS = {
    "boolean": "boolean",
    "integer": "number",
    "decimal": "number",
    "dateTime": "dateTime",
    "complex": "complex",
}


def parse_datetime(text: str) -> datetime | None:
    """``text`` as an aware datetime (UTC when it names no offset), or None if it is not one."""
    if not _DATETIME.fullmatch(text):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def kind_of(attribute: Attribute | None, value: Scalar) -> str:
    """How values compare: "string", "boolean", "number", "dateTime" or "complex"."""
    if attribute is not None:
        return _KINDS.get(attribute.type, "string")
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else "string"


def expected_value(
    op: str, value: Scalar, kind: str, attribute: Attribute | None, path: str
) -> Any:
    """Check a comparison value against the attribute's type and normalise it."""
    if kind == "complex":
        raise FilterError(f"cannot compare the complex attribute '{path}' with a value")
    if kind == "boolean":
        if op != "eq":
            raise FilterError(f"'{op}' cannot be used on the boolean attribute '{path}'")
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"  # Entra sends "True"/"False"
        if not isinstance(value, bool):
            raise FilterError(f"'{path}' compares with true or false")
        return value
    if attribute is not None and attribute.type == "binary" and op in ORDERING_OPS:
        raise FilterError(f"'{op}' cannot be used on the binary attribute '{path}'")
    if kind == "number":
        if op in STRING_OPS or isinstance(value, bool) or not isinstance(value, int | float):
            raise FilterError(f"'{path}' compares with numbers, using eq, ne, gt, ge, lt or le")
        return value
    if not isinstance(value, str):
        raise FilterError(f"'{path}' compares with a string value")
    if kind == "dateTime" and op not in STRING_OPS:
        parsed = parse_datetime(value)
        if parsed is None:
            raise FilterError(f"'{path}' compares with a dateTime such as \"2024-01-31T12:00:00Z\"")
        return parsed
    return value


def resolve_filter_path(resource_type: str, path: AttrPath, parent: str | None) -> ResolvedAttr:
    """Resolve a filter path (a sub-attribute name when ``parent`` is set) or raise FilterError."""
    if parent is not None and (path.uri is not None or path.sub_attr is not None):
        raise FilterError(f"a value filter names sub-attributes by their plain names, not '{path}'")
    text = str(path) if parent is None else f"{parent}.{path.attr}"
    try:
        resolved = resolve(resource_type, text)
    except UnknownAttribute:
        raise FilterError(f"unknown attribute '{text}'") from None
    if resolved.top.returned == "never" or resolved.attribute.returned == "never":
        raise FilterError(f"the attribute '{text}' cannot be used in a filter")
    return resolved
