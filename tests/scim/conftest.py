"""The SCIM tests' default `scim`: the whole app with a fresh database and an `admin:scim`
token. A module that needs other settings defines its own `scim` fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from app.config import Config
from tests.scim.client import Scim, scim_app


@pytest.fixture
async def scim(make_config: Callable[..., Config]) -> AsyncIterator[Scim]:
    async with scim_app(make_config) as running_scim:
        yield running_scim
