"""The SCIM filter language (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2).

    parse_filter(text) -> Filter           text to an immutable AST
    parse_path(text) -> PatchPath          a PATCH path: attribute, value filter, sub-attribute
    matches(filter, item, ...) -> bool     evaluate against a JSON resource or one element of it
    to_sql(filter, table) -> (sql, params) a WHERE fragment with ``?`` placeholders
    sort_sql(path, table) -> str           an ORDER BY expression for ``sortBy``

Semantics shared by ``matches`` and ``to_sql`` (tests hold them to the same answers): attribute
names are case-insensitive; strings compare case-insensitively (ASCII folding, as SQLite's NOCASE
and LIKE do) unless the attribute is caseExact; a multi-valued attribute matches when any element
does; ``ne`` is the negation of ``eq``, so a missing attribute is "not equal"; ``eq null`` means
"not present"; ``pr`` means present and neither null nor empty.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias

from app.scim.errors import InvalidFilter
from app.scim.schemas import (
    ENTERPRISE_USER_URN,
    GROUP_URN,
    LEGACY_CORE_URN,
    USER_URN,
    Attribute,
    ResolvedAttr,
    UnknownAttribute,
    resolve,
)

MAX_LENGTH = 4096
MAX_DEPTH = 50

COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
_ORDERING_OPS = frozenset({"gt", "ge", "lt", "le"})
_STRING_OPS = frozenset({"co", "sw", "ew"})
_KNOWN_URNS = (USER_URN, GROUP_URN, ENTERPRISE_USER_URN, LEGACY_CORE_URN)


class FilterError(InvalidFilter):
    """A filter or path that cannot be parsed or applied (400 invalidFilter)."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.message = message
        self.position = position  # 1-based character position, when one applies
        super().__init__(message)


# --- AST ----------------------------------------------------------------------------------

Scalar: TypeAlias = str | bool | int | float


@dataclass(frozen=True, slots=True)
class AttrPath:
    """``[uri:]attr[.sub_attr]`` as written (``attr`` is "" for a bare schema URN path)."""

    attr: str
    sub_attr: str | None = None
    uri: str | None = None

    def __str__(self) -> str:
        name = self.attr if self.sub_attr is None else f"{self.attr}.{self.sub_attr}"
        if self.uri is None:
            return name
        return f"{self.uri}:{name}" if name else self.uri


@dataclass(frozen=True, slots=True)
class Compare:
    """``path op value``; ``op`` is lower-case and never ``pr``; ``value`` is never null."""

    path: AttrPath
    op: str
    value: Scalar


@dataclass(frozen=True, slots=True)
class Present:
    """``path pr``."""

    path: AttrPath


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Not:
    operand: Filter


@dataclass(frozen=True, slots=True)
class ValuePath:
    """``path[filter]``: ``filter`` names sub-attributes of ``path`` by plain names."""

    path: AttrPath
    filter: Filter


Filter: TypeAlias = Compare | Present | And | Or | Not | ValuePath


@dataclass(frozen=True, slots=True)
class PatchPath:
    """A PATCH path: ``attr`` never has a sub-attribute; that is always in ``sub_attr``."""

    attr: AttrPath
    value_filter: Filter | None = None
    sub_attr: str | None = None


# --- Tokenizer ----------------------------------------------------------------------------

