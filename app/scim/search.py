"""POST /scim/v2/.search: one query across Users and Groups (RFC 7644 §3.4.3)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.scim import groups, users
from app.scim.endpoints import Finder
from app.scim.filter import FilterError
from app.scim.http import READ_SCOPES, list_response, scim_endpoint, search_params
from app.services import services

FINDERS: tuple[Finder, ...] = (users.find, groups.find)


@scim_endpoint(*READ_SCOPES)
async def search_all(request: Request) -> Response:
    """Users first, then Groups; a filter naming attributes one type lacks matches none of it."""
    svc = services(request)
    params = await search_params(request)
    totals: list[int] = []
    errors: list[FilterError] = []
    for finder in FINDERS:
        try:
            totals.append((await finder(svc, params, 0, 0))[0])
        except FilterError as exc:
            totals.append(-1)
            errors.append(exc)
    if len(errors) == len(FINDERS):
        raise errors[0]
    items: list[dict[str, Any]] = []
    offset, wanted = params.start_index - 1, params.count
    for finder, total in zip(FINDERS, totals, strict=True):
        if total <= 0:
            continue
        if offset >= total:
            offset -= total
            continue
        if wanted > len(items):
            items += (await finder(svc, params, offset, wanted - len(items)))[1]
        offset = 0
    return list_response(items, sum(t for t in totals if t > 0), params.start_index)
