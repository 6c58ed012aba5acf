"""The audit log in the console: filtered, searchable by request id, paged both ways by id,
exported as JSON Lines. Every query parameter is bounded and parsed strictly: a bad one is
named on the page (400), never a 500."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from app.admin.common import PAGE_SIZE, admin_page, number, render
from app.auth.sessions import CurrentUser
from app.db import DatabaseUnavailable, QueryTimeout, Tx
from app.services import services
from app.store import audit_search as search
from app.store.audit import AuditEvent

log = logging.getLogger("webrix.admin")

EXPORT_MAX = 100_000  # events in one export, newest first
EXPORT_BATCH = 1000  # events per database round trip of an export
MAX_TEXT = 200  # characters of a free-text filter
_ACTION = re.compile(r"[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*\.?")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # what app.logs accepts or makes
_GENERATED_PART = re.compile(r"[0-9A-Fa-f]{1,32}")  # app.logs makes 32 lower-case hex digits
GENERATED_LENGTH = 32
PREFIX_MIN = 8  # a shorter start of an id would match too much to be what was meant
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2})(:[0-9]{2})?Z?")
FILTERS = ("action", "actor", "target", "since", "until", "request_id")
KNOWN_ACTIONS = (
    "user.",
    "group.",
    "token.",
    "auth.",
    "user.create",
    "user.replace",
    "user.patch",
    "user.delete",
    "user.adopt",
    "user.create.jit",
    "group.create",
    "group.replace",
    "group.patch",
    "group.delete",
    "token.create",
    "token.revoke",
    "auth.signin",
    "auth.signin.refused",
    "auth.signout",
)


class BadFilter(ValueError):
    """A query parameter of the audit page is not acceptable; the message says why."""


@dataclass(frozen=True)
class Query:
    """The audit page's parameters, validated; `texts` are the filters as typed (for links)."""

    texts: dict[str, str]
    action: str | None
    since: str | None
    until: str | None
    request_id: str | None

    def link(self, **cursor: int) -> str:
        """/admin/audit with these filters kept, and a paging cursor."""
        params = {k: v for k, v in self.texts.items() if v} | {k: str(v) for k, v in cursor.items()}
        return "/admin/audit" + (f"?{urlencode(params)}" if params else "")

    def export_link(self) -> str:
        params = {k: v for k, v in self.texts.items() if v}
        return "/admin/audit/export" + (f"?{urlencode(params)}" if params else "")


def _moment(text: str, name: str, *, end: bool) -> str:
    """A date or a date and time (UTC) as the stored ISO text; with `end`, the first instant
    after it (a date ends at midnight, a minute at its 60th second), so `until` includes it."""
    try:
        if _DATE.fullmatch(text):
            at, step = datetime.strptime(text, "%Y-%m-%d"), timedelta(days=1)
        elif match := _DATETIME.fullmatch(text):
            seconds = match[3] or ""
            at = datetime.strptime(
                f"{match[1]}T{match[2]}{seconds}", "%Y-%m-%dT%H:%M" + (":%S" if seconds else "")
            )
            step = timedelta(seconds=1) if seconds else timedelta(minutes=1)
        else:
            raise ValueError(text)
        if end:
            at += step
    except (ValueError, OverflowError):
        raise BadFilter(
            f"“{text[:40]}” is not a date for {name!r}: write 2026-11-30, or 2026-11-30T14:05 (UTC)"
        ) from None
    return at.replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_query(request: Request) -> Query:
    """The filters of the request's query string; BadFilter names the first bad one."""
    texts = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    for name, text in texts.items():
        if len(text) > MAX_TEXT:
            raise BadFilter(f"The {name!r} filter is longer than {MAX_TEXT} characters")
    action = texts["action"].lower() or None
    if action is not None and not _ACTION.fullmatch(action):
        raise BadFilter(
            f"“{action[:40]}” is not an action: write one like user.create, or a family like user."
        )
    request_id = texts["request_id"].rstrip("…") or None  # as a table shows a long one
    if request_id is not None and _GENERATED_PART.fullmatch(request_id):
        request_id = request_id.lower()  # the ids the service makes are lower-case hex
    if request_id is not None and not _REQUEST_ID.fullmatch(request_id):
        raise BadFilter(
            "A request id is 1 to 64 letters, digits, dots, dashes or underscores, as shown on"
            " the error page"
        )
    since = _moment(texts["since"], "since", end=False) if texts["since"] else None
    until = _moment(texts["until"], "until", end=True) if texts["until"] else None
    if since and until and since >= until:
        raise BadFilter("'since' must be before 'until'")
    return Query(texts, action, since, until, request_id)


def _filter(tx: Tx, query: Query) -> search.Filter:
    """The query as a store filter; actor and target names are looked up here, in the read."""
    actor, target = query.texts["actor"], query.texts["target"]
    return search.Filter(
        action=query.action,
        actors=search.resolve_actor(tx, actor) if actor else None,
        targets=search.resolve_target(tx, target) if target else None,
        since=query.since,
        until=query.until,
        request_id=query.request_id,
        # The start of a generated id (the table shows 12 characters) finds the whole one.
        request_id_prefix=query.request_id is not None
        and PREFIX_MIN <= len(query.request_id) < GENERATED_LENGTH
        and bool(_GENERATED_PART.fullmatch(query.request_id)),
    )


