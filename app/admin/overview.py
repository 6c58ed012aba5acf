"""The console's front page: the setup checklist, what to paste into the active provider's
console, counts, recent activity."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.admin.checklist import checklist
from app.admin.common import admin_page, render
from app.auth.sessions import CurrentUser
from app.db import Tx
from app.services import services
from app.store import audit, audit_search, tokens
from app.store import groups as group_store
from app.store import users as user_store
from app.store.checklist import setup_state


def _overview(tx: Tx) -> dict[str, Any]:
    every_token = tokens.list_tokens(tx)
    events = audit.recent(tx, limit=10)
    return {
        "counts": user_store.counts(tx),
        "groups": group_store.count(tx),
        "every_token": every_token,
        "tokens": [t for t in every_token if t.active],
        "events": events,
        "names": audit_search.names(tx, events),  # who and what, by name
        "setup": setup_state(tx),  # the checklist's facts, in this same read
    }


@admin_page
async def overview(request: Request, current: CurrentUser) -> Response:
    svc = services(request)
    facts = await svc.db.read(_overview)
    sections = checklist(svc.config, facts.pop("setup"), facts.pop("every_token"), facts["groups"])
    return render(
        request,
        "admin_overview.html",
        current,
        config=svc.config,
        checklist=sections,
        **facts,
    )
