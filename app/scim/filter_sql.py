"""SCIM filters and ``sortBy`` as SQL over the users and groups tables.

    to_sql(filter, table) -> (sql, params) a WHERE fragment with ``?`` placeholders
    sort_sql(path, table) -> str           an ORDER BY expression for ``sortBy``

Fragments are assembled from table descriptors and schema names only (hence the S608 waivers);
every value from a filter is bound through a ``?`` placeholder. The semantics it shares with
``app.scim.evaluate.matches`` live in ``app.scim.filter_schema``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from app.scim.filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    FilterError,
    Not,
    Or,
    Present,
    ValuePath,
)
from app.scim.filter_schema import expected_value, kind_of, resolve_filter_path
from app.scim.schemas import Attribute, ResolvedAttr, UnknownAttribute, resolve


@dataclass(frozen=True, slots=True)
class SqlColumn:
    """An SQL column (qualified) holding one SCIM attribute."""

    expr: str
    nocase: bool = False  # declared COLLATE NOCASE
    boolean: bool = False  # INTEGER 0/1 holding a SCIM boolean


@dataclass(frozen=True, slots=True)
class SideTable:
    """A table indexing the elements of a multi-valued attribute, one row per element."""

    source: str  # FROM clause, with an alias: "user_emails e"
    key: str  # the side table's column naming the owning row: "e.user_id"
    owner: str  # the owning table's key: "users.id"
    columns: Mapping[str, SqlColumn]  # canonical sub-attribute name -> column
    order: str = ""  # ORDER BY putting the element to sort on first (primary, else first)


@dataclass(frozen=True, slots=True)
class SqlTable:
    """How a resource type is stored: indexed columns, the JSON column and side tables.

    Fragments refer to the table by its name (``users.id``): select ``FROM users``, unaliased.
    """

    resource_type: str
    name: str
    json_column: str  # the whole resource with canonical attribute names
    columns: Mapping[str, SqlColumn]  # canonical attribute path -> column
    side_tables: Mapping[str, SideTable]  # canonical multi-valued attribute -> side table
    not_in_json: frozenset[str]  # top-level attributes that the JSON column leaves out


USERS_TABLE = SqlTable(
    resource_type="User",
    name="users",
    json_column="resource",
    columns={
        "id": SqlColumn("users.id"),
        "userName": SqlColumn("users.user_name", nocase=True),
        "externalId": SqlColumn("users.external_id"),
        "active": SqlColumn("users.active", boolean=True),
        "meta.created": SqlColumn("users.created"),
        "meta.lastModified": SqlColumn("users.last_modified"),
    },
    side_tables={
        "emails": SideTable(
            "user_emails e",
            "e.user_id",
            "users.id",
            # No "primary": the column reads a missing flag as 0, the JSON as absent.
            {"value": SqlColumn("e.value", nocase=True), "type": SqlColumn("e.type")},
            order="e.is_primary DESC, e.rowid",
        ),
        "groups": SideTable(
            "group_members gm JOIN groups g ON g.id = gm.group_id",
            "gm.user_id",
            "users.id",
            {"value": SqlColumn("gm.group_id"), "display": SqlColumn("g.display_name", True)},
        ),
    },
    not_in_json=frozenset({"id", "meta", "groups"}),
)

GROUPS_TABLE = SqlTable(
    resource_type="Group",
    name="groups",
    json_column="resource",
    columns={
        "id": SqlColumn("groups.id"),
        "displayName": SqlColumn("groups.display_name", nocase=True),
        "externalId": SqlColumn("groups.external_id"),
        "meta.created": SqlColumn("groups.created"),
        "meta.lastModified": SqlColumn("groups.last_modified"),
    },
    side_tables={
        "members": SideTable(
            "group_members gm", "gm.group_id", "groups.id", {"value": SqlColumn("gm.user_id")}
        ),
    },
    not_in_json=frozenset({"id", "meta", "members"}),
)

_SQL_OPS = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_JSON_KEY = re.compile(r"[A-Za-z0-9$_:.-]+")
# One element of a json_each() over a multi-valued attribute, as JSON when it is an object.
_ELEMENT = "(CASE WHEN j.type = 'object' THEN j.value END)"
_ELEMENT_PRESENT = (
    "(CASE WHEN j.type = 'object' THEN EXISTS (SELECT 1 FROM json_each(j.value) k"
    " WHERE k.type != 'null' AND NOT (k.type = 'text' AND k.atom = ''))"
    " ELSE j.type != 'null' AND NOT (j.type = 'text' AND j.atom = '') END)"
)


def _json_path(keys: Iterable[str]) -> str:
    """A JSON path literal; keys come from the schemas, never from the client."""
    parts = []
    for key in keys:
        if not _JSON_KEY.fullmatch(key):
            raise ValueError(f"unsafe JSON key {key!r}")
        parts.append(f'."{key}"')
    return "'$" + "".join(parts) + "'"


@dataclass(frozen=True, slots=True)
class _Operand:
    expr: str  # SQL expression of the value
    json_type: str | None = None  # SQL for the value's JSON type, when the value is JSON
    nocase: bool = False
    boolean: bool = False


def _json_operand(document: str, keys: Iterable[str]) -> _Operand:
    path = _json_path(keys)
    return _Operand(f"json_extract({document}, {path})", f"json_type({document}, {path})")


def _column_operand(column: SqlColumn) -> _Operand:
    return _Operand(column.expr, None, column.nocase, column.boolean)


def _json_boolean(operand: _Operand, kind: str) -> str:
    """1/0 for JSON true/false and the strings "true"/"false" (any case), else NULL."""
    text = f"CASE lower({operand.expr}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END"
    return f"(CASE {kind} WHEN 'true' THEN 1 WHEN 'false' THEN 0 WHEN 'text' THEN ({text}) END)"


def _like_pattern(op: str, value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]


@dataclass(frozen=True, slots=True)
class _Scope:
    """Where a value filter's sub-attributes live: side-table columns or a JSON element."""

    parent: ResolvedAttr
    columns: Mapping[str, SqlColumn] | None
    document: str = ""
    base: tuple[str, ...] = ()

    def operand(self, name: str) -> _Operand:
        if self.columns is not None:
            return _column_operand(self.columns[name])
        return _json_operand(self.document, (*self.base, name))


