"""Every input that multiplies work has a limit ([scim] in the config): at the limit the request
is served, one past it is refused with a SCIM error that names the key, and nothing changes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from app.config import Config
from tests.scim.client import Scim, assert_scim_error, scim_app
from tests.scim.wire import SEARCH_URN, patch_body, user_body

pytestmark = pytest.mark.anyio

LIMITS = {
    "max_attribute_names": 6,
    "max_operations": 4,
    "max_values": 3,
    "max_members": 5,
    "max_json_depth": 6,
    "max_integer_digits": 5,
    "max_filter_clauses": 8,
    "max_value_filters": 2,
    "max_url_bytes": 600,
}


@pytest.fixture
async def scim(make_config: Callable[..., Config]) -> AsyncIterator[Scim]:
    async with scim_app(make_config, scim=LIMITS) as running:
        yield running


def refused(response: Any, key: str, scim_type: str | None = "invalidValue") -> None:
    assert_scim_error(response, 400, scim_type)
    assert f"[scim] {key}" in response.json()["detail"], response.json()


NAMES = ["userName", "name", "emails", "active", "displayName", "title", "nickName"]


async def test_attribute_names(scim: Scim) -> None:
    await scim.create_user(user_body())
    six, seven = ",".join(NAMES[:6]), ",".join(NAMES)
    assert (await scim.get("/Users", params={"attributes": six})).status_code == 200
    assert (await scim.get("/Users", params={"excludedAttributes": six})).status_code == 200
    # The same name again and again is one name.
    again = ",".join(["userName", "USERNAME", "username"] * 10)
    assert (await scim.get("/Users", params={"attributes": again})).status_code == 200
    for name in ("attributes", "excludedAttributes"):
        refused(await scim.get("/Users", params={name: seven}), "max_attribute_names")
        search = {"schemas": [SEARCH_URN], name: NAMES}
        refused(await scim.post("/Users/.search", search), "max_attribute_names")
    user = (await scim.list_users())["Resources"][0]
    path = f"/Users/{user['id']}"
    refused(await scim.get(path, params={"attributes": seven}), "max_attribute_names")


async def test_patch_operations(scim: Scim) -> None:
    user = await scim.create_user(user_body())
    path = f"/Users/{user['id']}"
    op = {"op": "replace", "path": "displayName", "value": "x"}
    assert (await scim.patch(path, patch_body(*[op] * 4))).status_code == 200
    refused(await scim.patch(path, patch_body(*[op] * 5)), "max_operations")
    assert (await scim.get(path)).json()["displayName"] == "x"


def emails(n: int) -> list[dict[str, str]]:
    return [{"value": f"a{i}@example.com", "type": "other"} for i in range(n)]


async def test_values_of_a_multi_valued_attribute(scim: Scim) -> None:
    assert (await scim.post("/Users", user_body("a@x.com", emails=emails(3)))).status_code == 201
    refused(await scim.post("/Users", user_body("b@x.com", emails=emails(4))), "max_values")
    user = await scim.create_user(user_body("c@x.com", emails=emails(1)))
    path = f"/Users/{user['id']}"
    add = patch_body({"op": "add", "path": "emails", "value": emails(4)})
    refused(await scim.patch(path, add), "max_values")
    # Several adds that together pass the limit are refused too: the result is counted.
    more = patch_body(
        *({"op": "add", "path": "emails", "value": emails(5)[i : i + 1]} for i in range(1, 4))
    )
    refused(await scim.patch(path, more), "max_values")
    assert len((await scim.get(path)).json()["emails"]) == 1


async def test_members(scim: Scim) -> None:
    ids = [(await scim.create_user(user_body(f"m{i}@x.com")))["id"] for i in range(6)]
    group = {"displayName": "Five", "members": [{"value": i} for i in ids[:5]]}
    created = await scim.post("/Groups", group)
    assert created.status_code == 201, created.text
    too_many = {"displayName": "Six", "members": [{"value": i} for i in ids]}
    refused(await scim.post("/Groups", too_many), "max_members")
    path = f"/Groups/{created.json()['id']}"
    refused(await scim.put(path, {**too_many, "displayName": "Five"}), "max_members")
    add = patch_body({"op": "add", "path": "members", "value": [{"value": i} for i in ids]})
    refused(await scim.patch(path, add), "max_members")
    # Six members in two operations are no single operation past the limit.
    two = patch_body(
        {"op": "remove", "path": "members", "value": [{"value": ids[0]}]},
        {"op": "add", "path": "members", "value": [{"value": i} for i in ids[1:]]},
    )
    assert (await scim.patch(path, two)).status_code == 200


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"x": value}
    return value


async def test_nesting_depth(scim: Scim) -> None:
    # The body is 1 level, the extension object 2, so an extension value of depth n is n + 2.
    ok = user_body("a@x.com", **{"urn:example:ext": {"v": nested(4)}})
    assert (await scim.post("/Users", ok)).status_code == 201
    deep = user_body("b@x.com", **{"urn:example:ext": {"v": nested(5)}})
    refused(await scim.post("/Users", deep), "max_json_depth")
    for raw in (b"[" * 40_000, b'{"a":' * 20_000):  # deep, yet under max_json_values
        response = await scim.send_raw("POST", "/Users", raw)
        refused(response, "max_json_depth")
    # Brackets inside strings are text, not nesting.
    text = user_body("c@x.com", displayName="[[[[[[[[[[{{{{{{{{{{")
    assert (await scim.post("/Users", text)).status_code == 201


async def test_integer_digits(scim: Scim) -> None:
    ok = user_body("a@x.com", **{"urn:example:ext": {"n": 99999, "m": -99999}})
    assert (await scim.post("/Users", ok)).status_code == 201
    raw = json.dumps(user_body("b@x.com")).replace('"active": true', '"active": true, "x": 123456')
    response = await scim.send_raw("POST", "/Users", raw.encode())
    refused(response, "max_integer_digits")
    for name in ("startIndex", "count"):
        refused(await scim.get("/Users", params={name: "123456"}), "max_integer_digits")
        search = {"schemas": [SEARCH_URN], name: 123456}
        refused(await scim.post("/Users/.search", search), "max_integer_digits")


async def test_filter_size(scim: Scim) -> None:
    eight = " or ".join(f'userName eq "u{i}"' for i in range(8))
    assert (await scim.get("/Users", params={"filter": eight})).status_code == 200
    response = await scim.get("/Users", params={"filter": eight + ' or userName eq "u9"'})
    refused(response, "max_filter_clauses", "invalidFilter")
    two = 'emails[type eq "work"] or addresses[type eq "home"]'
    assert (await scim.get("/Users", params={"filter": two})).status_code == 200
    three = two + ' or phoneNumbers[type eq "work"]'
    response = await scim.get("/Users", params={"filter": three})
    refused(response, "max_value_filters", "invalidFilter")


async def test_url_length(scim: Scim) -> None:
    at_limit = "/scim/v2/Users?attributes=" + "a" * (600 - len("/scim/v2/Users?attributes="))
    response = await scim.client.get(at_limit, headers={"Authorization": f"Bearer {scim.token}"})
    assert response.status_code == 200, response.text
    response = await scim.client.get(at_limit + "a")
    assert response.status_code == 414
    assert response.headers["content-type"].startswith("application/scim+json")
    assert "[scim] max_url_bytes" in response.json()["detail"]
    # Outside /scim/v2 too, as plain JSON.
    response = await scim.client.get("/healthz?" + "x" * 700)
    assert response.status_code == 414 and "max_url_bytes" in response.json()["message"]


async def test_patch_work_counts_path_less_keys_and_filter_comparisons(scim: Scim) -> None:
    user = await scim.create_user(user_body())
    path = f"/Users/{user['id']}"
    # max_operations is 4 here: one operation with three path-less keys is four.
    three = {"displayName": "a", "title": "b", "nickName": "c"}
    assert (
        await scim.patch(path, patch_body({"op": "replace", "value": three}))
    ).status_code == 200
    four = {**three, "locale": "d"}
    refused(await scim.patch(path, patch_body({"op": "replace", "value": four})), "max_operations")
    # One operation whose path filter has three comparisons is four too.
    three_clauses = 'emails[value eq "a" or value eq "b" or type eq "c"]'
    ok = await scim.patch(path, patch_body({"op": "remove", "path": three_clauses}))
    assert ok.status_code == 200, ok.text
    four_clauses = 'emails[value eq "a" or value eq "b" or type eq "c" or type eq "d"]'
    response = await scim.patch(path, patch_body({"op": "remove", "path": four_clauses}))
    refused(response, "max_operations")


async def test_elements_without_a_value_are_matched_whole(scim: Scim) -> None:
    user = await scim.create_user(user_body())
    path = f"/Users/{user['id']}"
    home = {"formatted": "1 Main St", "type": "home"}
    add = patch_body({"op": "add", "path": "addresses", "value": [home, dict(home)]})
    assert len((await scim.patch(path, add)).json()["addresses"]) == 1  # the same, once
    again = patch_body({"op": "add", "path": "addresses", "value": [{**home, "type": "work"}]})
    assert len((await scim.patch(path, again)).json()["addresses"]) == 2


async def test_a_nul_character_is_refused(scim: Scim) -> None:
    refused_body = user_body("\u0000@example.com")
    response = await scim.post("/Users", refused_body)
    assert_scim_error(response, 400, "invalidValue")
    assert "NUL" in response.json()["detail"]
