"""The admin console: who gets in, and the API-token steps of the JumpCloud setup page."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from app.config import Config
from app.store import tokens
from tests.auth.sso import Sso, sso_app
from tests.conftest import new_token
from tests.scim.client import scim_beside

pytestmark = pytest.mark.anyio

ADA = "ada@example.com"  # the fake provider's default user
PAGES = [
    "/admin",
    "/admin/",
    "/admin/settings",
    "/admin/api-tokens",
    "/admin/users",
    "/admin/groups",
    "/admin/audit",
]


@pytest.fixture
async def admin(make_config: Callable[..., Config]) -> AsyncIterator[Sso]:
    async with sso_app(make_config, access={"admin_emails": [ADA.upper()]}) as sso:
        await sso.signed_in()
        yield sso


@pytest.fixture
async def member(make_config: Callable[..., Config]) -> AsyncIterator[Sso]:
    async with sso_app(make_config, access={"admin_emails": ["someone-else@example.com"]}) as sso:
        await sso.signed_in()
        yield sso


@pytest.mark.parametrize("path", PAGES)
async def test_anonymous_visitors_are_sent_to_sign_in(
    make_config: Callable[..., Config], path: str
) -> None:
    async with sso_app(make_config) as sso:
        response = await sso.client.get(path)
    assert response.status_code == 302
    assert response.headers["location"].startswith(
        "/api/auth/signin/jumpcloud?callbackUrl=%2Fadmin"
    )


@pytest.mark.parametrize("path", PAGES)
async def test_members_who_are_not_administrators_are_refused(member: Sso, path: str) -> None:
    response = await member.client.get(path)
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "administrators" in response.text and "admin_emails" not in response.text
    assert response.headers["x-request-id"] in response.text


async def test_posting_a_token_form_as_a_member_is_refused(member: Sso) -> None:
    token = await member.csrf_token()
    response = await member.client.post("/admin/api-tokens", data={"csrfToken": token, "name": "x"})
    assert response.status_code == 403
    assert await member.db.read(tokens.list_tokens) == []


@pytest.mark.parametrize("path", PAGES)
async def test_administrators_see_every_page(admin: Sso, path: str) -> None:
    response = await admin.client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"


async def test_overview_shows_what_to_paste_into_jumpcloud(admin: Sso) -> None:
    page = (await admin.client.get("/admin")).text
    assert "http://127.0.0.1:8080/api/auth/callback/jumpcloud" in page
    assert "http://127.0.0.1:8080/scim/v2" in page
    assert "Client Secret Basic" in page


async def test_settings_never_show_the_client_secret(admin: Sso) -> None:
    page = (await admin.client.get("/admin/settings")).text
    assert "test-client" in page and "JumpCloud" in page
    assert "test-client-secret" not in page


async def test_generate_token_shows_it_once_and_stores_only_its_hash(admin: Sso) -> None:
    csrf = await admin.csrf_token()
    posted = await admin.client.post(
        "/admin/api-tokens",
        data={"csrfToken": csrf, "name": "JumpCloud SCIM", "scope": "admin:scim"},
    )
    assert posted.status_code == 303 and posted.headers["location"] == "/admin/api-tokens"
    assert "wxt_" not in posted.text
    page = await admin.client.get("/admin/api-tokens")
    assert page.status_code == 200
    shown = re.findall(r"wxt_[A-Za-z0-9_-]{43}", page.text)
    assert len(set(shown)) == 1
    plaintext = shown[0]
    assert (
        "You won't be able to see it again" in page.text
        or "You won&#39;t be able to see it again" in page.text
    )

    # It works against SCIM, it is stored hashed, and the list never shows it again.
    scim = await admin.client.get(
        "/scim/v2/Users", headers={"Authorization": f"Bearer {plaintext}"}
    )
    assert scim.status_code == 200
    with sqlite3.connect(admin.config.database.path) as conn:
        stored = conn.execute("SELECT hash, prefix, name, created_by FROM api_tokens").fetchall()
    assert len(stored) == 1 and stored[0][0] == tokens.hash_token(plaintext)
    assert stored[0][2] == "JumpCloud SCIM" and stored[0][3].startswith("user:")
    listing = (await admin.client.get("/admin/api-tokens")).text
    assert plaintext not in listing and stored[0][1] in listing
    assert [e.detail["name"] for e in await admin.events("token.create")] == ["JumpCloud SCIM"]


async def test_generate_without_csrf_token_is_refused(admin: Sso) -> None:
    response = await admin.client.post("/admin/api-tokens", data={"name": "sneaky"})
    assert response.status_code == 403
    other_site = await admin.client.post(
        "/admin/api-tokens",
        data={"csrfToken": await admin.csrf_token(), "name": "sneaky"},
        headers={"Origin": "https://evil.example"},
    )
    assert other_site.status_code == 403
    assert await admin.db.read(tokens.list_tokens) == []


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "  "}, "needs a name"),
        ({"name": "x" * 101}, "needs a name"),
        ({"name": "ok", "scope": "root"}, "unknown scope"),
    ],
)
async def test_bad_token_forms_explain_themselves(
    admin: Sso, form: dict[str, str], message: str
) -> None:
    response = await admin.client.post(
        "/admin/api-tokens", data={"csrfToken": await admin.csrf_token(), **form}
    )
    assert response.status_code == 400
    assert message in response.text
    assert await admin.db.read(tokens.list_tokens) == []


async def test_revoke_stops_the_token_at_once(admin: Sso) -> None:
    token, plaintext = await new_token(admin.db, "old")
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert (await admin.client.get("/scim/v2/Users", headers=headers)).status_code == 200
    response = await admin.client.post(
        "/admin/api-tokens",
        data={"csrfToken": await admin.csrf_token(), "action": "revoke", "id": token.id},
    )
    assert response.status_code == 303
    assert (await admin.client.get("/scim/v2/Users", headers=headers)).status_code == 401
    assert [e.target_id for e in await admin.events("token.revoke")] == [token.id]
    missing = await admin.client.post(
        "/admin/api-tokens",
        data={"csrfToken": await admin.csrf_token(), "action": "revoke", "id": "nope"},
    )
    assert missing.status_code == 400


async def test_users_groups_and_audit_pages_list_what_scim_pushed(admin: Sso) -> None:
    async with scim_beside(admin) as scim:
        user = await scim.create_user(
            {
                "userName": "grace@example.com",
                "name": {"givenName": "Grace", "familyName": "<b>Hopper</b>"},
            }
        )
        await scim.group("Engineering", [user["id"]])
    users_page = (await admin.client.get("/admin/users", params={"q": "grace"})).text
    assert "grace@example.com" in users_page and "Engineering" in users_page
    assert "<b>Hopper</b>" not in users_page and "&lt;b&gt;Hopper&lt;/b&gt;" in users_page
    assert users_page.count(ADA) == 1  # only in the header: the search filtered her out
    assert "Engineering" in (await admin.client.get("/admin/groups")).text
    audit_page = (await admin.client.get("/admin/audit")).text
    assert (
        "user.create" in audit_page and "group.create" in audit_page and "auth.signin" in audit_page
    )


async def test_a_reload_neither_shows_the_token_again_nor_mints_another(admin: Sso) -> None:
    csrf = await admin.csrf_token()
    await admin.client.post(
        "/admin/api-tokens", data={"csrfToken": csrf, "name": "once", "scope": "admin:scim"}
    )
    first = await admin.client.get("/admin/api-tokens")
    assert re.search(r"wxt_[A-Za-z0-9_-]{43}", first.text)
    again = await admin.client.get("/admin/api-tokens")
    assert not re.search(r"wxt_[A-Za-z0-9_-]{43}", again.text)
    assert [t.name for t in await admin.db.read(tokens.list_tokens)] == ["once"]


async def test_a_new_token_is_shown_only_to_the_session_that_made_it(
    make_config: Callable[..., Config],
) -> None:
    async with sso_app(make_config, access={"admin_emails": [ADA]}) as sso:
        await sso.signed_in()
        csrf = await sso.csrf_token()
        await sso.client.post(
            "/admin/api-tokens", data={"csrfToken": csrf, "name": "mine", "scope": "admin:scim"}
        )
        sso.client.cookies.clear()
        await sso.signed_in()  # the same administrator, another session (another browser)
        page = await sso.client.get("/admin/api-tokens")
        assert "mine" in page.text
        assert not re.search(r"wxt_[A-Za-z0-9_-]{43}", page.text)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/users?page=²",
        "/admin/users?page=-3",
        "/admin/users?page=9" * 20,
        "/admin/audit?before=²",
        "/admin/audit?before=x",
    ],
)
async def test_odd_paging_parameters_fall_back_instead_of_failing(admin: Sso, path: str) -> None:
    response = await admin.client.get(path)
    assert response.status_code == 200, response.text


def _admin_routes(sso: Sso) -> list[tuple[str, str]]:
    """Every (method, path) the app serves under /admin, ids filled with a made-up one."""
    found = []
    for route in sso.app.routes:
        path = getattr(route, "path", "")
        if path.startswith("/admin"):
            for method in sorted(getattr(route, "methods", None) or {"GET"}):
                if method != "HEAD":
                    found.append((method, path.replace("{id}", str(uuid.uuid4()))))
    return found


async def test_every_admin_route_refuses_members_and_sends_visitors_to_sign_in(
    member: Sso, make_config: Callable[..., Config]
) -> None:
    """Not only the pages: every route under /admin, whatever its method, read from the
    app's own route table (a route added later is covered without editing this test)."""
    routes = _admin_routes(member)
    assert len(routes) >= 15 and ("POST", "/admin/settings/test-connection") in routes
    csrf = await member.csrf_token()
    for method, path in routes:
        response = await member.client.request(method, path, data={"csrfToken": csrf})
        assert response.status_code == 403, (method, path, response.status_code)
        assert "Administrators only" in response.text
    async with sso_app(make_config) as visitor:
        for method, path in routes:
            response = await visitor.client.request(method, path)
            assert response.status_code == 302, (method, path, response.status_code)
            assert response.headers["location"].startswith("/api/auth/signin/jumpcloud?")


