"""The audit log page: names for ids, the stored detail, filters, request-id search, keyset
paging both ways, the JSON Lines export, and refusals of bad parameters."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from app.admin import audit as audit_page
from app.config import Config
from app.db import QueryTimeout
from app.migrate import migrations
from app.store import audit, audit_search
from tests.auth.sso import Sso, sso_app
from tests.scim.client import scim_beside

pytestmark = pytest.mark.anyio

ADA = "ada@example.com"


@pytest.fixture
async def admin(make_config: Callable[..., Config]) -> AsyncIterator[Sso]:
    async with sso_app(make_config, access={"admin_emails": [ADA]}) as sso:
        await sso.signed_in()
        yield sso


async def add_event(sso: Sso, at: str, action: str, actor: str = "cli", **extra: Any) -> int:
    """An event with a chosen time, as another part of the service would have written it."""
    detail = json.dumps(extra.pop("detail", {}))
    columns = {"at": at, "actor": actor, "action": action, "detail": detail, **extra}
    names = ", ".join(columns)
    marks = ", ".join("?" * len(columns))
    await sso.db.execute(
        f"INSERT INTO audit_events ({names}) VALUES ({marks})",
        tuple(columns.values()),
    )
    row = await sso.db.fetch_one("SELECT max(id) FROM audit_events")
    assert row is not None
    return int(row[0])


def row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-event-id="([0-9]+)"', html)]


async def shown(sso: Sso, **params: str) -> list[int]:
    response = await sso.client.get("/admin/audit", params=params)
    assert response.status_code == 200, response.text
    return row_ids(response.text)


async def test_actors_and_targets_are_shown_by_name_with_the_id_on_hover(admin: Sso) -> None:
    async with scim_beside(admin) as scim:
        user = await scim.create_user({"userName": "grace@example.com"})
        group = await scim.group("Engineering", [user["id"]])
    await add_event(
        admin,
        "2026-01-01T00:00:00Z",
        "token.revoke",
        "cli",
        target_type="token",
        target_id=scim.token_id,
    )
    page = (await admin.client.get("/admin/audit")).text
    assert f'<span title="token:{scim.token_id}">jumpcloud</span>' in page
    assert f'<span title="user:{user["id"]}">grace@example.com</span>' in page
    assert f'<span title="group:{group["id"]}">Engineering</span>' in page
    ada = await admin.user_by_email(ADA)
    assert ada is not None and f'<span title="user:{ada.id}">{ADA}</span>' in page
    assert '<span title="the webrix command line">cli</span>' in page
    assert "user:" + user["id"] + "</td>" not in page  # never the bare actor id as the text


async def test_names_cost_the_same_queries_for_three_events_or_fifty(admin: Sso) -> None:
    async def statements() -> int:
        before = admin.db.stats.statements
        assert (await admin.client.get("/admin/audit")).status_code == 200
        return admin.db.stats.statements - before

    async with scim_beside(admin) as scim:
        await scim.users(2)
        few = await statements()
        await scim.users(45, prefix="more")
        many = await statements()
    assert len(await shown(admin)) >= 45
    assert few == many  # names come from one batched query, not one per row


async def test_the_stored_detail_is_shown_escaped(admin: Sso) -> None:
    await add_event(
        admin,
        "2026-01-01T00:00:00Z",
        "user.patch",
        "token:abc",
        target_type="user",
        target_id="gone",
        detail={
            "userName": "<b>x</b>@example.com",
            "changed": ["active", "name"],
            "expires": "2027-01-01T00:00:00Z",
        },
        ip="203.0.113.9",
        request_id="req-0001",
    )
    await add_event(
        admin,
        "2026-01-01T00:00:01Z",
        "auth.signin.refused",
        "anonymous",
        detail={"reason": "state_mismatch"},
    )
    page = (await admin.client.get("/admin/audit")).text
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;@example.com" in page
    assert re.search(r"changed</dt> <dd[^>]*>active, name</dd>", page)
    assert re.search(r'expires</dt> <dd[^>]*><time datetime="2027-01-01T00:00:00Z"', page)
    assert re.search(r"reason</dt> <dd[^>]*>state_mismatch</dd>", page)
    assert "203.0.113.9" in page and 'href="/admin/audit?request_id=req-0001"' in page
    # A deleted user is named by what the event recorded of it.
    assert 'title="user:gone (no longer exists)"' in page


async def test_filter_by_action_exact_and_by_family(admin: Sso) -> None:
    create = await add_event(admin, "2026-01-01T00:00:00Z", "user.create")
    create_jit = await add_event(admin, "2026-01-01T00:00:01Z", "user.create.jit")
    group = await add_event(admin, "2026-01-01T00:00:02Z", "group.create")
    userish = await add_event(admin, "2026-01-01T00:00:03Z", "users.odd")
    assert await shown(admin, action="user.create") == [create]
    ada_jit = [e.id for e in await admin.events("user.create.jit") if e.id != create_jit]
    assert len(ada_jit) == 1
    assert await shown(admin, action="user.") == [create_jit, create, *ada_jit]
    assert await shown(admin, action="group.") == [group]
    assert userish not in await shown(admin, action="user.")


async def test_filter_by_actor_name_word_or_id(admin: Sso) -> None:
    async with scim_beside(admin) as scim:
        await scim.user("grace@example.com")
        by_token = [e.id for e in await scim.events("user.create")]
    ada = await admin.user_by_email(ADA)
    assert ada is not None
    by_cli = await add_event(admin, "2026-01-01T00:00:00Z", "token.create", "cli")
    signin = [e.id for e in await admin.events("auth.signin")]
    assert await shown(admin, actor="jumpcloud") == by_token  # the token's name
    assert await shown(admin, actor=f"token:{scim.token_id}") == by_token
    assert await shown(admin, actor="cli") == [by_cli]
    assert await shown(admin, actor=ADA) == signin
    assert await shown(admin, actor=f"user:{ada.id}") == signin
    assert await shown(admin, actor="nobody@example.com") == []
    nobody = (await admin.client.get("/admin/audit", params={"actor": "nobody"})).text
    assert "No user, token or service goes by “nobody”" in nobody
    assert 'id="audit-note"' not in (await admin.client.get("/admin/audit?actor=cli")).text


async def test_filter_by_target_name_or_id_even_once_deleted(admin: Sso) -> None:
    async with scim_beside(admin) as scim:
        grace = await scim.user("grace@example.com")
        await scim.user("alan@example.com")
        group = await scim.group("Engineering", [grace])
        assert (await scim.delete(f"/Users/{grace}")).status_code == 204
    about_grace = [e.id for e in await admin.db.read(audit.recent) if e.target_id == grace]
    assert len(about_grace) == 2  # created, deleted
    assert await shown(admin, target=grace) == about_grace
    assert await shown(admin, target=f"user:{grace}") == about_grace
    group_events = [e.id for e in await admin.events("group.create")]
    assert await shown(admin, target="Engineering") == group_events
    assert await shown(admin, target=f"group:{group['id']}") == group_events
    alan = [
        e.id
        for e in await admin.db.read(audit.recent)
        if e.detail.get("userName") == "alan@example.com"
    ]
    assert await shown(admin, target="alan@example.com") == alan


async def test_filter_by_time_range_dates_and_datetimes(admin: Sso) -> None:
    early = await add_event(admin, "2026-03-01T23:59:59Z", "user.create")
    noon = await add_event(admin, "2026-03-02T12:00:00Z", "user.create")
    late = await add_event(admin, "2026-03-02T23:59:59Z", "user.create")
    nextday = await add_event(admin, "2026-03-03T00:00:00Z", "user.create")
    assert await shown(admin, since="2026-03-02", until="2026-03-02") == [late, noon]
    assert await shown(admin, since="2026-03-02T12:00", until="2026-03-03") == [nextday, late, noon]
    assert await shown(admin, until="2026-03-02T12:00") == [noon, early]  # the minute included
    assert await shown(admin, since="2026-03-02 12:00:01", until="2026-03-02T23:59:59Z") == [late]
    assert early not in await shown(admin, since="2026-03-02")


async def test_a_request_id_finds_the_events_of_that_request(admin: Sso) -> None:
    async with scim_beside(admin) as scim:
        await scim.user("before@example.com")
        response = await scim.post(
            "/Users",
            {"userName": "grace@example.com"},
            headers={"X-Request-Id": "jumpcloud-push-42"},
        )
        assert response.status_code == 201
        await scim.user("after@example.com")
    events = [e for e in await admin.db.read(audit.recent) if e.request_id == "jumpcloud-push-42"]
    assert [e.detail["userName"] for e in events] == ["grace@example.com"]
    page = await admin.client.get("/admin/audit", params={"request_id": " jumpcloud-push-42 "})
    assert row_ids(page.text) == [events[0].id]
    assert "grace@example.com" in page.text and "before@example.com" not in page.text


async def test_a_refused_sign_in_is_found_by_the_request_id_its_page_shows(
    admin: Sso,
) -> None:
    refused = await admin.sign_in(error="access_denied")
    assert refused.status_code >= 400
    request_id = refused.headers["x-request-id"]
    assert request_id in refused.text
    found = await shown(admin, request_id=request_id)
    recorded = [e.id for e in await admin.db.read(audit.recent) if e.request_id == request_id]
    assert found == recorded and recorded
    # As people copy it: upper-case, or the start the table shows ("3ae573eac2bf…").
    assert await shown(admin, request_id=request_id.upper()) == recorded
    assert await shown(admin, request_id=request_id[:12] + "…") == recorded
    assert await shown(admin, request_id=request_id[:7]) == []  # too short to mean one request


async def test_a_request_id_prefix_uses_the_index(admin: Sso) -> None:
    where = audit_search.Filter(request_id="3ae573ea", request_id_prefix=True)
    sql, params = where.where()
    plan = await admin.db.fetch_all(
        f"EXPLAIN QUERY PLAN SELECT * FROM audit_events WHERE {sql}", params
    )
    assert any("audit_events_request" in str(tuple(row)) for row in plan), plan


async def test_paging_both_ways_is_stable_under_inserts_and_keeps_filters(admin: Sso) -> None:
    ids = [await add_event(admin, "2026-01-01T00:00:00Z", "user.create") for _ in range(120)]
    await add_event(admin, "2026-01-01T00:00:00Z", "group.create")  # filtered out below
    newest = ids[::-1]
    first = await admin.client.get("/admin/audit", params={"action": "user.create"})
    assert row_ids(first.text) == newest[:50]
    assert 'id="audit-newer"' not in first.text
    older = re.search(
        r'id="audit-older" href="([^"]+)"|href="([^"]+)" id="audit-older"', first.text
    )
    assert older is not None
    link = (older[1] or older[2]).replace("&amp;", "&")
    assert "action=user.create" in link and f"before={newest[49]}" in link
    # Inserts after the first page was read shift nothing on the next one.
    for _ in range(5):
        await add_event(admin, "2026-01-01T00:00:00Z", "user.create")
    second = await admin.client.get(link)
    assert row_ids(second.text) == newest[50:100]
    third = await admin.client.get(
        "/admin/audit", params={"action": "user.create", "before": newest[99]}
    )
    assert row_ids(third.text) == newest[100:]
    assert 'id="audit-older"' not in third.text
    back = await admin.client.get(
        "/admin/audit", params={"action": "user.create", "after": newest[100]}
    )
    assert row_ids(back.text) == newest[50:100]
    assert 'id="audit-newer"' in back.text and 'id="audit-older"' in back.text
    assert "action=user.create" in back.text.split('id="audit-newer"')[0].rsplit("<a", 1)[1]


async def test_export_is_the_filtered_view_as_json_lines(admin: Sso) -> None:
    async with scim_beside(admin) as scim:
        user = await scim.user("grace@example.com")
        await scim.group("Engineering", [user])
    response = await admin.client.get(
        "/admin/audit", params={"format": "jsonl", "action": "user.create"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert re.fullmatch(
        r'attachment; filename="webrix-audit-[0-9T]+Z\.jsonl"',
        response.headers["content-disposition"],
    )
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [(x["action"], x["target_id"]) for x in lines] == [("user.create", user)]
    (line,) = lines
    assert set(line) >= {
        "id",
        "at",
        "actor",
        "actor_name",
        "action",
        "target_type",
        "target_id",
        "detail",
        "ip",
        "request_id",
    }
    assert line["actor"] == f"token:{scim.token_id}" and line["actor_name"] == "jumpcloud"
    assert line["target_name"] == "grace@example.com"
    assert line["detail"] == {"userName": "grace@example.com"} and line["request_id"]
    everything = await admin.client.get("/admin/audit/export")
    assert len(everything.text.splitlines()) == len(await admin.db.read(audit.recent))
    page = (await admin.client.get("/admin/audit", params={"action": "user.", "actor": "cli"})).text
    assert 'href="/admin/audit/export?action=user.&amp;actor=cli"' in page


async def test_export_is_bounded_and_read_in_batches(
    admin: Sso, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [await add_event(admin, "2026-01-01T00:00:00Z", "user.create") for _ in range(25)]
    monkeypatch.setattr(audit_page, "EXPORT_BATCH", 4)
    monkeypatch.setattr(audit_page, "EXPORT_MAX", 10)
    reads = admin.db.stats.reads
    response = await admin.client.get("/admin/audit/export", params={"action": "user.create"})
    lines = [json.loads(line)["id"] for line in response.text.splitlines()]
    assert lines == ids[::-1][:10]
    assert admin.db.stats.reads - reads >= 3  # 4 + 4 + 2, each its own read


async def test_an_export_resolves_its_time_span_once(
    admin: Sso, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The span becomes ids in the first batch, not again in each (a rescan of the `at`
    index per batch made large exports slow enough to pass the query budget)."""
    for _ in range(9):
        await add_event(admin, "2026-01-01T00:00:00Z", "user.create")
    monkeypatch.setattr(audit_page, "EXPORT_BATCH", 2)
    spans = 0
    real = audit_search._id_span

    def counted(tx: Any, since: str | None, until: str | None) -> tuple[int | None, int | None]:
        nonlocal spans
        spans += 1
        return real(tx, since, until)

    monkeypatch.setattr(audit_search, "_id_span", counted)
    response = await admin.client.get("/admin/audit/export", params={"since": "2025-12-31"})
    assert len(response.text.splitlines()) >= 9 and spans == 1


