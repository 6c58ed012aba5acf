"""The settings page: what the configuration file says, read-only."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from app.admin.common import admin_page, render
from app.auth.sessions import CurrentUser
from app.services import services


@admin_page
async def settings(request: Request, current: CurrentUser) -> Response:
    return render(request, "admin_settings.html", current, config=services(request).config)
