from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.scim.errors import InvalidFilter
from app.scim.filter import (
    GROUPS_TABLE,
    MAX_LENGTH,
    USERS_TABLE,
    And,
    AttrPath,
    Compare,
    Filter,
    FilterError,
    Not,
    Or,
    PatchPath,
    Present,
    SqlTable,
    ValuePath,
    matches,
    parse_filter,
    parse_path,
    sort_sql,
    to_sql,
)
from app.scim.schemas import ENTERPRISE_USER_URN, LEGACY_CORE_URN, USER_URN

MIGRATION = Path(__file__).resolve().parents[2] / "app" / "migrations" / "0001_initial.sql"
ENT = ENTERPRISE_USER_URN


def p(attr: str, sub: str | None = None, uri: str | None = None) -> AttrPath:
    return AttrPath(attr, sub, uri)


def pr(attr: str) -> Present:
    return Present(p(attr))


# --- grammar -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "bjensen"', Compare(p("userName"), "eq", "bjensen")),
        ('userName EQ "bjensen"', Compare(p("userName"), "eq", "bjensen")),
        ('userName Eq "bjensen"', Compare(p("userName"), "eq", "bjensen")),
        ("title pr", pr("title")),
        ("title PR", pr("title")),
        ('name.familyName co "O\'Malley"', Compare(p("name", "familyName"), "co", "O'Malley")),
        ('userName sw "J"', Compare(p("userName"), "sw", "J")),
        ('userName ew "J"', Compare(p("userName"), "ew", "J")),
        ('userName ne "J"', Compare(p("userName"), "ne", "J")),
        (
            'meta.lastModified gt "2011-05-13T04:42:34Z"',
            Compare(p("meta", "lastModified"), "gt", "2011-05-13T04:42:34Z"),
        ),
        ('meta.lastModified ge "x"', Compare(p("meta", "lastModified"), "ge", "x")),
        ('meta.lastModified lt "x"', Compare(p("meta", "lastModified"), "lt", "x")),
        ('meta.lastModified le "x"', Compare(p("meta", "lastModified"), "le", "x")),
        ("active eq true", Compare(p("active"), "eq", True)),
        ("active eq TRUE", Compare(p("active"), "eq", True)),
        ("active eq False", Compare(p("active"), "eq", False)),
        ("n eq 0", Compare(p("n"), "eq", 0)),
        ("n eq 42", Compare(p("n"), "eq", 42)),
        ("n eq -7", Compare(p("n"), "eq", -7)),
        ("n gt 1.5", Compare(p("n"), "gt", 1.5)),
        ("n lt -1.5e3", Compare(p("n"), "lt", -1500.0)),
        ("n le 2E+2", Compare(p("n"), "le", 200.0)),
        ("n ge 25e-1", Compare(p("n"), "ge", 2.5)),
        ("displayName eq null", Not(pr("displayName"))),
        ("displayName ne NULL", pr("displayName")),
        (
            f'{USER_URN}:name.familyName eq "x"',
            Compare(p("name", "familyName", USER_URN), "eq", "x"),
        ),
        (f'{USER_URN.upper()}:USERNAME eq "x"', Compare(p("USERNAME", None, USER_URN), "eq", "x")),
        (f'{ENT}:manager.value eq "x"', Compare(p("manager", "value", ENT), "eq", "x")),
        (f"{ENT}:employeeNumber pr", Present(p("employeeNumber", None, ENT))),
        (
            f'{LEGACY_CORE_URN}:userName eq "x"',
            Compare(p("userName", None, LEGACY_CORE_URN), "eq", "x"),
        ),
        (
            'urn:example:custom:1.0:User:foo eq "x"',
            Compare(p("foo", None, "urn:example:custom:1.0:User"), "eq", "x"),
        ),
        ('members[$ref eq "x"]', ValuePath(p("members"), Compare(p("$ref"), "eq", "x"))),
        ("\tuserName\npr  ", pr("userName")),
        ('x-y_z eq "a"', Compare(p("x-y_z"), "eq", "a")),
    ],
)
def test_parse_expressions(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a pr or b pr and c pr", Or((pr("a"), And((pr("b"), pr("c")))))),
        ("a pr and b pr or c pr", Or((And((pr("a"), pr("b"))), pr("c")))),
        ("a pr and (b pr or c pr)", And((pr("a"), Or((pr("b"), pr("c")))))),
        ("(a pr or b pr) and c pr", And((Or((pr("a"), pr("b"))), pr("c")))),
        ("a pr or b pr or c pr", Or((pr("a"), pr("b"), pr("c")))),
        ("a pr AND b pr And c pr", And((pr("a"), pr("b"), pr("c")))),
        ("a pr OR b pr and c pr or d pr", Or((pr("a"), And((pr("b"), pr("c"))), pr("d")))),
        ("not (a pr)", Not(pr("a"))),
        ("NOT(a pr)", Not(pr("a"))),
        ("not (a pr) and b pr", And((Not(pr("a")), pr("b")))),
        ("not (a pr or b pr)", Not(Or((pr("a"), pr("b"))))),
        ("not (not (a pr))", Not(Not(pr("a")))),
        ("((a pr))", pr("a")),
        ("(((a pr) and ((b pr))))", And((pr("a"), pr("b")))),
        (
            'emails[type eq "work" and value co "@example.com"]',
            ValuePath(
                p("emails"),
                And((Compare(p("type"), "eq", "work"), Compare(p("value"), "co", "@example.com"))),
            ),
        ),
        (
            'emails[type eq "work"] and userName pr',
            And((ValuePath(p("emails"), Compare(p("type"), "eq", "work")), pr("userName"))),
        ),
        (
            'emails[not (type eq "work") or (primary eq true)]',
            ValuePath(
                p("emails"),
                Or((Not(Compare(p("type"), "eq", "work")), Compare(p("primary"), "eq", True))),
            ),
        ),
        (
            f'{ENT}:manager[value eq "x"]',
            ValuePath(p("manager", None, ENT), Compare(p("value"), "eq", "x")),
        ),
        (
            'not (emails[type eq "home"]) and (userName eq "a" or userName eq "b")',
            And(
                (
                    Not(ValuePath(p("emails"), Compare(p("type"), "eq", "home"))),
                    Or((Compare(p("userName"), "eq", "a"), Compare(p("userName"), "eq", "b"))),
                )
            ),
        ),
    ],
)
def test_parse_logic(text: str, expected: Filter) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r'"plain"', "plain"),
        (r'""', ""),
        (r'"a\"b"', 'a"b'),
        (r'"back\\slash"', "back\\slash"),
        (r'"\/"', "/"),
        (r'"caf\u00e9"', "café"),
        (r'"\u00C9"', "É"),
        (r'"\ud83d\ude00"', "\U0001f600"),
        (r'"tab\there"', "tab\there"),
        (r'"line\nbreak"', "line\nbreak"),
        ('"café ☕"', "café ☕"),
        (r'"a and b or c"', "a and b or c"),
        (r'"(not) [x]"', "(not) [x]"),
    ],
)
def test_string_values(literal: str, value: str) -> None:
    assert parse_filter(f"userName eq {literal}") == Compare(p("userName"), "eq", value)