async def test_a_query_timeout_is_a_503_before_the_export_and_a_marked_end_after(
    admin: Sso, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(5):
        await add_event(admin, "2026-01-01T00:00:00Z", "user.create")
    monkeypatch.setattr(audit_page, "EXPORT_BATCH", 2)
    real, calls = audit_page._export_batch, 0

    def failing_from(n: int) -> Any:
        def batch(*args: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls >= n:
                raise QueryTimeout(2.0)
            return real(*args)

        return batch

    monkeypatch.setattr(audit_page, "_export_batch", failing_from(1))
    first = await admin.client.get("/admin/audit/export")
    assert first.status_code == 503  # nothing sent yet: a plain refusal
    calls = 0
    monkeypatch.setattr(audit_page, "_export_batch", failing_from(2))
    later = await admin.client.get("/admin/audit/export")
    assert later.status_code == 200
    lines = [json.loads(line) for line in later.text.splitlines()]
    assert len(lines) == 3 and lines[-1]["error"] == "truncated" and lines[-1]["exported"] == 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "is not a date for &#39;since&#39;"),
        ({"until": "2026-13-01"}, "is not a date for &#39;until&#39;"),
        ({"since": "2026-02-30T10:00"}, "is not a date"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "must be before"),
        ({"action": "DROP TABLE"}, "is not an action"),
        ({"request_id": "a b"}, "A request id is"),
        ({"actor": "x" * 201}, "longer than 200"),
        ({"since": "9999-12-31", "until": "9999-12-31"}, "is not a date"),
    ],
)
async def test_bad_parameters_are_named_on_the_page(
    admin: Sso, params: dict[str, str], message: str
) -> None:
    response = await admin.client.get("/admin/audit", params=params)
    assert response.status_code == 400
    assert message in response.text and 'id="audit-error"' in response.text
    assert 'id="audit-filters"' in response.text  # the form, to correct it
    export = await admin.client.get("/admin/audit/export", params=params)
    assert export.status_code == 400


