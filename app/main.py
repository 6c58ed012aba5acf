"""The application factory: `create_app(config)` builds everything; nothing exists at import."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from app import errors, provider_hints
from app.admin import routes as admin_routes
from app.auth import presets
from app.auth import routes as auth_routes
from app.checks import unconfigured
from app.config import Config
from app.db import PROBE_SECONDS
from app.logs import RequestContextMiddleware, flush_logs
from app.scim import routes as scim_routes
from app.services import Services, services
from app.templating import make_templates

log = logging.getLogger("webrix")


class _App(Starlette):
    https = False
    max_url_bytes = 8192
    max_header_bytes = 32_768

    def build_middleware_stack(self) -> ASGIApp:
        # Outermost, so the request id is set before, and seen by, the 500 handler.
        return RequestContextMiddleware(
            super().build_middleware_stack(),
            https=self.https,
            max_url_bytes=self.max_url_bytes,
            max_header_bytes=self.max_header_bytes,
            observe_scim=self.state.services.support.clients.observe,
        )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready when the database answers reads and would take a write; else 503 saying why."""
    db = services(request).db
    try:
        await db.ping()
    except Exception:
        log.exception("readiness check failed")
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    fault = await db.writable()
    if fault is not None:
        body = {"status": "degraded", "database": "reads work; writes fail", "reason": fault}
        retry = str(math.ceil(PROBE_SECONDS))  # when the next probe may have ended it
        return JSONResponse(body, status_code=503, headers={"Retry-After": retry})
    return JSONResponse({"status": "ok", "database": "ok"})


STATIC_FILES = {
    "admin.js": "text/javascript; charset=utf-8",
    "webrix.css": "text/css; charset=utf-8",
}  # served, nothing else


async def static_file(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC_FILES:
        raise errors.NotFound(f"No static file {name!r}")
    body = (Path(__file__).parent / "static" / name).read_bytes()
    headers = {"Cache-Control": "public, max-age=3600"}
    return Response(body, media_type=STATIC_FILES[name], headers=headers)


def create_app(
    config: Config, *, http_transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """Build the whole service for `config`; `http_transport` replaces outbound HTTP in tests."""
    svc = Services(config=config, http_transport=http_transport)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await svc.start()
        for line in unconfigured(config):  # the example's placeholders: sign-in cannot work
            log.warning("sign-in is not configured: %s", line)
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(svc.watch_other_processes)
                tasks.start_soon(svc.keep_audit_retention)
                tasks.start_soon(svc.keep_support_records)
                yield
                tasks.cancel_scope.cancel()
        finally:
            await svc.stop()
            flush_logs()  # uvicorn may end the process by its signal: no atexit flush

    routes: list[BaseRoute] = [
        scim_routes.mount(),  # first: the routes matched most often are tried first
        Route("/healthz", healthz, name="healthz"),
        Route("/readyz", readyz, name="readyz"),
        *auth_routes.routes(config),
        *admin_routes.routes(),
        Route("/static/{name}", static_file, name="static"),
    ]
    app = _App(routes=routes, lifespan=lifespan, exception_handlers=errors.handlers())
    app.https = config.server.https
    app.max_url_bytes = config.scim.max_url_bytes
    app.max_header_bytes = config.scim.max_header_bytes
    app.state.services = svc
    templates = make_templates()
    # Every page speaks of the active provider by its name, and points to its console.
    templates.env.globals.update(
        provider=presets.title(config.auth.active),
        provider_key=config.auth.provider,
        hints=provider_hints.hints(config.auth.active),
    )
    app.state.templates = templates
    return app
