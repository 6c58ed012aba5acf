"""RFC 7643 schema definitions (User, Group, Enterprise User) as data, and an attribute resolver.

The definitions follow RFC 7643 §8.7.1 with two deliberate changes that describe this server
truthfully: Group ``displayName`` is required and server-unique (the store enforces both), and
the ids in ``groups.value`` / ``members.value`` are caseExact (they are compared as stored).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from app.scim.errors import InvalidPath

SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# OneLogin still sends the pre-RFC core URN; it stands for the core schema of either resource.
LEGACY_CORE_URN = "urn:scim:schemas:core:2.0"


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute definition (RFC 7643 §7)."""

    name: str
    type: str = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    sub_attributes: tuple[Attribute, ...] = ()
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    description: str = ""
    _by_name: dict[str, Attribute] = field(init=False, repr=False, compare=False, hash=False)
    #: Every sub-attribute is returned by default: a chosen value can be passed on whole.
    subs_by_default: bool = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {a.name.lower(): a for a in self.sub_attributes})
        by_default = all(a.returned in ("default", "always") for a in self.sub_attributes)
        object.__setattr__(self, "subs_by_default", by_default)

    def sub_attribute(self, name: str) -> Attribute | None:
        """Return the sub-attribute called ``name`` (any case), if there is one."""
        return self._by_name.get(name.lower())


@dataclass(frozen=True, slots=True)
class Schema:
    """A schema: its URN, name, description and top-level attributes."""

    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    _by_name: dict[str, Attribute] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {a.name.lower(): a for a in self.attributes})

    def attribute(self, name: str) -> Attribute | None:
        """Return the top-level attribute called ``name`` (any case), if there is one."""
        return self._by_name.get(name.lower())


def _multi(
    name: str,
    description: str,
    types: tuple[str, ...] = (),
    *,
    value_type: str = "string",
    value_refs: tuple[str, ...] = (),
) -> Attribute:
    """A multi-valued complex attribute with the usual value/display/type/primary."""
    return Attribute(
        name,
        "complex",
        multi_valued=True,
        description=description,
        sub_attributes=(
            Attribute(
                "value",
                value_type,
                case_exact=value_type == "binary",
                reference_types=value_refs,
                description=f"The value of the {name} entry.",
            ),
            Attribute("display", description="A human-readable name, primarily for display."),
            Attribute("type", canonical_values=types, description="A label for the entry."),
            Attribute("primary", "boolean", description="Whether this is the primary entry."),
        ),
    )


ID = Attribute(
    "id",
    case_exact=True,
    mutability="readOnly",
    returned="always",
    uniqueness="server",
    description="Unique identifier for the resource, assigned by the service provider.",
)
EXTERNAL_ID = Attribute(
    "externalId",
    case_exact=True,
    description="An identifier for the resource as defined by the provisioning client.",
)
META = Attribute(
    "meta",
    "complex",
    mutability="readOnly",
    description="Resource metadata.",
    sub_attributes=(
        Attribute("resourceType", case_exact=True, mutability="readOnly"),
        Attribute("created", "dateTime", mutability="readOnly"),
        Attribute("lastModified", "dateTime", mutability="readOnly"),
        Attribute(
            "location",
            "reference",
            case_exact=True,
            mutability="readOnly",
            reference_types=("uri",),
        ),
        Attribute("version", case_exact=True, mutability="readOnly"),
    ),
)
COMMON_ATTRIBUTES: tuple[Attribute, ...] = (ID, EXTERNAL_ID, META)

_NAME = Attribute(
    "name",
    "complex",
    description="The components of the user's real name.",
    sub_attributes=(
        Attribute("formatted", description="The full name, formatted for display."),
        Attribute("familyName", description="The family name, or last name."),
        Attribute("givenName", description="The given name, or first name."),
        Attribute("middleName", description="The middle name(s)."),
        Attribute("honorificPrefix", description="Honorific prefix(es), e.g. 'Ms.'."),
        Attribute("honorificSuffix", description="Honorific suffix(es), e.g. 'III'."),
    ),
)
_ADDRESSES = Attribute(
    "addresses",
    "complex",
    multi_valued=True,
    description="Physical mailing addresses for this user.",
    sub_attributes=(
        Attribute("formatted", description="The full mailing address, formatted for display."),
        Attribute("streetAddress", description="The full street address component."),
        Attribute("locality", description="The city or locality component."),
        Attribute("region", description="The state or region component."),
        Attribute("postalCode", description="The zip code or postal code component."),
        Attribute("country", description="The country name component."),
        Attribute("type", canonical_values=("work", "home", "other"), description="A label."),
        Attribute("primary", "boolean", description="Whether this is the primary address."),
    ),
)
_USER_GROUPS = Attribute(
    "groups",
    "complex",
    multi_valued=True,
    mutability="readOnly",
    description="The groups the user belongs to; changed through the Group resource only.",
    sub_attributes=(
        Attribute("value", case_exact=True, mutability="readOnly", description="The group's id."),
        Attribute(
            "$ref",
            "reference",
            mutability="readOnly",
            reference_types=("User", "Group"),
            description="The URI of the group.",
        ),
        Attribute("display", mutability="readOnly", description="The group's displayName."),
        Attribute(
            "type",
            mutability="readOnly",
            canonical_values=("direct", "indirect"),
            description="How the user is a member.",
        ),
    ),
)