def test_long_flat_filters_are_fine() -> None:
    text = " or ".join(["userName pr"] * 250)
    assert len(text) <= MAX_LENGTH
    parsed = parse_filter(text)
    assert isinstance(parsed, Or) and len(parsed.operands) == 250


def test_nesting_up_to_the_limit() -> None:
    assert parse_filter("(" * 50 + "a pr" + ")" * 50) == pr("a")
    nots = "not (" * 50 + "a pr" + ")" * 50
    assert isinstance(parse_filter(nots), Not)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty filter"),
        ("   \t", "empty filter"),
        ("x" * (MAX_LENGTH + 1), "longer than 4096"),
        ("userName pr or " * 300 + "userName pr", "longer than 4096"),
        ("(" * 51 + "a pr" + ")" * 51, "nested more than 50 levels deep at position 51"),
        ("not (" * 51 + "a pr" + ")" * 51, "nested more than 50"),
        ('userName eq "x', "unterminated string starting at position 13"),
        ('userName eq "x\\"', "unterminated string"),
        ('(userName eq "x"', "missing ')' to close the '(' at position 1"),
        ("((a pr) and b pr", "missing ')'"),
        ('userName eq "x")', "unbalanced ')' at position 16"),
        ("a pr))", "unbalanced ')' at position 5"),
        ('userName xx "x"', "unknown operator 'xx' at position 10"),
        ('userName equals "x"', "unknown operator 'equals'"),
        ('userName "x"', "expected an operator after 'userName' at position 10"),
        ("userName", "expected an operator after 'userName' at position 9"),
        ("userName eq", "missing value after 'eq' at position 12"),
        ("userName eq and title pr", "missing value after 'eq' at position 13"),
        ("(userName eq)", "missing value after 'eq' at position 13"),
        ('userName pr "x"', "'pr' takes no value at position 13"),
        ("userName pr true", "'pr' takes no value"),
        ("userName pr 5", "'pr' takes no value"),
        (
            'userName eq "x" title pr',
            "unexpected 'title', expected 'and', 'or' or the end at position 17",
        ),
        ('userName eq "x" "y"', "unexpected '\"y\"'"),
        (
            "userName eq bjensen",
            "invalid value 'bjensen' (strings need double quotes) at position 13",
        ),
        ('userName eq "x" and', "expected an attribute expression at position 20"),
        ('userName eq "x" or ()', "unexpected ')', expected an attribute at position 21"),
        ("()", "unexpected ')'"),
        ("and a pr", "unknown operator 'a' at position 5"),
        ('emails[type eq "work"', "missing ']' to close the '[' at position 7"),
        ('emails[type eq "work")', "expected ']' but found ')'"),
        ('emails[type eq "work"]]', "unbalanced ']' at position 23"),
        ("emails[]", "unexpected ']', expected an attribute"),
        ('emails[type[value eq "x"] eq "y"]', "value filters cannot be nested at position 12"),
        ('emails.value[type eq "x"]', "a value filter cannot follow a sub-attribute"),
        ('emails[name.givenName eq "x"]', "plain names"),
        (f'emails[{USER_URN}:type eq "x"]', "plain names"),
        ("not a pr", "expected '(' after 'not' at position 5"),
        ("not", "expected '(' after 'not'"),
        ('userName eq "\\x"', "invalid string (bad escape or control character) at position 13"),
        ('userName eq "\\ud800"', "invalid string"),
        ('userName eq "\\u00e"', "invalid string"),
        ('userName eq "a\nb"', "invalid string"),
        ('userName = "x"', "unexpected character '=' at position 10"),
        ("userName eq 'x'", 'unexpected character "\'" at position 13'),
        ('userName eq "x" && title pr', "unexpected character '&'"),
        ("userName eq 01", "invalid number at position 13"),
        ("userName eq 1.", "invalid number"),
        ("userName eq 1.5.2", "invalid number"),
        ("userName eq 12abc", "invalid number"),
        ("userName eq -", "invalid number"),
        ("userName eq 1e999", "number out of range"),
        ("1abc eq 1", "invalid number at position 1"),
        ('name.familyName.x eq "y"', "invalid attribute name 'name.familyName.x' at position 1"),
        ('.name eq "y"', "invalid attribute name"),
        ('name. eq "y"', "invalid attribute name"),
        ('_x eq "y"', "invalid attribute name"),
        (f'{USER_URN} eq "x"', "expected an attribute name after the schema URN"),
        ("userName gt true", "'gt' cannot compare booleans"),
        ("userName lt false", "'lt' cannot compare booleans"),
        ("userName gt null", "'gt' cannot compare with null"),
        ("userName co null", "'co' cannot compare with null"),
        ("userName co 5", "'co' needs a string value"),
        ("userName sw true", "'sw' needs a string value"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(text)
    assert message in caught.value.message
    assert isinstance(caught.value, InvalidFilter)
    assert caught.value.to_body()["scimType"] == "invalidFilter"
    assert caught.value.status == 400


def test_error_carries_position() -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter('userName xx "x"')
    assert caught.value.position == 10
    with pytest.raises(FilterError) as caught:
        parse_filter('(userName eq "x"')
    assert caught.value.position == 17
    assert "at position 17" not in caught.value.message  # names the '(' instead


# --- PATCH paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("userName", PatchPath(p("userName"))),
        ("name.givenName", PatchPath(p("name"), None, "givenName")),
        ("NAME.GIVENNAME", PatchPath(p("NAME"), None, "GIVENNAME")),
        ("members", PatchPath(p("members"))),
        (
            'members[value eq "abc"]',
            PatchPath(p("members"), Compare(p("value"), "eq", "abc")),
        ),
        (
            'emails[type eq "work"].value',
            PatchPath(p("emails"), Compare(p("type"), "eq", "work"), "value"),
        ),
        (
            'addresses[type eq "work" and primary eq true].streetAddress',
            PatchPath(
                p("addresses"),
                And((Compare(p("type"), "eq", "work"), Compare(p("primary"), "eq", True))),
                "streetAddress",
            ),
        ),
        (f"{ENT}:manager", PatchPath(p("manager", None, ENT))),
        (f"{ENT}:manager.value", PatchPath(p("manager", None, ENT), None, "value")),
        (f"{ENT}", PatchPath(p("", None, ENT))),
        (f"{USER_URN}:name.familyName", PatchPath(p("name", None, USER_URN), None, "familyName")),
        (
            f'{USER_URN}:emails[type eq "work"].display',
            PatchPath(p("emails", None, USER_URN), Compare(p("type"), "eq", "work"), "display"),
        ),
        (" members ", PatchPath(p("members"))),
    ],
)
def test_parse_path(text: str, expected: PatchPath) -> None:
    assert parse_path(text) == expected


