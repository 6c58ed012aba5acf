from __future__ import annotations

import pytest

from app.scim.errors import InvalidFilter
from app.scim.filter import (
    MAX_LENGTH,
    And,
    AttrPath,
    Compare,
    Filter,
    FilterError,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
    clauses,
    parse_filter,
    parse_path,
)
from app.scim.schemas import ENTERPRISE_USER_URN, LEGACY_CORE_URN, USER_URN

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


def test_long_flat_filters_are_fine_up_to_the_clause_limit() -> None:
    text = " or ".join(["userName pr"] * 250)
    assert len(text) <= MAX_LENGTH
    parsed = parse_filter(text, max_clauses=250)
    assert isinstance(parsed, Or) and len(parsed.operands) == 250
    with pytest.raises(FilterError, match="max_filter_clauses"):
        parse_filter(text, max_clauses=249)
    assert isinstance(parse_filter(" or ".join(["userName pr"] * 50)), Or)  # the default, 50
    with pytest.raises(FilterError, match="max_filter_clauses"):
        parse_filter(" or ".join(["userName pr"] * 51))


def test_value_filters_are_counted() -> None:
    two = 'emails[type eq "work"] or addresses[locality co "x"]'
    assert isinstance(parse_filter(two, max_value_filters=2), Or)
    with pytest.raises(FilterError, match="max_value_filters"):
        parse_filter(two, max_value_filters=1)
    # the attribute before `[` counts as a comparison too
    with pytest.raises(FilterError, match="max_filter_clauses"):
        parse_filter(two, max_clauses=3)
    assert isinstance(parse_filter(two, max_clauses=4), Or)
    five = " or ".join(['emails[type eq "work"]'] * 5)
    assert isinstance(parse_filter(five), Or)  # the default, 5
    with pytest.raises(FilterError, match="max_value_filters"):
        parse_filter(five + ' or emails[type eq "home"]')


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("userName pr", 1),
        ('userName eq "a"', 1),
        ('userName eq "a" and (title pr or not (nickName co "b"))', 3),
        ('emails[type eq "work"]', 2),  # the attribute before `[`, and the comparison inside
        ('emails[type eq "work" or value co "@"] and active eq true', 4),
        ('not (emails[type eq "work" and not (primary eq true)])', 3),
    ],
)
def test_clauses_counts_what_the_parser_counts(text: str, count: int) -> None:
    assert clauses(parse_filter(text)) == count
    parse_filter(text, max_clauses=count)  # exactly what the limit counts
    if count > 1:  # (a limit is at least 1: [scim] max_filter_clauses refuses 0)
        with pytest.raises(FilterError, match="max_filter_clauses"):
            parse_filter(text, max_clauses=count - 1)


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
