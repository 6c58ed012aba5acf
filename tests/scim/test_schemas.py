from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from app.scim.errors import InvalidPath
from app.scim.schemas import (
    COMMON_ATTRIBUTES,
    ENTERPRISE_USER,
    ENTERPRISE_USER_URN,
    GROUP,
    GROUP_URN,
    LEGACY_CORE_URN,
    SCHEMA_SCHEMA,
    SCHEMAS,
    USER,
    USER_URN,
    Attribute,
    UnknownAttribute,
    canonical_name,
    resolve,
    schema_for_urn,
    schemas_for,
    to_scim,
)
from tests.scim import wire

TYPES = {"string", "boolean", "decimal", "integer", "dateTime", "reference", "complex", "binary"}
MUTABILITY = {"readOnly", "readWrite", "immutable", "writeOnly"}
RETURNED = {"always", "never", "default", "request"}
UNIQUENESS = {"none", "server", "global"}

RFC_USER_ATTRIBUTES = [
    "userName",
    "name",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "password",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
]


def _all_attributes() -> list[Attribute]:
    found: list[Attribute] = []
    for top in [a for s in SCHEMAS for a in s.attributes] + list(COMMON_ATTRIBUTES):
        found.append(top)
        found.extend(top.sub_attributes)
    return found


def _by_name(attributes: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(a for a in attributes if a["name"] == name)


# --- definitions ---------------------------------------------------------------------------


def test_urns() -> None:
    """The app's URNs are the ones the tests write on the wire (literal strings there)."""
    assert USER.id == USER_URN == wire.USER_URN
    assert GROUP.id == GROUP_URN == wire.GROUP_URN
    assert ENTERPRISE_USER.id == ENTERPRISE_USER_URN == wire.ENTERPRISE_URN


def test_user_has_every_rfc_attribute_in_order() -> None:
    assert [a.name for a in USER.attributes] == RFC_USER_ATTRIBUTES


def test_group_and_enterprise_attributes() -> None:
    assert [a.name for a in GROUP.attributes] == ["displayName", "members"]
    assert [a.name for a in ENTERPRISE_USER.attributes] == [
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "department",
        "manager",
    ]


@pytest.mark.parametrize("attribute", _all_attributes(), ids=lambda a: a.name)
def test_every_attribute_is_well_formed(attribute: Attribute) -> None:
    assert attribute.type in TYPES
    assert attribute.mutability in MUTABILITY
    assert attribute.returned in RETURNED
    assert attribute.uniqueness in UNIQUENESS
    assert bool(attribute.sub_attributes) == (attribute.type == "complex")
    names = [s.name.lower() for s in attribute.sub_attributes]
    assert len(names) == len(set(names))
    if attribute.type == "reference" and attribute.name != "location":
        assert attribute.reference_types


def test_user_groups_is_read_only_multi_valued_complex() -> None:
    groups = USER.attribute("groups")
    assert groups is not None
    assert (groups.type, groups.multi_valued, groups.mutability) == ("complex", True, "readOnly")
    assert [s.name for s in groups.sub_attributes] == ["value", "$ref", "display", "type"]
    assert all(s.mutability == "readOnly" for s in groups.sub_attributes)
    ref = groups.sub_attribute("$REF")
    assert ref is not None and ref.reference_types == ("User", "Group")


def test_group_members() -> None:
    members = GROUP.attribute("members")
    assert members is not None and members.multi_valued
    assert [s.name for s in members.sub_attributes] == ["value", "$ref", "display", "type"]
    member_type = members.sub_attribute("type")
    assert member_type is not None and member_type.canonical_values == ("User", "Group")


def test_key_attribute_properties() -> None:
    user_name = USER.attribute("username")
    assert user_name is not None
    assert (user_name.required, user_name.uniqueness, user_name.case_exact) == (
        True,
        "server",
        False,
    )
    password = USER.attribute("password")
    assert password is not None
    assert (password.mutability, password.returned) == ("writeOnly", "never")
    active = USER.attribute("active")
    assert active is not None and active.type == "boolean"
    emails = USER.attribute("emails")
    assert emails is not None
    email_type = emails.sub_attribute("type")
    assert email_type is not None and email_type.canonical_values == ("work", "home", "other")
    manager = ENTERPRISE_USER.attribute("manager")
    assert manager is not None and [s.name for s in manager.sub_attributes] == [
        "value",
        "$ref",
        "displayName",
    ]


def test_common_attributes() -> None:
    id_, external_id, meta = COMMON_ATTRIBUTES
    assert (id_.name, id_.mutability, id_.returned, id_.case_exact) == (
        "id",
        "readOnly",
        "always",
        True,
    )
    assert external_id.name == "externalId" and external_id.case_exact
    assert meta.mutability == "readOnly"
    assert [s.name for s in meta.sub_attributes] == [
        "resourceType",
        "created",
        "lastModified",
        "location",
        "version",
    ]
    assert {s.name: s.type for s in meta.sub_attributes}["lastModified"] == "dateTime"


def test_definitions_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        USER.attributes[0].name = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        USER.id = "x"  # type: ignore[misc]


# --- to_scim -------------------------------------------------------------------------------


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.name)
def test_to_scim_representation(schema: Any) -> None:
    body = to_scim(schema, "https://idp.example/scim/v2/Schemas/")
    assert body["schemas"] == [SCHEMA_SCHEMA]
    assert body["id"] == schema.id
    assert body["name"] == schema.name
    assert body["meta"] == {
        "resourceType": "Schema",
        "location": f"https://idp.example/scim/v2/Schemas/{schema.id}",
    }
    assert json.loads(json.dumps(body)) == body
    # Every attribute of the definition is rendered (so the loop below checks all of them).
    assert [a["name"] for a in body["attributes"]] == [a.name for a in schema.attributes]
    for attribute in body["attributes"]:
        for key in ("name", "type", "multiValued", "description", "required", "caseExact"):
            assert key in attribute
        for key in ("mutability", "returned", "uniqueness"):
            assert key in attribute
        assert ("subAttributes" in attribute) == (attribute["type"] == "complex")


