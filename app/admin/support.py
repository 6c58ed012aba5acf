"""Settings → Download support bundle: the same .zip as `webrix support-bundle`, for
administrators only, audited, one at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
from starlette.requests import Request
from starlette.responses import Response

from app.admin.common import admin_page, audit_fields
from app.auth.sessions import CurrentUser, check_csrf
from app.errors import BadRequest, Busy
from app.services import services
from app.store import audit
from app.support.bundle import build

WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
_making = anyio.Lock()  # one bundle at a time: each runs an integrity check of the database


@admin_page
async def support_bundle(request: Request, current: CurrentUser) -> Response:
    form = await request.form()
    check_csrf(request, current, form.get("csrfToken"))
    window = str(form.get("since", "24h"))
    if window not in WINDOWS:
        raise BadRequest(f"Choose a window of {', '.join(WINDOWS)}")
    include_users = form.get("include_users") == "yes"
    if _making.locked():
        raise Busy("A support bundle is being made right now; try again in a moment.")
    svc = services(request)
    async with _making:
        await svc.db.write(
            audit.record,
            action="support.bundle",
            detail={"since": window, "include_users": include_users},
            **audit_fields(request, current),
        )
        await svc.write_support_records()  # what the ring and counters hold, in the database
        data = await build(
            svc.config,
            svc.http,
            since=WINDOWS[window],
            include_users=include_users,
            recent_logs=list(svc.support.ring.recent),
            key=svc.client_key,
        )
    name = f"webrix-support-{datetime.now(UTC):%Y%m%d-%H%M%S}.zip"
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
    }
    return Response(data, media_type="application/zip", headers=headers)
