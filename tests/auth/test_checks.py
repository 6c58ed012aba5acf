"""`webrix check`'s provider check, against the FakeProvider (the e2e test uses the real one)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.checks import check_provider, unconfigured
from app.config import Config
from tests.auth.sso import new_fake

pytestmark = pytest.mark.anyio


async def test_reachable_provider(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake()
    assert await check_provider(make_config(), fake.transport) == 0
    out = capsys.readouterr().out
    assert f"issuer {fake.issuer} matches" in out
    assert "fake-key-1" in out and "OK" in out
    assert fake.count("/.well-known/jwks.json") == 1


async def test_issuer_mismatch(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake()
    fake.discovery_override = {"issuer": "https://other.example/"}
    assert await check_provider(make_config(), fake.transport) == 1
    out = capsys.readouterr().out
    assert "PROBLEM" in out and "https://other.example/" in out


async def test_provider_down(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake()
    fake.down = True
    assert await check_provider(make_config(), fake.transport) == 1
    assert "PROBLEM" in capsys.readouterr().out


async def test_no_basic_client_auth(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake()
    fake.discovery_override = {"token_endpoint_auth_methods_supported": ["client_secret_post"]}
    assert await check_provider(make_config(), fake.transport) == 1
    assert "client_secret_basic" in capsys.readouterr().out


def test_unconfigured_names_placeholders_and_empty_values(
    make_config: Callable[..., Config],
) -> None:
    assert unconfigured(make_config()) == []
    config = make_config(
        jumpcloud={"client_id": "paste-the-client-id-from-jumpcloud", "client_secret": "..."}
    )
    assert unconfigured(config) == [
        "[auth.jumpcloud] client_id still holds the example value from config.example.toml",
        "[auth.jumpcloud] client_secret still holds the example value from config.example.toml",
    ]