_WORD_START = frozenset(string.ascii_letters + "_$.")
_WORD_CHARS = frozenset(string.ascii_letters + string.digits + "_$-:.")
_SPACE = frozenset(" \t\r\n")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_ATTR_NAME = re.compile(r"\$ref|[A-Za-z][A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "word", "string", "number", "(", ")", "[", "]" or "end"
    text: str
    pos: int  # 0-based offset in the input
    value: Scalar | None = None


def _at(pos: int) -> str:
    return f"at position {pos + 1}"


def _error(message: str, pos: int) -> FilterError:
    return FilterError(f"{message} {_at(pos)}", pos + 1)


def _read_string(text: str, start: int) -> _Token:
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            literal = text[start : i + 1]
            try:
                value = json.loads(literal)
                value.encode("utf-8")  # rejects lone surrogates such as "\ud800"
            except (ValueError, UnicodeEncodeError):
                raise _error("invalid string (bad escape or control character)", start) from None
            return _Token("string", literal, start, value)
        else:
            i += 1
    raise _error("unterminated string starting", start)


def _read_number(text: str, start: int) -> _Token:
    match = _NUMBER.match(text, start)
    end = match.end() if match else start
    if match is None or (end < len(text) and text[end] in _WORD_CHARS):
        raise _error("invalid number", start)
    literal = match.group()
    value: int | float = int(literal) if literal.lstrip("-").isdigit() else float(literal)
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        raise _error("number out of range", start)
    return _Token("number", literal, start, value)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in _SPACE:
            i += 1
            continue
        if ch in "()[]":
            token = _Token(ch, ch, i)
        elif ch == '"':
            token = _read_string(text, i)
        elif ch == "-" or ch in string.digits:
            token = _read_number(text, i)
        elif ch in _WORD_START:
            end = i
            while end < len(text) and text[end] in _WORD_CHARS:
                end += 1
            token = _Token("word", text[i:end], i)
        else:
            raise _error(f"unexpected character {ch!r}", i)
        tokens.append(token)
        i = token.pos + len(token.text)
    tokens.append(_Token("end", "", len(text)))
    return tokens


# --- Parser -------------------------------------------------------------------------------


def _describe(token: _Token) -> str:
    return "end of input" if token.kind == "end" else repr(token.text)


def _is_value(token: _Token) -> bool:
    if token.kind in ("string", "number"):
        return True
    return token.kind == "word" and token.text.lower() in ("true", "false", "null")


class _Parser:
    def __init__(self, text: str, what: str = "filter") -> None:
        if len(text) > MAX_LENGTH:
            raise FilterError(f"{what} is longer than {MAX_LENGTH} characters")
        if not text.strip():
            raise FilterError(f"empty {what}")
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def next(self) -> _Token:
        token = self.peek()
        self.index += 1
        return token

    def keyword(self) -> str | None:
        token = self.peek()
        return token.text.lower() if token.kind == "word" else None

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(f"filter nested more than {MAX_DEPTH} levels deep", token.pos)

    def expect_end(self) -> None:
        token = self.peek()
        if token.kind in (")", "]"):
            raise _error(f"unbalanced {token.text!r}", token.pos)
        if token.kind != "end":
            message = f"unexpected {_describe(token)}, expected 'and', 'or' or the end"
            raise _error(message, token.pos)

    def close(self, opener: _Token, kind: str) -> None:
        token = self.next()
        if token.kind == "end":
            message = f"missing {kind!r} to close the {opener.text!r} {_at(opener.pos)}"
            raise FilterError(message, token.pos + 1)
        if token.kind != kind:
            raise _error(f"expected {kind!r} but found {_describe(token)}", token.pos)
        self.depth -= 1

    def disjunction(self, in_value: bool) -> Filter:
        operands = [self.conjunction(in_value)]
        while self.keyword() == "or":
            self.next()
            operands.append(self.conjunction(in_value))
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunction(self, in_value: bool) -> Filter:
        operands = [self.unary(in_value)]
        while self.keyword() == "and":
            self.next()
            operands.append(self.unary(in_value))
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self, in_value: bool) -> Filter:
        token = self.peek()
        if self.keyword() == "not":
            self.next()
            if self.peek().kind != "(":
                raise _error("expected '(' after 'not'", self.peek().pos)
            return Not(self.group(in_value))
        if token.kind == "(":
            return self.group(in_value)
        if token.kind == "word":
            return self.attribute_expression(in_value)
        if token.kind == "end":
            raise _error("expected an attribute expression", token.pos)
        raise _error(f"unexpected {_describe(token)}, expected an attribute", token.pos)

    def group(self, in_value: bool) -> Filter:
        opener = self.next()
        self.enter(opener)
        inner = self.disjunction(in_value)
        self.close(opener, ")")
        return inner

    def attr_path(self, token: _Token, in_value: bool, allow_schema: bool = False) -> AttrPath:
        if token.kind != "word":
            raise _error(f"expected an attribute name but found {_describe(token)}", token.pos)
        text, uri = token.text, None
        if text[:4].lower() == "urn:":
            uri, text = _split_urn(text)
            if not text:
                if allow_schema:
                    return AttrPath("", None, uri)
                raise _error("expected an attribute name after the schema URN", token.pos)
        parts = text.split(".")
        if len(parts) > 2 or not all(_ATTR_NAME.fullmatch(p) for p in parts):
            raise _error(f"invalid attribute name {token.text!r}", token.pos)
        if in_value and (uri is not None or len(parts) > 1):
            raise _error("a value filter names sub-attributes by their plain names", token.pos)
        return AttrPath(parts[0], parts[1] if len(parts) > 1 else None, uri)

    def attribute_expression(self, in_value: bool) -> Filter:
        name = self.next()
        path = self.attr_path(name, in_value)
        token = self.next()
        if token.kind == "[":
            if in_value:
                raise _error("value filters cannot be nested", token.pos)
            if path.sub_attr is not None:
                raise _error("a value filter cannot follow a sub-attribute", token.pos)
            self.enter(token)
            inner = self.disjunction(True)
            self.close(token, "]")
            return ValuePath(path, inner)
        if token.kind != "word":
            raise _error(f"expected an operator after {name.text!r}", token.pos)
        op = token.text.lower()
        if op == "pr":
            if _is_value(self.peek()):
                raise _error("'pr' takes no value", self.peek().pos)
            return Present(path)
        if op not in COMPARE_OPS:
            raise _error(f"unknown operator {token.text!r}", token.pos)
        value = self.comparison_value(token)
        if value is None:
            if op not in ("eq", "ne"):
                raise _error(f"{op!r} cannot compare with null", token.pos)
            return Not(Present(path)) if op == "eq" else Present(path)
        if op in _ORDERING_OPS and isinstance(value, bool):
            raise _error(f"{op!r} cannot compare booleans", token.pos)
        if op in _STRING_OPS and not isinstance(value, str):
            raise _error(f"{op!r} needs a string value", token.pos)
        return Compare(path, op, value)

    def comparison_value(self, op: _Token) -> Scalar | None:
        token = self.next()
        if token.kind in ("string", "number"):
            return token.value
        word = token.text.lower() if token.kind == "word" else None
        if word in ("true", "false"):
            return word == "true"
        if word == "null":
            return None
        if token.kind in ("end", ")", "]") or word in ("and", "or"):
            raise _error(f"missing value after {op.text!r}", token.pos)
        if word is not None:
            raise _error(f"invalid value {token.text!r} (strings need double quotes)", token.pos)
        raise _error(f"expected a value but found {_describe(token)}", token.pos)


