"""SCIM PATCH (RFC 7644 §3.5.2) as a pure function over a canonical resource dict.

Accepts the dialects real clients send: capitalised ops and "True"/"False" booleans (Entra),
path-less values with dotted or URN-qualified keys (Entra), ``id`` echoed in a rename (Okta),
member removal by a value array (JumpCloud, Entra), legacy core URNs (OneLogin). Group members
are not expected in the resource: member operations come back as id sets for the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.config import ScimConfig
from app.scim.errors import (
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
)
from app.scim.evaluate import matcher
from app.scim.filter import And, Compare, Filter, FilterError, clauses, parse_path
from app.scim.immutable import assigned, check_unchanged, refuse
from app.scim.patch_elements import ElementIndex, same_scalar
from app.scim.patch_members import MemberDelta, member_ids_in_filter
from app.scim.schemas import Attribute, Schema, resolve, schema_for_urn, schemas_for
from app.scim.values import (
    DEFAULT_LIMITS,
    PATCH_RULES,
    check_count,
    coerce,
    coerce_elements,
    set_primary,
)

PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
_OPS = frozenset({"add", "replace", "remove"})


@dataclass
class PatchResult:
    """The patched resource (a new dict) and what changed; member changes as id sets."""

    resource: dict[str, Any]
    changed: bool = False
    changed_attributes: set[str] = field(default_factory=set)
    members_added: set[str] = field(default_factory=set)
    members_removed: set[str] = field(default_factory=set)
    members_replaced: set[str] | None = None  # set when the whole member list was replaced
    member_displays: dict[str, str] = field(default_factory=dict)  # display names sent, by id


@dataclass(frozen=True, slots=True)
class _Operation:
    op: str  # lower-case
    path: str | None
    value: Any
    has_value: bool


@dataclass(frozen=True, slots=True)
class _Target:
    urn: str | None  # the extension object holding the attribute; None for the core schema
    attribute: Attribute  # always top-level
    sub: Attribute | None
    value_filter: Filter | None
    text: str  # the path as the client wrote it, for messages

    @property
    def full_path(self) -> str:
        name = self.attribute.name
        return f"{self.urn}:{name}" if self.urn else name


def _member(obj: dict[str, Any], name: str) -> tuple[bool, Any]:
    """Look a key up case-insensitively: (present, value)."""
    if name in obj:
        return True, obj[name]
    folded = name.lower()
    for key, value in obj.items():
        if key.lower() == folded:
            return True, value
    return False, None


def _parse_body(body: Any, limits: ScimConfig) -> list[_Operation]:
    if not isinstance(body, dict):
        raise InvalidSyntax("The PATCH body must be a JSON object")
    schemas = _member(body, "schemas")[1]
    if not isinstance(schemas, list) or not any(
        isinstance(s, str) and s.lower() == PATCH_OP_URN.lower() for s in schemas
    ):
        raise InvalidSyntax(f"'schemas' must contain {PATCH_OP_URN}")
    raw_ops = _member(body, "Operations")[1]
    if not isinstance(raw_ops, list) or not raw_ops:
        raise InvalidSyntax("'Operations' must be a non-empty array")
    if len(raw_ops) > limits.max_operations:
        raise InvalidValue(
            f"The PATCH has {len(raw_ops)} operations; at most {limits.max_operations} are"
            " accepted ([scim] max_operations)"
        )
    ops = []
    for index, raw in enumerate(raw_ops):
        if not isinstance(raw, dict):
            raise InvalidSyntax(f"Operations[{index}] must be an object")
        op = _member(raw, "op")[1]
        if not isinstance(op, str) or op.lower() not in _OPS:
            raise InvalidSyntax(f"Operations[{index}].op must be 'add', 'replace' or 'remove'")
        path = _member(raw, "path")[1]
        if path is not None and not isinstance(path, str):
            raise InvalidPath(f"Operations[{index}].path must be a string")
        has_value, value = _member(raw, "value")
        ops.append(_Operation(op.lower(), path.strip() or None if path else None, value, has_value))
    return ops


def _check_immutable(attribute: Attribute | None, old: Any, new: Any, where: str) -> None:
    """An immutable value, once set, is neither changed nor removed (RFC 7643 §7; the whole
    PATCH is checked again at the end, by `check_unchanged`)."""
    immutable = attribute is not None and attribute.mutability == "immutable"
    if immutable and assigned(old) and old != new:
        raise refuse(where)


def _check_removable(attribute: Attribute, elements: Iterable[Any], where: str) -> None:
    """Removing ``attribute`` from ``elements`` (dicts) must not unassign an immutable value."""
    for element in elements:
        if isinstance(element, dict):
            _check_immutable(attribute, element.get(attribute.name), None, where)


def _filter_seed(value_filter: Filter, attribute: Attribute) -> dict[str, Any] | None:
    """The element a filter of ``eq`` clauses describes (``type eq "work"`` → {"type": "work"})."""
    clauses = value_filter.operands if isinstance(value_filter, And) else (value_filter,)
    seed: dict[str, Any] = {}
    for clause in clauses:
        if not isinstance(clause, Compare) or clause.op != "eq" or clause.path.sub_attr:
            return None
        sub = attribute.sub_attribute(clause.path.attr)
        assert sub is not None  # the filter was resolved against `attribute` (and has no URN)
        seed[sub.name] = coerce(sub, clause.value, f"{attribute.name}.{sub.name}", PATCH_RULES)
    return seed


def _copy_json(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists and scalars), several times cheaper than deepcopy."""
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    return value