def test_bare_urn_path_renders_as_urn() -> None:
    assert str(parse_path(ENT).attr) == ENT
    assert str(parse_path(f"{ENT}:manager").attr) == f"{ENT}:manager"
    assert str(AttrPath("name", "givenName")) == "name.givenName"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty path"),
        ("p" * 5000, "path is longer than 4096"),
        ('[type eq "x"]', "expected an attribute name but found '['"),
        ('emails[type eq "x"]value', "unexpected 'value'"),
        ('emails[type eq "x"] .value', "unexpected '.value'"),
        ('emails[type eq "x"].', "invalid sub-attribute ''"),
        ('emails[type eq "x"].value.x', "invalid sub-attribute 'value.x'"),
        ('name.givenName[type eq "x"]', "a value filter must follow an attribute name"),
        ('emails[type eq "x"', "missing ']'"),
        ('userName eq "x"', "unexpected 'eq'"),
        ("name.givenName.x", "invalid attribute name"),
        ('emails[value[type eq "x"] eq "y"]', "value filters cannot be nested"),
        ('emails["x"]', "expected an attribute"),
    ],
)
def test_parse_path_errors(text: str, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_path(text)
    assert message in caught.value.message


# --- matches -------------------------------------------------------------------------------

BJENSEN: dict[str, Any] = {
    "schemas": [USER_URN, ENT],
    "id": "2819c223",
    "userName": "bjensen@example.com",
    "externalId": "BJ-1",
    "active": True,
    "name": {"familyName": "Jensen", "givenName": "Barbara"},
    "title": "",
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "phoneNumbers": [{"value": "555-555-8377", "type": "work", "primary": "True"}],
    "groups": [{"value": "g-1", "display": "Admins"}],
    "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw"}],
    "meta": {"created": "2011-08-01T18:29:49.793Z", "lastModified": "2011-08-01T21:32:44+02:00"},
    ENT: {"employeeNumber": "701984", "manager": {"value": "26118915", "displayName": "John"}},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "BJENSEN@EXAMPLE.COM"', True),
        ('USERNAME eq "bjensen@example.com"', True),
        ('userName ne "bjensen@example.com"', False),
        ('userName co "JENSEN"', True),
        ('userName sw "BJ"', True),
        ('userName ew ".COM"', True),
        ('userName ew ".org"', False),
        ('userName gt "a"', True),
        ('userName lt "a"', False),
        ('userName ge "BJENSEN@example.com"', True),
        ('userName le "bjensen@example.com"', True),
        ('externalId eq "BJ-1"', True),
        ('externalId eq "bj-1"', False),  # caseExact
        ('externalId co "j"', False),
        ('externalId ne "bj-1"', True),
        ('id eq "2819C223"', False),
        ("active eq true", True),
        ('active eq "True"', True),
        ("active ne false", True),
        ("active eq false", False),
        ('name.familyName eq "jensen"', True),
        ("name.givenName pr", True),
        ("name.middleName pr", False),
        ("name pr", True),
        ("title pr", False),
        ('title eq ""', True),
        ("nickName pr", False),
        ('nickName ne "x"', True),
        ('nickName eq "x"', False),
        ('not (nickName eq "x")', True),
        ('emails.value eq "babs@JENSEN.org"', True),
        ('emails eq "babs@jensen.org"', True),
        ('emails co "example"', True),
        ('emails.value ne "babs@jensen.org"', False),
        ('emails.type eq "other"', False),
        ('emails[type eq "work" and value co "@example.com"]', True),
        ('emails[type eq "home" and value co "@example.com"]', False),
        ('emails[type eq "home"] and emails[value co "@example.com"]', True),
        ("emails[primary eq true]", True),
        ('emails[not (type eq "work")]', True),
        ("emails pr", True),
        ("ims pr", False),
        ("phoneNumbers.primary eq true", True),  # Entra's string boolean in the data
        ("phoneNumbers[primary eq false]", False),
        ('groups.value eq "g-1"', True),
        ('groups[display eq "admins"]', True),
        ('x509Certificates.value eq "miidqzccaqygawibagiceaawdqyjkozihvcnaqefbqaw"', False),
        ('meta.created gt "2011-08-01T18:29:49Z"', True),
        ('meta.created lt "2011-08-01T18:29:49.794Z"', True),
        ('meta.created eq "2011-08-01T20:29:49.793+02:00"', True),
        ('meta.lastModified eq "2011-08-01T19:32:44Z"', True),
        ('meta.lastModified ge "2011-08-01T19:32:45Z"', False),
        ('meta.created sw "2011-08"', True),
        (f'{ENT}:employeeNumber eq "701984"', True),
        ('employeeNumber eq "701984"', True),
        (f'{ENT}:manager.value eq "26118915"', True),
        (f'{ENT}:manager.displayName co "jo"', True),
        (f"{ENT}:department pr", False),
        (f'{USER_URN}:userName eq "bjensen@example.com"', True),
        (f'{LEGACY_CORE_URN}:name.familyName sw "J"', True),
        ('userName sw "x" or name.givenName eq "barbara" and active eq true', True),
        ('(userName sw "x" or name.givenName eq "barbara") and active eq false', False),
        ("displayName eq null", True),
        ("displayName ne null", False),
    ],
)
def test_matches_user(text: str, expected: bool) -> None:
    assert matches(parse_filter(text), BJENSEN, "User") is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "BJENSEN@EXAMPLE.COM"', True),
        ('externalId eq "bj-1"', True),  # no schema: everything case-insensitive
        ('emails.value eq "babs@jensen.org"', True),
        ('emails eq "babs@jensen.org"', True),
        ('emails[type eq "WORK"]', True),
        ("active eq true", True),
        ("phoneNumbers.primary eq true", True),
        ('NAME.FAMILYNAME eq "jensen"', True),
        (f'{ENT}:employeeNumber eq "701984"', True),
        (f'{ENT}:userName eq "bjensen@example.com"', False),
        (f'{USER_URN}:userName eq "bjensen@example.com"', True),
        ("unknownThing pr", False),
        ('unknownThing ne "x"', True),
        ("missing gt 3", False),
    ],
)
def test_matches_without_schema(text: str, expected: bool) -> None:
    assert matches(parse_filter(text), BJENSEN) is expected


