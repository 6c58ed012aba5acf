"""A user's page and a group's page in the console; ending a user's sessions from it."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable

import pytest

from app.config import Config
from app.db import Tx
from app.store import groups as group_store
from app.store import users as user_store
from app.store.users import UserFields
from tests.admin.directory import (
    ADA,
    ADMIN_GROUP,
    OPS_EXTERNAL_ID,
    Directory,
    directory,
    rows,
    table,
    user_links,
)
from tests.auth.sso import SIGNIN

pytestmark = pytest.mark.anyio
GONE = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
async def d(make_config: Callable[..., Config]) -> AsyncIterator[Directory]:
    async with directory(make_config) as made:
        yield made


def refs(html: str) -> list[str]:
    """The session references the sessions table offers to end."""
    return re.findall(r'name="session" value="([0-9a-f]+)"', table(html, "user-sessions"))


async def test_a_user_page_shows_what_scim_sent_escaped(d: Directory) -> None:
    page = await d.page(f"/admin/users/{d.ids['grace']}")
    assert "Hopper &lt;script&gt;" in page and "Hopper <script>" not in page
    resource = page[page.index('id="user-resource"') :]
    assert '"givenName": "Grace"' in resource.replace("&#34;", '"')
    assert 'id="user-emails">grace@example.com <span class="muted">(work)</span>' in page
    assert "not linked yet" in page  # Grace never signed in
    assert "created by SCIM" in page
    assert d.ids["grace"] in page and "<time" in page
    groups = table(page, "user-groups")
    assert ADMIN_GROUP in groups and "Engineering" in groups
    assert "Administrator" in groups and "admin_groups" in groups


async def test_a_user_page_says_why_someone_is_an_administrator(d: Directory) -> None:
    def reasons(page: str) -> str:
        start = page.index('id="admin-reasons"')
        return page[start : page.index("</div>", start)]

    ada = reasons(await d.page(f"/admin/users/{d.ids['ada']}"))
    assert "Yes" in ada and f"email {ADA} is listed in" in ada and "admin_emails" in ada
    grace = reasons(await d.page(f"/admin/users/{d.ids['grace']}"))
    assert f"“{ADMIN_GROUP}” in <code>[access] admin_groups</code>" in grace
    assert f'href="/admin/groups/{d.ids[ADMIN_GROUP]}"' in grace
    linus = reasons(await d.page(f"/admin/users/{d.ids['linus']}"))
    assert f"externalId {OPS_EXTERNAL_ID} is in" in linus and "admin_group_external_ids" in linus
    bob = reasons(await d.page(f"/admin/users/{d.ids['bob']}"))
    assert bob.count("No.") == 1 and "Yes" not in bob


async def test_a_user_page_shows_sessions_claim_subject_and_history(d: Directory) -> None:
    page = await d.page(f"/admin/users/{d.ids['ada']}")
    (session,) = rows(page, "user-sessions")
    assert "python-httpx" in session and "this browser" in session
    assert "127.0.0.1" in session and "End this session" in session
    assert "From sign-in claim only:</strong> Claimed Only, Webrix Admins" in page
    assert d.sso.fake.user["sub"] in page  # the linked OpenID subject
    assert "created at first sign-in" in page
    assert "auth.signin" in table(page, "history")
    assert f'href="/admin/audit?target={d.ids["ada"]}"' in page


async def test_ending_a_session_signs_that_browser_out_at_its_next_request(d: Directory) -> None:
    grace = await d.sign_in_as("grace@example.com")
    assert (await d.session_of(grace))["user"]["id"] == d.ids["grace"]
    page = await d.page(f"/admin/users/{d.ids['grace']}")
    (session,) = rows(page, "user-sessions")
    assert "Chrome 120 on Windows" in session
    assert 'data-confirm="End this session?' in session
    (ref,) = refs(page)
    path = f"/admin/users/{d.ids['grace']}/sessions/end"

    refused = await d.client.post(path, data={"session": ref})  # no CSRF token
    assert refused.status_code == 403
    assert (await d.session_of(grace))["user"]["id"] == d.ids["grace"]

    ended = await d.client.post(path, data={"session": ref, "csrfToken": await d.sso.csrf_token()})
    assert ended.status_code == 303
    assert ended.headers["location"] == f"/admin/users/{d.ids['grace']}?ended=1#sessions"
    assert await d.session_of(grace) == {}
    assert (await d.sso.session())["user"]["id"] == d.ids["ada"]  # the administrator stays
    (event,) = await d.sso.events("session.end")
    assert event.actor == f"user:{d.ids['ada']}" and event.target_id == d.ids["grace"]
    assert event.detail["session"] == ref and event.detail["device"] == "Chrome 120 on Windows"
    after = await d.page(f"/admin/users/{d.ids['grace']}", ended="1")
    assert "1 session ended" in after and refs(after) == []
    assert "session.end" in table(after, "history")

    again = await d.client.post(path, data={"session": ref, "csrfToken": await d.sso.csrf_token()})
    assert again.headers["location"].endswith("?ended=0#sessions")
    bad = await d.client.post(path, data={"session": "x'--", "csrfToken": await d.sso.csrf_token()})
    assert bad.status_code == 400


async def test_end_all_sessions_ends_every_browser_of_the_user_only(d: Directory) -> None:
    first = await d.sign_in_as("grace@example.com")
    second = await d.sign_in_as("grace@example.com", user_agent="curl/8.4.0")
    linus = await d.sign_in_as("linus@example.com")
    page = await d.page(f"/admin/users/{d.ids['grace']}")
    assert len(refs(page)) == 2 and "curl 8" in page and 'id="end-all-sessions"' in page
    path = f"/admin/users/{d.ids['grace']}/sessions/end-all"
    assert (await d.client.post(path)).status_code == 403  # no CSRF token
    assert (await d.session_of(first))["user"]["id"] == d.ids["grace"]
    ended = await d.client.post(path, data={"csrfToken": await d.sso.csrf_token()})
    assert ended.headers["location"] == f"/admin/users/{d.ids['grace']}?ended=2#sessions"
    assert await d.session_of(first) == {} and await d.session_of(second) == {}
    assert (await d.session_of(linus))["user"]["id"] == d.ids["linus"]
    (event,) = await d.sso.events("session.end_all")
    assert event.actor == f"user:{d.ids['ada']}" and event.target_id == d.ids["grace"]
    assert event.detail == {"sessions": 2}
    assert "2 sessions ended" in await d.page(f"/admin/users/{d.ids['grace']}", ended="2")


async def test_session_routes_refuse_members_and_send_anonymous_visitors_to_sign_in(
    d: Directory,
) -> None:
    bob = await d.sign_in_as("bob@example.com")  # signed in, not an administrator
    grace = await d.sign_in_as("grace@example.com")
    end = f"/admin/users/{d.ids['grace']}/sessions/end"
    end_all = f"/admin/users/{d.ids['grace']}/sessions/end-all"
    async with d.browser(bob) as member:
        token = (await member.get("/api/auth/csrf")).json()["csrfToken"]
        for path in (end, end_all):
            response = await member.post(path, data={"csrfToken": token, "session": "0" * 16})
            assert response.status_code == 403, path
        for path in (f"/admin/users/{d.ids['grace']}", f"/admin/groups/{d.ids['Ops']}"):
            assert (await member.get(path)).status_code == 403, path
    async with d.browser([]) as anonymous:
        for path in (end, end_all):
            response = await anonymous.post(path, data={"session": "0" * 16})
            assert response.status_code == 302, path
            assert response.headers["location"].startswith(SIGNIN)
        for path in (f"/admin/users/{d.ids['grace']}", f"/admin/groups/{d.ids['Ops']}"):
            response = await anonymous.get(path)
            assert response.status_code == 302 and response.headers["location"].startswith(SIGNIN)
    assert (await d.session_of(grace))["user"]["id"] == d.ids["grace"]
    assert await d.sso.events("session.end") == [] and await d.sso.events("session.end_all") == []
    # After signing in from such a redirect, the GET lands back on the user's page.
    back = await d.client.get(end)
    assert back.status_code == 303 and back.headers["location"].startswith(
        f"/admin/users/{d.ids['grace']}"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/admin/users/not-a-uuid",
        f"/admin/users/{GONE}",
        f"/admin/users/{GONE.upper()}",
        "/admin/users/%3Cscript%3Ealert(1)%3C",
        f"/admin/users/{'9' * 5000}",
        "/admin/groups/x",
        f"/admin/groups/{GONE}",
    ],
)
async def test_unknown_or_malformed_ids_get_a_clear_404(d: Directory, path: str) -> None:
    response = await d.client.get(path)
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert " not found" in response.text and "may have been deleted" in response.text
    assert "<script>alert" not in response.text
    # The way back is the list the user or group was found in, not the dashboard.
    back = "users" if path.startswith("/admin/users") else "groups"
    label = "Back to Users" if back == "users" else "Back to Groups"
    assert f'id="back-to-{back}" href="/admin/{back}">{label}</a>' in response.text
    assert 'id="to-dashboard"' not in response.text


async def test_ending_sessions_of_an_unknown_user_is_a_404(d: Directory) -> None:
    token = await d.sso.csrf_token()
    for path in (f"/admin/users/{GONE}/sessions/end-all", "/admin/users/x/sessions/end-all"):
        response = await d.client.post(path, data={"csrfToken": token})
        assert response.status_code == 404, path
    assert await d.sso.events("session.end_all") == []


# -- the group page ---------------------------------------------------------------------------


async def test_a_group_page_shows_its_attributes_grant_members_and_history(d: Directory) -> None:
    page = await d.page(f"/admin/groups/{d.ids['Ops']}")
    assert OPS_EXTERNAL_ID in page
    assert f"its externalId {OPS_EXTERNAL_ID} is in <code>[access] admin_group_external_ids" in page
    assert user_links(page, "group-members") == [d.ids["linus"]]
    assert (
        "group.create" in table(page, "history") and f"/admin/audit?target={d.ids['Ops']}" in page
    )
    assert '"displayName": "Ops"' in page.replace("&#34;", '"')
    engineering = await d.page(f"/admin/groups/{d.ids['Engineering']}")
    assert "No: neither its name" in engineering
    ken = [r for r in rows(engineering, "group-members") if "ken@example.com" in r]
    assert len(ken) == 1 and "Suspended" in ken[0]
    assert ken[0].count("ken@example.com") == 1  # the userName once (the email is the same)
    admins = await d.page(f"/admin/groups/{d.ids[ADMIN_GROUP]}")
    grace = next(r for r in rows(admins, "group-members") if d.ids["grace"] in r)
    # The person's name links to the user; the userName (= email) follows once.
    assert f'/admin/users/{d.ids["grace"]}">Grace Hopper &lt;script&gt;</a>' in grace
    assert grace.count("grace@example.com") == 1
    assert re.search(r'id="members-shown">Showing 1 member \(in userName order\)', admins)


def _link(html: str, rel: str) -> str:
    """The href of the paging link named `rel` ("First", "Previous", "Next", "Last")."""
    found = re.search(rf'<a href="([^"]+)"[^>]*>{rel}</a>', html)
    assert found, f"no {rel} link"
    return found.group(1).replace("&amp;", "&")


def _names(html: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"m\d{3}@big\.test", table(html, "group-members"))))


async def test_group_members_are_paged_both_ways_and_searchable(d: Directory) -> None:
    def big(tx: Tx) -> None:
        ids = []
        for i in range(130):
            name = f"m{i:03d}@big.test"
            ids.append(user_store.create(tx, UserFields(user_name=name, email=name), "{}").id)
        group = group_store.create(tx, "Big", None, json.dumps({"displayName": "Big"}))
        group_store.add_members(tx, group.id, ids)
        d.ids["Big"] = group.id

    await d.sso.db.write(big)
    path = f"/admin/groups/{d.ids['Big']}"
    everyone = [f"m{i:03d}@big.test" for i in range(130)]
    first = await d.page(path)
    assert _names(first) == everyone[:50] and 'Members <span class="muted">(130)' in first
    assert "Showing 50 members of 130 (in userName order)" in first
    assert "Previous" not in first and "First" not in first
    second = await d.page(_link(first, "Next"))
    assert _names(second) == everyone[50:100]
    third = await d.page(_link(second, "Next"))
    assert _names(third) == everyone[100:] and "Next" not in third
    assert _names(await d.page(_link(third, "Previous"))) == everyone[50:100]
    assert _names(await d.page(_link(second, "Previous"))) == everyone[:50]
    assert _names(await d.page(_link(first, "Last"))) == everyone[80:]
    assert _names(await d.page(_link(third, "First"))) == everyone[:50]
    assert user_links(first, "group-members")[0] in await d.page("/admin/users", q="m000@")

    found = await d.page(path, q="M12")
    assert _names(found) == everyone[120:]
    assert "(10 found)" in found and "Next" not in found
    assert "No member matches" in await d.page(path, q="nobody")
    odd = await d.page(path, after="x" * 400, before="")  # ignored: the first page
    assert _names(odd) == everyone[:50]


@pytest.mark.parametrize("share", ["dense", "sparse"])
async def test_member_pages_are_in_user_name_order_either_way(d: Directory, share: str) -> None:
    """A group with most users is walked along the userName index; a small one is read by
    its key and sorted; both page the same way, forward and back, with or without a search."""
    count = 40 if share == "dense" else 9

    def make(tx: Tx) -> tuple[str, list[str]]:
        names = [
            f"Z{i:02d}-{share}@Order.test" if i % 2 else f"z{i:02d}-{share}@order.test"
            for i in reversed(range(count))
        ]
        ids = [user_store.create(tx, UserFields(user_name=n), "{}").id for n in names]
        group = group_store.create(tx, share, None, "{}")
        group_store.add_members(tx, group.id, ids)
        for i in range(0 if share == "dense" else 80):
            user_store.create(tx, UserFields(user_name=f"other{i}@order.test"), "{}")
        return group.id, sorted(names, key=str.lower)

    group_id, expected = await d.sso.db.write(make)
    for query in ("", "order"):
        seen: list[str] = []
        after = None
        while True:
            page = await d.sso.db.read(
                group_store.member_page, group_id, query, after=after, limit=4
            )
            assert page.total == count and page.more_before == bool(after)
            seen += [m.user_name for m in page.members]
            if not page.more_after:
                break
            after = page.members[-1].user_name
        assert seen == expected
        back: list[str] = []
        before = ""
        while True:
            page = await d.sso.db.read(
                group_store.member_page, group_id, query, before=before, limit=4
            )
            back = [m.user_name for m in page.members] + back
            if not page.more_before:
                break
            before = page.members[0].user_name
        assert back == expected

    def plan(tx: Tx, source: str) -> str:
        sql = f"SELECT u.id {source} WHERE u.user_name > :key ORDER BY u.user_name LIMIT 5"
        rows = tx.fetch_all(f"EXPLAIN QUERY PLAN {sql}", {"g": group_id, "key": ""})
        return " ".join(str(r["detail"]) for r in rows)

    # The walk along userName never sorts the group; the other reads only its members.
    walk = await d.sso.db.read(plan, group_store.WALK_USERS)
    assert "TEMP B-TREE" not in walk and "users_user_name" in walk
    read = await d.sso.db.read(plan, group_store.READ_MEMBERS)
    assert read.index("SEARCH m") < read.index("SEARCH u")
