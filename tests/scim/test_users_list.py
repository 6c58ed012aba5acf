"""GET /scim/v2/Users and POST /Users/.search: filters, sorting, paging and projection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from app.config import Config
from tests.scim.client import Scim, assert_scim_error, scim_app
from tests.scim.wire import ENTERPRISE_URN, LIST_URN, SEARCH_URN, USER_URN, user_body

pytestmark = pytest.mark.anyio

PEOPLE: list[dict[str, Any]] = [
    user_body(
        "ada@example.com",
        externalId="jc-ada",
        name={"givenName": "Ada", "familyName": "Lovelace"},
        emails=[
            {"value": "ada@example.com", "type": "work", "primary": True},
            {"value": "ada@home.example", "type": "home"},
        ],
    ),
    user_body(
        "grace@example.com",
        externalId="jc-grace",
        name={"givenName": "Grace", "familyName": "Hopper"},
        emails=[{"value": "grace@navy.example", "type": "home"}],
        title="Rear Admiral",
    ),
    user_body(
        "alan@example.com",
        externalId="JC-ALAN",
        name={"givenName": "Alan", "familyName": "Turing"},
        active=False,
    ),
    user_body(
        "edsger@example.com",
        name={"givenName": "Edsger", "familyName": "Dijkstra"},
        **{ENTERPRISE_URN: {"department": "Algorithms"}},
    ),
]


@pytest.fixture
async def scim(make_config: Callable[..., Config]) -> AsyncIterator[Scim]:
    async with scim_app(make_config, scim={"max_page_size": 3, "default_page_size": 2}) as s:
        for person in PEOPLE:
            await s.create_user(person)
        yield s


async def _names(scim: Scim, **params: Any) -> list[str]:
    body = await scim.list_users(count=3, **params)
    return [r["userName"] for r in body["Resources"]]


def _assert_list(body: dict[str, Any], total: int, items: int, start: int = 1) -> None:
    assert body["schemas"] == [LIST_URN]
    for key in ("totalResults", "itemsPerPage", "startIndex"):
        assert type(body[key]) is int, (key, body[key])
    assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (total, items, start)
    assert len(body.get("Resources", [])) == items


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ('userName eq "ada@example.com"', ["ada@example.com"]),
        ('userName eq "ADA@Example.COM"', ["ada@example.com"]),  # caseExact false
        ('USERNAME EQ "grace@example.com"', ["grace@example.com"]),  # names and ops too
        ('externalId eq "jc-grace"', ["grace@example.com"]),
        ('externalId eq "jc-alan"', []),  # externalId is caseExact
        ('emails.value eq "grace@navy.example"', ["grace@example.com"]),
        ('emails.value eq "ADA@HOME.example"', ["ada@example.com"]),
        ('emails[type eq "work"]', ["ada@example.com", "alan@example.com", "edsger@example.com"]),
        ('emails[type eq "home" and value co "navy"]', ["grace@example.com"]),
        ('name.familyName co "o"', ["ada@example.com", "grace@example.com"]),
        ('name.familyName co "OPP"', ["grace@example.com"]),
        ('name.givenName sw "a"', ["ada@example.com", "alan@example.com"]),
        ("active eq false", ["alan@example.com"]),
        ('active eq true and name.givenName sw "A"', ["ada@example.com"]),
        (
            'userName eq "ada@example.com" or externalId eq "jc-grace"',
            ["ada@example.com", "grace@example.com"],
        ),
        ('not (userName sw "a") and active eq true', ["grace@example.com", "edsger@example.com"]),
        ("title pr", ["grace@example.com"]),
        (f'{ENTERPRISE_URN}:department eq "algorithms"', ["edsger@example.com"]),
        (
            f'{USER_URN}:userName eq "alan@example.com"',
            ["alan@example.com"],
        ),
        ('userName eq "nobody@example.com"', []),
    ],
)
async def test_filters(scim: Scim, filter: str, expected: list[str]) -> None:
    body = await scim.list_users(filter=filter, count=10)
    _assert_list(body, len(expected), min(len(expected), 3))
    assert [r["userName"] for r in body["Resources"]] == expected[:3]


async def test_okta_and_jumpcloud_lookups_answer_an_empty_list_when_absent(scim: Scim) -> None:
    body = await scim.list_users(filter='userName eq "new@example.com"', count=100)
    _assert_list(body, 0, 0)
    assert body.get("Resources", []) == []


@pytest.mark.parametrize(
    "filter",
    [
        'userName eq "unterminated',
        "userName eq",
        'userName zz "x"',
        '(userName eq "x"',
        'userName eq "x" and',
        "userName eq unquoted",
        'emails[type eq "work"',
        'nosuchattribute eq "x"',
        'name.nosuch eq "x"',
        'urn:example:unknown:thing eq "x"',
        'emails[nosuch eq "x"]',
    ],
)
async def test_bad_filters_are_400_invalid_filter(scim: Scim, filter: str) -> None:
    response = await scim.get("/Users", params={"filter": filter})
    assert_scim_error(response, 400, "invalidFilter")


@pytest.mark.parametrize("filter", ["", " "])
async def test_an_empty_filter_is_no_filter_at_all(scim: Scim, filter: str) -> None:
    response = await scim.get("/Users", params={"filter": filter, "count": 3})
    assert response.status_code == 200, response.text
    _assert_list(response.json(), 4, 3)  # every user, as without a filter


async def test_sorting(scim: Scim) -> None:
    assert await _names(scim, sortBy="userName") == [
        "ada@example.com",
        "alan@example.com",
        "edsger@example.com",
    ]
    assert await _names(scim, sortBy="name.familyName", sortOrder="descending") == [
        "alan@example.com",
        "ada@example.com",
        "grace@example.com",
    ]
    assert await _names(scim, sortBy="emails.value", sortOrder="ASCENDING") == [
        "ada@example.com",
        "alan@example.com",
        "edsger@example.com",
    ]
    assert_scim_error(
        await scim.get("/Users", params={"sortBy": "userName", "sortOrder": "sideways"}),
        400,
        "invalidValue",
    )
    assert_scim_error(await scim.get("/Users", params={"sortBy": "nosuch"}), 400, "invalidFilter")


async def test_paging_is_stable_and_complete(scim: Scim) -> None:
    seen: list[str] = []
    for start in (1, 2, 3, 4, 5):
        body = await scim.list_users(startIndex=start, count=1)
        _assert_list(body, 4, 1 if start <= 4 else 0, start)
        seen += [r["id"] for r in body["Resources"]]
    assert len(seen) == len(set(seen)) == 4
    everything = await scim.list_users(count=3)
    assert [r["id"] for r in everything["Resources"]] == seen[:3]
    second = await scim.list_users(count=3, startIndex=4)
    assert [r["id"] for r in second["Resources"]] == seen[3:]


async def test_count_zero_default_and_cap(scim: Scim) -> None:
    zero = await scim.list_users(count=0)
    _assert_list(zero, 4, 0)
    default = await scim.list_users()
    _assert_list(default, 4, 2)  # default_page_size
    capped = await scim.list_users(count=1000)
    _assert_list(capped, 4, 3)  # max_page_size
    negative = await scim.list_users(count=-5, startIndex=-3)
    _assert_list(negative, 4, 0)  # negatives mean 0 and 1 (RFC 7644 §3.4.2.4)
    beyond = await scim.list_users(startIndex=100)
    _assert_list(beyond, 4, 0, 100)
    for bad in ({"count": "many"}, {"startIndex": "1.5"}, {"count": "0x10"}, {"count": "²"}):
        assert_scim_error(await scim.get("/Users", params=bad), 400, "invalidValue")


async def test_huge_start_index_is_no_error(scim: Scim) -> None:
    body = await scim.list_users(startIndex=10**18 - 1)  # 18 digits: the limit
    assert body["totalResults"] == 4 and body["Resources"] == []
    assert type(body["startIndex"]) is int


@pytest.mark.parametrize("name", ["startIndex", "count"])
async def test_an_index_past_the_digit_limit_is_400_naming_it(scim: Scim, name: str) -> None:
    for digits in (19, 5000):
        response = await scim.get("/Users", params={name: "9" * digits})
        assert_scim_error(response, 400, "invalidValue")
        assert "max_integer_digits" in response.json()["detail"]


async def test_projection_in_lists(scim: Scim) -> None:
    body = await scim.list_users(attributes="userName,password", sortBy="userName", count=3)
    _assert_list(body, 4, 3)  # the loops below check three resources, not none
    for resource in body["Resources"]:
        assert set(resource) == {"schemas", "id", "userName"}
    body = await scim.list_users(excludedAttributes="emails,name,id", count=3)
    _assert_list(body, 4, 3)
    for resource in body["Resources"]:
        assert "emails" not in resource and "name" not in resource
        assert "id" in resource and "password" not in resource
    body = await scim.list_users(
        filter='userName eq "edsger@example.com"', attributes=f"{ENTERPRISE_URN}:department"
    )
    [edsger] = body["Resources"]
    assert edsger[ENTERPRISE_URN] == {"department": "Algorithms"}
    assert "userName" not in edsger


async def test_search_by_post(scim: Scim) -> None:
    request = {
        "schemas": [SEARCH_URN],
        "filter": 'name.familyName co "o"',
        "attributes": ["userName"],
        "sortBy": "userName",
        "sortOrder": "descending",
        "startIndex": 1,
        "count": 10,
    }
    response = await scim.post("/Users/.search", request)
    assert response.status_code == 200, response.text
    body = response.json()
    _assert_list(body, 2, 2)
    assert [r["userName"] for r in body["Resources"]] == ["grace@example.com", "ada@example.com"]
    assert all(set(r) == {"schemas", "id", "userName"} for r in body["Resources"])
    bad = await scim.post("/Users/.search", {"schemas": [SEARCH_URN], "filter": "userName eq"})
    assert_scim_error(bad, 400, "invalidFilter")
    wrong = await scim.post("/Users/.search", {"schemas": [SEARCH_URN], "count": "ten"})
    assert_scim_error(wrong, 400, "invalidValue")
    assert_scim_error(await scim.post("/Users/.search", [1, 2]), 400, "invalidSyntax")


async def test_filters_never_reveal_passwords(scim: Scim) -> None:
    await scim.create_user(user_body("kurt@example.com", password="Incomplete-1931"))
    for filter in ('password eq "Incomplete-1931"', 'password sw "I"', "password pr"):
        response = await scim.get("/Users", params={"filter": filter})
        if response.status_code == 200:
            assert response.json()["totalResults"] == 0, filter
        else:
            assert_scim_error(response, 400, "invalidFilter")