@pytest.mark.parametrize("params", [{"before": "x"}, {"after": "²"}, {"before": "9" * 30}])
async def test_odd_cursors_fall_back_to_the_newest_page(admin: Sso, params: dict[str, str]) -> None:
    await add_event(admin, "2026-01-01T00:00:00Z", "user.create")
    assert await shown(admin, **params) == await shown(admin)


@pytest.mark.parametrize("path", ["/admin/audit/export", "/admin/audit?format=jsonl"])
async def test_the_export_refuses_anyone_but_an_administrator(
    make_config: Callable[..., Config], path: str
) -> None:
    async with sso_app(make_config) as sso:
        assert (await sso.client.get(path)).status_code == 302
    async with sso_app(make_config, access={"admin_emails": ["other@example.com"]}) as sso:
        await sso.signed_in()
        response = await sso.client.get(path)
        assert response.status_code == 403 and "x-ndjson" not in response.headers["content-type"]


def _plan(conn: sqlite3.Connection, where: audit_search.Filter) -> str:
    sql, params = where.where()
    rows = conn.execute(
        f"EXPLAIN QUERY PLAN SELECT * FROM audit_events WHERE {sql} ORDER BY id DESC LIMIT 51",
        params,
    ).fetchall()
    return " | ".join(str(r[-1]) for r in rows)


