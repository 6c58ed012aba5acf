"""The SCIM filter language (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2), parsed.

    parse_filter(text) -> Filter           text to an immutable AST
    parse_path(text) -> PatchPath          a PATCH path: attribute, value filter, sub-attribute

The AST is evaluated by ``app.scim.evaluate.matches`` and compiled to SQL by
``app.scim.filter_sql.to_sql``.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from typing import TypeAlias

from app.scim.errors import InvalidFilter
from app.scim.schemas import ENTERPRISE_USER_URN, GROUP_URN, LEGACY_CORE_URN, USER_URN

MAX_LENGTH = 4096
MAX_DEPTH = 50
MAX_CLAUSES = 50  # the defaults of [scim] max_filter_clauses and max_value_filters
MAX_VALUE_FILTERS = 5

COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
ORDERING_OPS = frozenset({"gt", "ge", "lt", "le"})
STRING_OPS = frozenset({"co", "sw", "ew"})
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


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_PLAIN_STRING = re.compile(r'"[^"\\\x00-\x1f]*"')  # no escape, no control character
_WORD = re.compile(r"[A-Za-z_$.][A-Za-z0-9_$\-:.]*")


def _read_string(text: str, start: int) -> _Token:
    match = _STRING.match(text, start)
    if match is None:
        raise _error("unterminated string starting", start)
    literal = match.group()
    if _PLAIN_STRING.fullmatch(literal) and literal.isascii():
        return _Token("string", literal, start, literal[1:-1])
    try:
        value = json.loads(literal)
        value.encode("utf-8")  # rejects lone surrogates such as "\ud800"
    except (ValueError, UnicodeEncodeError):
        raise _error("invalid string (bad escape or control character)", start) from None
    return _Token("string", literal, start, value)


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
            word = _WORD.match(text, i)
            assert word is not None  # ch is a word start
            token = _Token("word", word.group(), i)
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
    def __init__(
        self,
        text: str,
        what: str = "filter",
        max_clauses: int = MAX_CLAUSES,
        max_value_filters: int = MAX_VALUE_FILTERS,
    ) -> None:
        self.clauses_left, self.value_filters_left = max_clauses, max_value_filters
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
        self.clauses_left -= 1
        if self.clauses_left < 0:
            raise _error("too many comparisons in one filter ([scim] max_filter_clauses)", name.pos)
        path = self.attr_path(name, in_value)
        token = self.next()
        if token.kind == "[":
            self.value_filters_left -= 1
            if self.value_filters_left < 0:
                message = "too many value filters in one filter ([scim] max_value_filters)"
                raise _error(message, token.pos)
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
        if op in ORDERING_OPS and isinstance(value, bool):
            raise _error(f"{op!r} cannot compare booleans", token.pos)
        if op in STRING_OPS and not isinstance(value, str):
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


# The shape of nearly every filter an identity provider sends (`userName eq "…"`): read by one
# regular expression into exactly the node the parser would build.
_SIMPLE = re.compile(
    r"\s*([A-Za-z][A-Za-z0-9_-]*)(?:\.([A-Za-z][A-Za-z0-9_-]*))?\s+"
    r'(eq|ne|co|sw|ew|gt|ge|lt|le)\s+"([^"\\\x00-\x1f]*)"\s*',
    re.IGNORECASE,
)


def parse_filter(
    text: str, *, max_clauses: int = MAX_CLAUSES, max_value_filters: int = MAX_VALUE_FILTERS
) -> Filter:
    """Parse a SCIM filter; raise FilterError naming the position of the first problem.

    A filter may hold at most `max_clauses` comparisons (``attr op value`` or ``attr pr``, a
    value filter counting as one more) and `max_value_filters` ``attr[...]`` value filters."""
    simple = _SIMPLE.fullmatch(text)
    if simple and len(text) <= MAX_LENGTH and text.isascii() and simple[1].lower() != "not":
        return Compare(AttrPath(simple[1], simple[2], None), simple[3].lower(), simple[4])
    parser = _Parser(text, "filter", max_clauses, max_value_filters)
    result = parser.disjunction(False)
    parser.expect_end()
    return result


_PLAIN_PATH = re.compile(r"\s*([A-Za-z][A-Za-z0-9_-]*)(?:\.([A-Za-z][A-Za-z0-9_-]*))?\s*")


def parse_path(text: str, *, max_clauses: int = MAX_CLAUSES) -> PatchPath:
    """Parse a PATCH path: ``attrPath`` or ``valuePath [ "." subAttr ]`` (RFC 7644 §3.5.2)."""
    plain = _PLAIN_PATH.fullmatch(text)  # `active`, `name.givenName`: the usual paths
    if plain and len(text) <= MAX_LENGTH:
        return PatchPath(AttrPath(plain[1], None, None), None, plain[2])
    parser = _Parser(text, "path", max_clauses)
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


def clauses(node: Filter) -> int:
    """How many comparisons (``attr op value``, ``attr pr``) a filter holds."""
    if isinstance(node, And | Or):
        return sum(clauses(operand) for operand in node.operands)
    if isinstance(node, Not):
        return clauses(node.operand)
    if isinstance(node, ValuePath):
        return 1 + clauses(node.filter)
    return 1
