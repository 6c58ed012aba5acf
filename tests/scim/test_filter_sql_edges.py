"""to_sql() and sort_sql() corners an earlier mutation run found untested, each run on SQLite:
numbers, COLLATE BINARY for caseExact text in a NOCASE column, simple multi-valued
attributes, and sorting on the primary element."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.scim.evaluate import matches
from app.scim.filter import FilterError, parse_filter
from app.scim.filter_sql import USERS_TABLE, SqlColumn, SqlTable, sort_sql, to_sql
from app.scim.schemas import Attribute, Schema
from tests.scim.sql_support import select

# --- numbers: no shipped attribute is an integer or decimal, so a test resource type has them --

DEVICE_URN = "urn:example:params:scim:schemas:Device"
DEVICE = Schema(
    DEVICE_URN,
    "Device",
    "A device, for tests",
    (
        Attribute("ports", "integer"),
        Attribute("weight", "decimal"),
        Attribute("slots", "integer"),
        Attribute("readings", "integer", multi_valued=True),
        Attribute("tags", multi_valued=True),
        Attribute("codes", multi_valued=True, case_exact=True),
        Attribute(
            "box",
            "complex",
            sub_attributes=(
                Attribute("subtags", multi_valued=True),
                Attribute("nums", "integer", multi_valued=True),
            ),
        ),
    ),
)
DEVICES_TABLE = SqlTable(
    resource_type="Device",
    name="devices",
    json_column="resource",
    columns={"id": SqlColumn("devices.id"), f"{DEVICE_URN}:slots": SqlColumn("devices.slots")},
    side_tables={},
    not_in_json=frozenset({"id", "meta"}),
)
DEVICES: dict[str, dict[str, Any]] = {
    "d1": {
        "ports": 4,
        "weight": 2.5,
        "readings": [1, 7],
        "tags": ["red", "Blue"],
        "codes": ["Ab"],
        "box": {"subtags": ["Red", "blue"], "nums": [1, 7]},
    },
    "d2": {
        "ports": 8,
        "weight": 10,
        "readings": [5],
        "tags": [],
        "codes": ["ab", "cd"],
        "box": {"subtags": [], "nums": []},
    },
    "d3": {"ports": "9", "weight": True, "readings": ["9"], "tags": ["green", 5], "box": {}},
    "d4": {"weight": 5.0, "tags": [""], "box": {"subtags": ["green", ""], "nums": ["3", 2]}},
}
SLOTS = {"d1": 2, "d2": 6, "d3": None, "d4": 12}


@pytest.fixture
def devices(resource_type: Callable[..., None]) -> Iterator[sqlite3.Connection]:
    resource_type("Device", DEVICE)
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE devices (id TEXT PRIMARY KEY, slots INTEGER, resource TEXT)")
    for key, values in DEVICES.items():
        resource = json.dumps({DEVICE_URN: values})
        db.execute("INSERT INTO devices VALUES (?, ?, ?)", (key, SLOTS[key], resource))
    yield db
    db.close()


DEVICE_FILTERS: list[tuple[str, set[str]]] = [
    ("ports gt 5", {"d2"}),  # d3's "9" is a string: never compared as a number
    ("ports ge 8", {"d2"}),
    ("ports ge 4", {"d1", "d2"}),
    ("ports lt 5", {"d1"}),
    ("ports le 8", {"d1", "d2"}),
    ("ports eq 4", {"d1"}),
    ("ports eq 9", set()),
    ("ports ne 4", {"d2", "d3", "d4"}),
    ("not (ports gt 5)", {"d1", "d3", "d4"}),
    ("weight gt 2.5", {"d2", "d4"}),
    ("weight ge 2.5", {"d1", "d2", "d4"}),
    ("weight lt 2.6", {"d1"}),
    ("weight eq 5", {"d4"}),
    ("readings pr", {"d1", "d2", "d3"}),
    ("tags pr", {"d1", "d3"}),  # d4's only tag is empty
    ("not (tags pr)", {"d2", "d4"}),
]


@pytest.mark.parametrize(("text", "expected"), DEVICE_FILTERS)
def test_numbers_and_simple_multi_valued_run_on_sqlite(
    devices: sqlite3.Connection, text: str, expected: set[str]
) -> None:
    assert select(devices, DEVICES_TABLE, text) == expected
    resources = {key: {DEVICE_URN: values} for key, values in DEVICES.items()}
    assert {k for k, r in resources.items() if matches(parse_filter(text), r, "Device")} == expected


# A simple multi-valued attribute compares its elements, in SQL as in evaluate.matches(): any
# element that holds makes the filter hold. No shipped attribute is of this kind.
SIMPLE_MULTI_VALUED: list[tuple[str, set[str]]] = [
    ("readings gt 6", {"d1"}),
    ("readings eq 5", {"d2"}),
    ('tags eq "blue"', {"d1"}),
    ('tags co "LU"', {"d1"}),
    ('codes eq "ab"', {"d2"}),  # caseExact: "Ab" is another code
    # a multi-valued sub-attribute of a single-valued complex attribute: its elements too
    ('box.subtags eq "red"', {"d1"}),
    ('box.subtags co "E"', {"d1", "d4"}),
    ('box.subtags lt "c"', {"d1", "d4"}),  # d4's "" too
    ("box.subtags pr", {"d1", "d4"}),
    ("not (box.subtags pr)", {"d2", "d3"}),
    ('box.subtags ne "green"', {"d1", "d2", "d3"}),
    ("box.nums gt 5", {"d1"}),
    ("box.nums le 2", {"d1", "d4"}),
    ("box.nums eq 3", set()),  # d4's "3" is a string
]


@pytest.mark.parametrize(("text", "expected"), SIMPLE_MULTI_VALUED)
def test_simple_multi_valued_attributes_compare_their_elements(
    devices: sqlite3.Connection, text: str, expected: set[str]
) -> None:
    resources = {key: {DEVICE_URN: values} for key, values in DEVICES.items()}
    assert {k for k, r in resources.items() if matches(parse_filter(text), r, "Device")} == expected
    assert select(devices, DEVICES_TABLE, text) == expected


@pytest.mark.usefixtures("devices")
def test_number_comparison_binds_the_number_behind_a_type_guard() -> None:
    where, params = to_sql(parse_filter("ports gt 5"), DEVICES_TABLE)
    document = f'devices.resource, \'$."{DEVICE_URN}"."ports"\''
    assert where == (
        f"(json_type({document}) IN ('integer', 'real') AND json_extract({document}) > ?)"
    )
    assert params == [5]
    assert to_sql(parse_filter("slots ge 6.5"), DEVICES_TABLE) == ("(devices.slots >= ?)", [6.5])


@pytest.mark.parametrize(
    ("text", "expected"), [("slots gt 3", {"d2", "d4"}), ("slots le 6", {"d1", "d2"})]
)
def test_number_column_needs_no_guard(
    devices: sqlite3.Connection, text: str, expected: set[str]
) -> None:
    assert select(devices, DEVICES_TABLE, text) == expected


@pytest.mark.usefixtures("devices")
@pytest.mark.parametrize("text", ['ports eq "4"', 'ports co "4"', "ports eq true", 'weight lt "1"'])
def test_number_attributes_compare_with_numbers(text: str) -> None:
    with pytest.raises(FilterError) as caught:
        to_sql(parse_filter(text), DEVICES_TABLE)
    assert "compares with numbers, using eq, ne, gt, ge, lt or le" in caught.value.message


# --- collations -----------------------------------------------------------------------------
# The shipped tables keep caseExact text in binary columns; a table declaring a caseExact
# attribute's column NOCASE must still compare it exactly: COLLATE BINARY.

FOLDED_USERS = SqlTable(
    resource_type="User",
    name="users",
    json_column="resource",
    columns={
        "id": SqlColumn("users.id"),
        "userName": SqlColumn("users.user_name"),  # binary, though userName is caseInsensitive
        "externalId": SqlColumn("users.external_id", nocase=True),  # NOCASE, though caseExact
        "active": SqlColumn("users.active"),  # not flagged boolean: still compared as 0/1
    },
    side_tables={},
    not_in_json=frozenset({"id", "meta", "groups"}),
)


@pytest.fixture
def folded() -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE users (id TEXT PRIMARY KEY, user_name TEXT,"
        " external_id TEXT COLLATE NOCASE, active INTEGER, resource TEXT)"
    )
    rows = [
        ("u1", "Alice", "EXT-1", 1),
        ("u2", "bob", "ext-1", 0),
        ("u3", "Carol", "ext-2", 1),
        ("u4", "back\\slash_50%", None, 0),
    ]
    for key, name, external, active in rows:
        db.execute("INSERT INTO users VALUES (?, ?, ?, ?, '{}')", (key, name, external, active))
    yield db
    db.close()


def test_case_exact_attribute_in_a_nocase_column_is_compared_binary(
    folded: sqlite3.Connection,
) -> None:
    where, params = to_sql(parse_filter('externalId eq "EXT-1"'), FOLDED_USERS)
    assert (where, params) == ("(users.external_id = ? COLLATE BINARY)", ["EXT-1"])
    assert select(folded, FOLDED_USERS, 'externalId eq "EXT-1"') == {"u1"}
    assert select(folded, FOLDED_USERS, 'externalId ne "ext-1"') == {"u1", "u3", "u4"}
    assert select(folded, FOLDED_USERS, 'externalId lt "a"') == {"u1"}  # "E" < "a" in binary
    assert select(folded, FOLDED_USERS, 'externalId ge "ext-2"') == {"u3"}


def test_case_insensitive_attribute_in_a_binary_column_is_compared_nocase(
    folded: sqlite3.Connection,
) -> None:
    where, _ = to_sql(parse_filter('userName eq "ALICE"'), FOLDED_USERS)
    assert where == "(users.user_name = ? COLLATE NOCASE)"
    assert select(folded, FOLDED_USERS, 'userName eq "ALICE"') == {"u1"}
    assert select(folded, FOLDED_USERS, 'userName gt "B"') == {"u2", "u3", "u4"}
    assert select(folded, FOLDED_USERS, 'userName co "AR"') == {"u3"}


def test_shipped_tables_add_no_collation_where_the_column_already_folds() -> None:
    assert to_sql(parse_filter('userName gt "a"'), USERS_TABLE)[0] == "(users.user_name > ?)"
    assert to_sql(parse_filter('externalId lt "a"'), USERS_TABLE)[0] == "(users.external_id < ?)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('externalId sw "xt"', set()),  # instr() finds it, but not at the start
        ('externalId sw "ext"', {"u2", "u3"}),
        ('externalId co "xt"', {"u2", "u3"}),
        ('externalId ew "-1"', {"u1", "u2"}),
        ('userName co "\\\\"', {"u4"}),  # a backslash: escaped in the LIKE pattern
        ('userName co "h_5"', {"u4"}),
        ('userName co "_"', {"u4"}),
        ('userName ew "0%"', {"u4"}),
        ('userName sw "%"', set()),
        ("active eq true", {"u1", "u3"}),
        ("active eq false", {"u2", "u4"}),
    ],
)
def test_case_exact_and_escaped_string_operators(
    folded: sqlite3.Connection, text: str, expected: set[str]
) -> None:
    assert select(folded, FOLDED_USERS, text) == expected


# --- a schema name that could break out of the JSON path literal ----------------------------

ODD = Schema(DEVICE_URN, "Device", "A device, for tests", (Attribute("odd'name"),))


def test_unsafe_json_key_from_a_schema_is_refused(resource_type: Callable[..., None]) -> None:
    resource_type("Device", ODD)
    with pytest.raises(ValueError, match='unsafe JSON key "odd\'name"'):
        sort_sql("odd'name", DEVICES_TABLE)