def _split_urn(text: str) -> tuple[str, str]:
    """Split ``urn:...:attr.sub`` into the URN and the rest, preferring known schema URNs."""
    folded = text.lower()
    for urn in _KNOWN_URNS:
        if folded == urn.lower():
            return urn, ""
        if folded.startswith(urn.lower() + ":"):
            return urn, text[len(urn) + 1 :]
    uri, _, rest = text.rpartition(":")
    return uri, rest


def parse_filter(text: str) -> Filter:
    """Parse a SCIM filter; raise FilterError naming the position of the first problem."""
    parser = _Parser(text)
    result = parser.disjunction(False)
    parser.expect_end()
    return result


def parse_path(text: str) -> PatchPath:
    """Parse a PATCH path: ``attrPath`` or ``valuePath [ "." subAttr ]`` (RFC 7644 §3.5.2)."""
    parser = _Parser(text, "path")
    path = parser.attr_path(parser.next(), in_value=False, allow_schema=True)
    value_filter: Filter | None = None
    sub_attr = path.sub_attr
    opener = parser.peek()
    if opener.kind == "[":
        if sub_attr is not None or not path.attr:
            raise _error("a value filter must follow an attribute name", opener.pos)
        parser.next()
        parser.enter(opener)
        value_filter = parser.disjunction(True)
        closer = parser.peek()
        parser.close(opener, "]")
        after = parser.peek()
        if after.kind == "word" and after.text.startswith(".") and after.pos == closer.pos + 1:
            parser.next()
            if not _ATTR_NAME.fullmatch(after.text[1:]):
                raise _error(f"invalid sub-attribute {after.text[1:]!r}", after.pos + 1)
            sub_attr = after.text[1:]
    parser.expect_end()
    return PatchPath(AttrPath(path.attr, None, path.uri), value_filter, sub_attr)


