"""Logging with request ids, and the middleware that stamps every request with one.

Access lines carry method, path, status, duration, client and request id; never headers,
cookies or bodies, and the values of query parameters that can carry secrets are redacted.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
access_log = logging.getLogger("webrix.access")
_INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
_SENSITIVE = re.compile(r"(code|state|token|secret|password|hint|nonce|verifier|assertion)", re.I)

SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    # No inline script anywhere; inline <style> only. form-action is left open on purpose:
    # sign-out redirects to the identity provider's end-session endpoint, wherever it is.
    (
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    ),
]
HSTS = ("Strict-Transport-Security", "max-age=31536000")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record so the format can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def setup_logging(level: str = "info") -> None:
    """Plain-text logs on stderr, each line with its request id."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs full URLs at INFO; they can carry codes and hints.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def redact_query(query: str) -> str:
    """The query string with the values of secret-looking parameters replaced by `***`."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, "***" if _SENSITIVE.search(k) else v) for k, v in pairs])


def current_request_id() -> str:
    return request_id_var.get()


class RequestContextMiddleware:
    """Request id (X-Request-ID in and out), security headers, and the access log."""

    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        self.app = app
        self.headers = [*SECURITY_HEADERS, HSTS] if https else SECURITY_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                for name, value in self.headers:
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            query = redact_query(scope.get("query_string", b"").decode("latin-1"))
            client = scope.get("client")
            access_log.info(
                '%s "%s %s%s" %d %.1fms',
                client[0] if client else "-",
                scope["method"],
                scope["path"],
                f"?{query}" if query else "",
                status,
                (time.perf_counter() - started) * 1000,
            )
            request_id_var.reset(token)
