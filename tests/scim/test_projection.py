"""project / wants / parse_attribute_list: RFC 7644 §3.4.2.5 and §3.9."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.scim.projection import parse_attribute_list, project, wants
from tests.scim.wire import ENTERPRISE_URN, GROUP_URN, USER_URN

USER: dict[str, Any] = {
    "schemas": [USER_URN, ENTERPRISE_URN],
    "id": "2819c223",
    "externalId": "ext-1",
    "userName": "alice@example.com",
    "name": {"givenName": "Alice", "familyName": "Smith"},
    "displayName": "Alice Smith",
    "active": True,
    "password": "hunter2",
    "emails": [
        {"value": "alice@work.example", "type": "work", "primary": True},
        {"value": "alice@home.example", "type": "home"},
    ],
    "groups": [{"value": "g1", "display": "Engineering"}],
    ENTERPRISE_URN: {"employeeNumber": "42", "department": "R&D"},
    "meta": {"resourceType": "User", "version": 'W/"1"'},
}

GROUP: dict[str, Any] = {
    "schemas": [GROUP_URN],
    "id": "e9e30dba",
    "displayName": "Engineering",
    "members": [{"value": "2819c223", "display": "Alice Smith"}],
    "meta": {"resourceType": "Group"},
}


def user_view(attributes: list[str] | None = None, excluded: list[str] | None = None) -> Any:
    return project(copy.deepcopy(USER), "User", attributes, excluded)


def test_default_drops_never_returned_only() -> None:
    expected = {k: v for k, v in USER.items() if k != "password"}
    assert user_view() == expected


def test_input_is_not_mutated() -> None:
    resource = copy.deepcopy(USER)
    project(resource, "User", ["userName"], None)
    assert resource == USER


def test_attributes_keep_always_returned_id() -> None:
    assert user_view(["userName"]) == {
        "schemas": [USER_URN],
        "id": "2819c223",
        "userName": "alice@example.com",
    }


@pytest.mark.parametrize(
    "name", ["name.givenName", "NAME.GIVENNAME", f"{USER_URN}:name.givenName", "name.givenname"]
)
def test_sub_attribute_selection(name: str) -> None:
    view = user_view([name])
    assert view["name"] == {"givenName": "Alice"}
    assert set(view) == {"schemas", "id", "name"}


def test_multi_valued_sub_attribute_selection() -> None:
    view = user_view(["emails.value"])
    assert view["emails"] == [{"value": "alice@work.example"}, {"value": "alice@home.example"}]


def test_whole_complex_attribute() -> None:
    assert user_view(["name"])["name"] == USER["name"]


@pytest.mark.parametrize(
    "name", [f"{ENTERPRISE_URN}:employeeNumber", f"{ENTERPRISE_URN.upper()}:EMPLOYEENUMBER"]
)
def test_urn_qualified_extension_attribute(name: str) -> None:
    view = user_view([name])
    assert view[ENTERPRISE_URN] == {"employeeNumber": "42"}
    assert view["schemas"] == [USER_URN, ENTERPRISE_URN]


def test_extension_urn_alone_selects_the_extension() -> None:
    view = user_view([ENTERPRISE_URN])
    assert view[ENTERPRISE_URN] == USER[ENTERPRISE_URN]


def test_extension_dropped_from_schemas_when_absent() -> None:
    assert user_view(["displayName"])["schemas"] == [USER_URN]
    assert user_view(excluded=[ENTERPRISE_URN])["schemas"] == [USER_URN]


def test_legacy_core_urn_name() -> None:
    assert user_view(["urn:scim:schemas:core:2.0:userName"])["userName"] == USER["userName"]


def test_excluded_attributes() -> None:
    view = user_view(excluded=["emails", "name.familyName", f"{ENTERPRISE_URN}:department"])
    assert "emails" not in view
    assert view["name"] == {"givenName": "Alice"}
    assert view[ENTERPRISE_URN] == {"employeeNumber": "42"}
    assert view["userName"] == USER["userName"]


def test_always_cannot_be_excluded_and_never_cannot_be_requested() -> None:
    assert user_view(excluded=["id"])["id"] == USER["id"]
    assert "password" not in user_view(["password", "userName"])


def test_unknown_names_are_ignored() -> None:
    assert user_view(["shoeSize", "userName"]) == user_view(["userName"])
    assert user_view(excluded=["shoeSize"]) == user_view()


def test_meta_on_request() -> None:
    assert user_view(["meta"])["meta"] == USER["meta"]
    assert "meta" not in user_view(["userName"])


def test_group_excluded_members() -> None:
    view = project(copy.deepcopy(GROUP), "Group", None, ["members"])
    assert view == {k: v for k, v in GROUP.items() if k != "members"}


def test_group_display_name_only() -> None:
    view = project(copy.deepcopy(GROUP), "Group", ["displayName"], None)
    assert view == {"schemas": [GROUP_URN], "id": "e9e30dba", "displayName": "Engineering"}


@pytest.mark.parametrize(
    ("attributes", "excluded", "expected"),
    [
        (None, None, True),
        (None, ["members"], False),
        (None, ["MEMBERS"], False),
        (None, ["displayName"], True),
        (["displayName"], None, False),
        (["members"], None, True),
        (["members.value"], None, True),
        (["displayName", "Members"], None, True),
        ([GROUP_URN], None, True),
        (["members"], ["members"], False),
    ],
)
def test_wants_members(
    attributes: list[str] | None, excluded: list[str] | None, expected: bool
) -> None:
    assert wants("members", attributes, excluded) is expected


def test_wants_for_users() -> None:
    assert wants("groups", None, None, "User")
    assert not wants("groups", ["userName"], None, "User")
    assert not wants("password", None, None, "User")
    assert wants("id", ["userName"], ["id"], "User")
    assert not wants("shoeSize", None, None, "User")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        (" , ", None),
        ("userName", ["userName"]),
        ("userName, name.givenName ,,emails", ["userName", "name.givenName", "emails"]),
    ],
)
def test_parse_attribute_list(text: str | None, expected: list[str] | None) -> None:
    assert parse_attribute_list(text) == expected