# --- Comparison semantics shared by matches() and to_sql() --------------------------------

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
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


def _fold(text: str) -> str:
    """Fold ASCII case only, exactly as SQLite's NOCASE collation and LIKE do."""
    return text.translate(_ASCII_LOWER)


def _parse_datetime(text: str) -> datetime | None:
    if not _DATETIME.fullmatch(text):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _kind(attribute: Attribute | None, value: Scalar) -> str:
    """How values compare: "string", "boolean", "number", "dateTime" or "complex"."""
    if attribute is not None:
        return _KINDS.get(attribute.type, "string")
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else "string"


def _expected(op: str, value: Scalar, kind: str, attribute: Attribute | None, path: str) -> Any:
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
    if attribute is not None and attribute.type == "binary" and op in _ORDERING_OPS:
        raise FilterError(f"'{op}' cannot be used on the binary attribute '{path}'")
    if kind == "number":
        if op in _STRING_OPS or isinstance(value, bool) or not isinstance(value, int | float):
            raise FilterError(f"'{path}' compares with numbers, using eq, ne, gt, ge, lt or le")
        return value
    if not isinstance(value, str):
        raise FilterError(f"'{path}' compares with a string value")
    if kind == "dateTime" and op not in _STRING_OPS:
        parsed = _parse_datetime(value)
        if parsed is None:
            raise FilterError(f"'{path}' compares with a dateTime such as \"2024-01-31T12:00:00Z\"")
        return parsed
    return value


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
    if kind == "dateTime" and op not in _STRING_OPS:
        return _parse_datetime(value)
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


def _resolve(resource_type: str, path: AttrPath, parent: str | None) -> ResolvedAttr:
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


# --- Evaluation ---------------------------------------------------------------------------


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

    def target(self, path: AttrPath, comparing: bool) -> _Target:
        if self.resource_type is None:
            names = (path.attr,) if path.sub_attr is None else (path.attr, path.sub_attr)
            return _Target(names, None, path.uri, element_value=comparing)
        resolved = _resolve(self.resource_type, path, self.parent)
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
            kind = _kind(target.attribute, node.value)
            _expected(op, node.value, kind, target.attribute, str(node.path))
        elif isinstance(node, ValuePath):
            self.value_path_child(node.path).check(node.filter)

    def value_path_child(self, path: AttrPath) -> _Evaluator:
        if self.parent is not None:
            raise FilterError("value filters cannot be nested")
        if self.resource_type is None:
            return _Evaluator(None, str(path))
        resolved = _resolve(self.resource_type, path, None)
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
        target = self.target(node.path, comparing=True)
        kind = _kind(target.attribute, node.value)
        expected = _expected(node.op, node.value, kind, target.attribute, str(node.path))
        case_exact = target.attribute is not None and target.attribute.case_exact
        if kind == "string" or (kind == "dateTime" and node.op in _STRING_OPS):
            expected = expected if case_exact else _fold(expected)
        for value in _flatten(self.values(target, item)):
            if target.element_value and isinstance(value, Mapping):
                value = _get(value, "value")
            actual = _actual(value, node.op, kind, case_exact)
            if actual is not None and _compare(node.op, actual, expected):
                return True
        return False


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
    evaluator = _Evaluator(resource_type, parent)
    if resource_type is not None:
        evaluator.check(filter)
    return evaluator.evaluate(filter, item)


