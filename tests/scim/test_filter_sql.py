"""to_sql() and sort_sql(): the same answers as matches(), bound values, index use."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from app.scim.evaluate import matches
from app.scim.filter import FilterError, parse_filter
from app.scim.filter_sql import GROUPS_TABLE, USERS_TABLE, SqlTable, sort_sql, to_sql
from app.scim.schemas import ENTERPRISE_USER_URN, LEGACY_CORE_URN, USER_URN
from tests.scim.sql_support import MIGRATION, select

ENT = ENTERPRISE_USER_URN

USERS: list[dict[str, Any]] = [
    {
        "id": "u1",
        "userName": "bjensen@example.com",
        "externalId": "ext-1",
        "active": True,
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@home.example", "type": "home"},
        ],
        "phoneNumbers": [{"value": "555-1234", "type": "work"}],
        "addresses": [{"type": "work", "locality": "Hollywood", "country": "USA"}],
        ENT: {"employeeNumber": "701984", "manager": {"value": "u2"}},
        "meta": {"created": "2024-01-01T10:00:00Z", "lastModified": "2024-03-01T10:00:00Z"},
    },
    {
        "id": "u2",
        "userName": "JSmith@Example.org",
        "externalId": "EXT-2",
        "active": False,
        "title": "",
        "userType": "Employee",
        "name": {"givenName": "John", "familyName": "O'Smith"},
        "emails": [{"value": "jsmith@example.org", "type": "work"}],
        "meta": {"created": "2024-02-01T00:00:00Z", "lastModified": "2024-02-15T08:30:00Z"},
    },
    {
        "id": "u3",
        "userName": "alice_100%@example.net",
        "active": "True",  # Entra's string boolean, as a client may have sent it
        "nickName": "Al",
        "emails": [],
        "phoneNumbers": [{"value": "555-9999", "type": "mobile", "primary": "True"}],
        "meta": {"created": "2023-12-31T23:59:59Z", "lastModified": "2023-12-31T23:59:59Z"},
    },
    {
        "id": "u4",
        "userName": "zed@example.com",
        "externalId": "ext-4",
        "active": True,
        "name": {"familyName": None},
        "emails": [{"value": "ZED@EXAMPLE.COM", "type": "Work"}],
        ENT: {"department": "R&D", "employeeNumber": 42},
        "meta": {"created": "2024-06-30T12:00:00Z", "lastModified": "2024-06-30T12:00:00Z"},
    },
]

GROUPS: list[dict[str, Any]] = [
    {"id": "g1", "displayName": "Admins", "externalId": "grp-1", "members": ["u1", "u2"]},
    {"id": "g2", "displayName": "Engineering", "members": ["u4"]},
    {"id": "g3", "displayName": "Empty", "members": []},
]
GROUP_META = {"created": "2024-01-05T00:00:00Z", "lastModified": "2024-01-06T00:00:00Z"}


def _user_resources() -> dict[str, dict[str, Any]]:
    resources = {}
    for user in USERS:
        resource = dict(user)
        resource["groups"] = [
            {"value": g["id"], "display": g["displayName"]}
            for g in GROUPS
            if user["id"] in g["members"]
        ]
        resources[user["id"]] = resource
    return resources


def _group_resources() -> dict[str, dict[str, Any]]:
    return {
        g["id"]: {**g, "members": [{"value": m} for m in g["members"]], "meta": GROUP_META}
        for g in GROUPS
    }


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.executescript(MIGRATION.read_text())
    for user in USERS:
        stored = {k: v for k, v in user.items() if k not in ("id", "meta", "groups")}
        connection.execute(
            "INSERT INTO users (id, user_name, external_id, active, resource, created,"
            " last_modified) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                user["id"],
                user["userName"],
                user.get("externalId"),
                1 if str(user["active"]).lower() == "true" else 0,
                json.dumps(stored),
                user["meta"]["created"],
                user["meta"]["lastModified"],
            ),
        )
        for email in user["emails"]:
            connection.execute(
                "INSERT INTO user_emails (user_id, value, type, is_primary) VALUES (?, ?, ?, ?)",
                (user["id"], email["value"], email.get("type"), int(bool(email.get("primary")))),
            )
    for group in GROUPS:
        stored = {"displayName": group["displayName"], "externalId": group.get("externalId")}
        connection.execute(
            "INSERT INTO groups (id, display_name, external_id, resource, created, last_modified)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                group["id"],
                group["displayName"],
                group.get("externalId"),
                json.dumps(stored),
                GROUP_META["created"],
                GROUP_META["lastModified"],
            ),
        )
        for member in group["members"]:
            connection.execute(
                "INSERT INTO group_members (group_id, user_id) VALUES (?, ?)", (group["id"], member)
            )
    yield connection
    connection.close()


def _plan(db: sqlite3.Connection, table: SqlTable, text: str) -> str:
    where, params = to_sql(parse_filter(text), table)
    sql = f"EXPLAIN QUERY PLAN SELECT {table.name}.id FROM {table.name} WHERE {where}"
    return "\n".join(row[3] for row in db.execute(sql, params))


USER_FILTERS: list[tuple[str, set[str]]] = [
    ('userName eq "BJENSEN@example.com"', {"u1"}),
    ('userName eq "jsmith@example.org"', {"u2"}),
    ('userName ne "bjensen@example.com"', {"u2", "u3", "u4"}),
    ('userName co "EXAMPLE.COM"', {"u1", "u4"}),
    ('userName sw "j"', {"u2"}),
    ('userName ew ".ORG"', {"u2"}),
    ('userName co "100%"', {"u3"}),
    ('userName co "_"', {"u3"}),
    ('userName co "%"', {"u3"}),
    ('userName sw "alice_1"', {"u3"}),
    ('userName co ""', {"u1", "u2", "u3", "u4"}),
    ('userName gt "k"', {"u4"}),
    ('userName le "BJENSEN@example.com"', {"u1", "u3"}),
    ('externalId eq "ext-2"', set()),
    ('externalId eq "EXT-2"', {"u2"}),
    ("externalId pr", {"u1", "u2", "u4"}),
    ("not (externalId pr)", {"u3"}),
    ('externalId ne "ext-1"', {"u2", "u3", "u4"}),
    ('externalId co "XT"', {"u2"}),
    ('externalId sw "ext"', {"u1", "u4"}),
    ('externalId ew "-4"', {"u4"}),
    ('externalId ew ""', {"u1", "u2", "u4"}),
    ('externalId gt "ext-1"', {"u4"}),
    ('id eq "u3"', {"u3"}),
    ('id ne "u3"', {"u1", "u2", "u4"}),
    ("active eq true", {"u1", "u3", "u4"}),
    ("active eq false", {"u2"}),
    ("active ne true", {"u2"}),
    ('active eq "False"', {"u2"}),
    ("active pr", {"u1", "u2", "u3", "u4"}),
    ('name.familyName eq "jensen"', {"u1"}),
    ('name.familyName co "\'"', {"u2"}),
    ("name.familyName pr", {"u1", "u2"}),
    ('name.familyName ne "jensen"', {"u2", "u3", "u4"}),
    ('name.givenName lt "c"', {"u1"}),
    ("name pr", {"u1", "u2"}),
    ('name[givenName eq "john" and familyName sw "o\'"]', {"u2"}),
    ("title pr", {"u1"}),
    ('title eq ""', {"u2"}),
    ('title ne "Tour Guide"', {"u2", "u3", "u4"}),
    ('userType eq "employee"', {"u2"}),
    ('nickName eq "al"', {"u3"}),
    ("displayName eq null", {"u2", "u3", "u4"}),
    ("displayName ne null", {"u1"}),
    ('emails.value eq "zed@example.com"', {"u4"}),
    ('emails eq "babs@home.example"', {"u1"}),
    ('emails.value ne "babs@home.example"', {"u2", "u3", "u4"}),
    ('emails co "EXAMPLE.ORG"', {"u2"}),
    ('emails[type eq "work" and value co "example.com"]', {"u1", "u4"}),
    ('emails[type eq "home"]', {"u1"}),
    ('emails[not (type eq "work")]', {"u1"}),
    ('emails[value ew ".COM"] and not (emails[type eq "home"])', {"u4"}),
    ("emails pr", {"u1", "u2", "u4"}),
    ("not (emails pr)", {"u3"}),
    ("emails.primary eq true", {"u1"}),
    ("emails[primary eq true]", {"u1"}),
    ("emails[primary eq false]", set()),  # absent is not false
    ('emails[type eq "work" and primary eq true]', {"u1"}),
    ("emails.type pr", {"u1", "u2", "u4"}),
    ("emails.display pr", set()),
    ('emails[display eq "x" or type eq "home"]', {"u1"}),
    ('phoneNumbers[type eq "work"]', {"u1"}),
    ("phoneNumbers.primary eq true", {"u3"}),
    ('phoneNumbers.value sw "555"', {"u1", "u3"}),
    ('phoneNumbers eq "555-9999"', {"u3"}),
    ("phoneNumbers pr", {"u1", "u3"}),
    ('addresses[type eq "work" and locality eq "hollywood"]', {"u1"}),
    ('addresses.country eq "usa"', {"u1"}),
    ("x509Certificates pr", set()),
    ('groups.value eq "g1"', {"u1", "u2"}),
    ('groups eq "g2"', {"u4"}),
    ('groups[display eq "admins"]', {"u1", "u2"}),
    ("groups pr", {"u1", "u2", "u4"}),
    ("not (groups pr)", {"u3"}),
    ('groups.value ne "g1"', {"u3", "u4"}),
    ('meta.created gt "2024-01-01T00:00:00Z"', {"u1", "u2", "u4"}),
    ('meta.created ge "2024-01-01T11:00:00+01:00"', {"u1", "u2", "u4"}),
    ('meta.created gt "2024-01-01T11:00:00+01:00"', {"u2", "u4"}),
    ('meta.created eq "2024-01-01T10:00:00.000Z"', {"u1"}),
    ('meta.lastModified lt "2024-03-01T10:00:00.001Z"', {"u1", "u2", "u3"}),
    ('meta.lastModified le "2023-12-31T23:59:59Z"', {"u3"}),
    ('meta.created sw "2024-0"', {"u1", "u2", "u4"}),
    ('meta.created ne "2023-12-31T23:59:59Z"', {"u1", "u2", "u4"}),
    (f'{ENT}:employeeNumber eq "701984"', {"u1"}),
    ("employeeNumber pr", {"u1", "u4"}),
    (f'{ENT}:employeeNumber co "4"', {"u1"}),  # u4 holds a number, not a string
    (f'{ENT}:employeeNumber lt "9"', {"u1"}),
    (f'{ENT}:manager.value eq "u2"', {"u1"}),
    (f"{ENT}:manager pr", {"u1"}),
    (f'{ENT}:manager[value eq "U2"]', {"u1"}),
    (f'{ENT}:department co "&"', {"u4"}),
    (f'{USER_URN.upper()}:USERNAME EQ "zed@example.com"', {"u4"}),
    (f'{LEGACY_CORE_URN}:userName eq "zed@example.com"', {"u4"}),
    ('userName sw "b" or userName sw "j" and active eq true', {"u1"}),
    ('(userName sw "b" or userName sw "j") and active eq false', {"u2"}),
    ('not (userName sw "b" or active eq true)', {"u2"}),
    ("not (not (title pr))", {"u1"}),
    ('not (nickName eq "al") and not (title eq "")', {"u1", "u4"}),
    (
        'userName pr and (emails pr or phoneNumbers pr) and not (groups.value eq "g2")',
        {"u1", "u2", "u3"},
    ),
]


@pytest.mark.parametrize(("text", "expected"), USER_FILTERS)
def test_users_sql_and_matches_agree(db: sqlite3.Connection, text: str, expected: set[str]) -> None:
    resources = _user_resources()
    by_matches = {i for i, r in resources.items() if matches(parse_filter(text), r, "User")}
    assert by_matches == expected
    assert select(db, USERS_TABLE, text) == expected


GROUP_FILTERS: list[tuple[str, set[str]]] = [
    ('displayName eq "admins"', {"g1"}),
    ('displayName co "ING"', {"g2"}),
    ('displayName sw "e"', {"g2", "g3"}),
    ('displayName ne "Admins"', {"g2", "g3"}),
    ('members.value eq "u1"', {"g1"}),
    ('members.value eq "U1"', set()),
    ('members eq "u4"', {"g2"}),
    ("members pr", {"g1", "g2"}),
    ("not (members pr)", {"g3"}),
    ('members[value eq "u2"]', {"g1"}),
    ('members[value eq "u2" or value eq "u4"]', {"g1", "g2"}),
    ('members.value ne "u1"', {"g2", "g3"}),
    ('externalId eq "grp-1"', {"g1"}),
    ("externalId pr", {"g1"}),
    ('meta.created lt "2024-01-06T00:00:00Z"', {"g1", "g2", "g3"}),
    (f'{USER_URN[:-4]}Group:displayName sw "E"', {"g2", "g3"}),
    ('displayName eq "Admins" and members.value eq "u2"', {"g1"}),
]


@pytest.mark.parametrize(("text", "expected"), GROUP_FILTERS)
def test_groups_sql_and_matches_agree(
    db: sqlite3.Connection, text: str, expected: set[str]
) -> None:
    resources = _group_resources()
    by_matches = {i for i, r in resources.items() if matches(parse_filter(text), r, "Group")}
    assert by_matches == expected
    assert select(db, GROUPS_TABLE, text) == expected


@pytest.mark.parametrize(
    ("table", "text", "index"),
    [
        (USERS_TABLE, 'userName eq "bjensen@example.com"', "INDEX users_user_name"),
        (USERS_TABLE, 'USERNAME Eq "BJENSEN@EXAMPLE.COM"', "INDEX users_user_name"),
        (USERS_TABLE, 'externalId eq "ext-1"', "INDEX users_external_id"),
        (USERS_TABLE, 'emails.value eq "zed@example.com"', "INDEX user_emails_value"),
        (USERS_TABLE, 'emails[value eq "zed@example.com"]', "INDEX user_emails_value"),
        (USERS_TABLE, 'id eq "u1"', "INDEX sqlite_autoindex_users_1"),
        (USERS_TABLE, 'userName eq "a" and title pr', "INDEX users_user_name"),
        (GROUPS_TABLE, 'displayName eq "admins"', "INDEX groups_display_name"),
        (GROUPS_TABLE, 'externalId eq "grp-1"', "INDEX groups_external_id"),
        (GROUPS_TABLE, 'members.value eq "u1"', "INDEX group_members_user"),
    ],
)
def test_query_plan_uses_index(
    db: sqlite3.Connection, table: SqlTable, text: str, index: str
) -> None:
    assert index in _plan(db, table, text)


def test_user_name_eq_keeps_the_column_bare() -> None:
    assert to_sql(parse_filter('userName eq "A"'), USERS_TABLE) == ("(users.user_name = ?)", ["A"])
    assert to_sql(parse_filter("active eq true"), USERS_TABLE) == ("users.active = ?", [1])


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "\'); DROP TABLE users; --"',
        'name.familyName co "\'); DROP TABLE users; --"',
        "emails[value sw \"x' OR '1'='1\"]",
        'phoneNumbers.value eq "\\" OR 1=1 --"',
        'externalId co "\' OR 1=1 --"',
        f'{ENT}:department ew "\'; DELETE FROM users; --"',
    ],
)
def test_values_are_bound_never_interpolated(db: sqlite3.Connection, text: str) -> None:
    where, params = to_sql(parse_filter(text), USERS_TABLE)
    assert "DROP" not in where and "DELETE" not in where and "1=1" not in where
    assert any(isinstance(v, str) and ("'" in v or '"' in v) for v in params)
    assert select(db, USERS_TABLE, text) == set()
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == len(USERS)


@pytest.mark.parametrize(
    ("table", "text", "message"),
    [
        (USERS_TABLE, "bogus eq 1", "unknown attribute 'bogus'"),
        (USERS_TABLE, "name.bogus pr", "unknown attribute 'name.bogus'"),
        (USERS_TABLE, 'members.value eq "x"', "unknown attribute 'members.value'"),
        (USERS_TABLE, 'urn:example:custom:1.0:User:foo eq "x"', "unknown attribute"),
        (USERS_TABLE, 'password eq "secret"', "cannot be used in a filter"),
        (USERS_TABLE, 'active co "t"', "boolean attribute"),
        (USERS_TABLE, 'active eq "yes"', "compares with true or false"),
        (USERS_TABLE, 'name gt "x"', "cannot compare the complex attribute 'name'"),
        (USERS_TABLE, 'addresses eq "x"', "cannot compare the complex attribute"),
        (USERS_TABLE, 'emails[type gt "a"] and meta.created gt "soon"', "compares with a dateTime"),
        (USERS_TABLE, "userName eq 5", "compares with a string value"),
        (USERS_TABLE, 'x509Certificates.value lt "a"', "binary attribute"),
        (
            USERS_TABLE,
            'meta.version eq "W/\\"1\\""',
            "filtering on 'meta.version' is not supported",
        ),
        (USERS_TABLE, 'groups.type eq "direct"', "filtering on 'groups.type' is not supported"),
        (USERS_TABLE, 'groups[type eq "direct"]', "filtering on 'groups' is not supported"),
        (USERS_TABLE, 'userName[value eq "x"]', "not a complex attribute"),
        (USERS_TABLE, 'emails[bogus eq "x"]', "unknown attribute 'emails.bogus'"),
        (GROUPS_TABLE, 'userName eq "x"', "unknown attribute 'userName'"),
        (GROUPS_TABLE, 'members.display eq "x"', "not supported"),
        (GROUPS_TABLE, 'members[type eq "User"]', "not supported"),
    ],
)
def test_to_sql_errors(table: SqlTable, text: str, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        to_sql(parse_filter(text), table)
    assert message in caught.value.message


# --- sort_sql ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "path", "expected"),
    [
        (USERS_TABLE, "userName", "users.user_name"),
        (USERS_TABLE, "USERNAME", "users.user_name"),
        (USERS_TABLE, "externalId", "users.external_id"),
        (USERS_TABLE, "meta.lastModified", "users.last_modified"),
        (
            USERS_TABLE,
            "name.familyName",
            'json_extract(users.resource, \'$."name"."familyName"\') COLLATE NOCASE',
        ),
        (GROUPS_TABLE, "displayName", "groups.display_name"),
    ],
)
def test_sort_sql_expressions(table: SqlTable, path: str, expected: str) -> None:
    assert sort_sql(path, table) == expected


@pytest.mark.parametrize(
    ("table", "path", "order"),
    [
        (USERS_TABLE, "userName", ["u3", "u1", "u2", "u4"]),  # NOCASE: "JSmith" after "bj"
        (USERS_TABLE, "name.familyName", ["u3", "u4", "u1", "u2"]),
        (USERS_TABLE, "emails", ["u3", "u1", "u2", "u4"]),  # by the primary (else first) email
        (USERS_TABLE, "emails.value", ["u3", "u1", "u2", "u4"]),
        (USERS_TABLE, "phoneNumbers.value", ["u2", "u4", "u1", "u3"]),
        (USERS_TABLE, f"{ENT}:employeeNumber", ["u2", "u3", "u4", "u1"]),
        (USERS_TABLE, "meta.created", ["u3", "u1", "u2", "u4"]),
        (GROUPS_TABLE, "displayName", ["g1", "g3", "g2"]),
    ],
)
def test_sort_sql_orders_rows(
    db: sqlite3.Connection, table: SqlTable, path: str, order: list[str]
) -> None:
    expression = sort_sql(path, table)
    sql = f"SELECT {table.name}.id FROM {table.name} ORDER BY {expression}, {table.name}.id"
    assert [row[0] for row in db.execute(sql)] == order


@pytest.mark.parametrize(
    ("table", "path", "message"),
    [
        (USERS_TABLE, "bogus", "unknown attribute 'bogus'"),
        (USERS_TABLE, "name", "cannot sort by the complex attribute 'name'"),
        (USERS_TABLE, "addresses", "cannot sort by the complex attribute"),
        (USERS_TABLE, "meta.version", "sorting by 'meta.version' is not supported"),
        (USERS_TABLE, "groups.type", "sorting by 'groups.type' is not supported"),
        (GROUPS_TABLE, "members.display", "not supported"),
    ],
)
def test_sort_sql_errors(table: SqlTable, path: str, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        sort_sql(path, table)
    assert message in caught.value.message
