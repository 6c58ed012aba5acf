"""The console's front page: what to paste into JumpCloud, counts, recent activity."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.admin.common import admin_page, render
from app.auth.sessions import CurrentUser
from app.db import Tx
from app.services import services
from app.store import audit, tokens
from app.store import groups as group_store
from app.store import users as user_store


def _overview(tx: Tx) -> dict[str, Any]:
    return {
        "counts": user_store.counts(tx),
        "groups": group_store.count(tx),
        "tokens": [t for t in tokens.list_tokens(tx) if t.active],
        "events": audit.recent(tx, limit=10),
    }


@admin_page
async def overview(request: Request, current: CurrentUser) -> Response:
    svc = services(request)
    facts = await svc.db.read(_overview)
    return render(request, "admin_overview.html", current, config=svc.config, **facts)