# --- SQL ----------------------------------------------------------------------------------
# Fragments are assembled from table descriptors and schema names only (hence the S608
# waivers); every value from a filter is bound through a ``?`` placeholder.


@dataclass(frozen=True, slots=True)
class SqlColumn:
    """An SQL column (qualified) holding one SCIM attribute."""

    expr: str
    nocase: bool = False  # declared COLLATE NOCASE
    boolean: bool = False  # INTEGER 0/1 holding a SCIM boolean


@dataclass(frozen=True, slots=True)
class SideTable:
    """A table indexing the elements of a multi-valued attribute, one row per element."""

    source: str  # FROM clause, with an alias: "user_emails e"
    key: str  # the side table's column naming the owning row: "e.user_id"
    owner: str  # the owning table's key: "users.id"
    columns: Mapping[str, SqlColumn]  # canonical sub-attribute name -> column
    order: str = ""  # ORDER BY putting the element to sort on first (primary, else first)


@dataclass(frozen=True, slots=True)
class SqlTable:
    """How a resource type is stored: indexed columns, the JSON column and side tables.

    Fragments refer to the table by its name (``users.id``): select ``FROM users``, unaliased.
    """

    resource_type: str
    name: str
    json_column: str  # the whole resource with canonical attribute names
    columns: Mapping[str, SqlColumn]  # canonical attribute path -> column
    side_tables: Mapping[str, SideTable]  # canonical multi-valued attribute -> side table
    not_in_json: frozenset[str]  # top-level attributes that the JSON column leaves out


USERS_TABLE = SqlTable(
    resource_type="User",
    name="users",
    json_column="resource",
    columns={
        "id": SqlColumn("users.id"),
        "userName": SqlColumn("users.user_name", nocase=True),
        "externalId": SqlColumn("users.external_id"),
        "active": SqlColumn("users.active", boolean=True),
        "meta.created": SqlColumn("users.created"),
        "meta.lastModified": SqlColumn("users.last_modified"),
    },
    side_tables={
        "emails": SideTable(
            "user_emails e",
            "e.user_id",
            "users.id",
            # No "primary": the column reads a missing flag as 0, the JSON as absent.
            {"value": SqlColumn("e.value", nocase=True), "type": SqlColumn("e.type")},
            order="e.is_primary DESC, e.rowid",
        ),
        "groups": SideTable(
            "group_members gm JOIN groups g ON g.id = gm.group_id",
            "gm.user_id",
            "users.id",
            {"value": SqlColumn("gm.group_id"), "display": SqlColumn("g.display_name", True)},
        ),
    },
    not_in_json=frozenset({"id", "meta", "groups"}),
)

GROUPS_TABLE = SqlTable(
    resource_type="Group",
    name="groups",
    json_column="resource",
    columns={
        "id": SqlColumn("groups.id"),
        "displayName": SqlColumn("groups.display_name", nocase=True),
        "externalId": SqlColumn("groups.external_id"),
        "meta.created": SqlColumn("groups.created"),
        "meta.lastModified": SqlColumn("groups.last_modified"),
    },
    side_tables={
        "members": SideTable(
            "group_members gm", "gm.group_id", "groups.id", {"value": SqlColumn("gm.user_id")}
        ),
    },
    not_in_json=frozenset({"id", "meta", "members"}),
)

_SQL_OPS = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_JSON_KEY = re.compile(r"[A-Za-z0-9$_:.-]+")
# One element of a json_each() over a multi-valued attribute, as JSON when it is an object.
_ELEMENT = "(CASE WHEN j.type = 'object' THEN j.value END)"
_ELEMENT_PRESENT = (
    "(CASE WHEN j.type = 'object' THEN EXISTS (SELECT 1 FROM json_each(j.value) k"
    " WHERE k.type != 'null' AND NOT (k.type = 'text' AND k.atom = ''))"
    " ELSE j.type != 'null' AND NOT (j.type = 'text' AND j.atom = '') END)"
)