@pytest.mark.parametrize(
    ("where", "index"),
    [
        (audit_search.Filter(request_id="abc"), "audit_events_request"),
        (audit_search.Filter(actors=("cli",)), "audit_events_actor"),
        (audit_search.Filter(actors=("token:a", "token:b")), "audit_events_actor"),
        (audit_search.Filter(action="user."), "audit_events_action"),
        (audit_search.Filter(action="user.create"), "audit_events_action"),
        (audit_search.Filter(targets=(("user", "u1"),)), "audit_events_target"),
    ],
)
def test_filters_use_their_index(tmp_path: Path, where: audit_search.Filter, index: str) -> None:
    conn = sqlite3.connect(tmp_path / "plan.db")
    for _, _, sql in migrations():
        conn.executescript(sql)
    # Enough rows with statistics that a full scan is not the cheaper choice.
    conn.executemany(
        "INSERT INTO audit_events (at, actor, action, target_type, target_id, request_id)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                f"2026-01-01T00:00:{i % 60:02d}Z",
                f"token:{i % 97}",
                f"user.a{i % 31}",
                "user",
                f"u{i}",
                f"r{i}",
            )
            for i in range(2000)
        ],
    )
    conn.execute("ANALYZE")
    plan = _plan(conn, where)
    assert index in plan, plan
    conn.close()


async def test_an_unrecorded_request_id_says_where_to_look(admin: Sso) -> None:
    async with scim_beside(admin) as scim:
        refused = await scim.get("/Users", token="wxt_" + "0" * 43)  # unknown: not audited
    assert refused.status_code == 401
    page = await admin.client.get(
        "/admin/audit", params={"request_id": refused.headers["x-request-id"]}
    )
    assert row_ids(page.text) == []
    assert 'id="audit-request-unrecorded"' in page.text and "support bundle" in page.text
    found = await admin.client.get("/admin/audit")  # no search: no such note
    assert 'id="audit-request-unrecorded"' not in found.text
