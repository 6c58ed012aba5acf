from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Run the async tests on asyncio only (anyio's own pytest plugin)."""
    return "asyncio"
