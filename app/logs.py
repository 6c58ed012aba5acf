"""Logging with request ids, and the middleware that stamps every request with one.

Access lines carry method, path, status, duration, client and request id; never headers,
cookies or bodies, and the values of query parameters that can carry secrets are redacted.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import random
import re
import sys
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from urllib.parse import parse_qsl, urlencode

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
QUIET_LOGGERS = {
    "httpx": logging.WARNING,
    "httpcore": logging.INFO,
    "aiosqlite": logging.INFO,
    "multipart": logging.INFO,
    "python_multipart": logging.INFO,
}
_X_REQUEST_ID = b"x-request-id"


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record so the format can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class _Formatter(logging.Formatter):
    """The stock format, with the date and time rendered once a second rather than per line."""

    _cache: tuple[int, str] = (-1, "")  # one tuple: threads never see half an update

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second, stamp = self._cache
        if int(record.created) != second:
            second = int(record.created)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._cache = (second, stamp)
        return f"{stamp},{int(record.msecs):03d}"


class BufferedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes access lines in batches, as nginx's `access_log … buffer= flush=` does: one write
    per `max_bytes` or `max_delay` seconds instead of one per request. Any other line is written
    at once, with every line before it; `flush()` writes whatever waits (the app's watcher calls
    it twice a second, and the lifespan at shutdown)."""

    def __init__(self, max_bytes: int = 16_384, max_delay: float = 0.5) -> None:
        super().__init__(sys.stderr)
        self.max_bytes, self.max_delay = max_bytes, max_delay
        self._pending: list[str] = []
        self._size = 0
        self._since = time.monotonic()
        self._lock_pending = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        with self._lock_pending:
            self._pending.append(line)
            self._size += len(line)
            due = (
                record.name != access_log.name
                or self._size >= self.max_bytes
                or time.monotonic() - self._since >= self.max_delay
            )
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock_pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._size = 0
            self._since = time.monotonic()
        if text:
            with self.lock:  # type: ignore[union-attr]
                self.stream.write(text)
                self.stream.flush()


def flush_logs() -> None:
    """Write out the lines the root logger's handlers hold."""
    for handler in logging.getLogger().handlers:
        handler.flush()


def setup_logging(level: str = "info") -> None:
    """Plain-text logs on stderr, each line with its request id."""
    # Every request writes an access line: skip what the format never prints (the calling
    # source line, thread and process names), as the logging HOWTO's "Optimization" advises.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = BufferedStreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        _Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries whose own debug lines carry what must never reach a log, whatever the level:
    # httpx full URLs (codes, hints) at INFO; aiosqlite every statement with its parameters
    # (session ids, ID tokens); httpcore headers; python-multipart form fields (CSRF tokens).
    for name, floor in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(floor, root.level))


def redact_query(query: str) -> str:
    """The query string with the values of secret-looking parameters replaced by `***`."""
    if not query or not _SENSITIVE.search(query):
        return query  # nothing to hide (the common case): no need to parse it
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, "***" if _SENSITIVE.search(k) else v) for k, v in pairs])


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clip_printable(text: str, limit: int, replacement: str = " ") -> str:
    """`text` without control characters (each replaced by `replacement`), at most `limit`
    characters: a client's text (a user agent, a path) made fit to show or keep."""
    return _CONTROL.sub(replacement, text[: limit * 4])[:limit]


def _printable(text: str) -> str:
    """`text` with control characters escaped: a path cannot start a forged log line."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


@functools.lru_cache(maxsize=4096)
def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def current_request_id() -> str:
    return request_id_var.get()


class RequestContextMiddleware:
    """Request id (X-Request-ID in and out), security headers, and the access log."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        https: bool = False,
        max_url_bytes: int = 8192,
        max_header_bytes: int = 32_768,
        observe_scim: Callable[[Scope, int], None] | None = None,
    ) -> None:
        self.app = app
        self.observe_scim = observe_scim  # told each /scim/ request's final status
        self.max_url_bytes, self.max_header_bytes = max_url_bytes, max_header_bytes
        chosen = [*SECURITY_HEADERS, HSTS] if https else SECURITY_HEADERS
        self.headers = [(name.lower().encode(), value.encode()) for name, value in chosen]

    def _incoming_id(self, scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == _X_REQUEST_ID:
                text: str = value.decode("latin-1")
                return text if _INCOMING_ID.fullmatch(text) else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A correlation id, not a secret: the fast generator will do (os.urandom is a syscall).
        rid = self._incoming_id(scope) or f"{random.getrandbits(128):032x}"
        client = scope.get("client")
        if client and not _is_ip(client[0]):
            # A trusted proxy's X-Forwarded-For said something that is no address: the logs,
            # the audit and the throttles must not take it as one.
            scope["client"] = ("unknown", client[1])
        token = request_id_var.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Raw header pairs (names are lower-case bytes in ASGI): ours are added unless
                # the response set its own, and the request id replaces any other.
                headers = [h for h in message.get("headers", ()) if h[0] != _X_REQUEST_ID]
                present = {name for name, _ in headers}
                headers.append((_X_REQUEST_ID, rid.encode()))
                headers += [h for h in self.headers if h[0] not in present]
                message["headers"] = headers
            await send(message)

        raw_query: bytes = scope.get("query_string", b"")
        url_bytes = len(scope.get("raw_path") or scope["path"]) + len(raw_query) + bool(raw_query)
        too_long = url_bytes > self.max_url_bytes  # path, "?" and query string, as sent
        header_bytes = sum(len(name) + len(value) for name, value in scope["headers"])
        try:
            if too_long:
                detail = f"The path and query string exceed {self.max_url_bytes} bytes"
                await _refuse(scope, send_wrapper, 414, "URI too long", detail, "max_url_bytes")
            elif header_bytes > self.max_header_bytes:
                detail = f"The request headers exceed {self.max_header_bytes} bytes"
                title = "Request header fields too large"
                await _refuse(scope, send_wrapper, 431, title, detail, "max_header_bytes")
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            if self.observe_scim is not None and scope["path"].startswith("/scim/"):
                self.observe_scim(scope, status)
            query = "…" if too_long else redact_query(raw_query.decode("latin-1"))
            client = scope.get("client")
            access_log.info(
                '%s "%s %s%s" %d %.1fms',
                client[0] if client else "-",
                scope["method"],
                _printable(scope["path"][:200]),
                f"?{query}" if query else "",
                status,
                (time.perf_counter() - started) * 1000,
            )
            request_id_var.reset(token)


async def _refuse(scope: Scope, send: Send, status: int, title: str, detail: str, key: str) -> None:
    """Refuse before anything reads the request: a SCIM error under /scim/, else plain JSON."""
    detail = f"{detail} ([scim] {key})"
    if scope["path"].startswith("/scim/"):
        doc = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": str(status)}
        body, kind = {**doc, "detail": detail}, b"application/scim+json"
    else:
        body, kind = {"error": title, "message": detail}, b"application/json"
    content = json.dumps(body).encode()
    headers = [(b"content-type", kind), (b"content-length", str(len(content)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