def test_to_scim_user_details() -> None:
    body = to_scim(USER, "http://localhost/scim/v2/Schemas")
    assert body["meta"]["location"] == f"http://localhost/scim/v2/Schemas/{USER_URN}"
    names = [a["name"] for a in body["attributes"]]
    assert names == RFC_USER_ATTRIBUTES
    assert "id" not in names and "meta" not in names
    emails = _by_name(body["attributes"], "emails")
    assert emails["multiValued"] is True
    assert _by_name(emails["subAttributes"], "type")["canonicalValues"] == ["work", "home", "other"]
    assert _by_name(emails["subAttributes"], "primary")["type"] == "boolean"
    profile = _by_name(body["attributes"], "profileUrl")
    assert profile["referenceTypes"] == ["external"]
    assert "canonicalValues" not in profile
    groups = _by_name(body["attributes"], "groups")
    assert groups["mutability"] == "readOnly"
    assert _by_name(groups["subAttributes"], "$ref")["referenceTypes"] == ["User", "Group"]
    password = _by_name(body["attributes"], "password")
    assert password["returned"] == "never"


# --- resolve -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource_type", "path", "schema", "canonical", "parent"),
    [
        ("User", "userName", USER_URN, "userName", None),
        ("User", "USERNAME", USER_URN, "userName", None),
        ("User", "  username ", USER_URN, "userName", None),
        ("User", "name.familyName", USER_URN, "name.familyName", "name"),
        ("User", "NAME.GIVENNAME", USER_URN, "name.givenName", "name"),
        ("User", "emails.value", USER_URN, "emails.value", "emails"),
        ("User", "emails", USER_URN, "emails", None),
        ("User", "groups.$ref", USER_URN, "groups.$ref", "groups"),
        ("User", f"{USER_URN}:name.givenName", USER_URN, "name.givenName", "name"),
        ("User", f"{USER_URN.upper()}:userName", USER_URN, "userName", None),
        ("User", f"{LEGACY_CORE_URN}:userName", USER_URN, "userName", None),
        ("User", f"{LEGACY_CORE_URN}:name.familyName", USER_URN, "name.familyName", "name"),
        (
            "User",
            f"{ENTERPRISE_USER_URN}:manager.value",
            ENTERPRISE_USER_URN,
            "manager.value",
            "manager",
        ),
        (
            "User",
            f"{ENTERPRISE_USER_URN}:employeeNumber",
            ENTERPRISE_USER_URN,
            "employeeNumber",
            None,
        ),
        (
            "User",
            f"{ENTERPRISE_USER_URN.lower()}:COSTCENTER",
            ENTERPRISE_USER_URN,
            "costCenter",
            None,
        ),
        ("User", "employeeNumber", ENTERPRISE_USER_URN, "employeeNumber", None),
        ("User", "meta.lastModified", USER_URN, "meta.lastModified", "meta"),
        ("User", "META.CREATED", USER_URN, "meta.created", "meta"),
        ("User", "id", USER_URN, "id", None),
        ("User", "externalid", USER_URN, "externalId", None),
        ("User", f"{USER_URN}:id", USER_URN, "id", None),
        ("Group", "displayName", GROUP_URN, "displayName", None),
        ("Group", "members.value", GROUP_URN, "members.value", "members"),
        ("Group", "MEMBERS.TYPE", GROUP_URN, "members.type", "members"),
        ("Group", f"{GROUP_URN}:members.$ref", GROUP_URN, "members.$ref", "members"),
        ("Group", f"{LEGACY_CORE_URN}:displayName", GROUP_URN, "displayName", None),
        ("Group", "meta.version", GROUP_URN, "meta.version", "meta"),
    ],
)
def test_resolve(
    resource_type: str, path: str, schema: str, canonical: str, parent: str | None
) -> None:
    resolved = resolve(resource_type, path)
    assert resolved.schema == schema
    assert resolved.path == canonical
    assert resolved.attribute.name == canonical.split(".")[-1]
    assert (resolved.parent.name if resolved.parent else None) == parent
    assert resolved.top.name == canonical.split(".")[0]