def _json_path(keys: Iterable[str]) -> str:
    """A JSON path literal; keys come from the schemas, never from the client."""
    parts = []
    for key in keys:
        if not _JSON_KEY.fullmatch(key):
            raise ValueError(f"unsafe JSON key {key!r}")
        parts.append(f'."{key}"')
    return "'$" + "".join(parts) + "'"


@dataclass(frozen=True, slots=True)
class _Operand:
    expr: str  # SQL expression of the value
    json: tuple[str, str] | None = None  # (document, path literal) when the value is JSON
    nocase: bool = False
    boolean: bool = False


def _json_operand(document: str, keys: Iterable[str]) -> _Operand:
    path = _json_path(keys)
    return _Operand(f"json_extract({document}, {path})", (document, path))


def _column_operand(column: SqlColumn) -> _Operand:
    return _Operand(column.expr, None, column.nocase, column.boolean)


def _json_boolean(operand: _Operand, json: tuple[str, str]) -> str:
    """1/0 for JSON true/false and the strings "true"/"false" (any case), else NULL."""
    kind = f"json_type({json[0]}, {json[1]})"
    text = f"CASE lower({operand.expr}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END"
    return f"(CASE {kind} WHEN 'true' THEN 1 WHEN 'false' THEN 0 WHEN 'text' THEN ({text}) END)"


def _like_pattern(op: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]


@dataclass(frozen=True, slots=True)
class _Scope:
    """Where a value filter's sub-attributes live: side-table columns or a JSON element."""

    parent: ResolvedAttr
    columns: Mapping[str, SqlColumn] | None
    document: str = ""
    base: tuple[str, ...] = ()

    def operand(self, name: str) -> _Operand:
        if self.columns is not None:
            return _column_operand(self.columns[name])
        return _json_operand(self.document, (*self.base, name))


