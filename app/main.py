"""The application factory: `create_app(config)` builds everything; nothing exists at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import httpx
import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp

from app import errors
from app.config import Config
from app.db import Database
from app.logs import RequestContextMiddleware
from app.store.tokens import UsageRecorder

log = logging.getLogger("webrix")
USER_AGENT = "webrix-identity/0.1"


@dataclass
class Services:
    """What requests share: opened by the lifespan, closed at shutdown."""

    config: Config
    http_transport: httpx.AsyncBaseTransport | None = None
    token_usage: UsageRecorder = field(default_factory=UsageRecorder)
    _db: Database | None = None
    _http: httpx.AsyncClient | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            raise RuntimeError("the database is not open (is the lifespan running?)")
        return self._db

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("the HTTP client is not open (is the lifespan running?)")
        return self._http

    async def start(self) -> None:
        self._db = await Database.open(self.config.database.path)
        timeout = self.config.auth.jumpcloud.timeout_seconds
        self._http = httpx.AsyncClient(
            transport=self.http_transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._db is not None:
            await self._db.close()
            self._db = None


def services(request: Request) -> Services:
    """The Services of the app serving this request."""
    return cast(Services, request.app.state.services)


class _App(Starlette):
    def build_middleware_stack(self) -> ASGIApp:
        # Outermost, so the request id is set before, and seen by, the 500 handler.
        return RequestContextMiddleware(super().build_middleware_stack())


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        await services(request).db.fetch_one("SELECT 1")
    except Exception:
        log.exception("readiness check failed")
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def make_templates(*extra_dirs: Path) -> Jinja2Templates:
    """Autoescaping Jinja2 templates from app/templates and the given folders."""
    here = Path(__file__).parent
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(here / "templates"), *map(str, extra_dirs)]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return Jinja2Templates(env=env)


def create_app(
    config: Config, *, http_transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """Build the whole service for `config`; `http_transport` replaces outbound HTTP in tests."""
    svc = Services(config=config, http_transport=http_transport)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await svc.start()
        try:
            yield
        finally:
            await svc.stop()

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, name="healthz"),
        Route("/readyz", readyz, name="readyz"),
    ]
    app = _App(routes=routes, lifespan=lifespan, exception_handlers=errors.handlers())
    app.state.services = svc
    app.state.templates = make_templates()
    return app
