"""Bad requests to /scim/v2/Users: always a SCIM Error with the right status and scimType,
never a 500, never a traceback or a file path."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from app.config import Config
from tests.scim.client import Scim, assert_no_internals, assert_scim_error, scim_app
from tests.scim.wire import ENTERPRISE_URN, PATCH_URN, SEARCH_URN, USER_URN, patch_body, user_body

pytestmark = pytest.mark.anyio

ADA = "ada@example.com"
LIMIT = 2048


@pytest.fixture
async def scim(make_config: Callable[..., Config]) -> AsyncIterator[Scim]:
    async with scim_app(make_config, scim={"max_body_bytes": LIMIT}) as running_scim:
        yield running_scim


@pytest.fixture
async def ada(scim: Scim) -> dict[str, Any]:
    return await scim.create_user(user_body(ADA))


async def _unchanged(scim: Scim, user: dict[str, Any]) -> None:
    assert (await scim.get(f"/Users/{user['id']}")).json() == user


# -- syntax ---------------------------------------------------------------------------------

MALFORMED = [
    b"{",
    b'{"userName": "ada@example.com",}',
    b"{'userName': 'ada@example.com'}",
    b"userName=ada@example.com",
    b"\xff\xfe{}",
    b"",
    b"   ",
    b"NaN",
    b'{"userName": "ada@example.com", "active": NaN}',
    b'{"userName": "ada@example.com", "urn:example:ext": {"x": Infinity}}',
]


async def test_an_integer_too_long_to_read_is_400(make_config: Callable[..., Config]) -> None:
    async with scim_app(make_config) as scim:  # the default body limit: room for 5,000 digits
        raw = b'{"userName": "ada@example.com", "urn:example:ext": {"x": 1' + b"0" * 5000 + b"}}"
        response = await scim.send_raw("POST", "/Users", raw)
        assert_scim_error(response, 400, "invalidValue")
        assert "max_integer_digits" in response.json()["detail"]


NOT_AN_OBJECT = ["[]", '"ada@example.com"', "42", "null", "true", '[{"userName": "x"}]']


async def _every_body_is_invalid_syntax(scim: Scim, ada: dict[str, Any], raw: bytes | str) -> None:
    """`raw` is refused as invalidSyntax by each endpoint that reads a body; Ada unchanged."""
    path = f"/Users/{ada['id']}"
    for method, target in (
        ("POST", "/Users"),
        ("PUT", path),
        ("PATCH", path),
        ("POST", "/Users/.search"),
    ):
        assert_scim_error(await scim.send_raw(method, target, raw), 400, "invalidSyntax")
    await _unchanged(scim, ada)


@pytest.mark.parametrize("raw", MALFORMED)
async def test_malformed_json_is_400_invalid_syntax(
    scim: Scim, ada: dict[str, Any], raw: bytes
) -> None:
    await _every_body_is_invalid_syntax(scim, ada, raw)


async def test_an_escaped_surrogate_pair_is_text_and_round_trips(scim: Scim) -> None:
    raw = b'{"userName": "emoji@example.com", "displayName": "Ada \\ud83d\\ude00"}'
    response = await scim.send_raw("POST", "/Users", raw)
    assert response.status_code == 201, response.text
    assert response.json()["displayName"] == "Ada \U0001f600"


async def test_text_and_numbers_that_cannot_be_stored_are_400(
    scim: Scim, ada: dict[str, Any]
) -> None:
    # Valid JSON escapes, but no valid Unicode text: lone surrogates.
    for raw in (
        b'{"userName": "\\ud800@example.com"}',
        b'{"userName": "ok@example.com", "displayName": "\\udfff"}',
        b'{"userName": "ok@example.com", "name": {"givenName": "\\ud83d"}}',
    ):
        for method, target in (("POST", "/Users"), ("PUT", f"/Users/{ada['id']}")):
            response = await scim.send_raw(method, target, raw)
            assert_scim_error(response, 400)
    for raw in (
        b'{"userName": "big@example.com", "urn:example:ext": {"x": 1e999}}',
        b'{"userName": "big@example.com", "urn:example:ext": {"x": -1e999}}',
    ):
        response = await scim.send_raw("POST", "/Users", raw)
        assert_scim_error(response, 400, "invalidValue")
    body = patch_body({"op": "replace", "path": "displayName", "value": "\ud800"})
    response = await scim.send_raw("PATCH", f"/Users/{ada['id']}", json.dumps(body).encode())
    assert_scim_error(response, 400)
    await _unchanged(scim, ada)


@pytest.mark.parametrize("raw", NOT_AN_OBJECT)
async def test_a_body_that_is_not_an_object_is_400_invalid_syntax(
    scim: Scim, ada: dict[str, Any], raw: str
) -> None:
    await _every_body_is_invalid_syntax(scim, ada, raw)


# -- values ---------------------------------------------------------------------------------

WRONG = [
    {"userName": 123},
    {"userName": ["ada@example.com"]},
    {"userName": {"value": "ada@example.com"}},
    {"userName": True},
    {"active": "maybe"},
    {"active": 1},
    {"emails": "ada@example.com"},
    {"emails": [{"value": 5}]},
    {"emails": [{"value": "a@b.c", "primary": "sometimes"}]},
    {"emails": [["a@b.c"]]},
    {"name": "Ada Lovelace"},
    {"name": ["Ada"]},
    {"name": {"givenName": 7}},
    {"displayName": ["Ada"]},
    {"displayName": 1.5},
    {"phoneNumbers": {"value": 5}},
    {"addresses": [{"streetAddress": {"line": 1}}]},
    {ENTERPRISE_URN: "Maths"},
    {ENTERPRISE_URN: {"manager": "Babbage"}},
    {"schemas": USER_URN},
    {"schemas": [1]},
]


@pytest.mark.parametrize("change", WRONG, ids=lambda c: json.dumps(c)[:60])
async def test_wrong_types_are_400(scim: Scim, ada: dict[str, Any], change: dict[str, Any]) -> None:
    body = {**user_body(ADA), **change}
    expected = "invalidSyntax" if "schemas" in change else "invalidValue"
    assert_scim_error(
        await scim.post(
            "/Users", {**body, "userName": "new@example.com"} if "userName" not in change else body
        ),
        400,
        expected,
    )
    assert_scim_error(await scim.put(f"/Users/{ada['id']}", body), 400, expected)
    await _unchanged(scim, ada)
    assert await scim.count("SELECT count(*) FROM users") == 1


@pytest.mark.parametrize("user_name", [None, "", "   ", "MISSING"])
async def test_a_missing_username_is_400_invalid_value(
    scim: Scim, ada: dict[str, Any], user_name: str | None
) -> None:
    body = user_body("x")
    if user_name == "MISSING":
        del body["userName"]
    else:
        body["userName"] = user_name
    assert_scim_error(await scim.post("/Users", body), 400, "invalidValue")
    assert_scim_error(await scim.put(f"/Users/{ada['id']}", body), 400, "invalidValue")
    await _unchanged(scim, ada)


BAD_PATCHES: list[tuple[Any, str | None]] = [
    ({"schemas": [PATCH_URN]}, "invalidSyntax"),
    ({"Operations": "replace"}, "invalidSyntax"),
    (patch_body({"op": "jump", "path": "displayName", "value": "x"}), None),
    (patch_body({"path": "displayName", "value": "x"}), None),
    ({"schemas": [PATCH_URN], "Operations": ["replace"]}, None),
    (patch_body({"op": "replace", "path": "displayName"}), "invalidValue"),
    (patch_body({"op": "replace", "path": "active", "value": "maybe"}), "invalidValue"),
    (patch_body({"op": "replace", "path": "userName", "value": 123}), "invalidValue"),
    (patch_body({"op": "remove", "path": "userName"}), "invalidValue"),
    (patch_body({"op": "replace", "path": "name", "value": "Ada"}), "invalidValue"),
    (patch_body({"op": "add", "path": "emails", "value": "ada@example.com"}), "invalidValue"),
    (patch_body({"op": "replace", "path": "nosuch", "value": "x"}), "invalidPath"),
    (patch_body({"op": "replace", "path": "emails[type eq]", "value": "x"}), "invalidPath"),
    (patch_body({"op": "replace", "path": 'emails[type eq "work"', "value": "x"}), "invalidPath"),
    (patch_body({"op": "replace", "path": "name.nosuch", "value": "x"}), "invalidPath"),
    (patch_body({"op": "replace", "value": "not an object"}), None),
    (patch_body({"op": "replace", "value": {"active": "maybe"}}), "invalidValue"),
    (patch_body({"op": "replace", "path": 5, "value": "x"}), None),
]


@pytest.mark.parametrize(("body", "scim_type"), BAD_PATCHES, ids=lambda v: json.dumps(v)[-70:])
async def test_bad_patches_are_400_and_change_nothing(
    scim: Scim, ada: dict[str, Any], body: Any, scim_type: str | None
) -> None:
    response = await scim.patch(f"/Users/{ada['id']}", body)
    assert_scim_error(response, 400, scim_type)
    assert response.json().get("scimType") is not None
    await _unchanged(scim, ada)


async def test_a_patch_that_fails_halfway_applies_nothing(scim: Scim, ada: dict[str, Any]) -> None:
    body = patch_body(
        {"op": "replace", "path": "displayName", "value": "Changed"},
        {"op": "replace", "path": "active", "value": "maybe"},
    )
    assert_scim_error(await scim.patch(f"/Users/{ada['id']}", body), 400, "invalidValue")
    await _unchanged(scim, ada)


async def test_a_patch_renaming_onto_another_user_is_409(scim: Scim, ada: dict[str, Any]) -> None:
    await scim.create_user(user_body("bob@example.com"))
    body = patch_body({"op": "replace", "path": "userName", "value": "Bob@Example.com"})
    assert_scim_error(await scim.patch(f"/Users/{ada['id']}", body), 409, "uniqueness")
    await _unchanged(scim, ada)


async def test_unknown_attributes_and_schemas_are_tolerated(scim: Scim) -> None:
    body = {
        **user_body(ADA),
        "schemas": [
            USER_URN,
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User",
        ],
        "favouriteColour": "blue",
    }
    created = await scim.create_user(body)
    assert "favouriteColour" not in created


# -- size -----------------------------------------------------------------------------------


def _big_user() -> bytes:
    raw = json.dumps(user_body(ADA, title="x" * (LIMIT * 2))).encode()
    assert len(raw) > LIMIT
    return raw


async def _chunks(raw: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(raw), 512):
        yield raw[start : start + 512]


async def test_an_oversized_body_is_413(scim: Scim, ada: dict[str, Any]) -> None:
    raw = _big_user()
    path = f"/Users/{ada['id']}"
    big_patch = json.dumps(
        patch_body({"op": "replace", "path": "title", "value": "x" * LIMIT})
    ).encode()
    big_search = json.dumps({"schemas": [SEARCH_URN], "filter": "x" * LIMIT}).encode()
    for method, target, content in (
        ("POST", "/Users", raw),
        ("PUT", path, raw),
        ("PATCH", path, big_patch),
        ("POST", "/Users/.search", big_search),
    ):
        # With a Content-Length…
        assert_scim_error(await scim.send_raw(method, target, content), 413)
        # …and without one (chunked): the limit holds while reading.
        assert_scim_error(await scim.send_raw(method, target, _chunks(content)), 413)
    await _unchanged(scim, ada)
    assert await scim.count("SELECT count(*) FROM users") == 1


async def test_a_lying_content_length_is_no_way_around_the_limit(scim: Scim) -> None:
    raw = _big_user()
    # httpx sends what it is given; the server must count what actually arrives.
    lying = {"Content-Length": "100"}
    response = await scim.send_raw("POST", "/Users", _chunks(raw), headers=lying)
    assert response.status_code in (400, 413), response.text
    assert_no_internals(response)
    assert await scim.count("SELECT count(*) FROM users") == 0


async def test_a_body_within_the_limit_is_read_whole_even_in_chunks(scim: Scim) -> None:
    raw = json.dumps(user_body(ADA, title="x" * 1000)).encode()
    assert len(raw) < LIMIT
    response = await scim.send_raw("POST", "/Users", _chunks(raw))
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "x" * 1000


async def test_an_unauthenticated_oversized_body_is_401(scim: Scim) -> None:
    response = await scim.request("POST", "/Users", content=_big_user(), token=None)
    assert_scim_error(response, 401)


# -- routing --------------------------------------------------------------------------------


async def test_unsupported_methods_and_paths_answer_scim_errors(scim: Scim) -> None:
    assert_scim_error(await scim.delete("/Users"), 405)
    assert_scim_error(await scim.put("/Users", user_body()), 405)
    assert_scim_error(await scim.get("/Users/.search"), 404)
    assert_scim_error(await scim.get("/NoSuchResource"), 404)