USER = Schema(
    USER_URN,
    "User",
    "User Account",
    (
        Attribute(
            "userName",
            required=True,
            uniqueness="server",
            description="Unique identifier for the user, typically used to sign in.",
        ),
        _NAME,
        Attribute("displayName", description="The name of the user, suitable for display."),
        Attribute("nickName", description="The casual way to address the user."),
        Attribute(
            "profileUrl",
            "reference",
            reference_types=("external",),
            description="A URI of an online representation of the user.",
        ),
        Attribute("title", description="The user's title, such as 'Vice President'."),
        Attribute("userType", description="The relationship between organization and user."),
        Attribute("preferredLanguage", description="The user's preferred written language."),
        Attribute("locale", description="The user's default location, for localisation."),
        Attribute("timezone", description="The user's time zone, in IANA format."),
        Attribute("active", "boolean", description="The user's administrative status."),
        Attribute(
            "password",
            case_exact=True,
            mutability="writeOnly",
            returned="never",
            description="The user's cleartext password; never returned.",
        ),
        _multi("emails", "Email addresses for the user.", ("work", "home", "other")),
        _multi(
            "phoneNumbers",
            "Phone numbers for the user.",
            ("work", "home", "mobile", "fax", "pager", "other"),
        ),
        _multi(
            "ims",
            "Instant messaging addresses for the user.",
            ("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
        ),
        _multi(
            "photos",
            "URLs of photos of the user.",
            ("photo", "thumbnail"),
            value_type="reference",
            value_refs=("external",),
        ),
        _ADDRESSES,
        _USER_GROUPS,
        _multi("entitlements", "A list of entitlements for the user."),
        _multi("roles", "A list of roles for the user."),
        _multi(
            "x509Certificates", "A list of certificates issued to the user.", value_type="binary"
        ),
    ),
)

GROUP = Schema(
    GROUP_URN,
    "Group",
    "Group",
    (
        Attribute(
            "displayName",
            required=True,
            uniqueness="server",
            description="A human-readable name for the group.",
        ),
        Attribute(
            "members",
            "complex",
            multi_valued=True,
            description="A list of members of the group.",
            sub_attributes=(
                Attribute(
                    "value", case_exact=True, mutability="immutable", description="The member's id."
                ),
                Attribute(
                    "$ref",
                    "reference",
                    mutability="immutable",
                    reference_types=("User", "Group"),
                    description="The URI of the member.",
                ),
                Attribute("display", mutability="immutable", description="The member's name."),
                Attribute(
                    "type",
                    mutability="immutable",
                    canonical_values=("User", "Group"),
                    description="The type of the member.",
                ),
            ),
        ),
    ),
)

ENTERPRISE_USER = Schema(
    ENTERPRISE_USER_URN,
    "EnterpriseUser",
    "Enterprise User",
    (
        Attribute("employeeNumber", description="A string identifier, typically numeric."),
        Attribute("costCenter", description="The name of a cost center."),
        Attribute("organization", description="The name of an organization."),
        Attribute("division", description="The name of a division."),
        Attribute("department", description="The name of a department."),
        Attribute(
            "manager",
            "complex",
            description="The user's manager.",
            sub_attributes=(
                Attribute("value", description="The id of the manager's User resource."),
                Attribute(
                    "$ref",
                    "reference",
                    reference_types=("User",),
                    description="The URI of the manager's User resource.",
                ),
                Attribute(
                    "displayName", mutability="readOnly", description="The manager's displayName."
                ),
            ),
        ),
    ),
)

SCHEMAS: tuple[Schema, ...] = (USER, GROUP, ENTERPRISE_USER)
# Per resource type: the core schema first, then its extensions.
RESOURCE_SCHEMAS: dict[str, tuple[Schema, ...]] = {
    "User": (USER, ENTERPRISE_USER),
    "Group": (GROUP,),
}


def _attribute_to_scim(attribute: Attribute) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": attribute.name,
        "type": attribute.type,
        "multiValued": attribute.multi_valued,
        "description": attribute.description,
        "required": attribute.required,
        "caseExact": attribute.case_exact,
        "mutability": attribute.mutability,
        "returned": attribute.returned,
        "uniqueness": attribute.uniqueness,
    }
    if attribute.canonical_values:
        body["canonicalValues"] = list(attribute.canonical_values)
    if attribute.reference_types:
        body["referenceTypes"] = list(attribute.reference_types)
    if attribute.type == "complex":
        body["subAttributes"] = [_attribute_to_scim(a) for a in attribute.sub_attributes]
    return body


