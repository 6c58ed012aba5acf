"""Faults outside the request: a full disk or a read-only database makes SCIM writes 503 with
Retry-After while reads go on and /readyz says why, and nothing acknowledged is lost; an identity
provider that is down or hangs gives a clear page within timeout_seconds and SCIM goes on."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest

from app.config import Config
from app.db import Database, QueryTimeout
from app.db import _probe as probe
from tests.scim.client import Scim, assert_scim_error, scim_app
from tests.scim.wire import patch_body, user_body

pytestmark = pytest.mark.anyio


async def _writer_pragma(db: Database, pragma: str) -> None:
    await db._writer.execute_fetchall(pragma)  # the fault, injected where writes happen


def assert_unavailable(response: object, reason: str) -> None:
    assert_scim_error(response, 503)  # type: ignore[arg-type]
    assert int(response.headers["Retry-After"]) > 0  # type: ignore[attr-defined]
    assert reason in response.json()["detail"]  # type: ignore[attr-defined]


async def test_a_full_disk_refuses_writes_keeps_reads_and_loses_nothing(scim: Scim) -> None:
    kept = await scim.create_user(user_body("kept@example.com"))
    (pages,) = await scim.db.fetch_one("PRAGMA page_count")  # type: ignore[misc]
    await _writer_pragma(scim.db, f"PRAGMA max_page_count = {pages}")  # no room to grow
    try:
        big = user_body("new@example.com", title="x" * 60_000)
        assert_unavailable(await scim.post("/Users", big), "disk is full")
        assert (await scim.get(f"/Users/{kept['id']}")).status_code == 200  # reads go on
        ready = await scim.client.get("/readyz")
        assert ready.status_code == 503 and "disk is full" in ready.json()["reason"]
    finally:
        await _writer_pragma(scim.db, "PRAGMA max_page_count = 1073741823")
    assert (await scim.post("/Users", user_body("later@example.com"))).status_code == 201
    assert (await scim.client.get("/readyz")).status_code == 200
    names = {u["userName"] for u in (await scim.list_users())["Resources"]}
    assert names == {"kept@example.com", "later@example.com"}  # the refused one is absent


async def test_a_read_only_database_refuses_writes_and_says_so(scim: Scim) -> None:
    user = await scim.create_user(user_body())
    await _writer_pragma(scim.db, "PRAGMA query_only = 1")
    try:
        path = f"/Users/{user['id']}"
        change = patch_body({"op": "replace", "path": "displayName", "value": "Changed"})
        assert_unavailable(await scim.patch(path, change), "read-only")
        assert_unavailable(await scim.post("/Users", user_body("b@example.com")), "read-only")
        assert_unavailable(await scim.delete(path), "read-only")
        assert (await scim.get(path)).json()["displayName"] == user["displayName"]
        ready = await scim.client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "degraded"
        assert "read-only" in ready.json()["reason"]
    finally:
        await _writer_pragma(scim.db, "PRAGMA query_only = 0")
    change = patch_body({"op": "replace", "path": "displayName", "value": "Changed"})
    assert (await scim.patch(f"/Users/{user['id']}", change)).status_code == 200
    assert (await scim.client.get("/readyz")).status_code == 200  # the fault is over


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("PRAGMA query_only = 1", "read-only"), ("PRAGMA max_page_count = {pages}", "disk is full")],
)
async def test_readyz_sees_a_fault_end_without_any_client_write(
    scim: Scim, monkeypatch: pytest.MonkeyPatch, fault: str, reason: str
) -> None:
    # A readiness check that stayed red until some write succeeded would keep a service out of
    # rotation for good: no client write would reach it. /readyz probes on its own.
    monkeypatch.setattr("app.db.PROBE_SECONDS", 0.0)
    (pages,) = await scim.db.fetch_one("PRAGMA page_count")  # type: ignore[misc]
    await _writer_pragma(scim.db, fault.format(pages=pages))
    try:
        assert_unavailable(await scim.post("/Users", user_body(title="x" * 60_000)), reason)
        for _ in range(2):  # the probe fails too: still degraded, still saying why
            ready = await scim.client.get("/readyz")
            assert ready.status_code == 503 and reason in ready.json()["reason"]
    finally:
        await _writer_pragma(scim.db, "PRAGMA query_only = 0")
        await _writer_pragma(scim.db, "PRAGMA max_page_count = 1073741823")
    before = await _schema_state(scim.db)
    # The probe runs in the background: the answer after it has ended is green.
    answers = []
    for _ in range(50):
        answers.append((await scim.client.get("/readyz")).status_code)
        if answers[-1] == 200:
            break
        await anyio.sleep(0.02)
    assert answers[-1] == 200, answers
    assert (await scim.client.get("/readyz")).json() == {"status": "ok", "database": "ok"}
    assert await _schema_state(scim.db) == before  # the probe left nothing behind


async def _schema_state(db: Database) -> tuple[object, ...]:
    (schema,) = await db.fetch_one("PRAGMA schema_version")  # type: ignore[misc]
    (version,) = await db.fetch_one("PRAGMA user_version")  # type: ignore[misc]
    tables = await db.fetch_all("SELECT name FROM sqlite_master ORDER BY name")
    return schema, version, [t[0] for t in tables]


async def test_readyz_probes_at_most_once_per_interval_while_faulted(
    scim: Scim, monkeypatch: pytest.MonkeyPatch
) -> None:
    probes: list[object] = []

    def counted(tx: object) -> None:
        probes.append(tx)
        probe(tx)

    monkeypatch.setattr("app.db._probe", counted)
    (pages,) = await scim.db.fetch_one("PRAGMA page_count")  # type: ignore[misc]
    await _writer_pragma(scim.db, f"PRAGMA max_page_count = {pages}")
    try:
        big = user_body(title="x" * 60_000)
        assert_unavailable(await scim.post("/Users", big), "disk is full")
        for _ in range(20):
            assert (await scim.client.get("/readyz")).status_code == 503
        # One probe, however often it is asked: readiness polls cannot load the writer.
        assert len(probes) == 1
    finally:
        await _writer_pragma(scim.db, "PRAGMA max_page_count = 1073741823")


async def test_a_costly_query_is_stopped_by_the_budget(tmp_path: Path) -> None:
    db = await Database.open(str(tmp_path / "w.db"), query_budget=0.05)
    try:
        forever = (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000)"
            " SELECT count(*) FROM n"
        )
        started = time.monotonic()
        with pytest.raises(QueryTimeout):
            await db.fetch_one(forever)
        assert time.monotonic() - started < 5  # stopped, not run to its end (tens of seconds)
        assert (await db.fetch_one("SELECT 1")) is not None  # the reader is usable again
    finally:
        await db.close()


async def test_a_filter_past_the_budget_is_400_and_lookups_go_on(
    make_config: Callable[..., Config],
) -> None:
    async with scim_app(make_config, scim={"query_budget_seconds": 0.01}) as scim:

        def many(tx: object) -> None:
            rows = [
                (f"id{i}", f"u{i}@x.com", f"u{i}@x.com", '{"title": "engineer"}', "t", "t")
                for i in range(30_000)
            ]
            tx.execute_many(  # type: ignore[attr-defined]
                "INSERT INTO users (id, user_name, email, resource, created, last_modified)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

        await scim.db.write(many)
        costly = " or ".join(['title co "zz"'] * 40)
        response = await scim.get("/Users", params={"filter": costly})
        assert_scim_error(response, 400, "invalidFilter")
        assert "query_budget_seconds" in response.json()["detail"]
        assert (await scim.get("/Users", params={"filter": 'userName eq "u7@x.com"'})).json()[
            "totalResults"
        ] == 1


@contextmanager
def hanging_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


@pytest.mark.parametrize("state", ["hanging", "down"])
async def test_an_unreachable_provider_gives_a_page_in_time_and_scim_goes_on(
    make_config: Callable[..., Config], state: str
) -> None:
    with hanging_server() as port:
        if state == "down":
            with socket.socket() as probe:  # a port nobody listens on
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
        issuer = f"http://127.0.0.1:{port}/"
        async with scim_app(
            make_config, jumpcloud={"issuer": issuer, "timeout_seconds": 1}
        ) as scim:
            await scim.create_user(user_body())
            scim_answers: list[int] = []
            started = time.monotonic()
            async with anyio.create_task_group() as tg:

                async def keep_provisioning() -> None:
                    for _ in range(5):
                        scim_answers.append((await scim.get("/Users")).status_code)

                tg.start_soon(keep_provisioning)
                page = await scim.client.get("/api/auth/signin/jumpcloud")
            elapsed = time.monotonic() - started
            assert page.status_code == 503, page.text
            assert "could not be reached" in page.text and page.headers["x-request-id"] in page.text
            assert elapsed < 1 * 3 + 2  # timeout_seconds, with room for a loaded machine
            assert scim_answers == [200] * 5


async def test_lookups_never_queue_behind_costly_reads(tmp_path: Path) -> None:
    """Three reads that each run until the budget stops them occupy every reader; a token or
    session lookup meanwhile is answered on its own connection, long before they end."""
    db = await Database.open(str(tmp_path / "w.db"), readers=2, query_budget=1.0)
    forever = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000)"
        " SELECT count(*) FROM n"
    )
    order: list[str] = []

    async def costly() -> None:
        with pytest.raises(QueryTimeout):
            await db.fetch_one(forever)
        order.append("costly")

    async def lookup() -> None:
        await anyio.sleep(0.1)  # the costly reads hold the readers by now
        await db.ping()  # what readiness, token and session lookups use
        order.append("lookup")

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(costly)
            tg.start_soon(lookup)
        assert order[0] == "lookup" and order.count("costly") == 3, order
    finally:
        await db.close()


async def test_a_lookup_by_user_name_never_queues_behind_costly_reads(
    make_config: Callable[..., Config],
) -> None:
    """JumpCloud's "is this user here yet?" is an indexed eq: it goes to the lookup connection,
    while a client's costly reads hold every reader."""
    async with scim_app(make_config, scim={"query_budget_seconds": 1.0}) as scim:
        await scim.create_user(user_body("ada@example.com"))
        forever = (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000)"
            " SELECT count(*) FROM n"
        )
        order: list[str] = []

        async def costly() -> None:
            with pytest.raises(QueryTimeout):
                await scim.db.fetch_one(forever)
            order.append("costly")

        async def lookup() -> None:
            await anyio.sleep(0.1)
            found = await scim.get("/Users", params={"filter": 'userName eq "ada@example.com"'})
            assert found.json()["totalResults"] == 1
            order.append("lookup")

        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(costly)
            tg.start_soon(lookup)
        assert order[0] == "lookup", order
