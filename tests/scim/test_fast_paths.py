"""The request path's shortcuts give exactly what the general code gives: the one-regex reading
of `attr op "value"` filters and plain PATCH paths, and the default projection."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.scim.filter import _Parser, parse_filter, parse_path
from app.scim.projection import _DEFAULT, _project, project
from tests.scim.wire import ENTERPRISE_URN, USER_URN

NAMES = st.sampled_from(
    ["userName", "USERNAME", "name", "givenName", "emails", "value", "not", "and", "x-y", "a_1"]
)
OPS = st.sampled_from(["eq", "EQ", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "xx"])
SPACE = st.sampled_from([" ", "  ", "\t", ""])
VALUES = st.text(st.characters(codec="utf-8"), max_size=20) | st.sampled_from(
    ['a\\"b', "\\u00e9", "x\\ny", "bad\\q"]
)


def _general_filter(text: str) -> Any:
    parser = _Parser(text)
    result = parser.disjunction(False)
    parser.expect_end()
    return result


def _outcome(fn: Any, text: str) -> Any:
    try:
        return ("ok", fn(text))
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


@given(
    lead=SPACE,
    attr=NAMES,
    sub=st.none() | NAMES,
    gap=SPACE,
    op=OPS,
    gap2=SPACE,
    value=VALUES,
    tail=SPACE,
)
def test_simple_filters_read_as_the_parser_reads_them(
    lead: str, attr: str, sub: str | None, gap: str, op: str, gap2: str, value: str, tail: str
) -> None:
    path = f"{attr}.{sub}" if sub else attr
    text = f'{lead}{path}{gap or " "}{op}{gap2 or " "}"{value}"{tail}'
    assert _outcome(parse_filter, text) == _outcome(_general_filter, text)


def _general_path(text: str) -> Any:
    import app.scim.filter as filter_module

    saved = filter_module._PLAIN_PATH
    filter_module._PLAIN_PATH = re.compile(r"(?!)")  # never matches
    try:
        return parse_path(text)
    finally:
        filter_module._PLAIN_PATH = saved


@given(lead=SPACE, attr=NAMES, sub=st.none() | NAMES, tail=SPACE)
def test_plain_paths_read_as_the_parser_reads_them(
    lead: str, attr: str, sub: str | None, tail: str
) -> None:
    text = f"{lead}{attr}{'.' + sub if sub else ''}{tail}"
    assert _outcome(parse_path, text) == _outcome(_general_path, text)


SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5)
ELEMENTS = st.dictionaries(
    st.sampled_from(["value", "type", "primary", "display", "$ref", "other"]), SCALARS, max_size=3
)
VALUES_OF_KEYS = SCALARS | ELEMENTS | st.lists(ELEMENTS | SCALARS, max_size=3)
KEYS = st.sampled_from(
    [
        "schemas",
        "userName",
        "name",
        "emails",
        "groups",
        "active",
        "password",
        "employeeNumber",
        "name.givenName",
        "phoneNumbers",
        "x509Certificates",
        "meta",
        "id",
        "unknown",
        ENTERPRISE_URN,
        "urn:example:unknown",
    ]
)
RESOURCES = st.dictionaries(
    KEYS,
    VALUES_OF_KEYS
    | st.just([USER_URN, ENTERPRISE_URN])
    | st.dictionaries(st.sampled_from(["employeeNumber", "manager", "nope"]), VALUES_OF_KEYS),
    max_size=8,
)


@given(resource=RESOURCES, resource_type=st.sampled_from(["User", "Group"]))
def test_the_default_projection_is_the_general_one(
    resource: dict[str, Any], resource_type: str
) -> None:
    assert project(resource, resource_type, None, None) == _project(
        resource, resource_type, _DEFAULT
    )