class _SqlCompiler:
    def __init__(self, table: SqlTable, params: list[object], scope: _Scope | None = None):
        self.table = table
        self.params = params
        self.scope = scope
        self.document = f"{table.name}.{table.json_column}"

    def unsupported(self, path: str) -> FilterError:
        return FilterError(f"filtering on '{path}' is not supported")

    def resolve(self, path: AttrPath) -> ResolvedAttr:
        parent = self.scope.parent.full_path if self.scope is not None else None
        return resolve_filter_path(self.table.resource_type, path, parent)

    def node(self, node: Filter) -> str:
        if isinstance(node, And | Or):
            joiner = " AND " if isinstance(node, And) else " OR "
            return "(" + joiner.join(self.node(operand) for operand in node.operands) + ")"
        if isinstance(node, Not):
            # SQL's NULL would make NOT unknown; a missing value must make it true.
            return f"NOT coalesce({self.node(node.operand)}, 0)"
        if isinstance(node, ValuePath):
            return self.value_path(node)
        if isinstance(node, Compare) and node.op == "ne":
            return f"NOT coalesce({self.node(Compare(node.path, 'eq', node.value))}, 0)"
        return self.leaf(node)

    def test(self, node: Compare | Present, operand: _Operand, attribute: Attribute) -> str:
        """The predicate of ``node`` on one scalar value."""
        if isinstance(node, Present):
            return f"coalesce({operand.expr}, '') != ''"
        op, x = node.op, operand.expr
        kind = kind_of(attribute, node.value)
        expected = expected_value(op, node.value, kind, attribute, str(node.path))
        json_type = operand.json_type
        if kind == "boolean":
            self.params.append(int(expected))
            if operand.boolean or json_type is None:
                return f"{x} = ?"
            return f"{_json_boolean(operand, json_type)} = ?"
        if kind == "number":
            self.params.append(expected)
            guard = f"{json_type} IN ('integer', 'real') AND " if json_type else ""
            return f"({guard}{x} {_SQL_OPS[op]} ?)"
        guard = f"typeof({x}) = 'text' AND " if json_type else ""
        if isinstance(expected, datetime):
            text = expected.astimezone(UTC).isoformat(timespec="milliseconds")
            self.params.append(text.replace("+00:00", "Z"))
            return f"({guard}julianday({x}) {_SQL_OPS[op]} julianday(?))"
        case_exact = attribute.case_exact
        if op in _SQL_OPS:
            collate = ""
            if case_exact and operand.nocase:
                collate = " COLLATE BINARY"
            elif not case_exact and not operand.nocase:
                collate = " COLLATE NOCASE"
            self.params.append(expected)
            return f"({guard}{x} {_SQL_OPS[op]} ?{collate})"
        if not case_exact:
            self.params.append(_like_pattern(op, expected))
            return f"({guard}{x} LIKE ? ESCAPE '\\')"
        if op == "ew":
            self.params.extend([expected, expected, expected])
            return f"({guard}{x} IS NOT NULL AND (length(?) = 0 OR substr({x}, -length(?)) = ?))"
        self.params.append(expected)
        return f"({guard}instr({x}, ?) {'> 0' if op == 'co' else '= 1'})"

    def leaf(self, node: Compare | Present) -> str:
        resolved = self.resolve(node.path)
        if self.scope is not None:
            return self.test(node, self.scope.operand(resolved.attribute.name), resolved.attribute)
        column = self.table.columns.get(resolved.full_path)
        if column is not None:
            return self.test(node, _column_operand(column), resolved.attribute)
        top, attribute = resolved.top, resolved.attribute
        if top.multi_valued:
            sub = attribute if resolved.parent is not None else None
            if isinstance(node, Compare) and sub is None:
                # A simple multi-valued attribute compares its elements; a complex one its "value".
                sub = top.sub_attribute("value") if top.type == "complex" else top
                if sub is None:
                    raise FilterError(f"cannot compare the complex attribute '{node.path}'")
            return self.any_element(resolved, node, sub)
        if top.name in self.table.not_in_json:
            raise self.unsupported(resolved.full_path)
        if attribute.multi_valued:
            # A multi-valued sub-attribute of a single-valued complex one: any of its elements.
            condition = _ELEMENT_PRESENT
            if isinstance(node, Compare):
                condition = self.test(node, _Operand("j.atom", "j.type"), attribute)
            source = f"json_each({self.document}, {_json_path(resolved.keys)}) j"
            return f"EXISTS (SELECT 1 FROM {source} WHERE {condition})"  # noqa: S608
        if attribute.type == "complex":
            if isinstance(node, Compare):
                raise FilterError(f"cannot compare the complex attribute '{node.path}'")
            members = f"json_each({self.document}, {_json_path(resolved.keys)}) k"
            return (
                f"EXISTS (SELECT 1 FROM {members} WHERE k.type != 'null'"  # noqa: S608
                " AND NOT (k.type = 'text' AND k.atom = ''))"
            )
        return self.test(node, _json_operand(self.document, resolved.keys), attribute)

    def any_element(
        self, resolved: ResolvedAttr, node: Compare | Present, sub: Attribute | None
    ) -> str:
        """``node`` on the elements of a multi-valued attribute: true when any element holds."""
        top = resolved.top
        side = self.table.side_tables.get(top.name)
        if side is not None and (sub is None or sub.name in side.columns):
            condition = "1"
            if sub is not None:
                condition = self.test(node, _column_operand(side.columns[sub.name]), sub)
            return f"{side.owner} IN (SELECT {side.key} FROM {side.source} WHERE {condition})"  # noqa: S608
        if top.name in self.table.not_in_json:
            raise self.unsupported(resolved.full_path)
        keys = resolved.keys[:-1] if resolved.parent is not None else resolved.keys
        condition = _ELEMENT_PRESENT
        if sub is not None:
            # Elements of a simple multi-valued attribute are scalars: compare them as they are.
            operand = _json_operand(_ELEMENT, (sub.name,)) if top.type == "complex" else None
            condition = self.test(node, operand or _Operand("j.atom", "j.type"), sub)
        source = f"json_each({self.document}, {_json_path(keys)}) j"
        return f"EXISTS (SELECT 1 FROM {source} WHERE {condition})"  # noqa: S608

    def value_path(self, node: ValuePath) -> str:
        # (A value filter inside another never gets here: `sub_attributes` refuses it first.)
        resolved = self.resolve(node.path)
        attribute = resolved.attribute
        if attribute.type != "complex" or resolved.parent is not None:
            raise FilterError(f"'{node.path}' is not a complex attribute and takes no value filter")
        names = {r.attribute.name for r in self.sub_attributes(node.filter, resolved)}
        if not attribute.multi_valued:
            if attribute.name in self.table.not_in_json:
                raise self.unsupported(resolved.full_path)
            scope = _Scope(resolved, None, self.document, resolved.keys)
            return "(" + _SqlCompiler(self.table, self.params, scope).node(node.filter) + ")"
        side = self.table.side_tables.get(attribute.name)
        if side is not None and names <= side.columns.keys():
            inner = _SqlCompiler(self.table, self.params, _Scope(resolved, side.columns))
            condition = inner.node(node.filter)
            return f"{side.owner} IN (SELECT {side.key} FROM {side.source} WHERE {condition})"  # noqa: S608
        if attribute.name in self.table.not_in_json:
            raise self.unsupported(resolved.full_path)
        inner = _SqlCompiler(self.table, self.params, _Scope(resolved, None, _ELEMENT))
        source = f"json_each({self.document}, {_json_path(resolved.keys)}) j"
        return f"EXISTS (SELECT 1 FROM {source} WHERE {inner.node(node.filter)})"  # noqa: S608

    def sub_attributes(self, node: Filter, parent: ResolvedAttr) -> Iterator[ResolvedAttr]:
        if isinstance(node, And | Or):
            for operand in node.operands:
                yield from self.sub_attributes(operand, parent)
        elif isinstance(node, Not):
            yield from self.sub_attributes(node.operand, parent)
        elif isinstance(node, Compare | Present):
            yield resolve_filter_path(self.table.resource_type, node.path, parent.full_path)
        else:
            raise FilterError("value filters cannot be nested")


