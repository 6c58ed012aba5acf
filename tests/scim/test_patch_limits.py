"""apply_patch at its limits ([scim] max_operations, max_values, max_members), exactly at each
limit and one past it, and immutable multi-valued attributes: what a mutation run of patch.py
found that only the live tests (tests/scim/test_limits.py) exercised."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.config import ScimConfig
from app.scim.errors import InvalidValue, Mutability
from app.scim.patch import apply_patch
from app.scim.schemas import Attribute, Schema
from tests.scim.wire import GROUP_URN, USER_URN, patch_body

SMALL = ScimConfig(max_operations=3, max_values=3, max_members=3)


def user(**extra: Any) -> dict[str, Any]:
    return {"schemas": [USER_URN], "id": "u1", "userName": "ada@example.com", **extra}


def emails(*values: str) -> list[dict[str, str]]:
    return [{"value": v} for v in values]


def refused(resource: dict[str, Any], *operations: dict[str, Any], kind: str = "User") -> str:
    with pytest.raises(InvalidValue) as caught:
        apply_patch(resource, patch_body(*operations), kind, SMALL)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")
    return caught.value.detail


# --- operations and the work they stand for -----------------------------------------------

TITLE = {"op": "replace", "path": "title", "value": "Engineer"}


def test_operations_up_to_the_limit() -> None:
    assert (
        apply_patch(user(), patch_body(*[TITLE] * 3), "User", SMALL).resource["title"] == "Engineer"
    )
    assert refused(user(), *[TITLE] * 4) == (
        "The PATCH has 4 operations; at most 3 are accepted ([scim] max_operations)"
    )


def test_each_key_of_a_path_less_value_counts_as_an_operation() -> None:
    two_keys = {"op": "replace", "value": {"title": "A", "nickName": "B"}}
    assert (
        apply_patch(user(), patch_body(two_keys), "User", SMALL).resource["nickName"] == "B"
    )  # 1 + 2
    three_keys = {"op": "replace", "value": {"title": "A", "nickName": "B", "locale": "C"}}
    assert refused(user(), three_keys) == (
        "The PATCH does too much: at most 3 operations, counting each attribute of a path-less"
        " value and each comparison in a path filter as one ([scim] max_operations)"
    )


def test_each_comparison_of_a_path_filter_counts_as_an_operation() -> None:
    two = 'emails[type eq "work" and primary eq true].value'  # 1 + 2
    work = {"op": "replace", "path": two, "value": "w@example.com"}
    assert apply_patch(user(), patch_body(work), "User", SMALL).resource["emails"] == [
        {"type": "work", "primary": True, "value": "w@example.com"}
    ]
    three = 'emails[type eq "work" and primary eq true and display pr].value'
    assert "does too much" in refused(user(), {**work, "path": three})


# --- values of a multi-valued attribute ---------------------------------------------------


def test_values_given_up_to_the_limit() -> None:
    add = {"op": "add", "path": "emails", "value": emails("a@x.org", "b@x.org", "c@x.org")}
    assert len(apply_patch(user(), patch_body(add), "User", SMALL).resource["emails"]) == 3
    four = {**add, "value": emails("a@x.org", "b@x.org", "c@x.org", "d@x.org")}
    assert refused(user(), four) == (
        "'emails' is given 4 values; at most 3 are accepted ([scim] max_values)"
    )


def test_values_held_up_to_the_limit() -> None:
    two = user(emails=emails("a@x.org", "b@x.org"))
    one_more = {"op": "add", "path": "emails", "value": emails("c@x.org")}
    assert len(apply_patch(two, patch_body(one_more), "User", SMALL).resource["emails"]) == 3
    two_more = {**one_more, "value": emails("c@x.org", "d@x.org")}
    assert refused(two, two_more) == (
        "'emails' would hold 4 values; at most 3 are accepted ([scim] max_values)"
    )


def test_the_same_new_value_twice_in_one_add_is_added_once() -> None:
    add = {"op": "add", "path": "emails", "value": emails("a@x.org", "A@x.org")}
    assert apply_patch(user(), patch_body(add), "User", SMALL).resource["emails"] == emails(
        "a@x.org"
    )


def test_members_given_up_to_their_own_limit() -> None:
    group = {"schemas": [GROUP_URN], "id": "g1", "displayName": "Eng"}
    add = {"op": "add", "path": "members", "value": [{"value": f"u{i}"} for i in range(3)]}
    assert apply_patch(group, patch_body(add), "Group", SMALL).members_added == {"u0", "u1", "u2"}
    four = {**add, "value": [{"value": f"u{i}"} for i in range(4)]}
    assert refused(group, four, kind="Group") == (
        "'members' is given 4 values; at most 3 are accepted ([scim] max_members)"
    )


# --- immutable multi-valued attributes ----------------------------------------------------

BADGE_URN = "urn:example:params:scim:schemas:Badge"
BADGE = Schema(
    BADGE_URN,
    "Badge",
    "A resource with immutable multi-valued attributes, for tests",
    (
        Attribute(
            "badges",
            "complex",
            multi_valued=True,
            mutability="immutable",
            sub_attributes=(Attribute("value"), Attribute("kind")),
        ),
        Attribute("label"),
    ),
)


@pytest.fixture
def badge_type(resource_type: Callable[..., None]) -> None:
    resource_type("Badge", BADGE)


def badged(*values: str) -> dict[str, Any]:
    return {"schemas": [BADGE_URN], "id": "b1", BADGE_URN: {"badges": emails(*values)}}


def patch_badges(resource: dict[str, Any], operation: dict[str, Any]) -> Any:
    return (
        apply_patch(resource, patch_body(operation), "Badge")
        .resource.get(BADGE_URN, {})
        .get("badges")
    )


@pytest.mark.usefixtures("badge_type")
@pytest.mark.parametrize(
    "operation",
    [
        pytest.param({"op": "remove", "path": "badges", "value": emails("a")}, id="remove-one"),
        pytest.param({"op": "remove", "path": "badges"}, id="remove-all"),
        pytest.param({"op": "remove", "path": 'badges[value eq "a"]'}, id="remove-filtered"),
        pytest.param({"op": "replace", "path": "badges", "value": emails("a", "c")}, id="replace"),
        pytest.param({"op": "replace", "path": "badges", "value": None}, id="replace-null"),
    ],
)
def test_an_immutable_multi_valued_attribute_keeps_its_values(operation: dict[str, Any]) -> None:
    with pytest.raises(Mutability, match=r"^'badges.* is immutable and already has a value$"):
        patch_badges(badged("a", "b"), operation)


@pytest.mark.usefixtures("badge_type")
@pytest.mark.parametrize(
    ("resource", "operation", "badges"),
    [
        pytest.param(
            badged("a"),
            {"op": "remove", "path": "badges", "value": emails("z")},
            emails("a"),
            id="remove-a-value-it-lacks",
        ),
        pytest.param(
            badged("a"),
            {"op": "remove", "path": 'badges[value eq "z"]'},
            emails("a"),
            id="remove-filtered-matching-nothing",
        ),
        pytest.param(
            badged("a", "b"),
            {"op": "replace", "path": "badges", "value": emails("a", "b")},
            emails("a", "b"),
            id="replace-with-the-same",
        ),
        pytest.param(
            {"schemas": [BADGE_URN], "id": "b1"},
            {"op": "replace", "path": "badges", "value": emails("a")},
            emails("a"),
            id="set-once",
        ),
    ],
)
def test_an_immutable_multi_valued_attribute_may_be_set_once_and_repeated(
    resource: dict[str, Any], operation: dict[str, Any], badges: list[dict[str, str]]
) -> None:
    assert patch_badges(resource, operation) == badges
