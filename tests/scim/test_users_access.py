"""Who may call /scim/v2 (bearer tokens, scopes, last use) and what discovery tells clients."""

from __future__ import annotations

from typing import Any

import pytest

from app.store import tokens as token_store
from tests.scim.client import Scim, assert_scim_error
from tests.scim.wire import ENTERPRISE_URN, GROUP_URN, LIST_URN, USER_URN, patch_body, user_body

pytestmark = pytest.mark.anyio

ADA = "ada@example.com"
HOST = "http://127.0.0.1:8080"


# -- authentication -------------------------------------------------------------------------

PROTECTED = [
    ("GET", "/Users"),
    ("GET", "/Users/00000000-0000-0000-0000-000000000000"),
    ("POST", "/Users"),
    ("POST", "/Users/.search"),
    ("PUT", "/Users/00000000-0000-0000-0000-000000000000"),
    ("PATCH", "/Users/00000000-0000-0000-0000-000000000000"),
    ("DELETE", "/Users/00000000-0000-0000-0000-000000000000"),
    ("GET", "/Groups"),
    ("POST", "/Groups"),
    ("GET", "/ResourceTypes"),
    ("GET", "/ResourceTypes/User"),
    ("GET", "/Schemas"),
    ("GET", f"/Schemas/{USER_URN}"),
    ("POST", "/.search"),
]


def _assert_unauthorized(response: Any) -> None:
    assert_scim_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_every_endpoint_but_the_config_wants_a_bearer_token(
    scim: Scim, method: str, path: str
) -> None:
    _assert_unauthorized(await scim.request(method, path, json=user_body(), token=None))


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic YWRtaW46YWRtaW4=",  # another scheme
        "Token wxt_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        "Bearer",  # no token
        "Bearer    ",
        "Bearer not-a-token",  # malformed
        "Bearer wxt_short",
        "Bearer wxt_" + "é" * 40,
        "Bearer wxt_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",  # well formed, unknown
    ],
)
async def test_bad_credentials_are_401_with_a_challenge(scim: Scim, authorization: str) -> None:
    raw = authorization.encode("latin-1")  # header bytes, as a client might send them
    response = await scim.get("/Users", token=None, headers={"Authorization": raw})
    _assert_unauthorized(response)


async def test_a_token_differing_in_one_character_is_refused(scim: Scim) -> None:
    last = scim.token[-1]
    forged = scim.token[:-1] + ("A" if last != "A" else "B")
    _assert_unauthorized(await scim.get("/Users", token=forged))
    # Case matters: tokens are compared by hash, not case-folded. Flip the last letter of the
    # random part (the last character may be a digit, '-' or '_', which have no case).
    letters = [i for i, c in enumerate(scim.token) if i >= len("wxt_") and c.isalpha()]
    assert letters, scim.token
    i = letters[-1]
    flipped = scim.token[:i] + scim.token[i].swapcase() + scim.token[i + 1 :]
    assert flipped != scim.token and flipped.lower() == scim.token.lower()
    _assert_unauthorized(await scim.get("/Users", token=flipped))
    assert (await scim.get("/Users")).status_code == 200


async def test_the_scheme_name_is_case_insensitive(scim: Scim) -> None:
    response = await scim.get(
        "/Users", token=None, headers={"Authorization": f"bearer {scim.token}"}
    )
    assert response.status_code == 200


async def test_a_revoked_token_is_refused(scim: Scim) -> None:
    assert (await scim.get("/Users")).status_code == 200
    await scim.db.write(token_store.revoke, scim.token_id)
    _assert_unauthorized(await scim.get("/Users"))
    _assert_unauthorized(await scim.post("/Users", user_body()))


async def test_a_read_only_token_reads_but_never_writes(scim: Scim) -> None:
    created = await scim.create_user(user_body(ADA))
    path = f"/Users/{created['id']}"
    _, reader = await scim.new_token("admin:read")
    for response in (
        await scim.get("/Users", token=reader),
        await scim.get(path, token=reader),
        await scim.post("/Users/.search", {"filter": f'userName eq "{ADA}"'}, token=reader),
        await scim.get("/Schemas", token=reader),
    ):
        assert response.status_code == 200, response.text
    for response in (
        await scim.post("/Users", user_body("bob@example.com"), token=reader),
        await scim.put(path, user_body(ADA, displayName="Changed"), token=reader),
        await scim.patch(
            path, patch_body({"op": "replace", "path": "active", "value": False}), token=reader
        ),
        await scim.delete(path, token=reader),
    ):
        assert_scim_error(response, 403)
    # Nothing changed.
    after = (await scim.get(path)).json()
    assert after["meta"]["version"] == created["meta"]["version"]
    assert await scim.count("SELECT count(*) FROM users") == 1