async def test_recent_activity_names_who_did_it(admin: Sso) -> None:
    """The overview shows the administrator by email and a group's history the SCIM token by
    name, each with its id on hover, never the bare id."""
    csrf = await admin.csrf_token()
    form = {"csrfToken": csrf, "action": "create", "name": "Named", "scope": "admin:scim"}
    assert (await admin.client.post("/admin/api-tokens", data=form)).status_code == 303
    user = await admin.user_by_email(ADA)
    assert user is not None
    page = (await admin.client.get("/admin")).text
    assert f'title="user:{user.id}">{ADA}<' in page
    assert f">user:{user.id}<" not in page
    async with scim_beside(admin) as scim:
        group = await scim.group("Named group")
        token = await scim.db.read(tokens.get, scim.token_id)
    assert token is not None
    page = (await admin.client.get(f"/admin/groups/{group['id']}")).text
    assert f'title="token:{token.id}">{token.name}<' in page
    assert f">token:{token.id}<" not in page


async def test_a_refusal_is_audited_so_its_request_id_can_be_found(member: Sso) -> None:
    refused = await member.client.get("/admin/users?q=x")
    assert refused.status_code == 403
    request_id = refused.headers["x-request-id"]
    assert request_id in refused.text  # the page tells the employee to quote it
    [event] = [e for e in await member.events("admin.refused") if e.request_id == request_id]
    user_id = (await member.session())["user"]["id"]
    assert event.actor == f"user:{user_id}"
    assert event.detail == {"method": "GET", "path": "/admin/users"}


async def test_refusals_are_audited_once_a_minute_per_session(member: Sso) -> None:
    for _ in range(5):
        assert (await member.client.get("/admin")).status_code == 403
    assert len(await member.events("admin.refused")) == 1  # a loop cannot flood the log
