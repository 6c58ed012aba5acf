"""apply_patch: RFC 7644 §3.5.2 and the dialects of JumpCloud, Okta, Entra ID and OneLogin."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.scim import errors
from app.scim.errors import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
)
from app.scim.patch import PATCH_OP_URN, PatchResult, apply_patch
from tests.scim.wire import ENTERPRISE_URN, GROUP_URN, USER_URN, patch_body


def user(**extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "schemas": [USER_URN],
        "id": "2819c223",
        "userName": "alice@example.com",
        "name": {"givenName": "Alice", "familyName": "Smith"},
        "active": True,
        "meta": {"resourceType": "User", "version": 'W/"1"'},
    }
    resource.update(extra)
    return resource


def group(**extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "schemas": [GROUP_URN],
        "id": "e9e30dba",
        "displayName": "Engineering",
        "meta": {"resourceType": "Group"},
    }
    resource.update(extra)
    return resource


def patch_user(resource: dict[str, Any], *operations: dict[str, Any]) -> PatchResult:
    return apply_patch(resource, patch_body(*operations), "User")


def patch_group(*operations: dict[str, Any], resource: dict[str, Any] | None = None) -> PatchResult:
    return apply_patch(resource or group(), patch_body(*operations), "Group")


WORK_HOME = [
    {"value": "alice@work.example", "type": "work", "primary": True},
    {"value": "alice@home.example", "type": "home"},
]


# --- JumpCloud ----------------------------------------------------------------------------


def test_jumpcloud_replace_given_name() -> None:
    original = user()
    result = patch_user(original, {"op": "replace", "path": "name.givenName", "value": "John"})
    assert result.resource["name"] == {"givenName": "John", "familyName": "Smith"}
    assert result.changed and result.changed_attributes == {"name"}
    assert original["name"]["givenName"] == "Alice"  # the input is not mutated


def test_jumpcloud_deactivate() -> None:
    result = patch_user(user(), {"op": "replace", "path": "active", "value": False})
    assert result.resource["active"] is False
    assert result.changed_attributes == {"active"}


def test_jumpcloud_member_add_and_remove_with_value_array() -> None:
    added = patch_group({"op": "add", "path": "members", "value": [{"value": "u1"}]})
    assert added.members_added == {"u1"} and added.members_removed == set()
    assert added.members_replaced is None and added.changed_attributes == {"members"}
    assert "members" not in added.resource
    removed = patch_group({"op": "remove", "path": "members", "value": [{"value": "u1"}]})
    assert removed.members_removed == {"u1"} and removed.members_added == set()


def test_jumpcloud_repeated_add_is_idempotent() -> None:
    op = {"op": "add", "path": "members", "value": [{"value": "u1"}]}
    result = patch_group(op, op)
    assert result.members_added == {"u1"}
    listed = patch_group(op, op, resource=group(members=[{"value": "u1", "display": "Alice"}]))
    assert listed.resource["members"] == [{"value": "u1", "display": "Alice"}]


# --- Okta ---------------------------------------------------------------------------------


def test_okta_pathless_deactivate() -> None:
    result = patch_user(user(), {"op": "replace", "value": {"active": False}})
    assert result.resource["active"] is False


def test_okta_group_rename_carries_id() -> None:
    result = patch_group(
        {"op": "replace", "value": {"id": "e9e30dba", "displayName": "Platform"}},
    )
    assert result.resource["displayName"] == "Platform"
    assert result.resource["id"] == "e9e30dba"
    assert result.changed_attributes == {"displayName"}


def test_okta_pathless_value_with_other_id_is_refused() -> None:
    with pytest.raises(Mutability):
        patch_group({"op": "replace", "value": {"id": "other", "displayName": "x"}})


def test_okta_add_members_with_display() -> None:
    result = patch_group(
        {"op": "add", "path": "members", "value": [{"value": "u1", "display": "x"}]},
    )
    assert result.members_added == {"u1"}


def test_okta_remove_member_by_filter() -> None:
    result = patch_group({"op": "remove", "path": 'members[value eq "u1"]'})
    assert result.members_removed == {"u1"}


def test_remove_members_by_or_filter() -> None:
    result = patch_group({"op": "remove", "path": 'members[value eq "a" or value eq "b"]'})
    assert result.members_removed == {"a", "b"}


def test_pathless_schemas_and_meta_are_ignored() -> None:
    value = {"schemas": [USER_URN], "meta": {"version": "x"}, "nickName": "Al"}
    result = patch_user(user(), {"op": "replace", "value": value})
    assert result.resource["nickName"] == "Al"
    assert result.resource["meta"] == user()["meta"]
    assert result.changed_attributes == {"nickName"}


# --- Entra ID -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["False", "false", "FALSE"])
def test_entra_string_boolean(text: str) -> None:
    result = patch_user(user(), {"op": "Replace", "path": "active", "value": text})
    assert result.resource["active"] is False


def test_entra_add_work_email_to_user_without_emails() -> None:
    result = patch_user(
        user(), {"op": "Add", "path": 'emails[type eq "work"].value', "value": "a@b.c"}
    )
    assert result.resource["emails"] == [{"type": "work", "value": "a@b.c"}]


def test_entra_add_work_email_updates_existing() -> None:
    result = patch_user(
        user(emails=copy.deepcopy(WORK_HOME)),
        {"op": "Add", "path": 'emails[type eq "work"].value', "value": "new@work.example"},
    )
    assert result.resource["emails"][0]["value"] == "new@work.example"
    assert result.resource["emails"][1] == WORK_HOME[1]


def test_entra_pathless_dotted_and_urn_keys() -> None:
    value = {"name.givenName": "x", f"{ENTERPRISE_URN}:department": "Eng"}
    result = patch_user(user(), {"op": "Replace", "value": value})
    assert result.resource["name"]["givenName"] == "x"
    assert result.resource[ENTERPRISE_URN] == {"department": "Eng"}
    assert ENTERPRISE_URN in result.resource["schemas"]
    assert result.changed_attributes == {"name", f"{ENTERPRISE_URN}:department"}


def test_entra_pathless_filtered_key() -> None:
    value = {'emails[type eq "work"].value': "w@x", 'emails[type eq "work"].primary': "True"}
    result = patch_user(user(), {"op": "Add", "value": value})
    assert result.resource["emails"] == [{"type": "work", "value": "w@x", "primary": True}]


def test_pathless_members_replace() -> None:
    value = {"displayName": "Ops", "members": [{"value": "a"}]}
    result = patch_group({"op": "replace", "value": value})
    assert result.resource["displayName"] == "Ops"
    assert result.members_replaced == {"a"}
    assert result.changed_attributes == {"displayName", "members"}


def test_entra_remove_members_with_value_array() -> None:
    result = patch_group({"op": "Remove", "path": "members", "value": [{"value": "u2"}]})
    assert result.members_removed == {"u2"}


def test_entra_manager_as_bare_id() -> None:
    result = patch_user(user(), {"op": "Add", "path": f"{ENTERPRISE_URN}:manager", "value": "boss"})
    assert result.resource[ENTERPRISE_URN] == {"manager": {"value": "boss"}}


def test_extension_object_in_pathless_value_and_removal() -> None:
    added = patch_user(
        user(),
        {"op": "add", "value": {ENTERPRISE_URN: {"employeeNumber": "42", "Division": "R&D"}}},
    )
    assert added.resource[ENTERPRISE_URN] == {"employeeNumber": "42", "division": "R&D"}
    removed = patch_user(
        added.resource,
        {"op": "remove", "path": f"{ENTERPRISE_URN}:employeeNumber"},
        {"op": "remove", "path": f"{ENTERPRISE_URN}:division"},
    )
    assert ENTERPRISE_URN not in removed.resource
    assert ENTERPRISE_URN not in removed.resource["schemas"]


# --- OneLogin -----------------------------------------------------------------------------


def test_onelogin_legacy_urn_path() -> None:
    result = patch_user(
        user(), {"op": "replace", "path": "urn:scim:schemas:core:2.0:name.familyName", "value": "J"}
    )
    assert result.resource["name"]["familyName"] == "J"


def test_onelogin_legacy_urn_object() -> None:
    value = {"urn:scim:schemas:core:2.0": {"displayName": "Alice S"}}
    result = patch_user(user(), {"op": "replace", "value": value})
    assert result.resource["displayName"] == "Alice S"


def test_core_urn_qualified_path() -> None:
    result = patch_user(user(), {"op": "replace", "path": f"{USER_URN}:userName", "value": "b@x"})
    assert result.resource["userName"] == "b@x"


# --- RFC semantics ------------------------------------------------------------------------


def test_keys_are_canonicalised() -> None:
    result = patch_user(
        user(), {"op": "replace", "value": {"NAME": {"givenname": "Al"}, "DisplayName": "A"}}
    )
    assert result.resource["name"] == {"givenName": "Al", "familyName": "Smith"}
    assert result.resource["displayName"] == "A"


def test_add_to_multi_valued_appends_without_duplicates() -> None:
    new = {"value": "alice@other.example", "type": "other"}
    result = patch_user(
        user(emails=copy.deepcopy(WORK_HOME)),
        {
            "op": "add",
            "path": "emails",
            "value": [new, {"value": "ALICE@home.example", "type": "home"}],
        },
    )
    assert result.resource["emails"] == [*WORK_HOME, new]


def test_add_single_element_is_wrapped() -> None:
    result = patch_user(user(), {"op": "add", "path": "emails", "value": {"value": "a@x"}})
    assert result.resource["emails"] == [{"value": "a@x"}]


def test_replace_multi_valued_replaces_list() -> None:
    result = patch_user(
        user(emails=copy.deepcopy(WORK_HOME)),
        {"op": "replace", "path": "emails", "value": [{"value": "only@x", "type": "work"}]},
    )
    assert result.resource["emails"] == [{"value": "only@x", "type": "work"}]


def test_add_complex_merges() -> None:
    result = patch_user(user(), {"op": "add", "path": "name", "value": {"middleName": "Q"}})
    assert result.resource["name"] == {
        "givenName": "Alice",
        "familyName": "Smith",
        "middleName": "Q",
    }


def test_replace_filter_sub_attribute() -> None:
    addresses = [{"type": "work", "streetAddress": "1 Old St"}, {"type": "home", "locality": "X"}]
    result = patch_user(
        user(addresses=addresses),
        {"op": "replace", "path": 'addresses[type eq "work"].streetAddress', "value": "2 New St"},
    )
    assert result.resource["addresses"][0] == {"type": "work", "streetAddress": "2 New St"}
    assert result.resource["addresses"][1] == addresses[1]


def test_replace_filter_whole_element() -> None:
    result = patch_user(
        user(emails=copy.deepcopy(WORK_HOME)),
        {
            "op": "replace",
            "path": 'emails[type eq "home"]',
            "value": {"value": "h@x", "type": "home"},
        },
    )
    assert result.resource["emails"][1] == {"value": "h@x", "type": "home"}


def test_remove_by_filter_and_last_value_unassigns() -> None:
    result = patch_user(
        user(emails=copy.deepcopy(WORK_HOME)),
        {"op": "remove", "path": 'emails[type eq "home"]'},
    )
    assert result.resource["emails"] == [WORK_HOME[0]]
    gone = patch_user(result.resource, {"op": "remove", "path": 'emails[type eq "work"]'})
    assert "emails" not in gone.resource


def test_remove_by_filter_without_match_is_a_no_op() -> None:
    result = patch_user(user(), {"op": "remove", "path": 'emails[type eq "work"]'})
    assert not result.changed and result.changed_attributes == set()


def test_remove_attribute_and_sub_attribute() -> None:
    result = patch_user(
        user(nickName="Al"),
        {"op": "remove", "path": "nickName"},
        {"op": "remove", "path": "name.givenName"},
    )
    assert "nickName" not in result.resource
    assert result.resource["name"] == {"familyName": "Smith"}


def test_remove_emails_by_value_array() -> None:
    result = patch_user(
        user(emails=copy.deepcopy(WORK_HOME)),
        {"op": "remove", "path": "emails", "value": [{"value": "alice@home.example"}]},
    )
    assert result.resource["emails"] == [WORK_HOME[0]]


def test_replace_with_null_unassigns() -> None:
    result = patch_user(user(title="CTO"), {"op": "replace", "path": "title", "value": None})
    assert "title" not in result.resource


def test_primary_moves_to_the_chosen_element() -> None:
    result = patch_user(
        user(emails=copy.deepcopy(WORK_HOME)),
        {"op": "replace", "path": 'emails[type eq "home"].primary', "value": "True"},
    )
    assert [e.get("primary") for e in result.resource["emails"]] == [False, True]
    added = patch_user(
        user(emails=copy.deepcopy(WORK_HOME)),
        {"op": "add", "path": "emails", "value": [{"value": "n@x", "primary": True}]},
    )
    assert [e.get("primary") for e in added.resource["emails"]] == [False, None, True]


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "emails.primary", "value": True},
        {"op": "replace", "path": 'emails[value co "alice"].primary', "value": True},
    ],
)
def test_primary_on_several_elements_is_refused(operation: dict[str, Any]) -> None:
    with pytest.raises(InvalidValue):
        patch_user(user(emails=copy.deepcopy(WORK_HOME)), operation)


def test_extension_urn_as_path() -> None:
    added = patch_user(user(), {"op": "add", "path": ENTERPRISE_URN, "value": {"costCenter": "7"}})
    assert added.resource[ENTERPRISE_URN] == {"costCenter": "7"}
    removed = patch_user(added.resource, {"op": "remove", "path": ENTERPRISE_URN})
    assert ENTERPRISE_URN not in removed.resource
    assert removed.resource["schemas"] == [USER_URN]


def test_sub_attribute_of_every_element() -> None:
    result = patch_user(
        user(emails=copy.deepcopy(WORK_HOME)), {"op": "remove", "path": "emails.type"}
    )
    assert all("type" not in e for e in result.resource["emails"])
    # Only the sub-attribute goes: every element stays, with everything else it held.
    assert result.resource["emails"] == [
        {"value": "alice@work.example", "primary": True},
        {"value": "alice@home.example"},
    ]


def test_unchanged_value_reports_no_change() -> None:
    result = patch_user(user(), {"op": "replace", "path": "active", "value": True})
    assert not result.changed


def test_members_replace_and_later_ops_fold_in() -> None:
    result = patch_group(
        {"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
        {"op": "add", "path": "members", "value": [{"value": "c"}]},
        {"op": "remove", "path": "members", "value": [{"value": "a"}]},
    )
    assert result.members_replaced == {"b", "c"}
    assert result.members_added == set() and result.members_removed == set()


def test_remove_all_members() -> None:
    result = patch_group({"op": "remove", "path": "members"})
    assert result.members_replaced == set()
    assert result.changed_attributes == {"members"}


def test_add_then_remove_member_cancels() -> None:
    result = patch_group(
        {"op": "add", "path": "members", "value": [{"value": "a"}]},
        {"op": "remove", "path": "members", "value": [{"value": "a"}]},
    )
    assert result.members_added == set() and result.members_removed == {"a"}


def test_members_list_in_resource_is_kept_in_step() -> None:
    resource = group(members=[{"value": "a"}, {"value": "b"}])
    result = patch_group(
        {"op": "remove", "path": 'members[value eq "a"]'},
        {"op": "add", "path": "members", "value": [{"value": "c"}]},
        resource=resource,
    )
    assert result.resource["members"] == [{"value": "b"}, {"value": "c"}]


def test_member_filter_on_other_attribute_with_members_listed() -> None:
    resource = group(members=[{"value": "a", "display": "Al"}, {"value": "b", "display": "Bo"}])
    result = patch_group({"op": "remove", "path": 'members[display eq "Al"]'}, resource=resource)
    assert result.members_removed == {"a"}


# --- errors -------------------------------------------------------------------------------

SCIM_TYPES: dict[type[ScimError], str] = {
    InvalidSyntax: "invalidSyntax",
    InvalidPath: "invalidPath",
    NoTarget: "noTarget",
    Mutability: "mutability",
    InvalidValue: "invalidValue",
    InvalidFilter: "invalidFilter",
}

ERROR_CASES: list[tuple[str, Any, type[ScimError]]] = [
    ("not an object", [], InvalidSyntax),
    ("no schemas", {"Operations": [{"op": "add", "value": {}}]}, InvalidSyntax),
    ("wrong schema", {"schemas": [USER_URN], "Operations": []}, InvalidSyntax),
    ("empty operations", patch_body(), InvalidSyntax),
    ("operations not a list", {"schemas": [PATCH_OP_URN], "Operations": {}}, InvalidSyntax),
    ("operation not an object", patch_body("add"), InvalidSyntax),  # type: ignore[arg-type]
    ("unknown op", patch_body({"op": "move", "path": "title", "value": "x"}), InvalidSyntax),
    ("missing op", patch_body({"path": "title", "value": "x"}), InvalidSyntax),
    ("unknown path", patch_body({"op": "replace", "path": "shoeSize", "value": 4}), InvalidPath),
    ("unknown sub", patch_body({"op": "replace", "path": "name.nick", "value": "x"}), InvalidPath),
    (
        "malformed path",
        patch_body({"op": "replace", "path": "emails[type eq]", "value": "x"}),
        InvalidPath,
    ),
    ("path not string", patch_body({"op": "replace", "path": 3, "value": "x"}), InvalidPath),
    (
        "filter on single",
        patch_body({"op": "replace", "path": 'name[givenName eq "A"]', "value": {}}),
        InvalidPath,
    ),
    ("unknown key", patch_body({"op": "replace", "value": {"shoeSize": 4}}), InvalidPath),
    ("remove no path", patch_body({"op": "remove"}), NoTarget),
    (
        "replace no match, unseedable",
        patch_body({"op": "replace", "path": 'emails[value sw "x"].type', "value": "home"}),
        NoTarget,
    ),
    (
        "add unseedable",
        patch_body({"op": "add", "path": 'emails[value co "x"].type', "value": "work"}),
        NoTarget,
    ),
    (
        "readOnly groups",
        patch_body({"op": "add", "path": "groups", "value": [{"value": "g"}]}),
        Mutability,
    ),
    ("id path", patch_body({"op": "replace", "path": "id", "value": "new"}), Mutability),
    ("meta path", patch_body({"op": "replace", "path": "meta.version", "value": "x"}), Mutability),
    ("pathless groups", patch_body({"op": "replace", "value": {"groups": []}}), Mutability),
    (
        "readOnly sub",
        patch_body(
            {"op": "replace", "path": f"{ENTERPRISE_URN}:manager.displayName", "value": "B"}
        ),
        Mutability,
    ),
    (
        "number userName",
        patch_body({"op": "replace", "path": "userName", "value": 42}),
        InvalidValue,
    ),
    (
        "object userName",
        patch_body({"op": "replace", "path": "userName", "value": {"a": 1}}),
        InvalidValue,
    ),
    ("bad boolean", patch_body({"op": "replace", "path": "active", "value": "yes"}), InvalidValue),
    ("string emails", patch_body({"op": "add", "path": "emails", "value": "a@b.c"}), InvalidValue),
    (
        "name not object",
        patch_body({"op": "replace", "path": "name", "value": "Alice"}),
        InvalidValue,
    ),
    (
        "unknown sub key",
        patch_body({"op": "add", "path": "emails", "value": [{"mail": "a"}]}),
        InvalidValue,
    ),
    ("add without value", patch_body({"op": "add", "path": "title"}), InvalidValue),
    ("add null", patch_body({"op": "add", "path": "title", "value": None}), InvalidValue),
    ("pathless not object", patch_body({"op": "replace", "value": "x"}), InvalidValue),
    ("remove required", patch_body({"op": "remove", "path": "userName"}), InvalidValue),
    (
        "two primaries",
        patch_body(
            {
                "op": "add",
                "path": "emails",
                "value": [{"value": "a", "primary": True}, {"value": "b", "primary": True}],
            }
        ),
        InvalidValue,
    ),
]


@pytest.mark.parametrize(
    ("operations", "error"),
    [pytest.param(ops, error, id=name) for name, ops, error in ERROR_CASES],
)
def test_user_errors(operations: Any, error: type[ScimError]) -> None:
    with pytest.raises(error) as caught:
        apply_patch(user(), operations, "User")
    assert caught.value.to_body() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "400",
        "scimType": SCIM_TYPES[error],
        "detail": caught.value.detail,
    }
    assert "Traceback" not in caught.value.detail


GROUP_ERROR_CASES: list[tuple[str, dict[str, Any], type[ScimError]]] = [
    (
        "member without value",
        {"op": "add", "path": "members", "value": [{"display": "x"}]},
        InvalidValue,
    ),
    (
        "member value number",
        {"op": "add", "path": "members", "value": [{"value": 7}]},
        InvalidValue,
    ),
    ("members not a list", {"op": "add", "path": "members", "value": "u1"}, InvalidValue),
    (
        "member sub-attribute",
        {"op": "replace", "path": "members.display", "value": "x"},
        Mutability,
    ),
    (
        "replace filtered member",
        {"op": "replace", "path": 'members[value eq "a"]', "value": {"value": "b"}},
        Mutability,
    ),
    (
        "member filter unsupported",
        {"op": "remove", "path": 'members[display eq "x"]'},
        InvalidFilter,
    ),
    ("remove displayName", {"op": "remove", "path": "displayName"}, InvalidValue),
    ("user attribute", {"op": "replace", "path": "userName", "value": "x"}, InvalidPath),
]


@pytest.mark.parametrize(
    ("operation", "error"),
    [pytest.param(op, error, id=name) for name, op, error in GROUP_ERROR_CASES],
)
def test_group_errors(operation: dict[str, Any], error: type[ScimError]) -> None:
    with pytest.raises(error) as caught:
        patch_group(operation)
    assert (caught.value.status, caught.value.scim_type) == (400, SCIM_TYPES[error])


def test_failed_patch_leaves_input_untouched() -> None:
    original = user()
    snapshot = copy.deepcopy(original)
    with pytest.raises(InvalidPath):
        patch_user(
            original,
            {"op": "replace", "path": "name.givenName", "value": "X"},
            {"op": "replace", "path": "nope", "value": "X"},
        )
    assert original == snapshot


@pytest.mark.parametrize(
    ("error", "status", "scim_type"),
    [
        (errors.InvalidFilter, 400, "invalidFilter"),
        (errors.TooMany, 400, "tooMany"),
        (errors.Uniqueness, 409, "uniqueness"),
        (errors.Mutability, 400, "mutability"),
        (errors.InvalidSyntax, 400, "invalidSyntax"),
        (errors.InvalidPath, 400, "invalidPath"),
        (errors.NoTarget, 400, "noTarget"),
        (errors.InvalidValue, 400, "invalidValue"),
        (errors.InvalidVersion, 400, "invalidVers"),
        (errors.Sensitive, 400, "sensitive"),
        (errors.Unauthorized, 401, None),
        (errors.Forbidden, 403, None),
        (errors.NotFound, 404, None),
        (errors.Conflict, 409, None),
        (errors.PreconditionFailed, 412, None),
        (errors.PayloadTooLarge, 413, None),
        (errors.InternalError, 500, None),
        (errors.NotImplemented_, 501, None),
    ],
)
def test_error_tree(error: type[ScimError], status: int, scim_type: str | None) -> None:
    exc = error("Something specific")
    expected: dict[str, Any] = {"schemas": [errors.ERROR_SCHEMA], "status": str(status)}
    if scim_type is not None:
        expected["scimType"] = scim_type
    expected["detail"] = "Something specific"
    assert isinstance(exc, ScimError)
    assert (exc.status, exc.scim_type) == (status, scim_type)
    assert exc.to_body() == expected
    assert error().detail == error.default_detail


def test_replace_through_an_eq_filter_that_matches_nothing_creates_the_element() -> None:
    """JumpCloud's mapping emails[primary eq true].value on a user created without primary."""
    user = {"userName": "a@example.com", "emails": [{"value": "old@example.com"}]}
    result = apply_patch(
        user,
        patch_body(
            {"op": "replace", "path": "emails[primary eq true].value", "value": "new@example.com"}
        ),
        "User",
    )
    assert result.resource["emails"] == [
        {"value": "old@example.com"},
        {"primary": True, "value": "new@example.com"},
    ]
    assert user["emails"] == [{"value": "old@example.com"}]  # the input is not mutated