def _page(
    tx: Tx, query: Query, before: int | None, after: int | None
) -> tuple[search.Page, str | None]:
    """One page, and a note when the actor filter names nobody (a likely typo)."""
    where = _filter(tx, query)
    found = search.page(tx, where, limit=PAGE_SIZE, before=before, after=after)
    note = None
    if where.actors == ():
        note = (
            f"No user, token or service goes by “{query.texts['actor'][:60]}”. Try an email,"
            " a token name, cli, system or anonymous."
        )
    return found, note


@admin_page
async def audit_log(request: Request, current: CurrentUser) -> Response:
    """GET /admin/audit: one page of the filtered log (or, with format=jsonl, its export)."""
    if request.query_params.get("format") == "jsonl":
        return await _export(request)
    try:
        query = parse_query(request)
    except BadFilter as exc:
        texts = {n: request.query_params.get(n, "")[:MAX_TEXT] for n in FILTERS}
        return _render(request, current, texts, None, None, error=str(exc))
    before = number(request, "before", None, 18)
    after = number(request, "after", None, 18) if before is None else None
    found, note = await services(request).db.read(_page, query, before, after)
    return _render(request, current, query.texts, query, found, note=note)


def _render(
    request: Request,
    current: CurrentUser,
    texts: dict[str, str],
    query: Query | None,
    found: search.Page | None,
    error: str | None = None,
    note: str | None = None,
) -> Response:
    events = found.events if found else []
    newer = older = None
    if query is not None and found is not None and events:
        newer = query.link(after=events[0].id) if found.newer else None
        older = query.link(before=events[-1].id) if found.older else None
    return render(
        request,
        "admin_audit.html",
        current,
        status_code=400 if error else 200,
        events=events,
        names=found.names if found else {},
        filters=texts,
        filtered=any(texts.values()),
        error=error,
        note=note,
        newer=newer,
        older=older,
        export=query.export_link() if query else None,
        actions=KNOWN_ACTIONS,
        export_max=EXPORT_MAX,
    )


def _line(event: AuditEvent, names: dict[str, str]) -> dict[str, Any]:
    target = f"{event.target_type}:{event.target_id}" if event.target_type else ""
    return {
        "id": event.id,
        "at": event.at,
        "actor": event.actor,
        "actor_name": names.get(event.actor, event.actor if ":" not in event.actor else None),
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_name": names.get(target),
        "detail": event.detail,
        "ip": event.ip,
        "request_id": event.request_id,
    }


def _export_batch(
    tx: Tx, query: Query, where: search.Filter | None, before: int | None, limit: int
) -> tuple[str, int | None, int, search.Filter]:
    """One batch of the export as JSON Lines text, made on the database's thread; the id to
    continue below (None at the end), how many events, and the resolved filter."""
    # Resolved once (names, and the time span as ids), then handed back for the next batches.
    where = (where or _filter(tx, query)).spanned(tx)
    found = search.batch(tx, where, before=before, limit=limit)
    text = "".join(
        json.dumps(_line(e, found.names), ensure_ascii=False, separators=(",", ":")) + "\n"
        for e in found.events
    )
    last = found.events[-1].id if found.older and found.events else None
    return text, last, len(found.events), where


@admin_page
async def audit_export(request: Request, current: CurrentUser) -> Response:
    """GET /admin/audit/export: the filtered log as JSON Lines, newest first, bounded."""
    return await _export(request)


async def _export(request: Request) -> Response:
    try:
        query = parse_query(request)
    except BadFilter as exc:
        return Response(f"{exc}\n", status_code=400, media_type="text/plain; charset=utf-8")
    db = services(request).db
    # The first batch before any header is sent: a query over its budget is then a clear 503.
    limit = min(EXPORT_BATCH, EXPORT_MAX)
    first, before, sent, where = await db.read(_export_batch, query, None, None, limit)

    async def lines() -> AsyncIterator[str]:
        nonlocal before, sent
        yield first
        while before is not None and sent < EXPORT_MAX:
            limit = min(EXPORT_BATCH, EXPORT_MAX - sent)
            # One read per batch: memory stays one batch, and the loop serves others between.
            try:
                text, before, count, _ = await db.read(_export_batch, query, where, before, limit)
            except (QueryTimeout, DatabaseUnavailable) as exc:
                # The status line is long gone: say so in the file rather than end it short.
                log.warning("audit export stopped after %d events: %s", sent, exc)
                end = {"error": "truncated", "exported": sent, "reason": str(exc)[:200]}
                yield json.dumps(end) + "\n"
                return
            sent += count
            yield text

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="webrix-audit-{stamp}.jsonl"',
            "Cache-Control": "no-store",
        },
    )
