"""matches(): a parsed filter evaluated against a JSON resource or one element of it."""

from __future__ import annotations

from typing import Any

import pytest

from app.scim.evaluate import matches
from app.scim.filter import FilterError, parse_filter
from app.scim.schemas import LEGACY_CORE_URN
from tests.scim.wire import ENTERPRISE_URN, USER_URN

ENT = ENTERPRISE_URN

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
