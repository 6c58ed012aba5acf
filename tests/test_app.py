from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.config import Config
from app.main import create_app
from tests.conftest import running


@pytest.mark.anyio
async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok", "database": "ok"}


@pytest.mark.anyio
async def test_request_id_and_security_headers(client: httpx.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["referrer-policy"] == "no-referrer"
    assert first.headers["x-frame-options"] == "DENY"
    echoed = await client.get("/healthz", headers={"X-Request-ID": "lb-1234abcd"})
    assert echoed.headers["x-request-id"] == "lb-1234abcd"
    hostile = await client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert "<" not in hostile.headers["x-request-id"]


@pytest.mark.anyio
async def test_not_found_page_shows_the_request_id(client: httpx.AsyncClient) -> None:
    page = await client.get("/no/such/page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-request-id"] in page.text
    api = await client.get("/api/nothing")
    assert api.status_code == 404 and api.json()["request_id"] == api.headers["x-request-id"]


@pytest.mark.anyio
async def test_unexpected_error_is_a_500_with_request_id_and_no_traceback(
    make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(request: Request) -> Response:
        raise RuntimeError("secret-internal-detail")

    app = create_app(make_config())
    app.router.routes.append(Route("/boom", boom))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            page = await c.get("/boom")
    assert page.status_code == 500
    rid = page.headers["x-request-id"]
    assert rid in page.text
    assert "secret-internal-detail" not in page.text and "Traceback" not in page.text
    assert any("unhandled error on GET /boom" in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_readiness_fails_when_the_database_is_gone(
    make_config: Callable[..., Config],
) -> None:
    app = create_app(make_config())
    async with running(app) as c:
        await app.state.services.db.close()
        ready = await c.get("/readyz")
        assert ready.status_code == 503
        app.state.services._db = None  # already closed
