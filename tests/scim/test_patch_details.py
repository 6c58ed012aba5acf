"""apply_patch details an earlier mutation run found untested: how an add merges into the
elements already there, extension objects and the schemas list, sub-attributes of every
element, filtered elements, group members, and the exact text of each refusal."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.scim.errors import InvalidPath, NoTarget, ScimError
from app.scim.patch import PATCH_OP_URN, PatchResult, apply_patch
from tests.scim.wire import ENTERPRISE_URN, GROUP_URN, PATCH_URN, USER_URN, patch_body

WORK = {"value": "alice@work.example", "type": "work", "primary": True}
HOME = {"value": "alice@home.example", "type": "home"}


def user(**extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "schemas": [USER_URN],
        "id": "2819c223",
        "userName": "alice@example.com",
        "name": {"givenName": "Alice", "familyName": "Smith"},
        "emails": [dict(WORK), dict(HOME)],
    }
    resource.update(extra)
    return resource


def patch_user(resource: dict[str, Any], *operations: dict[str, Any]) -> dict[str, Any]:
    patched: dict[str, Any] = apply_patch(resource, patch_body(*operations), "User").resource
    return patched


def patch_group(resource: dict[str, Any], *operations: dict[str, Any]) -> PatchResult:
    return apply_patch(resource, patch_body(*operations), "Group")


def test_the_patch_op_urn_is_the_rfc_one() -> None:
    assert PATCH_OP_URN == PATCH_URN
    with pytest.raises(ScimError, match="'schemas' must contain"):
        apply_patch(user(), {"schemas": [""], "Operations": [{"op": "add", "value": {}}]}, "User")


# --- an add merges into the elements already there ------------------------------------------


def test_add_of_an_existing_element_merges_and_moves_primary() -> None:
    new_home = {"value": "ALICE@home.example", "display": "Home", "primary": True}
    emails = patch_user(user(), {"op": "add", "path": "emails", "value": [new_home]})["emails"]
    assert emails == [
        {**WORK, "primary": False},
        {**HOME, "display": "Home", "primary": True},  # the stored spelling of the value stays
    ]


def test_add_of_an_existing_element_can_clear_primary() -> None:
    operation = {"op": "add", "path": "emails", "value": [{**WORK, "primary": False}]}
    assert patch_user(user(), operation)["emails"] == [{**WORK, "primary": False}, HOME]


def test_same_value_of_another_type_is_another_element() -> None:
    other = {"value": "alice@work.example", "type": "home"}
    emails = patch_user(user(), {"op": "add", "path": "emails", "value": [other]})["emails"]
    assert emails == [WORK, HOME, other]


def test_element_without_value_is_appended() -> None:
    emails = patch_user(user(), {"op": "add", "path": "emails", "value": [{"display": "x"}]})
    assert emails["emails"] == [WORK, HOME, {"display": "x"}]


def test_case_exact_values_are_told_apart() -> None:
    certs = [{"value": "QUJD"}]
    add = {"op": "add", "path": "x509Certificates", "value": [{"value": "qujd"}, {"value": "QUJD"}]}
    assert patch_user(user(x509Certificates=certs), add)["x509Certificates"] == [
        {"value": "QUJD"},
        {"value": "qujd"},
    ]


def test_elements_without_a_value_sub_attribute_compare_whole() -> None:
    address = {"type": "work", "locality": "Paris"}
    other = {"type": "work", "locality": "Lyon"}
    add = {"op": "add", "path": "addresses", "value": [dict(address), other]}
    assert patch_user(user(addresses=[dict(address)]), add)["addresses"] == [address, other]


def test_replace_keeps_elements_as_sent() -> None:
    value = [{"value": "a@x"}, {"value": "A@x", "type": "home"}]
    replaced = patch_user(user(), {"op": "replace", "path": "emails", "value": value})
    assert replaced["emails"] == value


def test_null_sub_attribute_of_a_complex_value_unassigns_it() -> None:
    name = patch_user(user(), {"op": "add", "path": "name", "value": {"givenName": None}})["name"]
    assert name == {"familyName": "Smith"}


# --- extension objects and the schemas list -------------------------------------------------


def test_schemas_and_meta_inside_an_extension_object_are_ignored() -> None:
    value = {ENTERPRISE_URN: {"schemas": [ENTERPRISE_URN], "meta": {"x": 1}, "department": "Eng"}}
    patched = patch_user(user(), {"op": "add", "value": value})
    assert patched[ENTERPRISE_URN] == {"department": "Eng"}
    assert patched["schemas"] == [USER_URN, ENTERPRISE_URN]


def test_core_schema_object_may_echo_id_and_schemas() -> None:
    value = {USER_URN: {"id": "2819c223", "schemas": [USER_URN], "displayName": "Al"}}
    assert patch_user(user(), {"op": "replace", "value": value})["displayName"] == "Al"


def test_extension_listed_in_schemas_is_not_listed_twice() -> None:
    listed = user(schemas=[USER_URN, ENTERPRISE_URN])
    patched = patch_user(
        listed, {"op": "add", "path": f"{ENTERPRISE_URN}:department", "value": "E"}
    )
    assert patched["schemas"] == [USER_URN, ENTERPRISE_URN]
    assert patched[ENTERPRISE_URN] == {"department": "E"}


def test_removing_one_extension_attribute_keeps_the_others() -> None:
    resource = user(
        schemas=[USER_URN, ENTERPRISE_URN], **{ENTERPRISE_URN: {"department": "E", "division": "D"}}
    )
    patched = patch_user(resource, {"op": "remove", "path": f"{ENTERPRISE_URN}:department"})
    assert patched[ENTERPRISE_URN] == {"division": "D"}
    assert patched["schemas"] == [USER_URN, ENTERPRISE_URN]


def test_extension_missing_from_schemas_can_still_be_emptied() -> None:
    resource = user(**{ENTERPRISE_URN: {"department": "E"}})  # schemas does not list it
    patched = patch_user(resource, {"op": "remove", "path": f"{ENTERPRISE_URN}:department"})
    assert ENTERPRISE_URN not in patched and patched["schemas"] == [USER_URN]
    whole = patch_user(
        user(**{ENTERPRISE_URN: {"department": "E"}}), {"op": "remove", "path": ENTERPRISE_URN}
    )
    assert ENTERPRISE_URN not in whole


# --- a sub-attribute of every element ---------------------------------------------------------


def test_removing_a_sub_attribute_drops_emptied_elements() -> None:
    emails = [{"value": "a@x"}, {"value": "b@x", "type": "home"}]
    patched = patch_user(user(emails=emails), {"op": "remove", "path": "emails.value"})
    assert patched["emails"] == [{"type": "home"}]


def test_setting_a_sub_attribute_without_elements_creates_one() -> None:
    patched = patch_user(user(emails=[]), {"op": "add", "path": "emails.type", "value": "work"})
    assert patched["emails"] == [{"type": "work"}]


# --- filtered elements ------------------------------------------------------------------------


def test_unknown_attribute_in_a_filter_over_elements() -> None:
    with pytest.raises(InvalidPath, match=r"unknown attribute 'emails\.bogus'"):
        patch_user(user(), {"op": "replace", "path": 'emails[bogus eq "x"].value', "value": "y"})
    with pytest.raises(ScimError) as caught:  # no element to match: refused all the same
        patch_user(
            user(emails=[]), {"op": "add", "path": 'emails[bogus eq "x"].value', "value": "y"}
        )
    assert caught.value.status == 400


def test_seeded_element_takes_primary() -> None:
    resource = user(emails=[dict(HOME, primary=True)])
    operation = {"op": "add", "path": 'emails[type eq "work"].primary', "value": True}
    assert patch_user(resource, operation)["emails"] == [
        {**HOME, "primary": False},
        {"type": "work", "primary": True},
    ]


def test_replacing_a_filtered_element_drops_what_the_new_one_lacks() -> None:
    resource = user(emails=[dict(WORK), {**HOME, "display": "Home"}])
    operation = {"op": "replace", "path": 'emails[type eq "home"]', "value": {"value": "h@x"}}
    assert patch_user(resource, operation)["emails"] == [WORK, {"value": "h@x"}]
    add = {"op": "add", "path": 'emails[type eq "home"]', "value": {"value": "h@x"}}
    assert patch_user(resource, add)["emails"] == [
        WORK,
        {**HOME, "display": "Home", "value": "h@x"},
    ]


def test_null_in_a_filtered_element_unassigns_that_sub_attribute() -> None:
    resource = user(emails=[dict(WORK, display="W")])
    operation = {"op": "add", "path": 'emails[type eq "work"]', "value": {"display": None}}
    assert patch_user(resource, operation)["emails"] == [WORK]


# --- group members ----------------------------------------------------------------------------


def test_remove_members_with_null_value_removes_all() -> None:
    group = {"schemas": [GROUP_URN], "displayName": "G"}
    result = patch_group(group, {"op": "remove", "path": "members", "value": None})
    assert result.members_replaced == set()


def test_member_display_names_are_passed_on() -> None:
    group = {"schemas": [GROUP_URN], "displayName": "G"}
    value = [{"value": "u1", "display": "Ada"}, {"value": "u2"}]
    result = patch_group(group, {"op": "add", "path": "members", "value": value})
    assert result.member_displays == {"u1": "Ada"}


# --- the text of each refusal -----------------------------------------------------------------

REFUSALS: list[tuple[Any, str]] = [
    ([], "The PATCH body must be a JSON object"),
    ({"schemas": [], "Operations": []}, f"'schemas' must contain {PATCH_URN}"),
    ({"schemas": [PATCH_URN], "Operations": []}, "'Operations' must be a non-empty array"),
    (patch_body({"op": "add", "path": 5}), "Operations[0].path must be a string"),
    (patch_body({"op": "remove"}), "A remove operation needs a path"),
    (
        patch_body({"op": "add", "value": "x"}),
        "Without a path, the value must be an object of attributes",
    ),
    (patch_body({"op": "add", "value": {"id": "x"}}), "'id' cannot be changed"),
    (patch_body({"op": "remove", "path": USER_URN}), "A remove operation needs an attribute path"),
    (
        patch_body({"op": "add", "path": ENTERPRISE_URN, "value": 1}),
        f"The value for '{ENTERPRISE_URN}' must be an object",
    ),
    (
        patch_body({"op": "add", "path": "emails[type eq]", "value": 1}),
        "Invalid path 'emails[type eq]': missing value after 'eq' at position 15",
    ),
    (
        patch_body({"op": "add", "path": 'name[givenName eq "x"]', "value": {}}),
        "'name' is not multi-valued and takes no value filter",
    ),
    (
        patch_body({"op": "add", "path": 'emails[type eq "work"].bogus', "value": 1}),
        "Unknown attribute 'emails[type eq \"work\"].bogus'",
    ),
    (patch_body({"op": "add", "path": "groups", "value": []}), "'groups' is read-only"),
    (
        patch_body({"op": "add", "path": "title", "value": None}),
        "An add operation needs a non-null value",
    ),
    (patch_body({"op": "add", "path": "title"}), "An add operation needs a value"),
    (
        patch_body({"op": "remove", "path": "userName"}),
        "'userName' is required and cannot be removed",
    ),
    (
        patch_body({"op": "add", "path": 'emails[bogus eq "x"].value', "value": "y"}),
        "Invalid path 'emails[bogus eq \"x\"].value': unknown attribute 'emails.bogus'",
    ),
    (
        patch_body({"op": "replace", "path": 'emails[value sw "x"].type', "value": "home"}),
        "No value matches the path 'emails[value sw \"x\"].type'",
    ),
]


@pytest.mark.parametrize(("patch", "detail"), REFUSALS)
def test_refusal_details(patch: Any, detail: str) -> None:
    with pytest.raises(ScimError) as caught:
        apply_patch(user(), patch, "User")
    assert caught.value.detail == detail


def test_member_filter_refusal_detail() -> None:
    group = {"schemas": [GROUP_URN], "displayName": "G"}
    with pytest.raises(ScimError) as caught:
        patch_group(group, {"op": "remove", "path": 'members[display eq "x"]'})
    assert caught.value.detail == "Member filters support only 'value eq \"id\"' with or"


def test_no_target_is_its_own_error() -> None:
    with pytest.raises(NoTarget):
        patch_user(copy.deepcopy(user()), {"op": "remove", "path": USER_URN})
