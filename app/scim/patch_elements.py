"""When two elements of a multi-valued attribute are the same, and finding them in linear time.

An ``add`` merges each new element into the one it names (same ``value``, and same ``type``
when the new one gives one); a ``remove`` with a value array drops the elements it names. Both
look elements up by their folded ``value`` instead of comparing every new element with every
old one, so a PATCH that adds a thousand emails costs a thousand lookups, not a million.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

from app.scim.schemas import Attribute


def same_scalar(attribute: Attribute | None, a: Any, b: Any) -> bool:
    """Equal values; strings ignore case unless the attribute is caseExact."""
    if isinstance(a, str) and isinstance(b, str) and not (attribute and attribute.case_exact):
        return a.lower() == b.lower()
    return bool(a == b)


def same_element(attribute: Attribute, existing: Any, new: Any) -> bool:
    """Whether ``new`` denotes ``existing`` (same value, and same type when one is given)."""
    if not (isinstance(existing, dict) and isinstance(new, dict)):
        return same_scalar(attribute, existing, new)
    value_attr = attribute.sub_attribute("value")
    if value_attr is None or "value" not in new:
        return existing == new
    if not same_scalar(value_attr, existing.get("value"), new["value"]):
        return False
    kind = new.get("type")
    return kind is None or same_scalar(None, existing.get("type"), kind)


class ElementIndex:
    """The elements of one multi-valued attribute by folded value.

    `find(new)` gives the element ``new`` denotes, as `same_element` decides, looking only at
    the elements with the same value. Elements that cannot be keyed (no ``value``, or one that
    is not a string or number) are compared one by one: there are at most `max_values`.
    """

    def __init__(self, attribute: Attribute, elements: Iterable[Any] = ()) -> None:
        self.attribute = attribute
        value_attr = attribute.sub_attribute("value")
        self._complex = value_attr is not None
        self._case_exact = (value_attr or attribute).case_exact
        self._keyed: dict[Hashable, list[Any]] = {}
        self._unkeyed: list[Any] = []
        for element in elements:
            self.add(element)

    def _key(self, element: Any) -> Hashable | None:
        if self._complex:
            if not isinstance(element, dict):
                return None
            if "value" not in element:
                return ("whole", _frozen(element))  # same_element compares it whole: `==`
            element = element["value"]
        if isinstance(element, str):
            return ("value", element if self._case_exact else element.lower())
        if isinstance(element, bool | int | float):
            return ("value", element)  # equal numbers hash alike, as `==` compares them
        return None

    def add(self, element: Any) -> None:
        key = self._key(element)
        if key is None:
            self._unkeyed.append(element)
        else:
            self._keyed.setdefault(key, []).append(element)

    def _candidates(self, element: Any) -> list[Any]:
        key = self._key(element)
        if key is None:  # compared with everything, as same_element would
            return [*self._unkeyed, *(e for same in self._keyed.values() for e in same)]
        return [*self._keyed.get(key, ()), *self._unkeyed]

    def find(self, new: Any) -> Any | None:
        """The indexed element ``new`` denotes, if any."""
        return next(
            (e for e in self._candidates(new) if same_element(self.attribute, e, new)), None
        )

    def names(self, existing: Any) -> bool:
        """Whether an indexed element (one of a removal's values) denotes ``existing``."""
        return any(same_element(self.attribute, existing, d) for d in self._candidates(existing))


def _frozen(value: Any) -> Hashable:
    """A hashable stand-in for JSON data, equal exactly when the data are equal (`==`)."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _frozen(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("list", tuple(_frozen(v) for v in value))
    frozen: Hashable = value  # a string, number, boolean or None
    return frozen
