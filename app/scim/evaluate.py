"""Evaluating a parsed SCIM filter against JSON: a resource or one element of it.

The semantics it shares with ``app.scim.filter_sql.to_sql`` live in ``app.scim.filter_schema``.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from app.scim.filter import (
    STRING_OPS,
    And,
    AttrPath,
    Compare,
    Filter,
    FilterError,
    Not,
    Or,
    Present,
    ValuePath,
)
from app.scim.filter_schema import expected_value, kind_of, parse_datetime, resolve_filter_path
from app.scim.schemas import Attribute

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _fold(text: str) -> str:
    """Fold ASCII case only, exactly as SQLite's NOCASE collation and LIKE do."""
    return text.translate(_ASCII_LOWER)


def _actual(value: Any, op: str, kind: str, case_exact: bool) -> Any:
    """Normalise a value from the data for comparison; None when it cannot compare."""
    if kind == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value if isinstance(value, bool) else None
    if kind == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if not isinstance(value, str):
        return None
    if kind == "dateTime" and op not in STRING_OPS:
        return parse_datetime(value)
    return value if case_exact else _fold(value)


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "eq":
        return bool(actual == expected)
    if op == "co":
        return bool(expected in actual)
    if op == "sw":
        return bool(actual.startswith(expected))
    if op == "ew":
        return bool(actual.endswith(expected))
    try:
        if op == "gt":
            return bool(actual > expected)
        if op == "ge":
            return bool(actual >= expected)
        if op == "lt":
            return bool(actual < expected)
        return bool(actual <= expected)
    except TypeError:
        return False


def _scalar_present(value: Any) -> bool:
    return value is not None and value != ""


def _present(value: Any) -> bool:
    """``pr``: not null and not empty; a complex value needs one non-empty sub-attribute."""
    elements = value if isinstance(value, list) else [value]
    return any(
        any(map(_scalar_present, e.values())) if isinstance(e, Mapping) else _scalar_present(e)
        for e in elements
    )


def _get(item: Mapping[str, Any], key: str) -> Any:
    if key in item:
        return item[key]
    folded = key.lower()
    return next((v for k, v in item.items() if k.lower() == folded), None)


def _walk(base: Any, keys: Iterable[str]) -> list[Any]:
    """Follow ``keys`` through nested objects, fanning out over lists."""
    values = [base]
    for key in keys:
        values = [
            _get(element, key)
            for value in values
            for element in (value if isinstance(value, list) else [value])
            if isinstance(element, Mapping)
        ]
    return values


def _flatten(values: Iterable[Any]) -> Iterator[Any]:
    for value in values:
        if isinstance(value, list):
            yield from value
        else:
            yield value


@dataclass(frozen=True, slots=True)
class _Target:
    keys: tuple[str, ...]  # JSON keys from the item down to the attribute
    attribute: Attribute | None  # None when evaluating without a schema
    uri: str | None = None  # schema-less only: an extension object to descend into if present
    element_value: bool = False  # compare the "value" of complex elements (``emails eq "x"``)