def to_sql(filter: Filter, table: SqlTable) -> tuple[str, list[object]]:
    """Compile ``filter`` to a WHERE fragment over ``table`` with ``?`` placeholders."""
    params: list[object] = []
    return _SqlCompiler(table, params).node(filter), params


def sort_sql(path: str, table: SqlTable) -> str:
    """An ORDER BY expression for ``sortBy=path``; multi-valued sort by the primary element."""
    try:
        resolved = resolve(table.resource_type, path)
    except UnknownAttribute:
        raise FilterError(f"unknown attribute '{path}'") from None
    attribute, top = resolved.attribute, resolved.top
    column = table.columns.get(resolved.full_path)
    if top.multi_valued and column is None:
        sub = attribute if resolved.parent is not None else top.sub_attribute("value")
        if sub is None:
            raise FilterError(f"cannot sort by the complex attribute '{path}'")
        attribute = sub
        side = table.side_tables.get(top.name)
        if side is not None and sub.name in side.columns:
            order = f" ORDER BY {side.order}" if side.order else ""
            column = SqlColumn(
                f"(SELECT {side.columns[sub.name].expr} FROM {side.source}"  # noqa: S608
                f" WHERE {side.key} = {side.owner}{order} LIMIT 1)"
            )
        elif top.name in table.not_in_json:
            raise FilterError(f"sorting by '{path}' is not supported")
        else:
            keys = resolved.keys[:-1] if resolved.parent is not None else resolved.keys
            element = _json_operand(_ELEMENT, ("primary",))
            assert element.json_type is not None
            column = SqlColumn(
                f"(SELECT {_json_operand(_ELEMENT, (sub.name,)).expr}"  # noqa: S608
                f" FROM json_each({table.name}.{table.json_column}, {_json_path(keys)}) j"
                f" ORDER BY {_json_boolean(element, element.json_type)} DESC, j.key LIMIT 1)"
            )
    elif column is None:
        if attribute.type == "complex":
            raise FilterError(f"cannot sort by the complex attribute '{path}'")
        if top.name in table.not_in_json:
            raise FilterError(f"sorting by '{path}' is not supported")
        document = f"{table.name}.{table.json_column}"
        column = SqlColumn(_json_operand(document, resolved.keys).expr)
    textual = attribute.type in ("string", "reference")
    if textual and not attribute.case_exact and not column.nocase:
        return f"{column.expr} COLLATE NOCASE"
    return column.expr