@pytest.mark.parametrize("scope", ["admin:scim", "admin:write", "all"])
async def test_write_scopes_may_write(scim: Scim, scope: str) -> None:
    _, writer = await scim.new_token(scope)
    response = await scim.post(
        "/Users", user_body(f"{scope.replace(':', '-')}@example.com"), token=writer
    )
    assert response.status_code == 201, response.text
    user_id = response.json()["id"]
    assert (await scim.get(f"/Users/{user_id}", token=writer)).status_code == 200
    assert (await scim.delete(f"/Users/{user_id}", token=writer)).status_code == 204


async def test_last_used_is_recorded_at_most_once_a_minute(scim: Scim) -> None:
    token_id, plaintext = await scim.new_token("admin:scim")
    stored = await scim.db.read(token_store.get, token_id)
    assert stored is not None and stored.last_used is None
    assert (await scim.get("/Users", token=plaintext)).status_code == 200
    stored = await scim.db.read(token_store.get, token_id)
    assert stored is not None and stored.last_used is not None
    # A second request within the minute must not write: a marker value survives it.
    marker = "2000-01-01T00:00:00Z"
    await scim.db.execute("UPDATE api_tokens SET last_used = ? WHERE id = ?", (marker, token_id))
    assert (await scim.get("/Users", token=plaintext)).status_code == 200
    stored = await scim.db.read(token_store.get, token_id)
    assert stored is not None and stored.last_used == marker


async def test_refused_requests_do_not_count_as_use(scim: Scim) -> None:
    token_id, plaintext = await scim.new_token("admin:read")
    assert (await scim.post("/Users", user_body(), token=plaintext)).status_code == 403
    stored = await scim.db.read(token_store.get, token_id)
    assert stored is not None and stored.last_used is None


# -- discovery ------------------------------------------------------------------------------


async def test_service_provider_config_is_public_and_truthful(scim: Scim) -> None:
    response = await scim.get("/ServiceProviderConfig", token=None)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert body["patch"]["supported"] is True
    assert body["bulk"]["supported"] is False
    assert body["filter"]["supported"] is True
    assert body["filter"]["maxResults"] == 200  # [scim] max_page_size
    assert isinstance(body["filter"]["maxResults"], int)
    assert body["sort"]["supported"] is True
    assert body["etag"]["supported"] is True
    assert body["changePassword"]["supported"] is False
    [scheme] = body["authenticationSchemes"]
    assert scheme["type"] == "oauthbearertoken"
    assert body["meta"]["location"] == f"{HOST}/scim/v2/ServiceProviderConfig"


async def test_resource_types(scim: Scim) -> None:
    body = (await scim.get("/ResourceTypes")).json()
    assert body["schemas"] == [LIST_URN]
    assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (2, 2, 1)
    by_id = {r["id"]: r for r in body["Resources"]}
    assert set(by_id) == {"User", "Group"}
    user = by_id["User"]
    assert (user["endpoint"], user["schema"]) == ("/Users", USER_URN)
    assert user["schemaExtensions"] == [{"schema": ENTERPRISE_URN, "required": False}]
    assert by_id["Group"]["schema"] == GROUP_URN
    single = await scim.get("/ResourceTypes/User")
    assert single.status_code == 200
    assert single.json() == user
    assert_scim_error(await scim.get("/ResourceTypes/Printer"), 404)


def _attribute(schema: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [a for a in schema["attributes"] if a["name"] == name]
    assert len(found) == 1, name
    return found[0]


async def test_schemas_are_full_definitions(scim: Scim) -> None:
    body = (await scim.get("/Schemas")).json()
    assert body["totalResults"] == 3 and isinstance(body["itemsPerPage"], int)
    by_id = {s["id"]: s for s in body["Resources"]}
    assert set(by_id) == {
        USER_URN,
        GROUP_URN,
        ENTERPRISE_URN,
    }
    user = by_id[USER_URN]
    for attribute in user["attributes"]:
        for key in ("name", "type", "multiValued", "required", "mutability", "returned"):
            assert key in attribute, (attribute["name"], key)
    user_name = _attribute(user, "userName")
    assert (user_name["required"], user_name["uniqueness"], user_name["caseExact"]) == (
        True,
        "server",
        False,
    )
    password = _attribute(user, "password")
    assert (password["mutability"], password["returned"]) == ("writeOnly", "never")
    groups = _attribute(user, "groups")
    assert groups["mutability"] == "readOnly" and groups["multiValued"] is True
    emails = _attribute(user, "emails")
    assert {s["name"] for s in emails["subAttributes"]} >= {"value", "type", "primary"}
    manager = _attribute(by_id[ENTERPRISE_URN], "manager")
    assert {s["name"] for s in manager["subAttributes"]} == {"value", "$ref", "displayName"}

    single = await scim.get(f"/Schemas/{ENTERPRISE_URN}")
    assert single.status_code == 200
    assert single.json() == by_id[ENTERPRISE_URN]
    assert single.json()["meta"]["location"] == f"{HOST}/scim/v2/Schemas/{ENTERPRISE_URN}"
    assert_scim_error(await scim.get("/Schemas/urn:example:unknown"), 404)
