"""Recorded while the service runs, for the support bundle: the last warnings and errors of the
log (a bounded ring, kept without any log file), and which SCIM clients were seen (token, user
agent, endpoint, status, counts). Both live in memory and reach the database in one small write
every few seconds, so a bundle made by the CLI in another process sees them too."""

from __future__ import annotations

import logging
import time
from collections import deque
from datetime import UTC, datetime

from starlette.types import Scope

from app.db import Tx
from app.logs import clip_printable, request_id_var
from app.store.support import ClientCount, LogEvent, add_client_counts, add_log_events

RING_SIZE = 200  # warnings and errors kept in memory (and at most queued for the database)
MAX_MESSAGE = 1000  # characters of one log message kept
MAX_CLIENT_KEYS = 500  # distinct (token, user agent, endpoint, status) between two flushes
MAX_USER_AGENT = 200
_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
_RESOURCES = {
    "Users",
    "Groups",
    "Schemas",
    "ResourceTypes",
    "ServiceProviderConfig",
    ".search",
    "Bulk",
    "Me",
}
_USER_AGENT = b"user-agent"


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LogRing(logging.Handler):
    """Keeps the last warnings and errors, with their request ids."""

    def __init__(self, size: int = RING_SIZE) -> None:
        super().__init__(logging.WARNING)
        self.recent: deque[LogEvent] = deque(maxlen=size)
        self._pending: deque[LogEvent] = deque(maxlen=size)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[0] is not None:
                message += f" [{record.exc_info[0].__name__}]"
            request_id = request_id_var.get()
            event = LogEvent(
                at=_stamp(record.created),
                level=record.levelname,
                logger=record.name,
                request_id=None if request_id == "-" else request_id,
                message=clip_printable(message, MAX_MESSAGE),
            )
        except Exception:
            self.handleError(record)
            return
        self.recent.append(event)  # deque appends are atomic: any thread may log
        self._pending.append(event)

    def take(self) -> list[LogEvent]:
        taken = []
        while self._pending:
            taken.append(self._pending.popleft())
        return taken

    def give_back(self, events: list[LogEvent]) -> None:
        self._pending.extendleft(reversed(events))


def endpoint(method: str, path: str) -> str:
    """A SCIM request's endpoint without its ids: "PATCH /Groups/{id}"."""
    verb = method if method in _METHODS else "OTHER"
    if not path.startswith("/scim/v2"):
        return f"{verb} (outside /scim/v2)"
    parts = [p for p in path[len("/scim/v2") :].split("/") if p]
    if not parts:
        return f"{verb} /"
    head = parts[0] if parts[0] in _RESOURCES else "(unknown)"
    if len(parts) == 1:
        return f"{verb} /{head}"
    if len(parts) == 2:
        return f"{verb} /{head}/" + (".search" if parts[1] == ".search" else "{id}")
    return f"{verb} /{head}/{{id}}/…"


class ScimClients:
    """Counts of SCIM requests by (token id, user agent, endpoint, status) since the last take."""

    def __init__(self, max_keys: int = MAX_CLIENT_KEYS) -> None:
        self.max_keys = max_keys
        self._counts: dict[tuple[str, str, str, int], list[float]] = {}

    def add(self, token_id: str, user_agent: str, where: str, status: int) -> None:
        key = (token_id, user_agent, where, status)
        clock = time.time()
        entry = self._counts.get(key)
        if entry is None:
            if len(self._counts) >= self.max_keys:
                key = (token_id, "(more user agents)", where, status)
                entry = self._counts.get(key)
            if entry is None:
                self._counts[key] = [1, clock, clock]
                return
        entry[0] += 1
        entry[2] = clock

    def observe(self, scope: Scope, status: int) -> None:
        """Count one request under /scim/ (called with its final status, after any error
        handler); its token is the one `authenticate` put in the request's state."""
        token = scope.get("state", {}).get("token")
        agent = next((v for k, v in scope["headers"] if k == _USER_AGENT), b"")
        self.add(
            token.id if token is not None else "",
            clip_printable(agent.decode("utf-8", "replace"), MAX_USER_AGENT) or "(none)",
            endpoint(scope["method"], scope["path"]),
            status,
        )

    def take(self) -> list[ClientCount]:
        counts, self._counts = self._counts, {}
        return [
            ClientCount(t, ua, where, status, int(n), _stamp(first), _stamp(last))
            for (t, ua, where, status), (n, first, last) in counts.items()
        ]


class SupportRecorder:
    """The ring and the counters of one running service, and their write to the database."""

    def __init__(self) -> None:
        self.ring = LogRing()
        self.clients = ScimClients()
        self._unwritten: list[ClientCount] = []

    def attach(self) -> None:
        logging.getLogger().addHandler(self.ring)

    def detach(self) -> None:
        logging.getLogger().removeHandler(self.ring)

    def pending(self) -> tuple[list[LogEvent], list[ClientCount]]:
        counts, self._unwritten = self._unwritten + self.clients.take(), []
        return self.ring.take(), counts

    def give_back(self, events: list[LogEvent], counts: list[ClientCount]) -> None:
        """A failed write: keep what it held for the next one (bounded, oldest dropped)."""
        self.ring.give_back(events)
        self._unwritten = counts[-2 * self.clients.max_keys :]


def write_pending(tx: Tx, events: list[LogEvent], counts: list[ClientCount]) -> None:
    add_log_events(tx, events)
    add_client_counts(tx, counts)
