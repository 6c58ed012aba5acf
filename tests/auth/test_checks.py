"""`webrix check`'s connection test against the FakeProvider (the e2e tests use the real one):
what it says for each failure, where to fix it, and that it records its outcome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from app.checks import FIX_CREDENTIALS, unconfigured
from app.checks_cli import check
from app.config import Config
from app.db import Database
from app.main import create_app
from app.store import audit, facts
from tests.auth.fakeprovider import FakeProvider
from tests.auth.sso import CLIENT_ID, CLIENT_SECRET, new_fake
from tests.conftest import running

pytestmark = pytest.mark.anyio
ADMINS = {"admin_emails": ["ada@example.com"]}
OK_LINE = "OK: sign-in can reach the identity provider"


async def run(
    make_config: Callable[..., Config],
    capsys: pytest.CaptureFixture[str],
    fake: FakeProvider,
    **sections: dict[str, Any],
) -> tuple[int, str]:
    sections.setdefault("access", ADMINS)
    code = await check(make_config(**sections), fake.transport)
    return code, capsys.readouterr().out


async def recorded(config: Config) -> tuple[dict[str, Any], list[audit.AuditEvent]]:
    db = await Database.open(config.database.path, readers=1)
    try:
        known = await db.read(facts.all_facts)
        events = [e for e in await db.read(audit.recent, limit=100) if e.action == "sso.test"]
    finally:
        await db.close()
    assert "sso.tested" not in known  # the service's own test is Settings → Test connection
    return known["sso.tested.cli"].value, events


async def test_right_credentials_are_accepted_and_recorded(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake()
    code, out = await run(make_config, capsys, fake)
    assert code == 0, out
    assert f"issuer {fake.issuer} matches" in out
    assert "fake-key-1" in out
    assert "OK       Client ID and Client Secret: Accepted" in out
    assert "OK       Redirect URI" in out
    assert OK_LINE in out and "WARNING" not in out
    # The probe authenticated exactly as sign-in does: Basic, a made-up code, the redirect URI.
    [probe] = fake.token_requests
    assert probe["grant_type"] == "authorization_code"
    assert probe["redirect_uri"] == "http://127.0.0.1:8080/api/auth/callback/jumpcloud"
    assert len(probe["code"]) >= 32 and "client_secret" not in probe
    [token_request] = [r for r in fake.requests if r.url.path == "/oauth2/token"]
    assert token_request.headers["authorization"].startswith("Basic ")
    value, events = await recorded(make_config())
    steps = value.pop("steps")
    assert value == {"ok": True, "result": value["result"], "by": "cli"}
    assert [(s["name"], s["status"]) for s in steps][:2] == [
        ("Configuration", "ok"),
        ("Discovery document", "ok"),
    ]
    assert [(e.actor, e.detail["ok"]) for e in events] == [("cli", True)]


@pytest.mark.parametrize(
    "registered", [{"client_secret": "the-regenerated-one"}, {"client_id": "another-client"}]
)
async def test_wrong_client_id_or_secret_fails_naming_the_jumpcloud_field(
    make_config: Callable[..., Config],
    capsys: pytest.CaptureFixture[str],
    registered: dict[str, str],
) -> None:
    wanted = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **registered}
    fake = FakeProvider(client_id=wanted["client_id"], client_secret=wanted["client_secret"])
    code, out = await run(make_config, capsys, fake)
    assert code == 1, out
    assert "PROBLEM  Client ID and Client Secret: The Client ID or Client Secret is wrong" in out
    assert "invalid_client" in out
    assert FIX_CREDENTIALS in out
    assert (
        "Admin Console → SSO (SSO Applications) → your Webrix app → SSO tab → Client ID and Client Secret"
        in out
    )
    assert OK_LINE not in out and "FAILED: Client ID and Client Secret" in out
    assert CLIENT_SECRET not in out and "the-regenerated-one" not in out
    value, events = await recorded(make_config())
    assert value["ok"] is False and "Client ID or Client Secret is wrong" in value["result"]
    assert CLIENT_SECRET not in str(value) and CLIENT_SECRET not in str(events[0].detail)


async def test_a_secret_echoed_by_the_provider_is_redacted(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake()
    fake.token_error = (401, {"error": "invalid_client", "error_description": CLIENT_SECRET})
    code, out = await run(make_config, capsys, fake)
    assert code == 1
    assert "[redacted]" in out and CLIENT_SECRET not in out


async def test_any_other_answer_is_reported_as_is(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake()
    fake.token_error = (400, {"error": "invalid_request", "error_description": "odd <b>"})
    code, out = await run(make_config, capsys, fake)
    assert "WARNING  Client ID and Client Secret: Could not be confirmed" in out
    assert "HTTP 400, error invalid_request: odd <b>" in out
    assert code == 0  # a warning: nothing says the credentials are wrong


async def test_an_unregistered_redirect_uri_names_the_redirect_uris_field(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake()
    fake.redirect_uris = {"https://elsewhere.example/api/auth/callback/jumpcloud"}
    code, out = await run(make_config, capsys, fake)
    assert code == 1
    assert "PROBLEM  Redirect URI: The sign-in request was refused" in out
    assert "SSO tab → Redirect URIs: add http://127.0.0.1:8080/api/auth/callback/jumpcloud" in out


async def test_issuer_mismatch(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake()
    fake.discovery_override = {"issuer": "https://other.example/"}
    code, out = await run(make_config, capsys, fake)
    assert code == 1
    assert "PROBLEM  Discovery document" in out and "https://other.example/" in out
    assert "https://oauth.id.jumpcloud.com/ (the default)" in out
    assert fake.token_requests == []


async def test_provider_down(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake()
    fake.down = True
    code, out = await run(make_config, capsys, fake)
    assert code == 1
    assert "PROBLEM  Discovery document: Could not reach JumpCloud" in out
    assert "Let this server reach oauth.id.jumpcloud.com over HTTPS" in out
    assert OK_LINE not in out


async def test_a_slow_provider_is_given_the_configured_timeout_in_all(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake()

    async def slow_token_endpoint(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            await anyio.sleep(30)
        return await fake.transport.handle_async_request(request)

    config = make_config(access=ADMINS, jumpcloud={"timeout_seconds": 0.5})
    with anyio.fail_after(10):
        code = await check(config, httpx.MockTransport(slow_token_endpoint))
    out = capsys.readouterr().out
    assert code == 1
    assert "did not answer every check within 0.5 s ([auth.jumpcloud] timeout_seconds)" in out
    assert "OK       Discovery document" in out  # what finished in time is still reported
    assert "OK       Signing keys (JWKS)" in out


async def test_no_basic_client_auth(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = new_fake()
    fake.discovery_override = {"token_endpoint_auth_methods_supported": ["client_secret_post"]}
    code, out = await run(make_config, capsys, fake)
    assert code == 1
    assert "client_secret_basic" in out
    assert "Client Authentication Type: select Client Secret Basic" in out


async def test_placeholders_are_not_configured(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeProvider(client_id="paste-the-client-id-from-jumpcloud", client_secret="...")
    code, out = await run(
        make_config,
        capsys,
        fake,
        jumpcloud={"client_id": "paste-the-client-id-from-jumpcloud", "client_secret": "..."},
    )
    assert code == 1
    assert "NOT CONFIGURED" in out and "Config test.toml: OK" not in out
    assert "[auth.jumpcloud] client_id still holds the example value" in out
    assert "SKIPPED  Client ID and Client Secret: Not tested" in out
    assert fake.token_requests == [] and OK_LINE not in out
    assert "NOT YET" not in out  # public_url is a real one here: its URLs can be pasted


async def test_the_example_public_url_is_not_offered_for_pasting(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    example = {"public_url": "https://connect.example.com"}
    code, out = await run(make_config, capsys, new_fake(), server=example)
    assert code == 1 and "[server] public_url still holds the example value" in out
    not_yet = out.index("NOT YET: these URLs use the example public_url")
    assert not_yet < out.index("Redirect URI:   https://connect.example.com/api/auth/callback")


async def test_the_service_warns_at_start_while_not_configured(
    make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(jumpcloud={"client_id": "paste-the-client-id-from-jumpcloud"})
    async with running(create_app(config)) as client:
        assert (await client.get("/healthz")).status_code == 200
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert (
        "sign-in is not configured: [auth.jumpcloud] client_id still holds the example value "
        "from config.example.toml"
    ) in warned


async def test_no_administrator_is_a_warning_not_a_failure(
    make_config: Callable[..., Config], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = await run(make_config, capsys, new_fake(), access={})
    assert code == 0
    assert "WARNING  Administrators: No administrator configured" in out
    assert "[access] admin_emails" in out and OK_LINE in out


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
