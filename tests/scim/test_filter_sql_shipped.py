"""to_sql() and sort_sql() over the shipped tables, corners an earlier mutation run found
untested: sorting on the primary element, groups by id and meta, the exact SQL of side-table
filters, constructed ASTs, and the exact messages of refusals."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from app.scim.filter import AttrPath, Compare, FilterError, ValuePath, parse_filter
from app.scim.filter_sql import (
    GROUPS_TABLE,
    USERS_TABLE,
    SideTable,
    SqlColumn,
    SqlTable,
    sort_sql,
    to_sql,
)
from tests.scim.sql_support import MIGRATION, select

# --- sorting ------------------------------------


@pytest.fixture
def users() -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(":memory:")
    db.executescript(MIGRATION.read_text())
    people: list[tuple[str, dict[str, Any]]] = [
        (
            "u1",
            {
                "phoneNumbers": [{"value": "9"}, {"value": "1", "primary": True}],
                "ims": [{"value": "b"}],
                "profileUrl": "https://B.example",
                "emails": [{"value": "a@x"}],
            },
        ),
        (
            "u2",
            {
                "phoneNumbers": [{"value": "5"}],
                "ims": [{"value": "A"}],
                "emails": [{"value": "m@x", "display": "M"}],
            },
        ),
        (
            "u3",
            {
                "phoneNumbers": [{"value": "7"}, {"value": "3"}],
                "ims": [{"value": "C"}],
                "profileUrl": "https://a.example",
            },
        ),
    ]
    for key, resource in people:
        db.execute(
            "INSERT INTO users (id, user_name, resource, created, last_modified)"
            " VALUES (?, ?, ?, '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')",
            (key, f"{key}@example.com", json.dumps(resource)),
        )
    emails = [("u1", "z@x", 0), ("u1", "a@x", 1), ("u2", "m@x", 0), ("u3", "b@x", 0)]
    db.executemany("INSERT INTO user_emails (user_id, value, is_primary) VALUES (?, ?, ?)", emails)
    db.execute(
        "INSERT INTO groups (id, display_name, created, last_modified) VALUES"
        " ('g1', 'Zeta', '2024-01-01T00:00:00Z', '2024-05-01T00:00:00Z'),"
        " ('g2', 'alpha', '2024-01-01T00:00:00Z', '2024-03-01T00:00:00Z')"
    )
    db.executemany(
        "INSERT INTO group_members (group_id, user_id) VALUES (?, ?)",
        [("g1", "u1"), ("g2", "u2"), ("g1", "u3")],
    )
    yield db
    db.close()


def order(db: sqlite3.Connection, path: str) -> list[str]:
    expression = sort_sql(path, USERS_TABLE)
    rows = db.execute(f"SELECT users.id FROM users ORDER BY {expression}, users.id")
    return [row[0] for row in rows]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("phoneNumbers.value", ["u1", "u2", "u3"]),  # u1 by its primary "1", u3 by its first "7"
        ("phoneNumbers", ["u1", "u2", "u3"]),
        ("emails", ["u1", "u3", "u2"]),  # u1 by its primary "a@x", not its first "z@x"
        ("emails.value", ["u1", "u3", "u2"]),
        ("ims", ["u2", "u1", "u3"]),  # A, b, C: case-insensitive
        ("ims.value", ["u2", "u1", "u3"]),
        ("profileUrl", ["u2", "u3", "u1"]),  # a reference, case-insensitive; NULL first
        ("groups.display", ["u2", "u1", "u3"]),
        ("groups", ["u1", "u3", "u2"]),  # by group id: g1, g1, g2
    ],
)
def test_sort_by_the_primary_element_and_case_insensitively(
    users: sqlite3.Connection, path: str, expected: list[str]
) -> None:
    assert order(users, path) == expected


def test_sort_by_a_multi_valued_json_attribute_folds_case() -> None:
    assert sort_sql("ims", USERS_TABLE).endswith("LIMIT 1) COLLATE NOCASE")
    assert not sort_sql("x509Certificates", USERS_TABLE).endswith("COLLATE NOCASE")  # caseExact


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('meta[version eq "x"]', "filtering on 'meta' is not supported"),
        ('meta.resourceType eq "User"', "filtering on 'meta.resourceType' is not supported"),
        ("groups.display pr", None),
        ("groups pr", None),
    ],
)
def test_meta_lives_outside_the_json(text: str, message: str | None) -> None:
    if message is None:
        assert to_sql(parse_filter(text), USERS_TABLE)[0].startswith("users.id IN (SELECT")
        return
    with pytest.raises(FilterError) as caught:
        to_sql(parse_filter(text), USERS_TABLE)
    assert caught.value.message == message


# --- groups: id and meta are columns, the rest of meta is not stored ------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('id eq "g1"', {"g1"}),
        ('id ne "g1"', {"g2"}),
        ('meta.lastModified gt "2024-04-01T00:00:00Z"', {"g1"}),
        ('meta.lastModified le "2024-03-01T00:00:00Z"', {"g2"}),
        ('displayName eq "ZETA"', {"g1"}),
    ],
)
def test_group_columns(users: sqlite3.Connection, text: str, expected: set[str]) -> None:
    assert select(users, GROUPS_TABLE, text) == expected


def test_group_sort_columns(users: sqlite3.Connection) -> None:
    for path, expected in [("meta.lastModified", ["g2", "g1"]), ("id", ["g1", "g2"])]:
        expression = sort_sql(path, GROUPS_TABLE)
        rows = users.execute(f"SELECT groups.id FROM groups ORDER BY {expression}")
        assert [row[0] for row in rows] == expected


@pytest.mark.parametrize(
    ("table", "text"),
    [
        (GROUPS_TABLE, 'meta.version eq "x"'),
        (GROUPS_TABLE, 'meta.resourceType eq "Group"'),
        (USERS_TABLE, 'meta.resourceType eq "User"'),
    ],
)
def test_meta_outside_its_columns_is_not_stored(table: SqlTable, text: str) -> None:
    path = text.split()[0]
    with pytest.raises(FilterError) as caught:
        to_sql(parse_filter(text), table)
    assert caught.value.message == f"filtering on '{path}' is not supported"
    with pytest.raises(FilterError) as caught:
        sort_sql(path, table)
    assert caught.value.message == f"sorting by '{path}' is not supported"


def test_meta_takes_no_value_filter() -> None:
    with pytest.raises(FilterError) as caught:
        to_sql(parse_filter('meta[version eq "x"]'), USERS_TABLE)
    assert caught.value.message == "filtering on 'meta' is not supported"


# --- the SQL itself: side tables, their collations, bound values ----------------------------


@pytest.mark.parametrize(
    ("table", "text", "sql", "params"),
    [
        (
            USERS_TABLE,
            'emails.value eq "A@x"',
            "users.id IN (SELECT e.user_id FROM user_emails e WHERE (e.value = ?))",
            ["A@x"],
        ),
        (
            USERS_TABLE,
            'emails[type eq "work"]',
            "users.id IN (SELECT e.user_id FROM user_emails e WHERE (e.type = ? COLLATE NOCASE))",
            ["work"],
        ),
        (
            USERS_TABLE,
            'groups.display eq "Ops"',
            "users.id IN (SELECT gm.user_id FROM group_members gm JOIN groups g"
            " ON g.id = gm.group_id WHERE (g.display_name = ?))",
            ["Ops"],
        ),
        (
            USERS_TABLE,
            'meta.created gt "2024-01-01T11:00:00+01:00"',
            "(julianday(users.created) > julianday(?))",
            ["2024-01-01T10:00:00.000Z"],
        ),
        (
            GROUPS_TABLE,
            'members[value eq "u1"]',
            "groups.id IN (SELECT gm.group_id FROM group_members gm WHERE (gm.user_id = ?))",
            ["u1"],
        ),
    ],
)
def test_compiled_sql(table: SqlTable, text: str, sql: str, params: list[object]) -> None:
    assert to_sql(parse_filter(text), table) == (sql, params)


def test_value_filter_with_not_over_a_json_only_sub_attribute(users: sqlite3.Connection) -> None:
    # "display" has no side-table column: the whole value filter reads the JSON instead.
    # (Only u1 and u2 hold emails in their JSON; u3's are in the side table alone.)
    assert select(users, USERS_TABLE, "emails[not (display pr)]") == {"u1"}
    assert select(users, USERS_TABLE, "emails[display pr]") == {"u2"}
    where, _ = to_sql(parse_filter('emails[not (display eq "x")]'), USERS_TABLE)
    assert where.startswith("EXISTS (SELECT 1 FROM json_each(users.resource, '$.\"emails\"') j")


def test_constructed_nested_value_filter_is_refused() -> None:
    inner = ValuePath(AttrPath("emails"), Compare(AttrPath("type"), "eq", "work"))
    nested = ValuePath(AttrPath("emails"), inner)
    with pytest.raises(FilterError) as caught:
        to_sql(nested, USERS_TABLE)
    assert caught.value.message == "value filters cannot be nested"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('addresses eq "x"', "cannot compare the complex attribute 'addresses'"),
        ('name eq "x"', "cannot compare the complex attribute 'name'"),
        (
            'userName[value eq "x"]',
            "'userName' is not a complex attribute and takes no value filter",
        ),
    ],
)
def test_refusal_messages(text: str, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        to_sql(parse_filter(text), USERS_TABLE)
    assert caught.value.message == message


def test_sort_refusal_message() -> None:
    with pytest.raises(FilterError) as caught:
        sort_sql("addresses", USERS_TABLE)
    assert caught.value.message == "cannot sort by the complex attribute 'addresses'"


def test_table_descriptors_are_frozen() -> None:
    side = USERS_TABLE.side_tables["emails"]
    for descriptor, name in [
        (USERS_TABLE, "name"),
        (side, "source"),
        (side.columns["value"], "expr"),
    ]:
        assert isinstance(descriptor, SqlTable | SideTable | SqlColumn)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(descriptor, name, "other")
