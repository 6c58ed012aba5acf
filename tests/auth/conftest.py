from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from app.config import Config
from tests.auth.sso import Sso, sso_app


@pytest.fixture
async def sso(make_config: Callable[..., Config]) -> AsyncIterator[Sso]:
    """The app with the fake OpenID provider behind sign-in (tests.auth.sso)."""
    async with sso_app(make_config) as running_sso:
        yield running_sso