class _Evaluator:
    def __init__(self, resource_type: str | None, parent: str | None) -> None:
        self.resource_type = resource_type
        self.parent = parent
        # What each node resolves to, worked out once however many items it is evaluated on.
        self._targets: dict[tuple[AttrPath, bool], _Target] = {}
        self._expected: dict[Compare, tuple[_Target, str, Any, bool]] = {}
        self._children: dict[AttrPath, _Evaluator] = {}

    def target(self, path: AttrPath, comparing: bool) -> _Target:
        found = self._targets.get((path, comparing))
        if found is None:
            found = self._targets[(path, comparing)] = self._resolve(path, comparing)
        return found

    def _resolve(self, path: AttrPath, comparing: bool) -> _Target:
        if self.resource_type is None:
            names = (path.attr,) if path.sub_attr is None else (path.attr, path.sub_attr)
            return _Target(names, None, path.uri, element_value=comparing)
        resolved = resolve_filter_path(self.resource_type, path, self.parent)
        keys: tuple[str, ...] = resolved.keys
        if self.parent is not None:
            keys = (resolved.attribute.name,)
        attribute = resolved.attribute
        if comparing and attribute.multi_valued and attribute.type == "complex":
            value = attribute.sub_attribute("value")
            if value is None:
                raise FilterError(f"cannot compare the complex attribute '{path}' with a value")
            keys, attribute = (*keys, value.name), value
        return _Target(keys, attribute)

    def values(self, target: _Target, item: Mapping[str, Any]) -> list[Any]:
        base: Any = item
        if target.uri is not None:
            extension = _get(item, target.uri)
            base = extension if isinstance(extension, Mapping) else item
        return _walk(base, target.keys)

    def check(self, node: Filter) -> None:
        """Raise FilterError for any invalid leaf, even one that evaluation would skip."""
        if isinstance(node, And | Or):
            for operand in node.operands:
                self.check(operand)
        elif isinstance(node, Not):
            self.check(node.operand)
        elif isinstance(node, Present):
            self.target(node.path, comparing=False)
        elif isinstance(node, Compare):
            target = self.target(node.path, comparing=True)
            op = "eq" if node.op == "ne" else node.op
            kind = kind_of(target.attribute, node.value)
            expected_value(op, node.value, kind, target.attribute, str(node.path))
        elif isinstance(node, ValuePath):
            self.value_path_child(node.path).check(node.filter)

    def value_path_child(self, path: AttrPath) -> _Evaluator:
        child = self._children.get(path)
        if child is None:
            child = self._children[path] = self._child(path)
        return child

    def _child(self, path: AttrPath) -> _Evaluator:
        if self.parent is not None:
            raise FilterError("value filters cannot be nested")
        if self.resource_type is None:
            return _Evaluator(None, str(path))
        resolved = resolve_filter_path(self.resource_type, path, None)
        if resolved.attribute.type != "complex":
            raise FilterError(f"'{path}' is not a complex attribute and takes no value filter")
        return _Evaluator(self.resource_type, resolved.full_path)

    def evaluate(self, node: Filter, item: Mapping[str, Any]) -> bool:
        if isinstance(node, And):
            return all(self.evaluate(operand, item) for operand in node.operands)
        if isinstance(node, Or):
            return any(self.evaluate(operand, item) for operand in node.operands)
        if isinstance(node, Not):
            return not self.evaluate(node.operand, item)
        if isinstance(node, Present):
            return any(_present(v) for v in self.values(self.target(node.path, False), item))
        if isinstance(node, ValuePath):
            child = self.value_path_child(node.path)
            target = self.target(node.path, comparing=False)
            elements = _flatten(self.values(target, item))
            return any(isinstance(e, Mapping) and child.evaluate(node.filter, e) for e in elements)
        if node.op == "ne":
            return not self.evaluate(Compare(node.path, "eq", node.value), item)
        prepared = self._expected.get(node)
        if prepared is None:
            prepared = self._expected[node] = self._prepare(node)
        target, kind, expected, case_exact = prepared
        for value in _flatten(self.values(target, item)):
            if target.element_value and isinstance(value, Mapping):
                value = _get(value, "value")
            actual = _actual(value, node.op, kind, case_exact)
            if actual is not None and _compare(node.op, actual, expected):
                return True
        return False

    def _prepare(self, node: Compare) -> tuple[_Target, str, Any, bool]:
        target = self.target(node.path, comparing=True)
        kind = kind_of(target.attribute, node.value)
        expected = expected_value(node.op, node.value, kind, target.attribute, str(node.path))
        case_exact = target.attribute is not None and target.attribute.case_exact
        if kind == "string" or (kind == "dateTime" and node.op in STRING_OPS):
            expected = expected if case_exact else _fold(expected)
        return target, kind, expected, case_exact


def matcher(
    filter: Filter, resource_type: str | None = None, parent: str | None = None
) -> Callable[[Mapping[str, Any]], bool]:
    """`matches` for many items: the filter is checked and resolved once (FilterError here)."""
    evaluator = _Evaluator(resource_type, parent)
    if resource_type is not None:
        evaluator.check(filter)
    return partial(evaluator.evaluate, filter)


def matches(
    filter: Filter,
    item: Mapping[str, Any],
    resource_type: str | None = None,
    parent: str | None = None,
) -> bool:
    """Whether ``item`` satisfies ``filter``.

    With ``resource_type`` ("User"/"Group") the schema decides caseExact, types and unknown
    attributes (FilterError); without it strings compare case-insensitively. Give ``parent``
    (e.g. "emails") when ``item`` is one element of that multi-valued attribute and the filter
    is a value filter naming its sub-attributes.
    """
    return matcher(filter, resource_type, parent)(item)