@pytest.mark.parametrize(
    ("resource_type", "parent", "text", "item", "expected"),
    [
        ("User", "emails", 'type eq "work"', {"type": "Work", "value": "a@b"}, True),
        ("User", "emails", 'type eq "work"', {"value": "a@b"}, False),
        ("User", "emails", 'type ne "work"', {"value": "a@b"}, True),
        ("User", "emails", "primary eq true", {"primary": "true"}, True),
        (
            "User",
            "emails",
            'TYPE eq "work" and VALUE ew "@b"',
            {"type": "work", "value": "a@B"},
            True,
        ),
        ("Group", "members", 'value eq "ABC"', {"value": "abc"}, False),  # ids are caseExact
        ("Group", "members", 'value eq "abc"', {"value": "abc", "display": "x"}, True),
        ("Group", "members", 'type eq "user"', {"value": "abc", "type": "User"}, True),
        ("User", f"{ENT}:manager", 'value eq "m1"', {"value": "m1"}, True),
        (None, "whatever", 'Value eq "X"', {"value": "x"}, True),
        (None, None, "count gt 2", {"count": 3}, True),
        (None, None, "count gt 2", {"count": "3"}, False),
        (None, None, "ratio le 0.5", {"ratio": 0.5}, True),
        (None, None, "flag eq true", {"flag": 1}, False),
        (None, None, "flag eq false", {"FLAG": "False"}, True),
        (None, None, 'tags eq "b"', {"tags": ["a", "B"]}, True),
        (None, None, "tags pr", {"tags": []}, False),
        (None, None, "tags pr", {"tags": ["", None]}, False),
        (None, None, "obj pr", {"obj": {"a": None, "b": ""}}, False),
        (None, None, "obj pr", {"obj": {"a": 0}}, True),
        (None, None, "x pr", {"x": False}, True),
    ],
)
def test_matches_elements(
    resource_type: str | None, parent: str | None, text: str, item: dict[str, Any], expected: bool
) -> None:
    assert matches(parse_filter(text), item, resource_type, parent) is expected