def to_scim(schema: Schema, location_base: str) -> dict[str, Any]:
    """Render ``schema`` as RFC 7643 §7 JSON; ``location_base`` is the /Schemas endpoint URL."""
    return {
        "schemas": [SCHEMA_SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": [_attribute_to_scim(a) for a in schema.attributes],
        "meta": {
            "resourceType": "Schema",
            "location": f"{location_base.rstrip('/')}/{schema.id}",
        },
    }


class UnknownAttribute(InvalidPath):
    """The path names no attribute of the resource type (rendered as 400 invalidPath)."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"Unknown attribute '{path}'")


@dataclass(frozen=True, slots=True)
class ResolvedAttr:
    """An attribute path resolved against the schemas, in canonical spelling."""

    schema: str  # URN of the schema that defines the attribute (core for id/externalId/meta)
    path: str  # dotted path without the URN, e.g. "name.familyName"
    attribute: Attribute
    parent: Attribute | None = None  # set for sub-attributes

    @property
    def is_extension(self) -> bool:
        """Whether the attribute lives in an extension schema (nested under its URN in JSON)."""
        return self.schema not in (USER_URN, GROUP_URN)

    @property
    def full_path(self) -> str:
        """The path as a client would write it: URN-qualified for extension attributes."""
        return f"{self.schema}:{self.path}" if self.is_extension else self.path

    @property
    def keys(self) -> tuple[str, ...]:
        """The chain of JSON keys leading to the attribute in a resource body."""
        names = tuple(self.path.split("."))
        return (self.schema, *names) if self.is_extension else names

    @property
    def top(self) -> Attribute:
        """The top-level attribute: the parent of a sub-attribute, else the attribute itself."""
        return self.parent if self.parent is not None else self.attribute


def schemas_for(resource_type: str) -> tuple[Schema, ...]:
    """The core schema and extensions of ``resource_type`` ("User" or "Group")."""
    try:
        return RESOURCE_SCHEMAS[resource_type]
    except KeyError:
        raise ValueError(f"unknown resource type {resource_type!r}") from None


def schema_for_urn(resource_type: str, urn: str) -> Schema | None:
    """The schema of ``resource_type`` named by ``urn`` (any case; the legacy core URN too)."""
    schemas = schemas_for(resource_type)
    folded = urn.lower()
    if folded == LEGACY_CORE_URN:
        return schemas[0]
    return next((s for s in schemas if s.id.lower() == folded), None)


def _split_urn(resource_type: str, path: str) -> tuple[Schema | None, str]:
    """Split a URN prefix off ``path``; the schema is None when the path is unqualified."""
    if path[:4].lower() != "urn:":
        return None, path
    schemas = schemas_for(resource_type)
    folded = path.lower()
    candidates = [(s.id, s) for s in schemas] + [(LEGACY_CORE_URN, schemas[0])]
    for urn, schema in candidates:
        if folded.startswith(urn.lower() + ":"):
            return schema, path[len(urn) + 1 :]
    raise UnknownAttribute(path)


@functools.lru_cache(maxsize=4096)
def resolve(resource_type: str, path: str) -> ResolvedAttr:
    """Resolve an attribute path (any case, optionally URN-qualified) to its definition.

    Memoised (bounded): projection and filters resolve the same few names on every request."""
    schemas = schemas_for(resource_type)
    schema, rest = _split_urn(resource_type, path.strip())
    parts = rest.split(".")
    if not 1 <= len(parts) <= 2 or not all(parts):
        raise UnknownAttribute(path)
    owner: Schema | None = None
    top: Attribute | None = None
    if schema is None or schema is schemas[0]:
        owner = schemas[0]
        top = owner.attribute(parts[0]) or next(
            (a for a in COMMON_ATTRIBUTES if a.name.lower() == parts[0].lower()), None
        )
    # Unqualified names fall back to the extensions: clients do write `employeeNumber`.
    for candidate in schemas[1:] if schema is None else (schema,):
        if top is None:
            owner, top = candidate, candidate.attribute(parts[0])
    if top is None or owner is None:
        raise UnknownAttribute(path)
    if len(parts) == 1:
        return ResolvedAttr(owner.id, top.name, top)
    sub = top.sub_attribute(parts[1])
    if sub is None:
        raise UnknownAttribute(path)
    return ResolvedAttr(owner.id, f"{top.name}.{sub.name}", sub, top)


def canonical_name(resource_type: str, parent: str | None, name: str) -> str | None:
    """The canonical spelling of JSON key ``name`` under ``parent``, or None when unknown.

    ``parent`` is None for top-level keys (attributes, extension URNs and "schemas"), an
    extension URN for the keys inside that extension's object, or an attribute path for the
    keys of a complex attribute.
    """
    if parent is None:
        if name.lower() == "schemas":
            return "schemas"
        if name[:4].lower() == "urn:":
            schema = schema_for_urn(resource_type, name)
            return schema.id if schema is not None and schema.id.lower() == name.lower() else None
        if "." in name:
            return None
        try:
            return resolve(resource_type, name).path
        except UnknownAttribute:
            return None
    if parent[:4].lower() == "urn:":
        schema = schema_for_urn(resource_type, parent)
        if schema is not None:
            found = schema.attribute(name)
            return found.name if found is not None else None
    try:
        resolved = resolve(resource_type, parent)
    except UnknownAttribute:
        return None
    if resolved.parent is not None:
        return None
    sub = resolved.attribute.sub_attribute(name)
    return sub.name if sub is not None else None