class _SqlCompiler:
    def __init__(self, table: SqlTable, params: list[object], scope: _Scope | None = None):
        self.table = table
        self.params = params
        self.scope = scope
        self.document = f"{table.name}.{table.json_column}"

    def unsupported(self, path: str) -> FilterError:
        return FilterError(f"filtering on '{path}' is not supported")

    def resolve(self, path: AttrPath) -> ResolvedAttr:
        parent = self.scope.parent.full_path if self.scope is not None else None
        return _resolve(self.table.resource_type, path, parent)

    def node(self, node: Filter) -> str:
        if isinstance(node, And | Or):
            joiner = " AND " if isinstance(node, And) else " OR "
            return "(" + joiner.join(self.node(operand) for operand in node.operands) + ")"
        if isinstance(node, Not):
            # SQL's NULL would make NOT unknown; a missing value must make it true.
            return f"NOT coalesce({self.node(node.operand)}, 0)"
        if isinstance(node, ValuePath):
            return self.value_path(node)
        if isinstance(node, Compare) and node.op == "ne":
            return f"NOT coalesce({self.node(Compare(node.path, 'eq', node.value))}, 0)"
        return self.leaf(node)

    def test(self, node: Compare | Present, operand: _Operand, attribute: Attribute) -> str:
        """The predicate of ``node`` on one scalar value."""
        if isinstance(node, Present):
            return f"coalesce({operand.expr}, '') != ''"
        op, x = node.op, operand.expr
        kind = _kind(attribute, node.value)
        expected = _expected(op, node.value, kind, attribute, str(node.path))
        json = operand.json
        if kind == "boolean":
            self.params.append(int(expected))
            if operand.boolean or json is None:
                return f"{x} = ?"
            return f"{_json_boolean(operand, json)} = ?"
        if kind == "number":
            self.params.append(expected)
            guard = f"json_type({json[0]}, {json[1]}) IN ('integer', 'real') AND " if json else ""
            return f"({guard}{x} {_SQL_OPS[op]} ?)"
        guard = f"typeof({x}) = 'text' AND " if json else ""
        if isinstance(expected, datetime):
            text = expected.astimezone(UTC).isoformat(timespec="milliseconds")
            self.params.append(text.replace("+00:00", "Z"))
            return f"({guard}julianday({x}) {_SQL_OPS[op]} julianday(?))"
        case_exact = attribute.case_exact
        if op in _SQL_OPS:
            collate = ""
            if case_exact and operand.nocase:
                collate = " COLLATE BINARY"
            elif not case_exact and not operand.nocase:
                collate = " COLLATE NOCASE"
            self.params.append(expected)
            return f"({guard}{x} {_SQL_OPS[op]} ?{collate})"
        if not case_exact:
            self.params.append(_like_pattern(op, expected))
            return f"({guard}{x} LIKE ? ESCAPE '\\')"
        if op == "ew":
            self.params.extend([expected, expected, expected])
            return f"({guard}{x} IS NOT NULL AND (length(?) = 0 OR substr({x}, -length(?)) = ?))"
        self.params.append(expected)
        return f"({guard}instr({x}, ?) {'> 0' if op == 'co' else '= 1'})"

    def leaf(self, node: Compare | Present) -> str:
        resolved = self.resolve(node.path)
        if self.scope is not None:
            return self.test(node, self.scope.operand(resolved.attribute.name), resolved.attribute)
        column = self.table.columns.get(resolved.full_path)
        if column is not None:
            return self.test(node, _column_operand(column), resolved.attribute)
        top, attribute = resolved.top, resolved.attribute
        if top.multi_valued:
            sub = attribute if resolved.parent is not None else None
            if isinstance(node, Compare) and sub is None:
                sub = top.sub_attribute("value")
                if sub is None:
                    raise FilterError(f"cannot compare the complex attribute '{node.path}'")
            return self.any_element(resolved, node, sub)
        if top.name in self.table.not_in_json:
            raise self.unsupported(resolved.full_path)
        if attribute.type == "complex":
            if isinstance(node, Compare):
                raise FilterError(f"cannot compare the complex attribute '{node.path}'")
            members = f"json_each({self.document}, {_json_path(resolved.keys)}) k"
            return (
                f"EXISTS (SELECT 1 FROM {members} WHERE k.type != 'null'"  # noqa: S608
                " AND NOT (k.type = 'text' AND k.atom = ''))"
            )
        return self.test(node, _json_operand(self.document, resolved.keys), attribute)

    def any_element(
        self, resolved: ResolvedAttr, node: Compare | Present, sub: Attribute | None
    ) -> str:
        """``node`` on the elements of a multi-valued attribute: true when any element holds."""
        top = resolved.top
        side = self.table.side_tables.get(top.name)
        if side is not None and (sub is None or sub.name in side.columns):
            condition = "1"
            if sub is not None:
                condition = self.test(node, _column_operand(side.columns[sub.name]), sub)
            return f"{side.owner} IN (SELECT {side.key} FROM {side.source} WHERE {condition})"  # noqa: S608
        if top.name in self.table.not_in_json:
            raise self.unsupported(resolved.full_path)
        keys = resolved.keys[:-1] if resolved.parent is not None else resolved.keys
        condition = _ELEMENT_PRESENT
        if sub is not None:
            # Elements of a simple multi-valued attribute are scalars: compare them as they are.
            operand = _json_operand(_ELEMENT, (sub.name,)) if top.type == "complex" else None
            condition = self.test(node, operand or _Operand("j.atom"), sub)
        source = f"json_each({self.document}, {_json_path(keys)}) j"
        return f"EXISTS (SELECT 1 FROM {source} WHERE {condition})"  # noqa: S608

    def value_path(self, node: ValuePath) -> str:
        if self.scope is not None:
            raise FilterError("value filters cannot be nested")
        resolved = self.resolve(node.path)
        attribute = resolved.attribute
        if attribute.type != "complex" or resolved.parent is not None:
            raise FilterError(f"'{node.path}' is not a complex attribute and takes no value filter")
        names = {r.attribute.name for r in self.sub_attributes(node.filter, resolved)}
        if not attribute.multi_valued:
            if attribute.name in self.table.not_in_json:
                raise self.unsupported(resolved.full_path)
            scope = _Scope(resolved, None, self.document, resolved.keys)
            return "(" + _SqlCompiler(self.table, self.params, scope).node(node.filter) + ")"
        side = self.table.side_tables.get(attribute.name)
        if side is not None and names <= side.columns.keys():
            inner = _SqlCompiler(self.table, self.params, _Scope(resolved, side.columns))
            condition = inner.node(node.filter)
            return f"{side.owner} IN (SELECT {side.key} FROM {side.source} WHERE {condition})"  # noqa: S608
        if attribute.name in self.table.not_in_json:
            raise self.unsupported(resolved.full_path)
        inner = _SqlCompiler(self.table, self.params, _Scope(resolved, None, _ELEMENT))
        source = f"json_each({self.document}, {_json_path(resolved.keys)}) j"
        return f"EXISTS (SELECT 1 FROM {source} WHERE {inner.node(node.filter)})"  # noqa: S608

    def sub_attributes(self, node: Filter, parent: ResolvedAttr) -> Iterator[ResolvedAttr]:
        if isinstance(node, And | Or):
            for operand in node.operands:
                yield from self.sub_attributes(operand, parent)
        elif isinstance(node, Not):
            yield from self.sub_attributes(node.operand, parent)
        elif isinstance(node, Compare | Present):
            yield _resolve(self.table.resource_type, node.path, parent.full_path)
        else:
            raise FilterError("value filters cannot be nested")


