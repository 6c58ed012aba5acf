"""The Users and Groups lists of the console: search, filters, paging, admin markers, and the
groups claim told apart from SCIM membership."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import pytest

from app.auth.sessions import is_admin
from app.config import Config
from app.db import Tx
from app.store import groups as group_store
from app.store import users as user_store
from app.store.users import UserFields
from tests.admin.directory import (
    ADMIN_GROUP,
    Directory,
    directory,
    group_links,
    rows,
    user_links,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def d(make_config: Callable[..., Config]) -> AsyncIterator[Directory]:
    async with directory(make_config) as made:
        yield made


async def test_the_list_links_every_user_by_user_name(d: Directory) -> None:
    assert await d.listed() == ["ada", "bob", "cleo", "grace", "ken", "linus"]


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("HOPPER", ["grace"]),  # family name, any case
        ("grace hop", ["grace"]),  # given and family name together
        ("Ken@Example", ["ken"]),  # userName
        ("alt.example", ["bob"]),  # a second email
        ("example.com", ["ada", "bob", "cleo", "grace", "ken", "linus"]),
        ("%", []),  # LIKE's wildcards are searched for, not obeyed
        ("_", []),
        ("nobody", []),
    ],
)
async def test_search_finds_name_email_and_user_name(
    d: Directory, q: str, found: list[str]
) -> None:
    assert await d.listed(q=q) == found


async def test_a_long_search_is_cut_not_refused(d: Directory) -> None:
    page = await d.page("/admin/users", q="grace" + "x" * 5_000)
    assert 'maxlength="200"' in page and "x" * 195 in page and "x" * 196 not in page


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"status": "suspended"}, ["ken"]),
        ({"status": "active"}, ["ada", "bob", "cleo", "grace", "linus"]),
        ({"source": "jit"}, ["ada"]),
        ({"source": "cli"}, ["cleo"]),
        ({"source": "scim"}, ["bob", "grace", "ken", "linus"]),
        ({"admin": "yes"}, ["ada", "grace", "linus"]),
        ({"admin": "no"}, ["bob", "cleo", "ken"]),
        ({"admin": "yes", "q": "linus"}, ["linus"]),
        ({"status": "bogus", "source": "ldap", "admin": "maybe", "group": "x"}, None),
    ],
)
async def test_filters(d: Directory, params: dict[str, str], found: list[str] | None) -> None:
    everyone = ["ada", "bob", "cleo", "grace", "ken", "linus"]
    assert await d.listed(**params) == (everyone if found is None else found)


async def test_the_group_filter_lists_its_members_and_offers_the_groups(d: Directory) -> None:
    assert await d.listed(group=d.ids["Engineering"]) == ["grace", "ken"]
    assert await d.listed(group=d.ids["Engineering"], status="active") == ["grace"]
    page = await d.page("/admin/users", group=d.ids["Ops"])
    assert f'<option value="{d.ids["Ops"]}" selected>Ops</option>' in page
    gone = "00000000-0000-4000-8000-000000000000"
    page = await d.page("/admin/users", group=gone)
    assert user_links(page) == [] and 'id="unknown-group"' in page


async def test_status_is_a_badge_and_administrators_are_marked(d: Directory) -> None:
    page = await d.page("/admin/users")
    by_user = {
        user_links(f"<table id='x'>{r}</table>".replace("'x'", '"x"'), "x")[0]: r
        for r in rows(page, "users")
    }
    ken, grace, bob = by_user[d.ids["ken"]], by_user[d.ids["grace"]], by_user[d.ids["bob"]]
    assert '<span class="badge bad">Suspended</span>' in ken and "Active" not in ken
    assert '<span class="badge ok">Active</span>' in grace
    assert "Administrator" in grace and "Administrator" in by_user[d.ids["linus"]]
    assert "Administrator" not in bob and "Administrator" not in ken


async def test_groups_come_from_scim_and_the_sign_in_claim_is_marked_apart(d: Directory) -> None:
    """Ada's dashboard names "Webrix Admins" (her groups claim); SCIM never made her a member."""
    page = await d.page("/admin/users", q="ada@")
    (ada,) = rows(page, "users")
    assert "From sign-in claim:" in ada
    assert ADMIN_GROUP in ada and "Claimed Only" in ada
    assert "/admin/groups/" not in ada  # no SCIM membership to link to
    assert "never make anyone an administrator" in page
    (grace,) = rows(await d.page("/admin/users", q="grace@"), "users")
    assert f'href="/admin/groups/{d.ids[ADMIN_GROUP]}"' in grace and "sign-in claim" not in grace
    (bob,) = rows(await d.page("/admin/users", q="bob@"), "users")
    assert "none" in bob


