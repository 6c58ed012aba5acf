"""After the callback: who may sign in, server-side sessions, the dashboard and sign-out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from app.config import Config
from app.db import Tx
from app.store import groups as group_store
from app.store import sessions as session_store
from tests.auth.sso import (
    SIGNIN,
    Sso,
    new_fake,
    restore_cookies,
    saved_cookies,
    session_cookie_set,
    sso_app,
)

pytestmark = pytest.mark.anyio

ADA = "ada@example.com"


def _stamp(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def _session_cookie(response: Any) -> str:
    [cookie] = [c for c in response.headers.get_list("set-cookie") if "webrix-session=" in c]
    return str(cookie)


# -- who may sign in ----------------------------------------------------------------------------


async def test_jit_creates_an_unknown_user(sso: Sso) -> None:
    await sso.signed_in()
    user = await sso.user_by_email(ADA)
    assert user is not None
    assert (user.source, user.oidc_sub, user.active) == ("jit", sso.fake.user["sub"], True)
    assert (user.given_name, user.family_name) == ("Ada", "Lovelace")
    [created] = await sso.events("user.create.jit")
    assert created.target_id == user.id
    # The next sign-in finds the same user by sub.
    await sso.signed_in()
    assert (await sso.session())["user"]["id"] == user.id


async def test_jit_off_refuses_an_unknown_user(make_config: Callable[..., Config]) -> None:
    async with sso_app(make_config, access={"jit_provisioning": False}) as sso:
        response = await sso.sign_in()
        await sso.assert_refused(response, 403, "not_provisioned", "No Webrix account")
        assert await sso.user_by_email(ADA) is None


async def test_scim_user_matched_by_email_case_insensitively_and_linked(sso: Sso) -> None:
    scim = await sso.add_user("Ada@Example.COM")
    await sso.signed_in()
    assert (await sso.session())["user"]["id"] == scim.id
    linked = await sso.user_by_email(ADA)
    assert linked is not None
    assert (linked.id, linked.oidc_sub, linked.source) == (scim.id, sso.fake.user["sub"], "scim")
    # Linked by sub from now on, even if the email claim changes.
    sso.fake.user = {**sso.fake.user, "email": "ada.lovelace@example.com"}
    await sso.signed_in()
    assert (await sso.session())["user"]["id"] == scim.id


async def test_jit_off_admits_a_provisioned_user(make_config: Callable[..., Config]) -> None:
    async with sso_app(make_config, access={"jit_provisioning": False}) as sso:
        await sso.add_user(ADA)
        await sso.signed_in()


async def test_email_linked_to_another_sub_is_refused(sso: Sso) -> None:
    await sso.add_user(ADA, sub="another-subject")
    response = await sso.sign_in()
    await sso.assert_refused(response, 403, "email_linked_elsewhere", "Account mismatch")


async def test_unverified_email_is_never_linked_to_an_existing_account(sso: Sso) -> None:
    """Linking by email trusts the email: a provider that says it is unverified gets no match."""
    scim = await sso.add_user(ADA)
    response = await sso.sign_in(user={**sso.fake.user, "email_verified": False})
    await sso.assert_refused(response, 403, "email_unverified", "not verified")
    linked = await sso.user_by_email(ADA)
    assert linked is not None and linked.id == scim.id and linked.oidc_sub is None


@pytest.mark.parametrize("claim", ["false", "False", None, "yes", 1, "TRUE "])
async def test_linking_needs_email_verified_true(sso: Sso, claim: Any) -> None:
    """Only the boolean true or the string "true" links: "false", a missing claim or any other
    value gets no match (and so no admin-by-email either)."""
    scim = await sso.add_user(ADA)
    user = {k: v for k, v in sso.fake.user.items() if k != "email_verified"}
    if claim is not None:
        user["email_verified"] = claim
    response = await sso.sign_in(user=user)
    await sso.assert_refused(response, 403, "email_unverified", "not verified")
    linked = await sso.user_by_email(ADA)
    assert linked is not None and linked.id == scim.id and linked.oidc_sub is None


@pytest.mark.parametrize("claim", ["false", None])
async def test_no_account_is_created_for_an_unverified_email(sso: Sso, claim: Any) -> None:
    user = {k: v for k, v in sso.fake.user.items() if k != "email_verified"}
    if claim is not None:
        user["email_verified"] = claim
    response = await sso.sign_in(user=user)
    await sso.assert_refused(response, 403, "email_unverified", "not verified")
    assert await sso.user_by_email(ADA) is None


@pytest.mark.parametrize("claim", [True, "true", "True"])
async def test_a_verified_email_links_and_creates(sso: Sso, claim: Any) -> None:
    await sso.add_user(ADA)
    response = await sso.sign_in(user={**sso.fake.user, "email_verified": claim})
    assert response.status_code == 303, response.text
    linked = await sso.user_by_email(ADA)
    assert linked is not None and linked.oidc_sub is not None


async def test_a_linked_subject_signs_in_whatever_the_email_claim(sso: Sso) -> None:
    await sso.signed_in()  # linked, with a verified email
    sso.client.cookies.clear()
    response = await sso.sign_in(user={**sso.fake.user, "email_verified": False})
    assert response.status_code == 303, response.text


async def test_jit_without_an_email_claim_is_refused(sso: Sso) -> None:
    user = {k: v for k, v in sso.fake.user.items() if k not in ("email", "email_verified")}
    sso.fake.email_in_id_token = True
    response = await sso.sign_in(user=user)
    await sso.assert_refused(response, 400, "no_email", "Email scope")
    assert await sso.user_by_email(ADA) is None


async def test_deactivated_user_is_refused(sso: Sso) -> None:
    await sso.add_user(ADA, active=False)
    response = await sso.sign_in()
    await sso.assert_refused(response, 403, "deactivated", "deactivated")
    user = await sso.user_by_email(ADA)
    assert user is not None and user.oidc_sub is None  # nothing was linked
    # The refusal names the account: it shows in that user's history and target filter.
    [event] = await sso.events("auth.signin.refused")
    assert (event.target_type, event.target_id) == ("user", user.id)


async def test_a_refusal_without_an_account_has_no_target(sso: Sso) -> None:
    response = await sso.sign_in(error="access_denied")
    assert response.status_code == 400
    [event] = await sso.events("auth.signin.refused")
    assert (event.target_type, event.target_id) == (None, None)


async def test_deactivation_ends_an_open_session_at_once(sso: Sso) -> None:
    await sso.signed_in()
    user_id = (await sso.session())["user"]["id"]
    await sso.db.execute("UPDATE users SET active = 0 WHERE id = ?", (user_id,))
    assert await sso.session() == {}
    response = await sso.client.get("/")
    assert response.status_code == 302
    assert response.headers["location"].startswith(SIGNIN)
    response = await sso.sign_in()
    await sso.assert_refused(response, 403, "deactivated", "deactivated")


async def test_delete_for_user_ends_every_session(sso: Sso) -> None:
    await sso.signed_in()
    user_id = (await sso.session())["user"]["id"]
    first = saved_cookies(sso.client)
    sso.client.cookies.clear()
    await sso.signed_in()  # a second browser
    assert await sso.db.write(session_store.delete_for_user, user_id) == 2
    assert await sso.session() == {}
    restore_cookies(sso.client, first)
    assert await sso.session() == {}


# -- sessions -----------------------------------------------------------------------------------


async def test_session_cookie_attributes_on_http(sso: Sso) -> None:
    cookie = _session_cookie(await sso.signed_in())
    assert cookie.startswith("webrix-session=")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/" in cookie
    assert "Secure" not in cookie and "Domain" not in cookie
    assert "Max-Age=43200" in cookie


async def test_session_cookie_attributes_on_https(make_config: Callable[..., Config]) -> None:
    url = "https://webrix.example.com"
    async with sso_app(make_config, base_url=url, server={"public_url": url}) as sso:
        response = await sso.client.get(SIGNIN, params={"callbackUrl": "/"})
        [login] = response.headers.get_list("set-cookie")
        assert login.startswith("__Host-webrix-login-") and "Secure" in login
        params = sso.fake.authorize(response.headers["location"])
        assert params and parse_qs(urlsplit(response.headers["location"]).query)[
            "redirect_uri"
        ] == [f"{url}/api/auth/callback/jumpcloud"]
        done = await sso.callback(params)
        assert done.status_code == 303
        cookie = _session_cookie(done)
        assert cookie.startswith("__Host-webrix-session=")
        assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
        assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
        assert (await sso.session())["user"]["email"] == ADA


async def test_no_token_in_the_cookie(sso: Sso) -> None:
    cookie = _session_cookie(await sso.signed_in())
    value = cookie.split(";")[0].split("=", 1)[1]
    assert len(value) < 120  # a signed random id, not an ID token
    [row] = await sso.db.fetch_all("SELECT id_token FROM sessions")
    assert row["id_token"].count(".") == 2  # kept server-side for id_token_hint


async def test_session_id_rotates_at_every_sign_in(sso: Sso) -> None:
    first = _session_cookie(await sso.signed_in())
    old = saved_cookies(sso.client)
    second = _session_cookie(await sso.signed_in())
    assert first.split(";")[0] != second.split(";")[0]
    # The session signed in over is gone, not merely forgotten by this browser.
    restore_cookies(sso.client, old)
    assert await sso.session() == {}
    rows = await sso.db.fetch_all("SELECT id_hash FROM sessions")
    assert len(rows) == 1


async def test_idle_timeout(sso: Sso) -> None:
    await sso.signed_in()
    # Recent activity refreshes last_seen ...
    await sso.db.execute("UPDATE sessions SET last_seen = ?", (_stamp(-timedelta(minutes=119)),))
    assert (await sso.session())["user"]["email"] == ADA
    [row] = await sso.db.fetch_all("SELECT last_seen FROM sessions")
    assert row["last_seen"] >= _stamp(-timedelta(minutes=1))
    # ... and two hours without any ends the session.
    await sso.db.execute("UPDATE sessions SET last_seen = ?", (_stamp(-timedelta(minutes=121)),))
    assert await sso.session() == {}
    assert (await sso.client.get("/")).status_code == 302


async def test_absolute_lifetime(make_config: Callable[..., Config]) -> None:
    session = {"lifetime_minutes": 60, "idle_timeout_minutes": 30}
    async with sso_app(make_config, session=session) as sso:
        response = await sso.signed_in()
        assert "Max-Age=3600" in _session_cookie(response)
        [row] = await sso.db.fetch_all("SELECT created, expires FROM sessions")
        assert row["expires"] > _stamp(timedelta(minutes=59))
        assert row["expires"] <= _stamp(timedelta(minutes=61))
        await sso.db.execute("UPDATE sessions SET expires = ?", (_stamp(-timedelta(seconds=1)),))
        assert await sso.session() == {}
        assert (await sso.client.get("/")).status_code == 302


async def test_session_json_shape(make_config: Callable[..., Config]) -> None:
    async with sso_app(make_config, access={"admin_emails": ["ADA@example.com"]}) as sso:
        assert await sso.session() == {}
        await sso.signed_in()
        response = await sso.client.get("/api/auth/session")
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert set(body) == {"user", "groups", "admin", "expires"}
        assert set(body["user"]) == {"id", "name", "email", "image"}
        assert body["user"]["name"] == "Ada Lovelace"
        assert body["admin"] is True and body["groups"] == []
        assert body["expires"].endswith("Z")


# -- dashboard ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "shown"),
    [
        pytest.param("Engineering", "Engineering", id="string"),
        pytest.param(["Engineering", "Webrix Admins"], "Engineering, Webrix Admins", id="list"),
    ],
)
async def test_groups_claim_string_or_list_on_the_dashboard(
    sso: Sso, claim: str | list[str], shown: str
) -> None:
    sso.fake.user = {**sso.fake.user, "groups": claim}
    await sso.signed_in()
    page = await sso.client.get("/")
    assert page.status_code == 200
    assert shown in page.text
    assert "Ada Lovelace" in page.text and ADA in page.text


async def test_dashboard_shows_scim_groups(sso: Sso) -> None:
    user = await sso.add_user(ADA)

    def finance(tx: Tx) -> None:
        group = group_store.create(tx, "Finance", None, '{"displayName": "Finance"}')
        group_store.add_members(tx, group.id, [user.id])

    await sso.db.write(finance)
    await sso.signed_in()
    page = await sso.client.get("/")
    assert "Finance" in page.text
    assert (await sso.session())["groups"] == ["Finance"]


async def test_dashboard_escapes_names(sso: Sso) -> None:
    sso.fake.user = {**sso.fake.user, "given_name": "<script>alert(1)</script>"}
    await sso.signed_in()
    page = await sso.client.get("/")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_signed_out_page(sso: Sso) -> None:
    page = await sso.client.get("/signed-out")
    assert page.status_code == 200 and "signed out" in page.text


# -- sign-out -----------------------------------------------------------------------------------


async def test_signout_requires_the_csrf_token(sso: Sso) -> None:
    await sso.signed_in()
    for data in ({}, {"csrfToken": "wrong"}):
        response = await sso.client.post("/api/auth/signout", data=data)
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["x-request-id"] in response.text
        assert (await sso.session())["user"]["email"] == ADA
    token = await sso.csrf_token()
    cross_site = await sso.client.post(
        "/api/auth/signout",
        data={"csrfToken": token},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    assert (await sso.session())["user"]["email"] == ADA


async def test_a_mixed_case_public_url_still_accepts_its_own_forms(
    make_config: Callable[..., Config],
) -> None:
    """Browsers send the Origin in lower case: a public_url written "HTTP://LocalHost:8080"
    must match it (it used to be compared as written, and every form was refused)."""
    base = "http://localhost:8080"
    server = {"public_url": "HTTP://LocalHost:8080", "secret_key": "k" * 40}
    async with sso_app(make_config, base_url=base, server=server) as sso:
        await sso.signed_in()
        token = await sso.csrf_token()
        signed_out = await sso.client.post(
            "/api/auth/signout", data={"csrfToken": token}, headers={"Origin": base}
        )
        assert signed_out.status_code == 303, signed_out.text
        assert await sso.session() == {}


async def test_signout_ends_the_session_and_logs_out_at_the_provider(
    make_config: Callable[..., Config],
) -> None:
    after = "http://127.0.0.1:8080/signed-out"
    async with sso_app(make_config, jumpcloud={"post_logout_redirect_uri": after}) as sso:
        await sso.signed_in()
        [row] = await sso.db.fetch_all("SELECT id_token FROM sessions")
        page = await sso.client.get("/")
        token = await sso.csrf_token()
        assert f'value="{token}"' in page.text  # the dashboard's sign-out form carries it
        response = await sso.client.post("/api/auth/signout", data={"csrfToken": token})
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith(sso.fake.url("/oauth2/sessions/logout") + "?")
        query = parse_qs(urlsplit(location).query)
        assert query["id_token_hint"] == [row["id_token"]]
        assert query["post_logout_redirect_uri"] == [after]
        assert not session_cookie_set(response)
        assert await sso.session() == {}
        assert await sso.db.fetch_all("SELECT * FROM sessions") == []
        assert len(await sso.events("auth.signout")) == 1


async def test_signout_without_a_session(sso: Sso) -> None:
    response = await sso.client.post("/api/auth/signout")
    assert response.status_code == 303
    assert response.headers["location"] == "http://127.0.0.1:8080/signed-out"


async def test_signout_with_the_provider_down_still_signs_out(
    make_config: Callable[..., Config],
) -> None:
    fake = new_fake()
    async with sso_app(make_config, fake) as sso:
        await sso.signed_in()
        cookies = saved_cookies(sso.client)
    fake.down = True  # and the service restarted meanwhile, so nothing is cached
    async with sso_app(make_config, fake) as sso:
        restore_cookies(sso.client, cookies)
        token = await sso.csrf_token()
        response = await sso.client.post("/api/auth/signout", data={"csrfToken": token})
        assert response.status_code == 303
        assert response.headers["location"] == "http://127.0.0.1:8080/signed-out"
        assert await sso.session() == {}
        assert await sso.db.fetch_all("SELECT * FROM sessions") == []


async def test_expired_sessions_are_purged_at_the_next_sign_in(
    make_config: Callable[..., Config],
) -> None:
    async with sso_app(make_config) as sso:
        await sso.signed_in()
        await sso.db.execute("UPDATE sessions SET expires = '2000-01-01T00:00:00Z'")
        sso.client.cookies.clear()
        await sso.signed_in()
        rows = await sso.db.fetch_all("SELECT expires FROM sessions")
        assert [r[0] for r in rows] != [] and "2000-01-01T00:00:00Z" not in [r[0] for r in rows]