def to_sql(filter: Filter, table: SqlTable) -> tuple[str, list[object]]:
    """Compile ``filter`` to a WHERE fragment over ``table`` with ``?`` placeholders."""
    params: list[object] = []
    return _SqlCompiler(table, params).node(filter), params


def sort_sql(path: str, table: SqlTable) -> str:
    """An ORDER BY expression for ``sortBy=path``; multi-valued sort by the primary element."""
    try:
        resolved = resolve(table.resource_type, path)
    except UnknownAttribute:
        raise FilterError(f"unknown attribute '{path}'") from None
    attribute, top = resolved.attribute, resolved.top
    column = table.columns.get(resolved.full_path)
    if top.multi_valued and column is None:
        sub = attribute if resolved.parent is not None else top.sub_attribute("value")
        if sub is None:
            raise FilterError(f"cannot sort by the complex attribute '{path}'")
        attribute = sub
        side = table.side_tables.get(top.name)
        if side is not None and sub.name in side.columns:
            order = f" ORDER BY {side.order}" if side.order else ""
            column = SqlColumn(
                f"(SELECT {side.columns[sub.name].expr} FROM {side.source}"  # noqa: S608
                f" WHERE {side.key} = {side.owner}{order} LIMIT 1)"
            )
        elif top.name in table.not_in_json:
            raise FilterError(f"sorting by '{path}' is not supported")
        else:
            keys = resolved.keys[:-1] if resolved.parent is not None else resolved.keys
            element = _json_operand(_ELEMENT, ("primary",))
            assert element.json is not None
            column = SqlColumn(
                f"(SELECT {_json_operand(_ELEMENT, (sub.name,)).expr}"  # noqa: S608
                f" FROM json_each({table.name}.{table.json_column}, {_json_path(keys)}) j"
                f" ORDER BY {_json_boolean(element, element.json)} DESC, j.key LIMIT 1)"
            )
    elif column is None:
        if attribute.type == "complex":
            raise FilterError(f"cannot sort by the complex attribute '{path}'")
        if top.name in table.not_in_json:
            raise FilterError(f"sorting by '{path}' is not supported")
        document = f"{table.name}.{table.json_column}"
        column = SqlColumn(_json_operand(document, resolved.keys).expr)
    textual = attribute.type in ("string", "reference")
    if textual and not attribute.case_exact and not column.nocase:
        return f"{column.expr} COLLATE NOCASE"
    return column.expr