async def test_paging_goes_both_ways_and_keeps_the_filters(d: Directory) -> None:
    def many(tx: Tx) -> None:
        for i in range(120):
            name = f"p{i:03d}@paged.test"
            user_store.create(tx, UserFields(user_name=name, email=name), json.dumps({}))

    await d.sso.db.write(many)
    first = await d.page("/admin/users", q="paged.test", source="scim")
    assert len(user_links(first)) == 50
    assert "Users 1\N{EN DASH}50 of 120 · page 1 of 3" in first
    assert (
        "/admin/users?q=paged.test&amp;source=scim&amp;page=2" in first and "Previous" not in first
    )
    second = await d.page("/admin/users", q="paged.test", source="scim", page="2")
    assert "Users 51\N{EN DASH}100 of 120" in second
    assert "page=1" in second and "page=3" in second and 'rel="prev"' in second
    last = await d.page("/admin/users", q="paged.test", source="scim", page="3")
    names = [n for n in await d.listed(q="paged.test", source="scim", page="3")]
    assert len(names) == 20 and "Next" not in last
    seen = user_links(first) + user_links(second) + user_links(last)
    assert len(set(seen)) == 120
    beyond = await d.page("/admin/users", q="paged.test", page="999999")
    assert "No users on this page (120 in all)" in beyond and "First" in beyond


async def test_the_admin_filter_agrees_with_the_decision_at_sign_in(d: Directory) -> None:
    """The SQL of the administrator filter and admin_grants say the same of every user,
    including group names in another case and a group that is admin only by externalId."""
    await d.scim.rename(d.ids[ADMIN_GROUP], ADMIN_GROUP.upper())
    config = d.sso.config

    def decided(tx: Tx) -> tuple[set[str], set[str]]:
        everyone = user_store.search(tx, limit=None)[1]
        memberships = group_store.groups_of_many(tx, [u.id for u in everyone])
        by_rule = {u.id for u in everyone if is_admin(config, u, memberships[u.id])}
        rules = user_store.AdminRules(
            config.access.admin_emails,
            config.access.admin_groups,
            config.access.admin_group_external_ids,
        )
        criteria = user_store.Criteria(admin=True)
        by_sql = {u.id for u in user_store.directory(tx, criteria, rules, offset=0, limit=500)[1]}
        return by_rule, by_sql

    by_rule, by_sql = await d.sso.db.read(decided)
    assert by_rule == by_sql == {d.ids["ada"], d.ids["grace"], d.ids["linus"]}


# -- groups -------------------------------------------------------------------------------------


async def test_groups_list_counts_members_marks_admin_groups_and_searches(d: Directory) -> None:
    page = await d.page("/admin/groups")
    assert group_links(page) == [d.ids["Engineering"], d.ids["Ops"], d.ids[ADMIN_GROUP]]
    engineering, ops, admins = rows(page, "groups")
    assert "<td>2</td>" in engineering and "<td>1</td>" in ops
    assert "Administrator" in admins and "admin_groups" in admins
    assert "Administrator" in ops and "admin_group_external_ids" in ops
    assert "Administrator" not in engineering
    found = await d.page("/admin/groups", q="OPS")
    assert group_links(found) == [d.ids["Ops"]]
    assert "No group matches" in await d.page("/admin/groups", q="%")


async def test_groups_list_counts_members_in_one_statement_whatever_the_page(
    d: Directory,
) -> None:
    def make(tx: Tx) -> None:
        for i in range(60):
            group = group_store.create(tx, f"g{i:02d}", None, json.dumps({}))
            group_store.add_members(tx, group.id, [d.ids["bob"]])

    await d.sso.db.write(make)
    db = d.sso.db

    async def statements(limit: int) -> int:
        before = db.stats.statements
        await db.read(group_store.browse, offset=0, limit=limit)
        return db.stats.statements - before

    assert await statements(5) == await statements(50)
    page = await d.page("/admin/groups", page="2")
    assert "Groups 51\N{EN DASH}63 of 63" in page and 'rel="prev"' in page


async def test_each_value_once_and_the_source_as_the_filter_names_it(d: Directory) -> None:
    page = await d.page("/admin/users")
    row = next(r for r in rows(page, "users") if d.ids["grace"] in r)
    assert row.count("grace@example.com") == 1  # userName = email: shown once
    assert '<td class="source">SCIM</td>' in row
    ada = next(r for r in rows(page, "users") if d.ids["ada"] in r)
    assert '<td class="source">First sign-in (JIT)</td>' in ada
    cleo = next(r for r in rows(page, "users") if d.ids["cleo"] in r)
    assert '<td class="source">Command line</td>' in cleo
