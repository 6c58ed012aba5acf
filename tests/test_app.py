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


@pytest.mark.anyio
async def test_content_security_policy_and_static_files(client: httpx.AsyncClient) -> None:
    page = await client.get("/signed-out")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "strict-transport-security" not in page.headers  # http public_url
    script = await client.get("/static/admin.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )
    for name in ("__init__.py", "..%2Fconfig.py", "nope.js"):
        assert (await client.get(f"/static/{name}")).status_code == 404


@pytest.mark.anyio
async def test_https_deployments_get_hsts(make_config: Callable[..., Config]) -> None:
    app = create_app(make_config(server={"public_url": "https://connect.example.com"}))
    async with running(app, base_url="https://connect.example.com") as c:
        response = await c.get("/healthz")
    assert response.headers["strict-transport-security"] == "max-age=31536000"


def test_no_template_has_inline_script() -> None:
    """The CSP allows no inline script: no <script> body, no on* handler, no javascript: URL."""
    import re

    from tests.conftest import ROOT

    templates = sorted((ROOT / "app").rglob("*.html"))
    assert templates, "no template found: the loop below would check nothing"
    for path in templates:
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert not re.search(r"\son[a-z]+\s*=", text, re.I), path
        assert "javascript:" not in text, path
