"""Settings → Test connection and Test sign-in, in-process against the FakeProvider."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from app.auth.transaction import LoginTransaction
from app.checks import TESTED_CLI, Report, Step, record
from app.config import Config
from app.store import facts
from tests.auth.fakeprovider import FakeProvider
from tests.auth.sso import (
    CLIENT_ID,
    CLIENT_SECRET,
    Sso,
    restore_cookies,
    saved_cookies,
    session_cookie_set,
    sso_app,
)
from tests.scim.client import scim_beside

pytestmark = pytest.mark.anyio

ADA = "ada@example.com"  # the fake provider's default user, an administrator here
ROUTES = ["/admin/settings/test-connection", "/admin/settings/test-signin"]
GRACE = {
    "sub": "grace-sub-0001",
    "email": "grace@example.com",
    "email_verified": True,
    "given_name": "Grace",
    "family_name": "Hopper",
    "memberOf": ["Engineering", "<script>x</script>"],
}


@pytest.fixture
async def admin(make_config: Callable[..., Config]) -> AsyncIterator[Sso]:
    async with sso_app(make_config, access={"admin_emails": [ADA]}) as sso:
        await sso.signed_in()
        yield sso


async def post(sso: Sso, path: str, **headers: str) -> httpx.Response:
    return await sso.client.post(path, data={"csrfToken": await sso.csrf_token()}, headers=headers)


async def press_test_connection(sso: Sso) -> tuple[str, httpx.Response]:
    """Press Test connection: the POST runs it and sends the browser back to the settings page
    (a reload never repeats it), which shows the result. (The POST's request id, the page.)"""
    posted = await post(sso, "/admin/settings/test-connection")
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"] == "/admin/settings#sso-test"
    page = await sso.client.get("/admin/settings")
    assert page.status_code == 200
    return posted.headers["x-request-id"], page


async def fact(sso: Sso, key: str) -> dict[str, Any] | None:
    known = await sso.db.read(facts.all_facts)
    return known[key].value if key in known else None


def snapshot(sso: Sso) -> tuple[list[Any], list[Any], list[Any]]:
    """What a sign-in could change: users (with their linked subject), sessions, emails."""
    with sqlite3.connect(sso.config.database.path) as conn:
        return (
            conn.execute(
                "SELECT id, user_name, oidc_sub, given_name, family_name, active, version,"
                " last_modified FROM users ORDER BY id"
            ).fetchall(),
            conn.execute("SELECT id_hash, user_id, created, expires FROM sessions").fetchall(),
            conn.execute("SELECT user_id, value FROM user_emails ORDER BY value").fetchall(),
        )


# -- Test connection ------------------------------------------------------------------------


async def test_test_connection_with_the_right_credentials(admin: Sso) -> None:
    request_id, response = await press_test_connection(admin)
    assert "Connection works" in response.text
    assert 'data-step="Client ID and Client Secret" data-status="ok"' in response.text
    assert 'data-step="Redirect URI" data-status="ok"' in response.text
    assert len(admin.fake.token_requests) == 2  # the sign-in, then the probe
    user_id = (await admin.session())["user"]["id"]
    value = await fact(admin, "sso.tested")
    assert value is not None and value["ok"] is True and value["by"] == f"user:{user_id}"
    [event] = await admin.events("sso.test")
    assert event.actor == f"user:{user_id}" and event.detail["ok"] is True
    assert event.request_id == request_id
    page = (await admin.client.get("/admin/settings")).text  # the last result stays on the page
    assert 'id="last-test"' in page and "Connection works" in page and 'data-status="ok"' in page


async def test_test_connection_with_a_wrong_secret_names_the_jumpcloud_field(
    make_config: Callable[..., Config],
) -> None:
    fake = FakeProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    async with sso_app(make_config, fake, access={"admin_emails": [ADA]}) as sso:
        await sso.signed_in()
        fake.client_secret = "regenerated-in-jumpcloud"  # the config now holds a stale one
        _, response = await press_test_connection(sso)
        text = response.text
        assert "Connection fails" in text
        assert 'data-step="Client ID and Client Secret" data-status="problem"' in text
        assert "The Client ID or Client Secret is wrong" in text
        assert (
            "Admin Console → SSO (SSO Applications) → your Webrix app → SSO tab → Client ID and Client Secret"
            in text
        )
        assert CLIENT_SECRET not in text and "regenerated-in-jumpcloud" not in text
        value = await fact(sso, "sso.tested")
        assert value is not None and value["ok"] is False
        assert "Client ID or Client Secret is wrong" in value["result"]
        [event] = await sso.events("sso.test")
        assert event.detail["ok"] is False and CLIENT_SECRET not in str(event.detail)


async def test_test_connection_when_the_provider_is_down(admin: Sso) -> None:
    admin.fake.down = True
    _, response = await press_test_connection(admin)
    assert 'data-step="Discovery document" data-status="problem"' in response.text
    assert "Could not reach JumpCloud" in response.text
    assert "Let this server reach oauth.id.jumpcloud.com over HTTPS" in response.text


async def test_placeholders_show_as_not_configured(make_config: Callable[..., Config]) -> None:
    placeholder = "paste-the-client-id-from-jumpcloud"
    fake = FakeProvider(client_id=placeholder, client_secret=CLIENT_SECRET)
    async with sso_app(
        make_config, fake, access={"admin_emails": [ADA]}, jumpcloud={"client_id": placeholder}
    ) as sso:
        await sso.signed_in()
        page = (await sso.client.get("/admin/settings")).text
        assert 'id="not-configured"' in page
        assert "[auth.jumpcloud] client_id still holds the example value" in page
        _, response = await press_test_connection(sso)
        assert 'data-step="Configuration" data-status="problem"' in response.text
        assert 'data-step="Client ID and Client Secret" data-status="skipped"' in response.text
        assert len(fake.token_requests) == 1  # the sign-in's only: no probe


async def test_configured_settings_show_no_not_configured_banner(admin: Sso) -> None:
    page = (await admin.client.get("/admin/settings")).text
    assert 'id="not-configured"' not in page and 'id="no-admin-warning"' not in page
    assert "Not tested yet" in page


@pytest.mark.parametrize("path", ROUTES)
async def test_posts_without_the_csrf_token_are_refused(admin: Sso, path: str) -> None:
    before = len(admin.fake.requests)
    missing = await admin.client.post(path, data={})
    other_site = await post(admin, path, Origin="https://evil.example")
    assert missing.status_code == 403 and other_site.status_code == 403
    assert len(admin.fake.requests) == before  # nothing reached the provider
    assert not any("webrix-login-" in c for c in missing.headers.get_list("set-cookie"))
    assert await admin.events("sso.test") == [] and await fact(admin, "sso.tested") is None


@pytest.mark.parametrize("path", ROUTES)
async def test_members_who_are_not_administrators_are_refused(
    make_config: Callable[..., Config], path: str
) -> None:
    async with sso_app(make_config, access={"admin_emails": ["boss@example.com"]}) as sso:
        await sso.signed_in()
        before = len(sso.fake.requests)
        response = await post(sso, path)
        assert response.status_code == 403
        assert len(sso.fake.requests) == before
        assert await sso.events("sso.test") == []


@pytest.mark.parametrize("path", ROUTES)
async def test_signed_out_visitors_are_sent_to_sign_in(
    make_config: Callable[..., Config], path: str
) -> None:
    async with sso_app(make_config, access={"admin_emails": [ADA]}) as sso:
        response = await sso.client.post(path, data={"csrfToken": "x"})
        assert response.status_code == 302
        assert response.headers["location"].startswith("/api/auth/signin/jumpcloud?callbackUrl=")
        assert sso.fake.requests == []


# -- Test sign-in ---------------------------------------------------------------------------


async def start_test(sso: Sso) -> str:
    """POST Test sign-in; the provider URL it sends the browser to."""
    response = await post(sso, "/admin/settings/test-signin")
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(sso.fake.url("/oauth2/auth"))
    return location


async def test_test_sign_in_shows_what_the_provider_sent_and_changes_nothing(
    admin: Sso,
) -> None:
    session_before = await admin.session()
    rows_before = snapshot(admin)
    location = await start_test(admin)
    response = await admin.callback(admin.fake.authorize(location))
    assert response.status_code == 200, response.text
    text = response.text
    assert "Sign-in works" in text
    assert f"Signs in as {ADA}" in text and "already linked to this OpenID subject" in text
    assert "yes: the email is in [access] admin_emails" in text
    assert 'data-claim="sub"' in text and admin.fake.user["sub"] in text
    assert 'data-claim="email"' in text and 'data-claim="nonce"' in text
    assert 'id="userinfo-claims"' in text  # fetched for the test, shown apart
    # Epoch claims also read as a UTC time; the matched account is a link, and agrees.
    iat = re.search(r'data-claim="iat">.*?</tr>', text, re.S)
    assert iat and re.search(r"\d+</span> <span class=\"muted claim-time\">\(20\d\d-", iat[0])
    assert 'data-claim="sub">' in text and "claim-time" not in _row(text, "sub")
    user_id = session_before["user"]["id"]
    assert f'id="test-signin-account" href="/admin/users/{user_id}"' in text
    assert 'id="test-signin-differences"' not in text
    # Never a raw token: the access token and the ID token stay out of the page.
    assert "eyJ" not in text
    assert not any(token in text for token in admin.fake._access_tokens)
    # Nothing changed: no session opened or replaced, no user touched; the admin is still in.
    assert not session_cookie_set(response)
    assert snapshot(admin) == rows_before
    assert await admin.session() == session_before
    assert len(await admin.events("auth.signin")) == 1  # the administrator's own, earlier
    [event] = await admin.events("sso.test_signin")
    assert event.detail["ok"] is True and event.detail["match"] == "subject"
    assert event.actor == f"user:{session_before['user']['id']}"
    assert event.request_id == response.headers["x-request-id"]  # findable in the audit log
    value = await fact(admin, "sso.test_signin")
    assert value == {"ok": True, "by": event.actor}


async def test_a_new_user_would_be_created_just_in_time_but_is_not(admin: Sso) -> None:
    rows_before = snapshot(admin)
    location = await start_test(admin)
    response = await admin.callback(admin.fake.authorize(location, user=GRACE))
    text = response.text
    assert response.status_code == 200
    assert "would create grace@example.com just in time" in text
    assert "the groups claim of a sign-in grants nothing" in text  # memberOf is not SCIM
    assert "claim <code>memberOf</code>: Engineering, &lt;script&gt;x&lt;/script&gt;" in text
    assert "<script>x</script>" not in text
    assert snapshot(admin) == rows_before
    assert await admin.user_by_email("grace@example.com") is None
    assert (await admin.session())["user"]["email"] == ADA


async def test_a_scim_user_would_be_linked_by_verified_email_but_is_not(
    make_config: Callable[..., Config],
) -> None:
    async with sso_app(
        make_config, access={"admin_emails": [ADA], "admin_groups": ["Webrix Admins"]}
    ) as admin:
        await admin.signed_in()
        async with scim_beside(admin) as scim:
            created = await scim.create_user({"userName": "grace@example.com"})
            await scim.group("Webrix Admins", [created["id"]])
        await _grace_would_be_linked(admin)


def _row(html: str, claim: str) -> str:
    found = re.search(rf'data-claim="{claim}">.*?</tr>', html, re.S)
    assert found, claim
    return found[0]


async def _grace_would_be_linked(admin: Sso) -> None:
    grace = await admin.user_by_email("grace@example.com")
    assert grace is not None
    rows_before = snapshot(admin)
    location = await start_test(admin)
    response = await admin.callback(admin.fake.authorize(location, user=GRACE))
    # The SCIM user has no name; the provider sends one: pointed out, with the account's link.
    assert f'id="test-signin-account" href="/admin/users/{grace.id}"' in response.text
    differs = re.search(r'id="test-signin-differences">.*?</div>', response.text, re.S)
    assert differs and "Name: JumpCloud sent <strong>Grace Hopper</strong>" in differs[0]
    assert "the account holds <strong>none</strong>" in differs[0] and "Email" not in differs[0]
    assert "matched by the verified email address" in response.text
    assert "yes: member of the SCIM group Webrix Admins" in response.text
    assert snapshot(admin) == rows_before
    stored = await admin.user_by_email("grace@example.com")
    assert stored is not None and stored.oidc_sub is None and stored.id == grace.id


async def test_a_refused_admission_shows_why(make_config: Callable[..., Config]) -> None:
    access = {"admin_emails": [ADA], "jit_provisioning": False}
    async with sso_app(make_config, access=access) as sso:
        await sso.add_user(ADA)  # provisioned by SCIM; Grace is not
        await sso.signed_in()
        rows_before = snapshot(sso)
        location = await start_test(sso)
        response = await sso.callback(sso.fake.authorize(location, user=GRACE))
        assert response.status_code == 200
        assert "Sign-in refused" in response.text and "No Webrix account" in response.text
        assert "not_provisioned" in response.text
        assert snapshot(sso) == rows_before
        [event] = await sso.events("sso.test_signin")
        assert event.detail == {
            "ok": False,
            "reason": "not_provisioned",
            "sub": GRACE["sub"],
            "email": GRACE["email"],
        }
        assert await fact(sso, "sso.test_signin") is None
        assert await sso.events("auth.signin.refused") == []


async def test_a_bad_id_token_shows_the_refusal_reason(admin: Sso) -> None:
    admin.fake.claims_override = {"aud": "someone-else"}
    rows_before = snapshot(admin)
    location = await start_test(admin)
    response = await admin.callback(admin.fake.authorize(location))
    assert response.status_code == 200
    assert "Sign-in refused" in response.text and "(aud mismatch)" in response.text
    assert 'id="id-token-claims"' not in response.text  # unverified claims are not shown
    assert snapshot(admin) == rows_before
    assert (await admin.session())["user"]["email"] == ADA


async def test_a_provider_refusal_names_the_jumpcloud_tab(admin: Sso) -> None:
    location = await start_test(admin)
    params = admin.fake.authorize(location, error="access_denied", error_description="not bound")
    response = await admin.callback(params)
    assert response.status_code == 200
    assert "Sign-in refused" in response.text and "User Groups tab" in response.text
    assert len(admin.fake.token_requests) == 1  # nothing to redeem
    [event] = await admin.events("sso.test_signin")
    assert event.detail == {"ok": False, "reason": "provider_error"}


async def test_only_the_session_that_started_it_sees_the_result(
    admin: Sso, make_config: Callable[..., Config]
) -> None:
    """The callback of a test sign-in in a browser without the admin's session (the login
    cookie copied over, or another administrator's session) shows nothing and opens nothing."""
    admin_cookies = saved_cookies(admin.client)
    location = await start_test(admin)
    login_cookies = [c for c in admin.client.cookies.jar if c.name.startswith("webrix-login-")]
    params = admin.fake.authorize(location)
    restore_cookies(admin.client, login_cookies)  # a browser holding only the login cookie
    rows_before = snapshot(admin)
    response = await admin.callback(params)
    assert response.status_code == 403
    assert "another browser session" in response.text
    assert not session_cookie_set(response)
    assert snapshot(admin) == rows_before
    assert len(admin.fake.token_requests) == 1  # the code was never redeemed
    [event] = await admin.events("sso.test_signin")
    assert event.detail == {"ok": False, "reason": "other_session"}
    restore_cookies(admin.client, admin_cookies)
    assert (await admin.session())["user"]["email"] == ADA

    # Another administrator's session (the same person in another browser) is refused too.
    location = await start_test(admin)
    login_cookies = [c for c in admin.client.cookies.jar if c.name.startswith("webrix-login-")]
    params = admin.fake.authorize(location)
    admin.client.cookies.clear()
    await admin.signed_in()
    for cookie in login_cookies:
        admin.client.cookies.jar.set_cookie(cookie)
    response = await admin.callback(params)
    assert response.status_code == 403


async def test_a_test_state_works_once(admin: Sso) -> None:
    location = await start_test(admin)
    params = admin.fake.authorize(location)
    cookies = saved_cookies(admin.client)
    assert (await admin.callback(params)).status_code == 200
    restore_cookies(admin.client, cookies)  # the login cookie put back: a replay
    replay = await admin.callback(params)
    assert replay.status_code == 400 and "already used" in replay.text
    assert len(await admin.events("sso.test_signin")) == 1
    assert len(admin.fake.token_requests) == 2  # the sign-in and the test, not the replay


async def test_a_normal_sign_in_is_never_taken_for_a_test(admin: Sso) -> None:
    """A normal state's callback signs in (a new session, audited as auth.signin), never the
    test page; a normal login cookie cannot be turned into a test one without the key."""
    location = await admin.start("/admin/settings")
    cookie = next(c for c in admin.client.cookies.jar if c.name.startswith("webrix-login-"))
    params = admin.fake.authorize(location)
    forged = str(cookie.value).split(".")
    payload = forged[0] + "eyJ0ZXN0X2ZvciI6IngifQ"  # {"test_for":"x"} spliced in
    cookie.value = ".".join([payload, *forged[1:]])
    refused = await admin.callback(params)
    assert refused.status_code == 400
    assert await admin.events("sso.test_signin") == []

    response = await admin.sign_in("/admin/settings")
    assert response.status_code == 303 and session_cookie_set(response)
    assert response.headers["location"] == "/admin/settings"
    assert await admin.events("sso.test_signin") == []
    assert len(await admin.events("auth.signin")) == 2


def test_the_test_mark_survives_the_signed_cookie_and_is_strict() -> None:
    tx = LoginTransaction.new("/admin/settings", created_at=1.0, test_for="abc")
    assert LoginTransaction.from_dict(tx.as_dict()) == tx
    normal = LoginTransaction.new("/", created_at=1.0)
    assert "test_for" not in normal.as_dict()
    assert LoginTransaction.from_dict(normal.as_dict()).test_for is None
    for bad in ("", 1, ["abc"]):
        with pytest.raises(ValueError):
            LoginTransaction.from_dict({**normal.as_dict(), "test_for": bad})


async def test_a_failed_webrix_check_elsewhere_does_not_undo_the_services_own_test(
    admin: Sso,
) -> None:
    """`webrix check` may run with another shell's config or environment: its failure is shown
    apart and the checklist keeps the service's own passed test."""
    await press_test_connection(admin)
    failed = Report((Step("Client ID and Client Secret", "problem", "wrong secret"),))
    await admin.db.write(record, failed, "cli", key=TESTED_CLI)
    settings = (await admin.client.get("/admin/settings")).text
    assert "Connection works" in settings
    assert 'id="last-cli-test"' in settings and "wrong secret" in settings
    overview = (await admin.client.get("/admin")).text
    assert 'id="step-sso-tested" data-status="done"' in overview


def test_epoch_claims_read_as_utc_times_and_odd_values_as_sent() -> None:
    from app.auth.test_signin import epoch_time, shown_claims

    assert epoch_time("exp", 1796083200) == "2026-12-01 00:00:00 UTC"
    assert epoch_time("updated_at", 1796083200.5) == "2026-12-01 00:00:00 UTC"
    assert epoch_time("exp", True) is None and epoch_time("exp", "1796083200") is None
    assert epoch_time("exp", 10**20) is None  # beyond any calendar: the number alone
    assert epoch_time("age", 1796083200) is None  # only the claims that are times
    [claim] = shown_claims({"nbf": 0})
    assert claim.at == "1970-01-01 00:00:00 UTC"
