"""Immutable values (RFC 7643 §7) cannot leave a resource by any PATCH: not through their
container, an extension removed whole, an add to an immutable list, a falsy value taken for
unassigned, or two operations that together replace them (a review found each of these).
No shipped attribute but a Group's member entries is immutable: a test resource type has them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.scim import immutable, schemas
from app.scim.errors import Mutability
from app.scim.patch import apply_patch
from app.scim.schemas import Attribute, Schema
from tests.scim.wire import patch_body

GADGET_URN = "urn:example:params:scim:schemas:Gadget"
EXTRA_URN = "urn:example:params:scim:schemas:extension:Extra"
GADGET = Schema(
    GADGET_URN,
    "Gadget",
    "A resource with immutable attributes of every shape, for tests",
    (
        Attribute("flag", "boolean", mutability="immutable"),
        Attribute("count", "integer", mutability="immutable"),
        Attribute("codes", multi_valued=True, mutability="immutable"),
        Attribute(
            "box",
            "complex",
            mutability="immutable",
            sub_attributes=(Attribute("a"), Attribute("b")),
        ),
        Attribute(
            "hardware",
            "complex",
            sub_attributes=(Attribute("model", mutability="immutable"), Attribute("color")),
        ),
        Attribute(
            "ports",
            "complex",
            multi_valued=True,
            sub_attributes=(Attribute("value"), Attribute("kind", mutability="immutable")),
        ),
        Attribute(
            "items",
            "complex",
            multi_valued=True,
            mutability="immutable",
            sub_attributes=(Attribute("value"), Attribute("type")),
        ),
        Attribute("seal", "complex", sub_attributes=(Attribute("code", mutability="immutable"),)),
        Attribute(
            "keys",
            "complex",
            multi_valued=True,
            sub_attributes=(
                Attribute("value", case_exact=True),
                Attribute("secret", mutability="immutable"),
            ),
        ),
        Attribute(
            "slots",
            "complex",
            multi_valued=True,
            sub_attributes=(
                Attribute("value", "integer"),
                Attribute("label", mutability="immutable"),
            ),
        ),
        Attribute(
            "tags",
            "complex",
            multi_valued=True,
            sub_attributes=(Attribute("name"), Attribute("kind", mutability="immutable")),
        ),
        Attribute("label"),
    ),
)
EXTRA = Schema(
    EXTRA_URN,
    "Extra",
    "An extension with an immutable attribute",
    (Attribute("serial", mutability="immutable"), Attribute("note")),
)


@pytest.fixture(autouse=True)
def gadget_type(resource_type: Callable[..., None]) -> None:
    resource_type("Gadget", GADGET, EXTRA)


def gadget(extra: dict[str, Any] | None = None, **values: Any) -> dict[str, Any]:
    """A Gadget: a test schema is not a core one, so its values sit under its URN too."""
    resource: dict[str, Any] = {"schemas": [GADGET_URN], "id": "g1", GADGET_URN: values}
    if extra is not None:
        resource["schemas"].append(EXTRA_URN)
        resource[EXTRA_URN] = extra
    return resource


FULL = gadget(
    {"serial": "S1", "note": "n"},
    flag=False,
    count=0,
    codes=["a"],
    box={"a": "1", "b": "2"},
    hardware={"model": "M1", "color": "red"},
    ports=[{"value": "p1", "kind": "usb"}, {"value": "p2"}],
    items=[{"value": "1", "type": "x"}],
    seal={"code": "c1"},
    keys=[{"value": "K1", "secret": "s1"}],
    slots=[{"value": 1, "label": "one"}],
    tags=[{"name": "a", "kind": "x"}, {"name": "b", "kind": "y"}],
)


def patch(resource: dict[str, Any], *operations: dict[str, Any]) -> dict[str, Any]:
    """The patched values: the Gadget's own, with the extension's under its URN."""
    patched = apply_patch(resource, patch_body(*operations), "Gadget").resource
    values: dict[str, Any] = dict(patched.get(GADGET_URN, {}))
    if EXTRA_URN in patched:
        values[EXTRA_URN] = patched[EXTRA_URN]
    return values


@pytest.mark.parametrize(
    "operations",
    [
        # a falsy value is a value
        [{"op": "remove", "path": "flag"}],
        [{"op": "replace", "path": "flag", "value": True}],
        [{"op": "remove", "path": "count"}],
        [{"op": "replace", "value": {"count": None}}],
        # an immutable list gains or loses nothing
        [{"op": "add", "path": "codes", "value": ["b"]}],
        [{"op": "remove", "path": "codes", "value": ["a"]}],
        [{"op": "add", "path": "items", "value": [{"value": "2"}]}],
        [{"op": "replace", "path": 'items[value eq "1"].type', "value": "y"}],
        [{"op": "replace", "path": 'items[value eq "2"]', "value": {"type": "y"}}],
        [{"op": "replace", "path": "items.type", "value": "y"}],
        [{"op": "remove", "path": "items.type"}],
        # an immutable complex value keeps its parts
        [{"op": "replace", "path": "box.a", "value": "9"}],
        [{"op": "remove", "path": "box.b"}],
        # an immutable sub-attribute leaves not with its container
        [{"op": "remove", "path": "hardware"}],
        [{"op": "replace", "path": "hardware", "value": None}],
        [{"op": "replace", "value": {"hardware": None}}],
        # nor by a whole list replaced, or an element removed and added back changed
        [{"op": "replace", "path": "ports", "value": [{"value": "p1", "kind": "hdmi"}]}],
        [
            {"op": "remove", "path": 'ports[value eq "p1"]'},
            {"op": "add", "path": "ports", "value": [{"value": "P1", "kind": "hdmi"}]},
        ],
        [{"op": "remove", "path": "seal"}],  # every sub-attribute of it immutable
        [{"op": "replace", "path": "slots", "value": [{"value": 1, "label": "uno"}]}],
        # nor with its extension
        [{"op": "remove", "path": EXTRA_URN}],
        [{"op": "replace", "path": EXTRA_URN, "value": {"serial": "S2"}}],
    ],
)
def test_an_immutable_value_stays(operations: list[dict[str, Any]]) -> None:
    with pytest.raises(Mutability, match=r"^'.+' is immutable and already has a value$"):
        patch(FULL, *operations)


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        ([{"op": "add", "path": "flag", "value": False}], {"flag": False}),
        ([{"op": "add", "path": "codes", "value": ["a", "b"]}], {"codes": ["a", "b"]}),
        ([{"op": "add", "path": "box", "value": {"a": "1"}}], {"box": {"a": "1"}}),
        (
            [{"op": "add", "path": "ports", "value": [{"value": "p1", "kind": "usb"}]}],
            {"ports": [{"value": "p1", "kind": "usb"}]},
        ),
        (
            [{"op": "add", "path": f"{EXTRA_URN}:serial", "value": "S1"}],
            {EXTRA_URN: {"serial": "S1"}},
        ),
    ],
)
def test_an_immutable_value_may_be_set_once(
    operations: list[dict[str, Any]], expected: dict[str, Any]
) -> None:
    assert patch(gadget(), *operations) == expected


def test_what_is_not_immutable_around_it_still_changes() -> None:
    patched = patch(
        FULL,
        {"op": "replace", "path": "hardware.color", "value": "blue"},
        {"op": "remove", "path": 'ports[value eq "p1"]'},  # the element goes whole
        {"op": "add", "path": "ports", "value": [{"value": "p3", "kind": "hdmi"}]},
        {"op": "replace", "path": f"{EXTRA_URN}:note", "value": "m"},
        {"op": "replace", "path": "box", "value": {"a": "1", "b": "2"}},  # the same value
        {"op": "replace", "path": "label", "value": "new"},
    )
    assert patched["hardware"] == {"model": "M1", "color": "blue"}
    assert patched["ports"] == [{"value": "p2"}, {"value": "p3", "kind": "hdmi"}]
    assert patched[EXTRA_URN] == {"serial": "S1", "note": "m"}
    assert patched["label"] == "new"


@pytest.mark.parametrize(
    ("operations", "where"),
    [
        ([{"op": "remove", "path": "hardware"}], f"{GADGET_URN}:hardware.model"),
        ([{"op": "remove", "path": EXTRA_URN}], f"{EXTRA_URN}:serial"),
        ([{"op": "replace", "path": "box.a", "value": "9"}], f"{GADGET_URN}:box"),
        ([{"op": "add", "path": "codes", "value": ["b"]}], f"{GADGET_URN}:codes"),
        (
            [{"op": "replace", "path": "ports", "value": [{"value": "p1", "kind": "hdmi"}]}],
            f"{GADGET_URN}:ports.kind",
        ),
    ],
)
def test_the_refusal_names_the_value(operations: list[dict[str, Any]], where: str) -> None:
    with pytest.raises(Mutability) as caught:
        patch(FULL, *operations)
    assert caught.value.detail == f"'{where}' is immutable and already has a value"


def test_elements_are_matched_by_value_as_its_case_exactness_says() -> None:
    # "k1" is another key than "K1" (caseExact): K1 goes whole, k1 comes new.
    patched = patch(
        FULL,
        {"op": "remove", "path": 'keys[value eq "K1"]'},
        {"op": "add", "path": "keys", "value": [{"value": "k1", "secret": "s2"}]},
    )
    assert patched["keys"] == [{"value": "k1", "secret": "s2"}]


def test_elements_without_a_value_may_be_reordered() -> None:
    reordered = [{"name": "b", "kind": "y"}, {"name": "a", "kind": "x"}]
    assert patch(FULL, {"op": "replace", "path": "tags", "value": reordered})["tags"] == reordered


def test_the_schemas_worked_out_are_those_of_this_call(monkeypatch: pytest.MonkeyPatch) -> None:
    # What is immutable is worked out once per tuple of schemas, kept by the tuple's id: an id
    # that Python gave a tuple since collected must not hand its entry to another tuple.
    other = (GADGET, EXTRA)
    monkeypatch.setitem(schemas.RESOURCE_SCHEMAS, "Gadget", other)
    monkeypatch.setitem(immutable._WATCHED, id(other), ((), ()))  # a stale entry at that id
    with pytest.raises(Mutability):  # (only the check of the whole PATCH sees this one)
        patch(FULL, {"op": "remove", "path": "hardware"})