@pytest.mark.parametrize(
    ("resource_type", "parent", "text", "message"),
    [
        ("User", None, "bogus eq 1", "unknown attribute 'bogus'"),
        ("User", None, 'userName eq "x" or bogus pr', "unknown attribute 'bogus'"),
        ("User", None, 'password eq "x"', "cannot be used in a filter"),
        ("User", None, "userName eq 5", "compares with a string value"),
        ("User", None, 'active eq "maybe"', "compares with true or false"),
        ("User", None, 'active co "t"', "'co' cannot be used on the boolean attribute"),
        ("User", None, 'name eq "x"', "cannot compare the complex attribute 'name'"),
        ("User", None, 'addresses eq "x"', "cannot compare the complex attribute"),
        ("User", None, 'meta.created gt "yesterday"', "compares with a dateTime"),
        ("User", None, 'x509Certificates.value gt "a"', "binary attribute"),
        ("User", None, 'userName[value eq "x"]', "not a complex attribute"),
        ("User", None, 'emails[bogus eq "x"]', "unknown attribute 'emails.bogus'"),
        ("User", "emails", 'emails[type eq "x"]', "value filters cannot be nested"),
        ("Group", "members", 'bogus eq "x"', "unknown attribute 'members.bogus'"),
    ],
)
def test_matches_errors(resource_type: str, parent: str | None, text: str, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        matches(parse_filter(text), BJENSEN, resource_type, parent)
    assert message in caught.value.message


# --- SQL -----------------------------------------------------------------------------------

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


def _select(db: sqlite3.Connection, table: SqlTable, text: str) -> set[str]:
    where, params = to_sql(parse_filter(text), table)
    rows = db.execute(f"SELECT {table.name}.id FROM {table.name} WHERE {where}", params)
    return {row[0] for row in rows}


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
    assert _select(db, USERS_TABLE, text) == expected


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
    assert _select(db, GROUPS_TABLE, text) == expected


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
    assert _select(db, USERS_TABLE, text) == set()
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
