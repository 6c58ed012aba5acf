"""apply_patch corners an earlier mutation run found untested: immutable attributes, body keys
in any case, replace without a value or with null, sub-attributes removed through a filter."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from app.scim.errors import InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget
from app.scim.patch import PATCH_OP_URN, PatchResult, apply_patch
from app.scim.schemas import Attribute, Schema
from tests.scim.wire import USER_URN, patch_body


def user(**extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "schemas": [USER_URN],
        "id": "2819c223",
        "userName": "alice@example.com",
        "name": {"givenName": "Alice", "familyName": "Smith"},
        "active": True,
    }
    resource.update(extra)
    return resource


def patch_user(resource: dict[str, Any], *operations: dict[str, Any]) -> PatchResult:
    return apply_patch(resource, patch_body(*operations), "User")


WORK_HOME = [
    {"value": "alice@work.example", "type": "work", "primary": True},
    {"value": "alice@home.example", "type": "home"},
]


# --- immutable attributes -----------------------------------------------------------------
# No shipped attribute outside Group members is immutable, and member changes take their own
# path; a "Device" resource type whose schema marks some attributes immutable shows the rule
# itself (RFC 7643 §7: "MAY be defined at resource creation ... SHALL NOT be updated").

DEVICE_URN = "urn:example:params:scim:schemas:Device"
DEVICE = Schema(
    DEVICE_URN,
    "Device",
    "A device, for tests",
    (
        Attribute("serial", mutability="immutable"),
        Attribute("label"),
        Attribute(
            "hardware",
            "complex",
            sub_attributes=(Attribute("model", mutability="immutable"), Attribute("color")),
        ),
        Attribute(
            "ports",
            "complex",
            multi_valued=True,
            sub_attributes=(
                Attribute("value"),
                Attribute("kind", mutability="immutable"),
                Attribute("primary", "boolean"),
            ),
        ),
        Attribute("tags", multi_valued=True),
    ),
)


@pytest.fixture
def device_type(resource_type: Callable[..., None]) -> None:
    resource_type("Device", DEVICE)


def device(**attributes: Any) -> dict[str, Any]:
    values = {
        "serial": "S1",
        "hardware": {"model": "M1", "color": "red"},
        "ports": [{"value": "p1", "kind": "usb"}, {"value": "p2"}],
        **attributes,
    }
    return {"schemas": [DEVICE_URN], "id": "d1", DEVICE_URN: values}


def patch_device(resource: dict[str, Any], *operations: dict[str, Any]) -> dict[str, Any]:
    result = apply_patch(resource, patch_body(*operations), "Device")
    values: dict[str, Any] = result.resource.get(DEVICE_URN, {})
    return values


IMMUTABLE_CHANGES = [
    pytest.param({"op": "replace", "path": "serial", "value": "S2"}, id="replace"),
    pytest.param({"op": "add", "path": "serial", "value": "S2"}, id="add"),
    pytest.param({"op": "replace", "value": {"serial": "S2"}}, id="pathless"),
    pytest.param({"op": "replace", "value": {DEVICE_URN: {"serial": "S2"}}}, id="schema-object"),
    pytest.param({"op": "replace", "path": "hardware", "value": {"model": "M2"}}, id="complex"),
    pytest.param({"op": "add", "path": "hardware", "value": {"model": None}}, id="complex-null"),
    pytest.param({"op": "replace", "path": "hardware.model", "value": "M2"}, id="sub"),
    pytest.param({"op": "replace", "path": "ports.kind", "value": "hdmi"}, id="every-element"),
    pytest.param(
        {"op": "replace", "path": 'ports[value eq "p1"].kind', "value": "hdmi"}, id="filtered"
    ),
    pytest.param(
        {"op": "replace", "path": 'ports[value eq "p1"]', "value": {"value": "p1", "kind": "x"}},
        id="filtered-element",
    ),
]


@pytest.mark.usefixtures("device_type")
@pytest.mark.parametrize("operation", IMMUTABLE_CHANGES)
def test_immutable_value_cannot_change(operation: dict[str, Any]) -> None:
    original = device()
    with pytest.raises(Mutability) as caught:
        apply_patch(original, patch_body(operation), "Device")
    assert "is immutable and already has a value" in caught.value.detail
    assert (caught.value.status, caught.value.scim_type) == (400, "mutability")
    assert original == device()


@pytest.mark.usefixtures("device_type")
@pytest.mark.parametrize(
    ("operation", "detail"),
    [
        ({"op": "add", "path": "serial", "value": "S2"}, "'serial'"),
        ({"op": "add", "path": "hardware", "value": {"model": "M2"}}, "'hardware.model'"),
    ],
)
def test_immutable_refusal_names_the_attribute(operation: dict[str, Any], detail: str) -> None:
    with pytest.raises(Mutability) as caught:
        patch_device(device(), operation)
    assert caught.value.detail == f"{detail} is immutable and already has a value"


@pytest.mark.usefixtures("device_type")
def test_immutable_value_may_be_set_once_or_repeated() -> None:
    empty = {"schemas": [DEVICE_URN], "id": "d1", DEVICE_URN: {"ports": [{"value": "p1"}]}}
    assert patch_device(empty, {"op": "add", "path": "serial", "value": "S1"})["serial"] == "S1"
    set_model = {"op": "add", "path": "hardware.model", "value": "M1"}
    assert patch_device(empty, set_model)["hardware"] == {"model": "M1"}
    assert patch_device(empty, {"op": "add", "path": "ports.kind", "value": "usb"})["ports"] == [
        {"value": "p1", "kind": "usb"}
    ]
    same = [
        {"op": "replace", "path": "serial", "value": "S1"},
        {"op": "replace", "path": "hardware", "value": {"model": "M1", "color": "blue"}},
        {"op": "replace", "path": "hardware.model", "value": "M1"},
        {"op": "add", "path": 'ports[value eq "p1"].kind', "value": "usb"},
        {"op": "add", "path": 'ports[value eq "p2"].kind', "value": "hdmi"},
        {"op": "replace", "path": "label", "value": "new"},
    ]
    values = patch_device(device(), *same)
    assert values == {
        "serial": "S1",
        "label": "new",
        "hardware": {"model": "M1", "color": "blue"},
        "ports": [{"value": "p1", "kind": "usb"}, {"value": "p2", "kind": "hdmi"}],
    }


@pytest.mark.usefixtures("device_type")
def test_add_merging_into_an_element_keeps_immutable_sub_attributes() -> None:
    operation = {"op": "add", "path": "ports", "value": [{"value": "p1", "kind": "hdmi"}]}
    with pytest.raises(Mutability):
        patch_device(device(), operation)


@pytest.mark.usefixtures("device_type")
@pytest.mark.parametrize(
    ("operation", "where"),
    [
        pytest.param({"op": "remove", "path": "serial"}, "serial", id="remove"),
        pytest.param(
            {"op": "replace", "path": "serial", "value": None}, "serial", id="replace-null"
        ),
        pytest.param({"op": "remove", "path": "hardware.model"}, "hardware.model", id="remove-sub"),
        pytest.param(
            {"op": "remove", "path": 'ports[value eq "p1"].kind'},
            'ports[value eq "p1"].kind',
            id="remove-filtered",
        ),
        pytest.param(
            {"op": "remove", "path": "ports.kind"}, "ports.kind", id="remove-every-element"
        ),
        pytest.param(
            {"op": "replace", "path": 'ports[value eq "p1"]', "value": {"value": "p1"}},
            'ports[value eq "p1"].kind',
            id="replace-element-without-it",
        ),
    ],
)
def test_immutable_value_cannot_be_removed(operation: dict[str, Any], where: str) -> None:
    # Refused where the operation names it, in the words the client wrote (the check of the
    # whole PATCH at the end would refuse it too, naming the attribute's canonical path).
    with pytest.raises(Mutability) as caught:
        patch_device(device(), operation)
    assert caught.value.detail == f"'{where}' is immutable and already has a value"


@pytest.mark.usefixtures("device_type")
def test_an_element_holding_an_immutable_value_may_still_be_removed_whole() -> None:
    # The element goes, not the value from it: "ports" itself is not immutable.
    left = patch_device(device(), {"op": "remove", "path": 'ports[value eq "p1"]'})
    assert left["ports"] == [{"value": "p2"}]


@pytest.mark.usefixtures("device_type")
def test_simple_multi_valued_elements_compare_as_scalars() -> None:
    resource = device(tags=["red"])
    added = patch_device(resource, {"op": "add", "path": "tags", "value": ["RED", "blue"]})
    assert added["tags"] == ["red", "blue"]  # "RED" is the tag already there
    removed = patch_device(resource, {"op": "remove", "path": "tags", "value": ["Red"]})
    assert "tags" not in removed


GROUP = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng"}


@pytest.mark.parametrize("op", ["add", "replace", "remove"])
@pytest.mark.parametrize("path", ["members.display", 'members[value eq "a"].value'])
def test_member_entries_are_immutable(op: str, path: str) -> None:
    resource = {**GROUP, "members": [{"value": "a", "display": "Al"}]}
    operation = {"op": op, "path": path, "value": "x"}
    with pytest.raises(Mutability, match="Member entries are immutable"):
        apply_patch(resource, patch_body(operation), "Group")


# --- body keys in any case ----------------------------------------------------------------


def test_body_keys_in_any_case() -> None:
    patch = {
        "SCHEMAS": [PATCH_OP_URN.upper()],
        "operations": [
            {"OP": "REPLACE", "PATH": "title", "VALUE": "CTO"},
            {"Op": "Add", "Path": "nickName", "Value": "Al"},
            {"oP": "rEmOvE", "pAtH": "name.givenName"},
        ],
    }
    result = apply_patch(user(), patch, "User")
    assert (result.resource["title"], result.resource["nickName"]) == ("CTO", "Al")
    assert result.resource["name"] == {"familyName": "Smith"}
    assert result.changed_attributes == {"title", "nickName", "name"}


def test_exact_key_wins_over_other_spellings() -> None:
    operation = {"op": "replace", "path": "title", "Value": "other", "value": "exact"}
    assert patch_user(user(), operation).resource["title"] == "exact"


@pytest.mark.parametrize(
    ("patch", "error"),
    [
        ({"Schemas": [PATCH_OP_URN], "operations": []}, InvalidSyntax),
        ({"schemas": [PATCH_OP_URN, 5], "Operations": [{"op": 5}]}, InvalidSyntax),
        ({"schemas": [5], "Operations": [{"op": "add", "value": {}}]}, InvalidSyntax),
        ({"schemas": PATCH_OP_URN, "Operations": [{"op": "add", "value": {}}]}, InvalidSyntax),
        ({"schemas": [PATCH_OP_URN], "Operations": [{"op": "add", "path": ["x"]}]}, InvalidPath),
        ({"schemas": [PATCH_OP_URN], "Operations": [{"op": "add", "path": ""}]}, InvalidValue),
        ({"schemas": [PATCH_OP_URN], "Operations": [{"op": "remove", "path": "  "}]}, NoTarget),
    ],
)
def test_body_shape_errors(patch: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        apply_patch(user(), patch, "User")


def test_operation_index_is_named() -> None:
    patch = patch_body({"op": "add", "path": "title", "value": "x"}, {"op": "move"})
    with pytest.raises(InvalidSyntax, match=r"Operations\[1\]\.op"):
        apply_patch(user(), patch, "User")
    with pytest.raises(InvalidSyntax, match=r"Operations\[1\] must be an object"):
        apply_patch(user(), patch_body({"op": "add", "value": {}}, 7), "User")  # type: ignore[arg-type]


# --- replace without a value, or with null ------------------------------------------------


@pytest.mark.parametrize("key", ["value", "Value", "VALUE"])
def test_replace_with_null_unassigns(key: str) -> None:
    result = patch_user(user(title="CTO"), {"op": "replace", "path": "title", key: None})
    assert "title" not in result.resource and result.changed_attributes == {"title"}
    emails = patch_user(
        user(emails=copy.deepcopy(WORK_HOME)), {"op": "Replace", "path": "emails", key: None}
    )
    assert "emails" not in emails.resource
    sub = patch_user(user(), {"op": "replace", "path": "name.givenName", key: None})
    assert sub.resource["name"] == {"familyName": "Smith"}


@pytest.mark.parametrize("path", ["title", "emails", "name.givenName", 'emails[type eq "work"]'])
def test_replace_without_value_is_400(path: str) -> None:
    with pytest.raises(InvalidValue, match="An replace operation needs a value") as caught:
        patch_user(
            user(title="CTO", emails=copy.deepcopy(WORK_HOME)), {"op": "replace", "path": path}
        )
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")


def test_replace_required_with_null_is_refused() -> None:
    with pytest.raises(InvalidValue, match="required"):
        patch_user(user(), {"op": "replace", "path": "userName", "value": None})


def test_replace_filtered_element_with_null_removes_it() -> None:
    result = patch_user(
        user(emails=copy.deepcopy(WORK_HOME)),
        {"op": "replace", "path": 'emails[type eq "home"]', "value": None},
    )
    assert result.resource["emails"] == [WORK_HOME[0]]


# --- sub-attributes removed through a value filter ----------------------------------------


def test_remove_filtered_sub_attribute_removes_only_it() -> None:
    result = patch_user(
        user(emails=copy.deepcopy(WORK_HOME)),
        {"op": "remove", "path": 'emails[type eq "work"].value'},
    )
    assert result.resource["emails"] == [{"type": "work", "primary": True}, WORK_HOME[1]]
    assert result.changed_attributes == {"emails"}


def test_remove_filtered_sub_attribute_drops_emptied_elements() -> None:
    emails = [{"value": "a@x"}, {"value": "b@x", "type": "home"}]
    result = patch_user(
        user(emails=emails), {"op": "remove", "path": 'emails[value eq "a@x"].value'}
    )
    assert result.resource["emails"] == [{"value": "b@x", "type": "home"}]
    gone = patch_user(
        user(emails=[{"value": "a@x"}]), {"op": "remove", "path": "emails[value pr].value"}
    )
    assert "emails" not in gone.resource


def test_remove_filtered_sub_attribute_of_several_matches() -> None:
    emails = [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "work"}, {"value": "c@x"}]
    result = patch_user(
        user(emails=emails), {"op": "remove", "path": 'emails[type eq "work"].type'}
    )
    assert result.resource["emails"] == [{"value": "a@x"}, {"value": "b@x"}, {"value": "c@x"}]
