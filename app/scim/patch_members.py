"""The member changes of a Group PATCH, kept as id sets for the caller to apply.

A group's members are not expected in the resource being patched (there may be thousands), so
adds, removals (by a value array, as JumpCloud and Entra send, or by ``value eq "id"`` filters)
and replacements come back as id sets. When a ``members`` list is in the resource, it is kept
in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.scim.errors import InvalidValue
from app.scim.filter import Compare, Filter, Or


def member_ids_in_filter(value_filter: Filter) -> set[str] | None:
    """The ids a members filter of ``value eq "x"`` clauses, or-combined, selects; else None."""
    if isinstance(value_filter, Or):
        ids: set[str] = set()
        for operand in value_filter.operands:
            found = member_ids_in_filter(operand)
            if found is None:
                return None
            ids |= found
        return ids
    if (
        isinstance(value_filter, Compare)
        and value_filter.op == "eq"
        and value_filter.path.attr.lower() == "value"
        and value_filter.path.sub_attr is None
        and isinstance(value_filter.value, str)
    ):
        return {value_filter.value}
    return None


@dataclass
class MemberDelta:
    """Member changes as id sets; once the whole list is replaced, only ``replaced`` counts."""

    resource: dict[str, Any]  # the resource being patched
    added: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    replaced: set[str] | None = None
    displays: dict[str, str] = field(default_factory=dict)  # display names sent, by id

    @property
    def changed(self) -> bool:
        """Whether any member operation changed something."""
        return bool(self.added or self.removed) or self.replaced is not None

    def write(self, op: str, elements: list[dict[str, Any]]) -> None:
        """Apply ``op`` ("add", "replace" or "remove") with the member elements of its value."""
        if any(not isinstance(e.get("value"), str) for e in elements):
            raise InvalidValue("Every member needs a 'value' holding its id")
        if op != "remove":
            self.displays.update(
                (e["value"], e["display"]) for e in elements if isinstance(e.get("display"), str)
            )
        if op == "add":
            self.add(elements)
        elif op == "replace":
            self.replace(elements)
        else:
            self.drop({e["value"] for e in elements})

    def add(self, elements: list[dict[str, Any]]) -> None:
        """Add the members ``elements`` name."""
        ids = {e["value"] for e in elements}
        if self.replaced is not None:
            self.replaced |= ids
        else:
            self.added |= ids
            self.removed -= ids
        if isinstance(self.resource.get("members"), list):
            listed = self.resource["members"]
            known = {e.get("value") for e in listed if isinstance(e, dict)}
            listed.extend(e for e in elements if e["value"] not in known)

    def drop(self, ids: set[str]) -> None:
        """Remove the members with these ids."""
        if self.replaced is not None:
            self.replaced -= ids
        else:
            self.removed |= ids
            self.added -= ids
        if isinstance(self.resource.get("members"), list):
            listed = self.resource["members"]
            listed[:] = [e for e in listed if not (isinstance(e, dict) and e.get("value") in ids)]

    def replace(self, elements: list[dict[str, Any]]) -> None:
        """Make ``elements`` the whole member list."""
        self.replaced = {e["value"] for e in elements}
        self.added, self.removed = set(), set()
        if "members" in self.resource:
            self.resource["members"] = elements
