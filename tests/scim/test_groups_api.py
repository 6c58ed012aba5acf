"""/scim/v2/Groups in-process: CRUD, lookups, membership deltas, transactions, audit, cost."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.config import Config
from app.db import Database, Tx
from app.main import create_app
from app.scim import groups as scim_groups
from app.services import Services
from app.store import audit
from app.store import groups as group_store
from app.store.tokens import ApiToken
from tests.conftest import new_token, running
from tests.scim.client import assert_scim_error
from tests.scim.wire import BASE, PATCH_URN, SEARCH_URN

pytestmark = pytest.mark.anyio

GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTRA_GROUP_URN = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


@dataclass
class Scim:
    app: Starlette
    client: httpx.AsyncClient
    token: ApiToken

    @property
    def db(self) -> Database:
        svc: Services = self.app.state.services
        return svc.db

    async def user(self, email: str, **extra: Any) -> str:
        body = {"userName": email, "emails": [{"value": email, "primary": True}], **extra}
        response = await self.client.post(f"{BASE}/Users", json=body)
        assert response.status_code == 201, response.text
        user_id: str = response.json()["id"]
        return user_id

    async def users(self, count: int, prefix: str = "u") -> list[str]:
        return [await self.user(f"{prefix}{i}@example.com") for i in range(count)]

    async def group(self, name: str, members: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
        body = {
            "schemas": [GROUP_URN],
            "displayName": name,
            "members": [{"value": m} for m in members],
            **extra,
        }
        response = await self.client.post(f"{BASE}/Groups", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def get(self, group_id: str, **params: str) -> dict[str, Any]:
        response = await self.client.get(f"{BASE}/Groups/{group_id}", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def patch(
        self, group_id: str, *operations: dict[str, Any], **headers: str
    ) -> httpx.Response:
        body = {"schemas": [PATCH_URN], "Operations": list(operations)}
        return await self.client.patch(f"{BASE}/Groups/{group_id}", json=body, headers=headers)

    async def find(self, **params: str) -> dict[str, Any]:
        response = await self.client.get(f"{BASE}/Groups", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def member_rows(self, group_id: str) -> list[str]:
        rows = await self.db.fetch_all(
            "SELECT user_id FROM group_members WHERE group_id = ? ORDER BY user_id", (group_id,)
        )
        return [r[0] for r in rows]

    async def events(self, action: str) -> list[audit.AuditEvent]:
        return [e for e in await self.db.read(audit.recent, limit=1000) if e.action == action]


@pytest.fixture
async def scim(make_config: Callable[..., Config]) -> AsyncIterator[Scim]:
    app = create_app(make_config())
    async with running(app) as client:
        svc: Services = app.state.services
        token, plaintext = await new_token(svc.db, "groups-test")
        client.headers["Authorization"] = f"Bearer {plaintext}"
        yield Scim(app, client, token)


def member_ids(body: dict[str, Any]) -> list[str]:
    return sorted(m["value"] for m in body.get("members", []))


# --- CRUD ---------------------------------------------------------------------------------


async def test_create_answers_201_with_location_etag_and_members(scim: Scim) -> None:
    ada, bob = await scim.users(2)
    response = await scim.client.post(
        f"{BASE}/Groups",
        json={
            "schemas": [GROUP_URN],
            "displayName": "Engineering",
            "externalId": "ext-eng",
            "members": [{"value": ada, "display": "Ada"}, {"value": bob}],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == body["meta"]["location"]
    assert body["meta"]["location"].endswith(f"/scim/v2/Groups/{body['id']}")
    assert response.headers["etag"] == body["meta"]["version"]
    assert body["meta"]["resourceType"] == "Group"
    assert body["displayName"] == "Engineering"
    assert body["externalId"] == "ext-eng"
    assert member_ids(body) == sorted([ada, bob])
    shown = {m["value"]: m for m in body["members"]}
    assert shown[ada]["display"] == "Ada"
    assert shown[ada]["$ref"].endswith(f"/Users/{ada}")
    assert shown[bob]["type"] == "User"
    assert await scim.get(body["id"]) == body


async def test_an_empty_group_has_no_members_key(scim: Scim) -> None:
    group = await scim.group("Empty")
    assert "members" not in group
    assert "members" not in await scim.get(group["id"])


async def test_put_replaces_name_external_id_and_exactly_the_members(scim: Scim) -> None:
    a, b, c = await scim.users(3)
    group = await scim.group("Sales", [a, b], externalId="old")
    response = await scim.client.put(
        f"{BASE}/Groups/{group['id']}",
        json={
            "schemas": [GROUP_URN],
            "id": group["id"],
            "displayName": "Sales EMEA",
            "members": [{"value": b}, {"value": c}],
            "meta": {"resourceType": "Group"},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["displayName"] == "Sales EMEA"
    assert "externalId" not in body  # PUT replaces: what is not sent is gone
    assert member_ids(body) == sorted([b, c])
    assert await scim.member_rows(group["id"]) == sorted([b, c])
    assert body["meta"]["version"] != group["meta"]["version"]
    assert response.headers["etag"] == body["meta"]["version"]


async def test_delete_answers_204_then_404(scim: Scim) -> None:
    group = await scim.group("Doomed")
    response = await scim.client.delete(f"{BASE}/Groups/{group['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_scim_error(await scim.client.get(f"{BASE}/Groups/{group['id']}"), 404)
    assert_scim_error(await scim.client.delete(f"{BASE}/Groups/{group['id']}"), 404)
    assert_scim_error(
        await scim.patch(group["id"], {"op": "add", "path": "members", "value": []}), 404
    )


async def test_unknown_group_is_a_scim_404(scim: Scim) -> None:
    assert_scim_error(await scim.client.get(f"{BASE}/Groups/no-such-id"), 404)
    response = await scim.client.put(
        f"{BASE}/Groups/no-such-id", json={"schemas": [GROUP_URN], "displayName": "X"}
    )
    assert_scim_error(response, 404)


async def test_requests_without_a_token_are_refused(scim: Scim) -> None:
    response = await scim.client.get(f"{BASE}/Groups", headers={"Authorization": ""})
    assert_scim_error(response, 401)


async def test_bad_bodies_are_400_not_500(scim: Scim) -> None:
    post = scim.client.post
    assert_scim_error(
        await post(f"{BASE}/Groups", json={"schemas": [GROUP_URN]}), 400, "invalidValue"
    )
    assert_scim_error(
        await post(
            f"{BASE}/Groups",
            content=b"{not json",
            headers={"content-type": "application/scim+json"},
        ),
        400,
        "invalidSyntax",
    )
    group = await scim.group("Valid")
    response = await scim.patch(group["id"], {"op": "frobnicate", "path": "displayName"})
    assert response.status_code == 400, response.text
    response = await scim.patch(
        group["id"], {"op": "replace", "path": "members.value", "value": "x"}
    )
    assert response.status_code == 400, response.text


async def test_entra_extra_schema_urn_and_capitalised_ops_are_accepted(scim: Scim) -> None:
    (ada,) = await scim.users(1)
    response = await scim.client.post(
        f"{BASE}/Groups",
        json={
            "schemas": [GROUP_URN, ENTRA_GROUP_URN],
            "displayName": "Entra Group",
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        },
    )
    assert response.status_code == 201, response.text
    group = response.json()
    response = await scim.patch(
        group["id"],
        {"op": "Add", "path": "members", "value": [{"value": ada}]},
        {"op": "Replace", "path": "displayName", "value": "Entra Group 2"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["displayName"] == "Entra Group 2"
    assert member_ids(response.json()) == [ada]


async def test_okta_rename_is_a_pathless_replace_carrying_the_id(scim: Scim) -> None:
    group = await scim.group("Okta Old")
    response = await scim.patch(
        group["id"],
        {"op": "replace", "value": {"id": group["id"], "displayName": "Okta New"}},
    )
    assert response.status_code == 200, response.text
    assert (await scim.get(group["id"]))["displayName"] == "Okta New"


# --- displayName uniqueness -------------------------------------------------------------


async def test_display_name_clash_on_create_is_409_case_insensitively(scim: Scim) -> None:
    await scim.group("Finance")
    for name in ("Finance", "finance", "FINANCE", " Finance "):
        response = await scim.client.post(
            f"{BASE}/Groups", json={"schemas": [GROUP_URN], "displayName": name}
        )
        assert_scim_error(response, 409, "uniqueness")
    assert (await scim.find())["totalResults"] == 1


async def test_rename_onto_another_group_is_409_by_patch_and_put(scim: Scim) -> None:
    await scim.group("Legal")
    other = await scim.group("Ops")
    response = await scim.patch(
        other["id"], {"op": "replace", "path": "displayName", "value": "LEGAL"}
    )
    assert_scim_error(response, 409, "uniqueness")
    response = await scim.client.put(
        f"{BASE}/Groups/{other['id']}", json={"schemas": [GROUP_URN], "displayName": "legal"}
    )
    assert_scim_error(response, 409, "uniqueness")
    after = await scim.get(other["id"])
    assert after["displayName"] == "Ops"
    assert after["meta"]["version"] == other["meta"]["version"]


async def test_a_group_may_change_the_case_of_its_own_name(scim: Scim) -> None:
    group = await scim.group("marketing")
    response = await scim.patch(
        group["id"], {"op": "replace", "path": "displayName", "value": "Marketing"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["displayName"] == "Marketing"


# --- lookups, paging, sorting, projection -----------------------------------------------


async def test_filter_display_name_eq_is_case_insensitive(scim: Scim) -> None:
    group = await scim.group("Webrix Admins")
    await scim.group("Webrix Users")
    for value in ("Webrix Admins", "webrix admins", "WEBRIX ADMINS"):
        found = await scim.find(filter=f'displayName eq "{value}"')
        assert found["totalResults"] == 1
        assert [g["id"] for g in found["Resources"]] == [group["id"]]
    empty = await scim.find(filter='displayName eq "JumpCloud Test Group"')
    assert empty == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "itemsPerPage": 0,
        "startIndex": 1,
        "Resources": [],
    }


async def test_filter_external_id_eq(scim: Scim) -> None:
    group = await scim.group("With Ext", externalId="abc-123")
    await scim.group("Other", externalId="xyz")
    found = await scim.find(filter='externalId eq "abc-123"')
    assert [g["id"] for g in found["Resources"]] == [group["id"]]
    assert (await scim.find(filter='externalId eq "nope"'))["totalResults"] == 0


async def test_filter_members_value_eq(scim: Scim) -> None:
    a, b = await scim.users(2)
    one = await scim.group("One", [a])
    two = await scim.group("Two", [a, b])
    await scim.group("Three")
    found = await scim.find(filter=f'members.value eq "{b}"')
    assert [g["id"] for g in found["Resources"]] == [two["id"]]
    found = await scim.find(filter=f'members[value eq "{a}"]', sortBy="displayName")
    assert [g["id"] for g in found["Resources"]] == [one["id"], two["id"]]


async def test_bad_filter_is_400_invalid_filter(scim: Scim) -> None:
    response = await scim.client.get(f"{BASE}/Groups", params={"filter": "displayName eq"})
    assert_scim_error(response, 400, "invalidFilter")


async def test_paging_sorting_and_count_zero(scim: Scim) -> None:
    names = ["delta", "Alpha", "charlie", "Bravo", "echo"]
    for name in names:
        await scim.group(name)
    everything = await scim.find()
    assert everything["totalResults"] == 5
    assert everything["itemsPerPage"] == 5
    assert sorted(g["displayName"] for g in everything["Resources"]) == sorted(names)
    pages = [await scim.find(startIndex=str(i), count="2") for i in (1, 3, 5)]
    assert [g["id"] for p in pages for g in p["Resources"]] == [
        g["id"] for g in everything["Resources"]
    ]  # the default order is stable across pages
    page = await scim.find(sortBy="displayName", startIndex="2", count="2")
    assert (page["totalResults"], page["itemsPerPage"], page["startIndex"]) == (5, 2, 2)
    assert [g["displayName"] for g in page["Resources"]] == ["Bravo", "charlie"]
    down = await scim.find(sortBy="displayName", sortOrder="descending")
    assert [g["displayName"] for g in down["Resources"]] == [
        "echo",
        "delta",
        "charlie",
        "Bravo",
        "Alpha",
    ]
    only_total = await scim.find(count="0")
    assert (only_total["totalResults"], only_total["Resources"]) == (5, [])
    beyond = await scim.find(startIndex="99")
    assert (beyond["totalResults"], beyond["itemsPerPage"], beyond["Resources"]) == (5, 0, [])


async def test_attributes_projection_keeps_id_and_schemas(scim: Scim) -> None:
    (a,) = await scim.users(1)
    group = await scim.group("Projected", [a], externalId="e1")
    body = await scim.get(group["id"], attributes="displayName")
    assert set(body) == {"schemas", "id", "displayName"}
    listed = await scim.find(attributes="externalId")
    assert listed["Resources"] == [{"schemas": [GROUP_URN], "id": group["id"], "externalId": "e1"}]


async def test_search_endpoint(scim: Scim) -> None:
    (a,) = await scim.users(1)
    target = await scim.group("Searched", [a])
    await scim.group("Not Searched")
    response = await scim.client.post(
        f"{BASE}/Groups/.search",
        json={
            "schemas": [SEARCH_URN],
            "filter": 'displayName eq "searched"',
            "excludedAttributes": ["members"],
            "startIndex": 1,
            "count": 10,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totalResults"] == 1
    (found,) = body["Resources"]
    assert found["id"] == target["id"]
    assert "members" not in found
    root = await scim.client.post(
        f"{BASE}/.search", json={"schemas": [SEARCH_URN], "filter": 'displayName eq "Searched"'}
    )
    assert root.status_code == 200, root.text
    assert [r["id"] for r in root.json()["Resources"]] == [target["id"]]


async def test_excluded_members_are_absent_and_never_loaded(
    scim: Scim, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = await scim.users(3)
    group = await scim.group("Big Enough", users)

    async def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("members were loaded although excluded")

    monkeypatch.setattr(group_store, "members", refuse)
    monkeypatch.setattr(group_store, "members_of_many", refuse)
    body = await scim.get(group["id"], excludedAttributes="members")
    assert "members" not in body
    assert body["displayName"] == "Big Enough"
    assert body["meta"]["version"] == group["meta"]["version"]
    listed = await scim.find(excludedAttributes="members")
    assert "members" not in listed["Resources"][0]
    found = await scim.find(filter='displayName eq "big enough"', excludedAttributes="members")
    assert found["totalResults"] == 1
    assert "members" not in found["Resources"][0]
    assert set(await scim.get(group["id"], attributes="displayName")) == {
        "schemas",
        "id",
        "displayName",
    }
    response = await scim.client.patch(
        f"{BASE}/Groups/{group['id']}",
        params={"excludedAttributes": "members"},
        json={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "remove", "path": "members", "value": [{"value": users[0]}]}],
        },
    )
    assert response.status_code == 200, response.text
    assert "members" not in response.json()
    assert await scim.member_rows(group["id"]) == sorted(users[1:])


# --- ETags ------------------------------------------------------------------------------


async def test_etags_if_none_match_304_and_if_match_412(scim: Scim) -> None:
    (a,) = await scim.users(1)
    group = await scim.group("Versioned")
    gid, etag = group["id"], group["meta"]["version"]
    assert etag.startswith('W/"')
    response = await scim.client.get(f"{BASE}/Groups/{gid}", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["etag"] == etag
    response = await scim.patch(
        gid, {"op": "add", "path": "members", "value": [{"value": a}]}, **{"If-Match": etag}
    )
    assert response.status_code == 200, response.text
    new_etag = response.headers["etag"]
    assert new_etag != etag  # a membership change is a new version
    assert (await scim.get(gid))["meta"]["version"] == new_etag
    response = await scim.client.get(f"{BASE}/Groups/{gid}", headers={"If-None-Match": etag})
    assert response.status_code == 200
    stale = {"If-Match": etag}
    assert_scim_error(await scim.patch(gid, {"op": "remove", "path": "members"}, **stale), 412)
    put_body = {"schemas": [GROUP_URN], "displayName": "Versioned 2"}
    assert_scim_error(
        await scim.client.put(f"{BASE}/Groups/{gid}", json=put_body, headers=stale), 412
    )
    assert_scim_error(await scim.client.delete(f"{BASE}/Groups/{gid}", headers=stale), 412)
    assert await scim.member_rows(gid) == [a]
    response = await scim.client.put(
        f"{BASE}/Groups/{gid}", json=put_body, headers={"If-Match": new_etag}
    )
    assert response.status_code == 200, response.text
    response = await scim.client.delete(
        f"{BASE}/Groups/{gid}", headers={"If-Match": response.headers["etag"]}
    )
    assert response.status_code == 204


# --- membership -------------------------------------------------------------------------


async def test_add_is_idempotent(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Idempotent", [a])
    jumpcloud_add = {"op": "add", "path": "members", "value": [{"value": a}, {"value": b}]}
    for _ in range(3):
        response = await scim.patch(group["id"], jumpcloud_add)
        assert response.status_code == 200, response.text
        assert member_ids(response.json()) == sorted([a, b])
    response = await scim.patch(
        group["id"], {"op": "add", "path": "members", "value": [{"value": b}, {"value": b}]}
    )
    assert response.status_code == 200, response.text
    assert await scim.member_rows(group["id"]) == sorted([a, b])  # no duplicate rows


async def test_a_repeated_add_or_remove_is_no_change_at_all(scim: Scim) -> None:
    """JumpCloud repeats adds: they must not bump the version or fill the audit log."""
    a, b = await scim.users(2)
    group = await scim.group("Quiet", [a])
    first = await scim.patch(group["id"], {"op": "add", "path": "members", "value": [{"value": a}]})
    assert first.status_code == 200
    assert first.json()["meta"]["version"] == group["meta"]["version"]
    gone = await scim.patch(
        group["id"], {"op": "remove", "path": "members", "value": [{"value": b}]}
    )
    assert gone.json()["meta"]["version"] == group["meta"]["version"]
    events = await scim.db.fetch_all("SELECT action FROM audit_events WHERE action = 'group.patch'")
    assert events == []
    real = await scim.patch(group["id"], {"op": "add", "path": "members", "value": [{"value": b}]})
    assert real.json()["meta"]["version"] != group["meta"]["version"]


async def test_pathless_add_of_members(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Pathless", [a])
    response = await scim.patch(group["id"], {"op": "add", "value": {"members": [{"value": b}]}})
    assert response.status_code == 200, response.text
    assert await scim.member_rows(group["id"]) == sorted([a, b])


async def test_remove_by_value_filter(scim: Scim) -> None:
    a, b, c = await scim.users(3)
    group = await scim.group("Filtered", [a, b, c])
    response = await scim.patch(group["id"], {"op": "remove", "path": f'members[value eq "{b}"]'})
    assert response.status_code == 200, response.text
    assert member_ids(response.json()) == sorted([a, c])
    response = await scim.patch(
        group["id"], {"op": "remove", "path": f'members[value eq "{a}" or value eq "{c}"]'}
    )
    assert response.status_code == 200, response.text
    assert "members" not in response.json()
    assert await scim.member_rows(group["id"]) == []


async def test_remove_by_value_array_without_filter(scim: Scim) -> None:
    a, b, c = await scim.users(3)
    group = await scim.group("Array", [a, b, c])
    response = await scim.patch(
        group["id"], {"op": "remove", "path": "members", "value": [{"value": a}, {"value": c}]}
    )
    assert response.status_code == 200, response.text
    assert member_ids(response.json()) == [b]
    assert await scim.member_rows(group["id"]) == [b]


async def test_removing_a_non_member_is_harmless(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Harmless", [a])
    response = await scim.patch(group["id"], {"op": "remove", "path": f'members[value eq "{b}"]'})
    assert response.status_code == 200, response.text
    assert await scim.member_rows(group["id"]) == [a]


async def test_replace_sets_exactly_the_given_members(scim: Scim) -> None:
    a, b, c, d = await scim.users(4)
    group = await scim.group("Replaced", [a, b])
    response = await scim.patch(
        group["id"], {"op": "replace", "path": "members", "value": [{"value": c}, {"value": b}]}
    )
    assert response.status_code == 200, response.text
    assert member_ids(response.json()) == sorted([b, c])
    assert await scim.member_rows(group["id"]) == sorted([b, c])
    response = await scim.patch(
        group["id"], {"op": "replace", "value": {"members": [{"value": d}]}}
    )
    assert response.status_code == 200, response.text
    assert await scim.member_rows(group["id"]) == [d]
    response = await scim.patch(group["id"], {"op": "replace", "path": "members", "value": []})
    assert response.status_code == 200, response.text
    assert await scim.member_rows(group["id"]) == []


async def test_remove_without_value_empties_the_group(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Emptied", [a, b])
    response = await scim.patch(group["id"], {"op": "remove", "path": "members"})
    assert response.status_code == 200, response.text
    assert await scim.member_rows(group["id"]) == []


async def test_operations_apply_in_order(scim: Scim) -> None:
    a, b, c = await scim.users(3)
    group = await scim.group("Ordered", [a])
    response = await scim.patch(
        group["id"],
        {"op": "add", "path": "members", "value": [{"value": b}]},
        {"op": "remove", "path": f'members[value eq "{a}"]'},
        {"op": "add", "path": "members", "value": [{"value": c}]},
        {"op": "remove", "path": "members", "value": [{"value": c}]},
    )
    assert response.status_code == 200, response.text
    assert await scim.member_rows(group["id"]) == [b]


async def test_unknown_member_is_400_and_the_whole_patch_changes_nothing(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Atomic", [a])
    before = await scim.get(group["id"])
    events_before = len(await scim.events("group.patch"))
    unknown = "00000000-0000-4000-8000-000000000000"
    attempts: list[list[dict[str, Any]]] = [
        [
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": b}, {"value": unknown}]},
        ],
        [
            {"op": "remove", "path": "members", "value": [{"value": a}]},
            {"op": "add", "path": "members", "value": [{"value": unknown}]},
        ],
        [
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "replace", "path": "members", "value": [{"value": b}, {"value": unknown}]},
        ],
    ]
    for operations in attempts:
        response = await scim.patch(group["id"], *operations)
        assert_scim_error(response, 400, "invalidValue")
        assert unknown in response.json()["detail"]
        after = await scim.get(group["id"])
        assert after == before  # name, members, version and lastModified untouched
        assert await scim.member_rows(group["id"]) == [a]
    assert len(await scim.events("group.patch")) == events_before


async def test_unknown_member_on_post_and_put_changes_nothing(scim: Scim) -> None:
    (a,) = await scim.users(1)
    unknown = "no-such-user"
    response = await scim.client.post(
        f"{BASE}/Groups",
        json={"schemas": [GROUP_URN], "displayName": "Never", "members": [{"value": unknown}]},
    )
    assert_scim_error(response, 400, "invalidValue")
    assert (await scim.find())["totalResults"] == 0
    group = await scim.group("Kept", [a])
    response = await scim.client.put(
        f"{BASE}/Groups/{group['id']}",
        json={"schemas": [GROUP_URN], "displayName": "Changed", "members": [{"value": unknown}]},
    )
    assert_scim_error(response, 400, "invalidValue")
    assert await scim.get(group["id"]) == group
    assert await scim.member_rows(group["id"]) == [a]


async def test_a_group_cannot_be_a_member(scim: Scim) -> None:
    inner = await scim.group("Inner")
    outer = await scim.group("Outer")
    response = await scim.patch(
        outer["id"], {"op": "add", "path": "members", "value": [{"value": inner["id"]}]}
    )
    assert_scim_error(response, 400, "invalidValue")


# --- the user side ----------------------------------------------------------------------


async def test_user_groups_lists_the_users_groups(scim: Scim) -> None:
    a, b = await scim.users(2)
    one = await scim.group("Alpha Team", [a])
    two = await scim.group("Beta Team", [a, b])
    response = await scim.client.get(f"{BASE}/Users/{a}")
    groups = response.json()["groups"]
    assert [(g["value"], g["display"]) for g in groups] == [
        (one["id"], "Alpha Team"),
        (two["id"], "Beta Team"),
    ]
    assert groups[0]["$ref"].endswith(f"/Groups/{one['id']}")
    await scim.patch(two["id"], {"op": "replace", "path": "displayName", "value": "Gamma Team"})
    response = await scim.client.get(f"{BASE}/Users/{b}")
    assert [(g["value"], g["display"]) for g in response.json()["groups"]] == [
        (two["id"], "Gamma Team")
    ]


async def test_users_filter_on_groups_value(scim: Scim) -> None:
    a, b, c = await scim.users(3)
    group = await scim.group("Filter Me", [a, c])
    response = await scim.client.get(
        f"{BASE}/Users", params={"filter": f'groups.value eq "{group["id"]}"'}
    )
    assert response.status_code == 200, response.text
    assert sorted(u["id"] for u in response.json()["Resources"]) == sorted([a, c])
    response = await scim.client.get(
        f"{BASE}/Users", params={"filter": f'groups[value eq "{group["id"]}"]'}
    )
    assert response.json()["totalResults"] == 2
    response = await scim.client.get(f"{BASE}/Users", params={"filter": "groups pr"})
    assert response.json()["totalResults"] == 2
    assert b not in {u["id"] for u in response.json()["Resources"]}


async def test_user_groups_is_read_only(scim: Scim) -> None:
    (a,) = await scim.users(1)
    group = await scim.group("Read Only")
    response = await scim.client.patch(
        f"{BASE}/Users/{a}",
        json={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "add", "path": "groups", "value": [{"value": group["id"]}]}],
        },
    )
    assert_scim_error(response, 400, "mutability")
    assert await scim.member_rows(group["id"]) == []


async def test_deleting_a_group_removes_its_memberships(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Short Lived", [a, b])
    keep = await scim.group("Long Lived", [b])
    response = await scim.client.delete(f"{BASE}/Groups/{group['id']}")
    assert response.status_code == 204
    assert await scim.member_rows(group["id"]) == []
    user_a = (await scim.client.get(f"{BASE}/Users/{a}")).json()
    assert "groups" not in user_a
    user_b = (await scim.client.get(f"{BASE}/Users/{b}")).json()
    assert [g["value"] for g in user_b["groups"]] == [keep["id"]]


async def test_deleting_a_user_removes_them_from_groups(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Survives", [a, b])
    assert (await scim.client.delete(f"{BASE}/Users/{a}")).status_code == 204
    assert member_ids(await scim.get(group["id"])) == [b]


# --- audit --------------------------------------------------------------------------------


async def test_every_group_change_is_audited_with_the_token(scim: Scim) -> None:
    a, b = await scim.users(2)
    group = await scim.group("Audited", [a])
    gid = group["id"]
    await scim.patch(gid, {"op": "add", "path": "members", "value": [{"value": b}]})
    await scim.patch(gid, {"op": "remove", "path": "members", "value": [{"value": a}]})
    await scim.patch(gid, {"op": "replace", "path": "displayName", "value": "Audited 2"})
    response = await scim.client.put(
        f"{BASE}/Groups/{gid}",
        json={"schemas": [GROUP_URN], "displayName": "Audited 3", "members": [{"value": a}]},
    )
    assert response.status_code == 200
    assert (await scim.client.delete(f"{BASE}/Groups/{gid}")).status_code == 204

    events = [
        e for e in reversed(await scim.db.read(audit.recent, limit=100)) if e.target_type == "group"
    ]
    assert [e.action for e in events] == [
        "group.create",
        "group.patch",
        "group.patch",
        "group.patch",
        "group.replace",
        "group.delete",
    ]
    for event in events:
        assert event.actor == f"token:{scim.token.id}"
        assert event.target_id == gid
        assert event.ip == "127.0.0.1"
        assert event.request_id
    create, added, removed, renamed, replaced, deleted = events
    assert create.detail["displayName"] == "Audited"
    assert added.detail["members_added"] == [b]
    assert removed.detail["members_removed"] == [a]
    assert renamed.detail["renamed_from"] == "Audited"
    assert renamed.detail["displayName"] == "Audited 2"
    assert replaced.detail["displayName"] == "Audited 3"
    assert replaced.detail["was"] == "Audited 2"
    assert deleted.detail["displayName"] == "Audited 3"


# --- JumpCloud --------------------------------------------------------------------------


async def test_jumpcloud_test_connection(scim: Scim) -> None:
    """Look up, create a test user and a test group, then delete both."""
    email = "jctest-5f1e0c2a@example.com"
    lookup = await scim.client.get(f"{BASE}/Users", params={"filter": f'userName eq "{email}"'})
    assert lookup.json()["totalResults"] == 0
    user_id = await scim.user(email, name={"givenName": "Test", "familyName": "User"})
    name = "JumpCloud Test Group 5f1e0c2a"
    lookup = await scim.client.get(f"{BASE}/Groups", params={"filter": f'displayName eq "{name}"'})
    assert lookup.json()["totalResults"] == 0
    group = await scim.group(name)
    assert (await scim.client.delete(f"{BASE}/Groups/{group['id']}")).status_code == 204
    assert (await scim.client.delete(f"{BASE}/Users/{user_id}")).status_code == 204
    # and again: nothing left behind makes a second test connection fail
    user_id = await scim.user(email)
    group = await scim.group(name)
    assert (await scim.client.delete(f"{BASE}/Groups/{group['id']}")).status_code == 204
    assert (await scim.client.delete(f"{BASE}/Users/{user_id}")).status_code == 204


async def test_jumpcloud_group_push_takes_over_an_existing_group(scim: Scim) -> None:
    a, b = await scim.users(2)
    existing = await scim.group("Designers", [a])
    found = await scim.find(filter='displayName eq "Designers"', excludedAttributes="members")
    (match,) = found["Resources"]
    assert match["id"] == existing["id"]
    response = await scim.patch(
        match["id"], {"op": "add", "path": "members", "value": [{"value": b}]}
    )
    assert response.status_code == 200
    assert await scim.member_rows(existing["id"]) == sorted([a, b])


# --- big groups: no echo, constant cost ---------------------------------------------------


async def _seed_members(scim: Scim, group_id: str, count: int, prefix: str) -> list[str]:
    """`count` users in the group, inserted directly (fast); returns their ids."""
    ids = [f"{prefix}-{i:06d}" for i in range(count)]
    stamp = "2026-01-01T00:00:00Z"

    def insert(tx: Tx) -> None:
        tx.execute_many(
            "INSERT INTO users (id, user_name, email, resource, created, last_modified)"
            " VALUES (?, ?, ?, '{}', ?, ?)",
            [(uid, f"{uid}@example.com", f"{uid}@example.com", stamp, stamp) for uid in ids],
        )
        tx.execute_many(
            "INSERT INTO group_members (group_id, user_id) VALUES (?, ?)",
            [(group_id, uid) for uid in ids],
        )

    await scim.db.write(insert)
    return ids


async def test_patch_of_a_big_group_answers_204_with_the_etag(
    scim: Scim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scim_groups, "ECHO_MEMBERS_LIMIT", 2)
    a, b, c = await scim.users(3)
    group = await scim.group("Large", [a, b])
    response = await scim.patch(
        group["id"], {"op": "add", "path": "members", "value": [{"value": c}]}
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert response.headers["etag"] == (await scim.get(group["id"]))["meta"]["version"]
    assert await scim.member_rows(group["id"]) == sorted([a, b, c])
    response = await scim.client.patch(
        f"{BASE}/Groups/{group['id']}",
        params={"excludedAttributes": "members"},
        json={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "remove", "path": "members", "value": [{"value": a}]}],
        },
    )
    assert response.status_code == 200, response.text
    assert "members" not in response.json()
    # a small group still echoes its members
    small = await scim.group("Small")
    response = await scim.patch(
        small["id"], {"op": "add", "path": "members", "value": [{"value": a}]}
    )
    assert response.status_code == 200
    assert member_ids(response.json()) == [a]


async def _patch_steps(
    scim: Scim, group_id: str, op: str, user_id: str, params: dict[str, str]
) -> int:
    """SQLite VM instructions the writer connection runs for one member PATCH: a cost that
    does not depend on the machine's speed."""
    steps = 0

    def tick() -> int:
        nonlocal steps
        steps += 1
        return 0

    body = {
        "schemas": [PATCH_URN],
        "Operations": [{"op": op, "path": "members", "value": [{"value": user_id}]}],
    }
    writer = scim.db._writer  # the connection every write transaction runs on
    await writer.set_progress_handler(tick, 1)
    try:
        response = await scim.client.patch(f"{BASE}/Groups/{group_id}", params=params, json=body)
    finally:
        await writer.set_progress_handler(None, 1)  # type: ignore[arg-type]
    assert response.status_code in (200, 204), response.text
    return steps


@pytest.mark.parametrize("excluded", [False, True])
async def test_adding_or_removing_one_member_costs_the_same_in_any_group(
    scim: Scim, monkeypatch: pytest.MonkeyPatch, excluded: bool
) -> None:
    monkeypatch.setattr(scim_groups, "ECHO_MEMBERS_LIMIT", 5)
    params = {"excludedAttributes": "members"} if excluded else {}
    costs: dict[int, tuple[int, int]] = {}
    for size in (10, 3000):
        group = await scim.group(f"Size {size}")
        await _seed_members(scim, group["id"], size, f"s{size}")
        newcomer = await scim.user(f"new{size}@example.com")
        add = await _patch_steps(scim, group["id"], "add", newcomer, params)
        assert newcomer in await scim.member_rows(group["id"])
        remove = await _patch_steps(scim, group["id"], "remove", newcomer, params)
        assert newcomer not in await scim.member_rows(group["id"])
        costs[size] = (add, remove)
    (small_add, small_remove), (big_add, big_remove) = costs[10], costs[3000]
    # A deeper B-tree may add a few steps; anything proportional to the group adds thousands.
    assert big_add <= small_add + 50, costs
    assert big_remove <= small_remove + 50, costs