class _Patcher:
    """Applies operations in order to a private copy of the resource."""

    def __init__(self, resource: dict[str, Any], resource_type: str, limits: ScimConfig) -> None:
        self.resource = _copy_json(resource)
        self.resource_type = resource_type
        self.limits = limits
        # Operations, attributes of path-less values and comparisons in path filters, counted
        # against one budget: each can scan an attribute's values.
        self.work_left = limits.max_operations
        self.core, *extensions = schemas_for(resource_type)
        self.extension_urns = {schema.id for schema in extensions}
        self.result = PatchResult(self.resource)
        self.members = MemberDelta(self.resource)

    # --- dispatch ---------------------------------------------------------------------

    def _spend(self, units: int) -> None:
        self.work_left -= units
        if self.work_left < 0:
            raise InvalidValue(
                f"The PATCH does too much: at most {self.limits.max_operations} operations,"
                " counting each attribute of a path-less value and each comparison in a path"
                " filter as one ([scim] max_operations)"
            )

    def apply(self, op: _Operation) -> None:
        self._spend(1)
        if op.path is None:
            if op.op == "remove":
                raise NoTarget("A remove operation needs a path")
            if not isinstance(op.value, dict):
                raise InvalidValue("Without a path, the value must be an object of attributes")
            self._spend(len(op.value))
            for key, value in op.value.items():
                self._apply_key(op.op, key, value)
            return
        schema = schema_for_urn(self.resource_type, op.path)
        if schema is not None:
            self._apply_schema(op.op, schema, op.value)
        else:
            self._apply(op.op, self._target(op.path), op.value, op.has_value)

    def _apply_key(self, op: str, key: str, value: Any) -> None:
        """One key of a path-less value: ignore what clients echo back, else treat as a path."""
        folded = key.strip().lower()
        if folded in ("schemas", "meta"):
            return
        if folded == "id":
            if "id" in self.resource and value != self.resource["id"]:
                raise Mutability("'id' cannot be changed")
            return  # Okta repeats the id in a group rename
        schema = schema_for_urn(self.resource_type, key.strip())
        if schema is not None:
            self._apply_schema(op, schema, value)
        else:
            self._apply(op, self._target(key.strip()), value, True)

    def _apply_schema(self, op: str, schema: Schema, value: Any) -> None:
        """An operation on a whole schema: its URN as path, or as a key of a path-less value."""
        if op == "remove":
            if schema is self.core:
                raise NoTarget("A remove operation needs an attribute path")
            self.resource.pop(schema.id, None)
            self._tidy_schemas(schema.id)
            return
        if not isinstance(value, dict):
            raise InvalidValue(f"The value for '{schema.id}' must be an object")
        for key, sub_value in value.items():
            if schema is not self.core and key.strip().lower() in ("schemas", "meta"):
                continue  # echoed back by clients inside the extension object
            self._apply_key(op, key if schema is self.core else f"{schema.id}:{key}", sub_value)

    def _target(self, path: str) -> _Target:
        try:
            parsed = parse_path(path, max_clauses=self.limits.max_filter_clauses)
        except FilterError as exc:
            raise InvalidPath(f"Invalid path '{path}': {exc.message}") from None
        if parsed.value_filter is not None:
            self._spend(clauses(parsed.value_filter))
        resolved = resolve(self.resource_type, str(parsed.attr))  # UnknownAttribute: invalidPath
        top, sub = resolved.top, resolved.attribute if resolved.parent else None
        if parsed.value_filter is not None and not top.multi_valued:
            raise InvalidPath(f"'{top.name}' is not multi-valued and takes no value filter")
        if parsed.sub_attr is not None:
            sub = top.sub_attribute(parsed.sub_attr)
            if sub is None:
                raise InvalidPath(f"Unknown attribute '{path}'")
        urn = resolved.schema if resolved.is_extension else None
        return _Target(urn, top, sub, parsed.value_filter, path)

    def _apply(self, op: str, target: _Target, value: Any, has_value: bool) -> None:
        sub = target.sub
        if target.attribute.mutability == "readOnly" or (sub and sub.mutability == "readOnly"):
            raise Mutability(f"'{target.text}' is read-only")
        if op != "remove" and not has_value:
            raise InvalidValue(f"An {op} operation needs a value")
        if op == "add" and value is None:
            raise InvalidValue("An add operation needs a non-null value")
        if op == "replace" and value is None:
            op, has_value = "remove", False  # null means unassigned (RFC 7643 §2.5)
        if self.resource_type == "Group" and target.full_path == "members":
            self._members(op, target, value, has_value)
        elif target.value_filter is not None:
            self._filtered(op, target, value)
        elif sub is None:
            self._whole(op, target, value, has_value)
        elif target.attribute.multi_valued:
            self._every_element(op, target, value)
        else:
            self._sub_attribute(op, target, value)

    # --- storage ----------------------------------------------------------------------

    def _current(self, target: _Target) -> Any:
        holder = self.resource if target.urn is None else self.resource.get(target.urn)
        return holder.get(target.attribute.name) if isinstance(holder, dict) else None

    def _elements(self, target: _Target) -> list[Any]:
        current = self._current(target)
        return current if isinstance(current, list) else []

    def _store(self, target: _Target, value: Any) -> None:
        """Set the top-level attribute; None, [] or {} leaves it unassigned."""
        name = target.attribute.name
        if target.urn is None:
            holder: Any = self.resource
        else:
            holder = self.resource.get(target.urn)
            if not isinstance(holder, dict) and value not in (None, [], {}):
                holder = self.resource[target.urn] = {}
                schemas = self.resource.get("schemas")
                if isinstance(schemas, list) and target.urn not in schemas:
                    schemas.append(target.urn)
        if isinstance(value, list):
            check_count(target.text, len(value), self.limits, verb="would hold")
        if value in (None, [], {}):
            if target.attribute.required:
                raise InvalidValue(f"'{target.text}' is required and cannot be removed")
            if isinstance(holder, dict):
                holder.pop(name, None)
            if target.urn is not None and holder == {}:
                self.resource.pop(target.urn, None)
                self._tidy_schemas(target.urn)
        else:
            holder[name] = value

    def _tidy_schemas(self, urn: str) -> None:
        schemas = self.resource.get("schemas")
        if isinstance(schemas, list) and urn in schemas:
            schemas.remove(urn)

    # --- operations -------------------------------------------------------------------

    def _whole(self, op: str, target: _Target, value: Any, has_value: bool) -> None:
        attribute, current = target.attribute, self._current(target)
        if op == "remove":
            if attribute.multi_valued and has_value and value is not None:
                drop = ElementIndex(attribute, self._values(target, value))
                kept = [e for e in self._elements(target) if not drop.names(e)]
                if len(kept) != len(self._elements(target)):
                    _check_immutable(attribute, current, None, target.text)
                self._store(target, kept)
            else:
                _check_immutable(attribute, current, None, target.text)
                self._store(target, None)
        elif attribute.multi_valued:
            new = self._values(target, value)
            if op == "replace":
                _check_immutable(attribute, current, new, target.text)
                self._store(target, new)
                return
            elements = self._elements(target)
            index = ElementIndex(attribute, elements)
            chosen = []
            for item in new:
                same = index.find(item)
                if same is None:
                    elements.append(item)
                    index.add(item)
                    chosen.append(item)
                elif isinstance(same, dict):
                    # An identical add is a no-op; new or different sub-attributes merge in.
                    for key, sub_value in item.items():
                        sub = attribute.sub_attribute(key)
                        if not same_scalar(sub, same.get(key), sub_value):
                            _check_immutable(sub, same.get(key), sub_value, f"{target.text}.{key}")
                            same[key] = sub_value
                    chosen.append(same)
            set_primary(elements, chosen)
            self._store(target, elements)
        elif attribute.type == "complex":
            merged = dict(current) if isinstance(current, dict) else {}
            for key, sub_value in coerce(attribute, value, target.text, PATCH_RULES).items():
                sub = attribute.sub_attribute(key)
                _check_immutable(sub, merged.get(key), sub_value, f"{target.text}.{key}")
                if sub_value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = sub_value
            self._store(target, merged)
        else:
            new_value = coerce(attribute, value, target.text, PATCH_RULES)
            _check_immutable(attribute, current, new_value, target.text)
            self._store(target, new_value)

    def _values(self, target: _Target, value: Any, *, members: bool = False) -> list[Any]:
        """The elements a value gives a multi-valued attribute, refused past the limit before
        any of them is read."""
        if isinstance(value, list):
            check_count(target.text, len(value), self.limits, members=members, verb="is given")
        return coerce_elements(target.attribute, value, target.text, PATCH_RULES)

    def _sub_attribute(self, op: str, target: _Target, value: Any) -> None:
        """``name.givenName``: a sub-attribute of a single-valued complex attribute."""
        assert target.sub is not None
        current = self._current(target)
        merged = dict(current) if isinstance(current, dict) else {}
        if op == "remove":
            _check_removable(target.sub, [merged], target.text)
            merged.pop(target.sub.name, None)
        else:
            new_value = coerce(target.sub, value, target.text, PATCH_RULES)
            _check_immutable(target.sub, merged.get(target.sub.name), new_value, target.text)
            merged[target.sub.name] = new_value
        self._store(target, merged)

    def _every_element(self, op: str, target: _Target, value: Any) -> None:
        """``emails.type`` without a filter: that sub-attribute of every element."""
        sub = target.sub
        assert sub is not None
        elements = [e for e in self._elements(target) if isinstance(e, dict)]
        if op == "remove":
            _check_removable(sub, elements, target.text)
            for element in elements:
                element.pop(sub.name, None)
            elements = [e for e in elements if e]
        else:
            new_value = coerce(sub, value, target.text, PATCH_RULES)
            if not elements:
                elements = [{sub.name: new_value}]
            for element in elements:
                _check_immutable(sub, element.get(sub.name), new_value, target.text)
                element[sub.name] = new_value
            if new_value is True and sub.name == "primary":
                set_primary(elements, elements)
        self._store(target, elements)

    def _matching(self, target: _Target, elements: list[Any]) -> list[dict[str, Any]]:
        assert target.value_filter is not None
        try:
            match = matcher(target.value_filter, self.resource_type, target.full_path)
            return [e for e in elements if isinstance(e, dict) and match(e)]
        except FilterError as exc:
            raise InvalidPath(f"Invalid path '{target.text}': {exc.message}") from None

    def _filtered(self, op: str, target: _Target, value: Any) -> None:
        """``emails[type eq "work"]`` with or without a trailing ``.value``."""
        attribute, sub = target.attribute, target.sub
        assert target.value_filter is not None
        elements = self._elements(target)
        matched = self._matching(target, elements)
        if op == "remove":
            if sub is not None:
                _check_removable(sub, matched, target.text)
                for element in matched:
                    element.pop(sub.name, None)
                elements = [e for e in elements if e != {}]
            else:
                if matched:
                    _check_immutable(attribute, elements, None, target.text)
                dropped = {id(m) for m in matched}
                elements = [e for e in elements if id(e) not in dropped]
            self._store(target, elements)
            return
        if sub is not None:
            patch = {sub.name: coerce(sub, value, target.text, PATCH_RULES)}
        else:
            patch = coerce(attribute, value, target.text, PATCH_RULES)
        if not matched:
            # Entra adds emails[type eq "work"].value to a user with no work email yet, and an
            # IdP mapping emails[primary eq true].value may replace it on a user created
            # without "primary". RFC 7644 §3.5.2.3 wants noTarget for the replace; a 400 there
            # makes the IdP retry forever, so when the filter names the new element's values
            # (eq clauses), it is created, as an add would. Other filters stay noTarget.
            seed = _filter_seed(target.value_filter, attribute)
            if seed is None:
                raise NoTarget(f"No value matches the path '{target.text}'")
            element = {**seed, **{k: v for k, v in patch.items() if v is not None}}
            elements.append(element)
            matched = [element]
        else:
            for element in matched:
                for key, new_value in patch.items():
                    sub_attr = attribute.sub_attribute(key)
                    _check_immutable(sub_attr, element.get(key), new_value, target.text)
                if op == "replace" and sub is None:
                    for key in element.keys() - patch.keys():
                        sub_attr = attribute.sub_attribute(key)
                        if sub_attr is not None:
                            _check_removable(sub_attr, [element], f"{target.text}.{key}")
                    element.clear()
                for key, new_value in patch.items():
                    if new_value is None:
                        element.pop(key, None)
                    else:
                        element[key] = new_value
        if patch.get("primary") is True:
            set_primary(elements, matched)
        self._store(target, [e for e in elements if e != {}])

    # --- group members ----------------------------------------------------------------

    def _members(self, op: str, target: _Target, value: Any, has_value: bool) -> None:
        """Member changes go to ``self.members`` as id sets (see app.scim.patch_members)."""
        if target.sub is not None or (target.value_filter is not None and op != "remove"):
            raise Mutability("Member entries are immutable: add or remove members instead")
        if target.value_filter is not None:
            ids = member_ids_in_filter(target.value_filter)
            if ids is None:
                if "members" not in self.resource:
                    raise InvalidFilter("Member filters support only 'value eq \"id\"' with or")
                ids = {e["value"] for e in self._matching(target, self._elements(target))}
            self.members.drop(ids)
        elif op == "remove" and (not has_value or value is None):
            self.members.replace([])
        else:
            elements = self._values(target, value, members=True)
            self.members.write(op, elements)

    # --- outcome ----------------------------------------------------------------------

    def outcome(self, original: dict[str, Any]) -> PatchResult:
        changed = self.result.changed_attributes
        for key in original.keys() | self.resource.keys():
            if key == "schemas":
                continue
            old, new = original.get(key), self.resource.get(key)
            if key in self.extension_urns:
                old = old if isinstance(old, dict) else {}
                new = new if isinstance(new, dict) else {}
                changed |= {
                    f"{key}:{k}" for k in old.keys() | new.keys() if old.get(k) != new.get(k)
                }
            elif old != new:
                changed.add(key)
        members = self.members
        if members.changed:
            changed.add("members")
        self.result.members_added, self.result.members_removed = members.added, members.removed
        self.result.members_replaced = members.replaced
        self.result.member_displays = members.displays
        self.result.changed = bool(changed)
        return self.result


def apply_patch(
    resource: dict[str, Any],
    operations_body: Any,
    resource_type: str,
    limits: ScimConfig = DEFAULT_LIMITS,
) -> PatchResult:
    """Apply a PatchOp body to ``resource`` (not mutated); raise a ScimError when it is refused."""
    operations = _parse_body(operations_body, limits)
    patcher = _Patcher(resource, resource_type, limits)
    for operation in operations:
        patcher.apply(operation)
    check_unchanged(resource, patcher.resource, resource_type)
    return patcher.outcome(resource)