def test_resolved_keys_and_full_path() -> None:
    manager = resolve("User", f"{ENTERPRISE_USER_URN}:MANAGER.VALUE")
    assert manager.is_extension
    assert manager.keys == (ENTERPRISE_USER_URN, "manager", "value")
    assert manager.full_path == f"{ENTERPRISE_USER_URN}:manager.value"
    family = resolve("User", "name.familyname")
    assert not family.is_extension
    assert family.keys == ("name", "familyName")
    assert family.full_path == "name.familyName"


@pytest.mark.parametrize(
    ("resource_type", "path"),
    [
        ("User", "foo"),
        ("User", ""),
        ("User", "."),
        ("User", "name."),
        ("User", ".name"),
        ("User", "name.foo"),
        ("User", "name.givenName.x"),
        ("User", "userName.value"),
        ("User", "emails..value"),
        ("User", "members"),
        ("User", f"{GROUP_URN}:displayName"),
        ("User", f"{USER_URN}:employeeNumber"),
        ("User", f"{ENTERPRISE_USER_URN}:userName"),
        ("User", f"{ENTERPRISE_USER_URN}"),
        ("User", "urn:example:custom:User:foo"),
        ("Group", "userName"),
        ("Group", f"{ENTERPRISE_USER_URN}:manager"),
        ("Group", "employeeNumber"),
        ("Group", f"{USER_URN}:displayName"),
    ],
)
def test_resolve_unknown(resource_type: str, path: str) -> None:
    with pytest.raises(UnknownAttribute) as caught:
        resolve(resource_type, path)
    assert isinstance(caught.value, InvalidPath)
    assert caught.value.status == 400
    assert caught.value.to_body()["scimType"] == "invalidPath"


def test_resolve_unknown_resource_type() -> None:
    with pytest.raises(ValueError, match="unknown resource type"):
        resolve("Widget", "userName")


def test_schemas_for_and_schema_for_urn() -> None:
    assert schemas_for("User") == (USER, ENTERPRISE_USER)
    assert schemas_for("Group") == (GROUP,)
    assert schema_for_urn("User", ENTERPRISE_USER_URN.upper()) is ENTERPRISE_USER
    assert schema_for_urn("User", LEGACY_CORE_URN) is USER
    assert schema_for_urn("Group", LEGACY_CORE_URN) is GROUP
    assert schema_for_urn("Group", ENTERPRISE_USER_URN) is None
    assert schema_for_urn("User", "http://schemas.microsoft.com/2006/11/ResourceManagement") is None


# --- canonical_name ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource_type", "parent", "name", "expected"),
    [
        ("User", None, "USERNAME", "userName"),
        ("User", None, "phonenumbers", "phoneNumbers"),
        ("User", None, "Schemas", "schemas"),
        ("User", None, "ID", "id"),
        ("User", None, "Meta", "meta"),
        ("User", None, "EMPLOYEENUMBER", "employeeNumber"),
        ("User", None, ENTERPRISE_USER_URN.upper(), ENTERPRISE_USER_URN),
        ("User", None, "name.givenName", None),
        ("User", None, "bogus", None),
        ("User", None, "urn:example:other", None),
        ("User", "name", "GIVENNAME", "givenName"),
        ("User", "NAME", "familyname", "familyName"),
        ("User", "emails", "Primary", "primary"),
        ("User", "groups", "$REF", "$ref"),
        ("User", "meta", "lastmodified", "lastModified"),
        ("User", "name", "bogus", None),
        ("User", "userName", "x", None),
        ("User", "name.givenName", "x", None),
        ("User", "bogus", "x", None),
        ("User", ENTERPRISE_USER_URN.lower(), "MANAGER", "manager"),
        ("User", ENTERPRISE_USER_URN, "bogus", None),
        ("User", f"{ENTERPRISE_USER_URN}:manager", "DISPLAYNAME", "displayName"),
        ("Group", None, "DISPLAYNAME", "displayName"),
        ("Group", None, "Members", "members"),
        ("Group", "members", "VALUE", "value"),
        ("Group", None, "userName", None),
    ],
)
def test_canonical_name(
    resource_type: str, parent: str | None, name: str, expected: str | None
) -> None:
    assert canonical_name(resource_type, parent, name) == expected
