"""JumpCloud, Okta, Entra ID and OneLogin conversations, replayed against the app.

Each file in fixtures/ is one scenario (see replay.py for the format and matching rules). The
requests are written after the vendors' published examples and shared/reference/*.md, not
captured from live tenants; each exchange's "note" says what is unconfirmed, and where a detail
is, both ways are replayed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from app.config import Config
from tests.scim.client import scim_app
from tests.scim.replay import (
    FIXTURES,
    Exchange,
    FixtureError,
    build,
    check,
    contained,
    load,
    replay,
)

FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))

# The scenarios the issues ask for; a fixture deleted or renamed fails the suite.
REQUIRED = {
    # Users
    "jumpcloud_test_connection.json",
    "jumpcloud_lookup_then_create.json",
    "jumpcloud_per_attribute_patch.json",
    "jumpcloud_deactivate.json",
    "jumpcloud_import_listing.json",
    "jumpcloud_plus_address.json",
    "okta_lookup_create_update.json",
    "okta_deactivate_reactivate.json",
    "entra_user_provisioning.json",
    "entra_user_aadoptscim062020.json",
    "onelogin_legacy_urns.json",
    # Groups
    "jumpcloud_group_push.json",
    "jumpcloud_group_takeover.json",
    "okta_group_push.json",
    "entra_group_provisioning.json",
}


def test_every_required_scenario_is_recorded() -> None:
    recorded = {path.name for path in FIXTURE_FILES}
    assert sorted(REQUIRED - recorded) == []


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda path: path.name)
def test_fixture_is_well_formed(fixture: Path) -> None:
    assert load(fixture)


@pytest.mark.anyio
@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda path: path.name)
async def test_replay(fixture: Path, make_config: Callable[..., Config]) -> None:
    exchanges = load(fixture)
    async with scim_app(make_config) as scim:
        await replay(scim.client, exchanges, scim.token)


# --- the harness itself: a checker that never fails proves nothing ----------------------------


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ({"a": 1}, {"a": 1, "b": 2}),
        ({"a": {"b": "x"}}, {"a": {"b": "x", "c": "y"}}),
        ([{"v": 1}, {"v": 2}], [{"v": 1, "t": "w"}, {"v": 2}]),
        ({"$contains": [{"v": 2}]}, [{"v": 1}, {"v": 2}]),
        ({"m": {"$excludes": [{"v": 3}]}}, {"m": [{"v": 1}]}),
        ({"m": {"$excludes": [{"v": 3}]}}, {}),
        ({"$type": "integer"}, 3),
        ({"$unordered": [{"v": 2}, {"v": 1}]}, [{"v": 1}, {"v": 2}]),
        ({"$ref": "u"}, {"$ref": "u"}),
    ],
)
def test_contained_accepts(expected: object, actual: object) -> None:
    assert contained(expected, actual) is None


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ({"a": 1}, {"b": 1}),
        ({"a": True}, {"a": 1}),
        ({"a": 5}, {"a": "5"}),
        ([{"v": 1}], [{"v": 1}, {"v": 1}]),
        ({"$contains": [{"v": 1}, {"v": 1}]}, [{"v": 1}]),
        ({"m": {"$excludes": [{"v": 1}]}}, {"m": [{"v": 1}]}),
        ({"$type": "integer"}, True),
        ({"$unordered": [{"v": 1}]}, [{"v": 1}, {"v": 1}]),
        ({"$unordered": [{"v": 1}, {"v": 1}]}, [{"v": 1}, {"v": 2}]),
    ],
)
def test_contained_refuses(expected: object, actual: object) -> None:
    assert contained(expected, actual) is not None


def test_check_reports_absent_paths_and_captures_only_on_success() -> None:
    exchange = Exchange(
        0,
        {"method": "GET", "path": "/Groups"},
        {"status": 200, "absent": ["Resources.*.members"], "capture": {"g": "Resources.0.id"}},
    )
    captured: dict[str, object] = {}
    bad = httpx.Response(200, json={"Resources": [{"id": "1", "members": []}]})
    assert check(exchange, bad, captured) == ["body.Resources.0.members: must be absent"]
    assert captured == {}
    good = httpx.Response(200, json={"Resources": [{"id": "1"}]})
    assert check(exchange, good, captured) == []
    assert captured == {"g": "1"}


def test_unknown_placeholder_is_a_fixture_error() -> None:
    exchange = Exchange(0, {"method": "GET", "path": "/Users/{nobody.id}"}, {"status": 200})
    with pytest.raises(FixtureError, match=r"nobody\.id"):
        build(exchange, {}, "token")
