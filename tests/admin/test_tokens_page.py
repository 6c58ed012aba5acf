"""The API tokens page: a scope is required, an optional expiry (refused by SCIM once past,
cached or not), status badges, who revoked a token and when, and a last use that is current."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from app.config import Config
from app.store import tokens
from tests.auth.sso import Sso, sso_app
from tests.conftest import config_data, new_token, webrix, write_toml

pytestmark = pytest.mark.anyio

ADA = "ada@example.com"
TOKEN = re.compile(r"wxt_[A-Za-z0-9_-]{43}")


@pytest.fixture
async def admin(make_config: Callable[..., Config]) -> AsyncIterator[Sso]:
    async with sso_app(make_config, access={"admin_emails": [ADA]}) as sso:
        await sso.signed_in()
        yield sso


async def generate(sso: Sso, **form: str | list[str]) -> tuple[int, str]:
    """POST the Generate form; (status, the page that follows)."""
    data = {"csrfToken": await sso.csrf_token(), "action": "create", **form}
    posted = await sso.client.post("/admin/api-tokens", data=data)
    if posted.status_code != 303:
        return posted.status_code, posted.text
    return 303, (await sso.client.get("/admin/api-tokens")).text


def row(page: str, token_id: str) -> str:
    match = re.search(rf'<tr data-token-id="{token_id}".*?</tr>', page, re.DOTALL)
    assert match, f"no row for {token_id}"
    return match[0]


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_unticking_every_scope_is_refused_not_made_admin_scim(admin: Sso) -> None:
    status, page = await generate(admin, name="JumpCloud SCIM")
    assert status == 400
    assert "Choose at least one scope" in page
    assert 'value="JumpCloud SCIM"' in page  # what was typed is kept to correct the choice
    assert not TOKEN.search(page)
    assert await admin.db.read(tokens.list_tokens) == []


async def test_several_scopes_are_kept(admin: Sso) -> None:
    status, _ = await generate(admin, name="reader", scope=["admin:read", "admin:write"])
    assert status == 303
    (made,) = await admin.db.read(tokens.list_tokens)
    assert made.scopes == ("admin:read", "admin:write") and made.expires is None


async def test_the_token_is_shown_once_in_a_monospace_field_with_a_copy_button(
    admin: Sso,
) -> None:
    status, page = await generate(admin, name="JumpCloud SCIM", scope="admin:scim")
    assert status == 303
    field = re.search(
        r'<input type="text" class="mono" id="new-token" readonly value="(wxt_[^"]+)"', page
    )
    assert field is not None and TOKEN.fullmatch(field[1])
    assert 'id="copy-token" data-copy="new-token"' in page
    assert "Save this token securely. You won't be able to see it again." in page.replace(
        "&#39;", "'"
    )
    # The name's example is a placeholder, not a value that looks filled in.
    form = (await admin.client.get("/admin/api-tokens")).text
    assert 'placeholder="e.g. JumpCloud SCIM"' in form and 'value="JumpCloud SCIM"' not in form


@pytest.mark.parametrize(("choice", "days"), [("30", 30), ("90", 90), ("365", 365)])
async def test_an_expiry_can_be_chosen(admin: Sso, choice: str, days: int) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    status, page = await generate(admin, name="short", scope="admin:scim", expires=choice)
    assert status == 303
    (made,) = await admin.db.read(tokens.list_tokens)
    assert made.expires is not None
    expires = datetime.strptime(made.expires, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before + timedelta(days=days) <= expires <= before + timedelta(days=days, seconds=5)
    assert f'datetime="{made.expires}"' in row(page, made.id)
    (event,) = await admin.events("token.create")
    assert event.detail["expires"] == made.expires


@pytest.mark.parametrize("choice", ["7", "forever", "-1", "9" * 50])
async def test_an_expiry_outside_the_choices_is_refused(admin: Sso, choice: str) -> None:
    status, page = await generate(admin, name="x", scope="admin:scim", expires=choice)
    assert status == 400 and "Choose when the token expires" in page
    assert await admin.db.read(tokens.list_tokens) == []


async def test_an_expired_token_is_refused_by_scim_even_from_the_cache(
    admin: Sso, monkeypatch: pytest.MonkeyPatch
) -> None:
    soon = stamp(datetime.now(UTC) + timedelta(hours=1))
    token, plaintext = await admin.db.write(tokens.create, "soon", ("admin:scim",), expires=soon)
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert (await admin.client.get("/scim/v2/Users", headers=headers)).status_code == 200
    await anyio.sleep(0.6)  # the watcher has seen that write (last used) and emptied the cache
    assert (await admin.client.get("/scim/v2/Users", headers=headers)).status_code == 200
    assert admin.services.tokens.cached(plaintext) is not None  # it is in the cache now

    later = stamp(datetime.now(UTC) + timedelta(hours=2))
    monkeypatch.setattr(tokens, "now", lambda: later)  # an hour and more has passed
    refused = await admin.client.get("/scim/v2/Users", headers=headers)
    assert refused.status_code == 401
    assert "expired" in refused.json()["detail"]
    assert admin.services.tokens.cached(plaintext) is None
    page = (await admin.client.get("/admin/api-tokens")).text
    assert 'data-status="expired"' in row(page, token.id)
    assert ">expired</span>" in row(page, token.id)


async def test_an_already_expired_token_is_refused_like_a_revoked_one(admin: Sso) -> None:
    past = stamp(datetime.now(UTC) - timedelta(minutes=1))
    _, expired_text = await admin.db.write(tokens.create, "old", ("admin:scim",), expires=past)
    revoked, revoked_text = await new_token(admin.db, "gone")
    await admin.db.write(tokens.revoke, revoked.id)
    answers = []
    for plaintext in (expired_text, revoked_text):
        response = await admin.client.get(
            "/scim/v2/Users", headers={"Authorization": f"Bearer {plaintext}"}
        )
        answers.append((response.status_code, response.json()))
    assert answers[0] == answers[1] and answers[0][0] == 401
    assert admin.services.tokens.cached(expired_text) is None


async def test_status_badges_and_who_revoked_when(admin: Sso, tmp_path: Path) -> None:
    active, _ = await new_token(admin.db, "active one")
    by_page, _ = await new_token(admin.db, "revoked in the page")
    by_cli, _ = await new_token(admin.db, "revoked by the cli")
    past = stamp(datetime.now(UTC) - timedelta(days=1))
    expired, _ = await admin.db.write(tokens.create, "expired one", ("admin:scim",), expires=past)
    response = await admin.client.post(
        "/admin/api-tokens",
        data={"csrfToken": await admin.csrf_token(), "action": "revoke", "id": by_page.id},
    )
    assert response.status_code == 303
    cli_config = write_toml(tmp_path / "cli.toml", config_data(Path(admin.config.database.path)))
    done = await anyio.to_thread.run_sync(
        lambda: webrix("--config", str(cli_config), "token", "revoke", by_cli.id)
    )
    assert done.returncode == 0, done.stderr

    page = (await admin.client.get("/admin/api-tokens")).text
    ada = await admin.user_by_email(ADA)
    assert ada is not None
    assert '<span class="badge ok">active</span>' in row(page, active.id)
    assert '<span class="badge warn">expired</span>' in row(page, expired.id)
    revoked_row = row(page, by_page.id)
    assert '<span class="badge bad">revoked</span>' in revoked_row
    assert f'by <span title="user:{ada.id}">{ADA}</span>' in revoked_row
    assert re.search(r'class="muted revoked"><time datetime="[0-9T:-]+Z"', revoked_row)
    assert "Revoke</button>" not in revoked_row
    assert 'by <span title="cli">cli</span>' in row(page, by_cli.id)
    with sqlite3.connect(admin.config.database.path) as conn:
        stored = dict(conn.execute("SELECT id, revoked_by FROM api_tokens").fetchall())
    assert stored[by_page.id] == f"user:{ada.id}" and stored[by_cli.id] == "cli"
    assert stored[active.id] is None
    revocations = {e.actor: e.detail for e in await admin.events("token.revoke")}
    assert revocations == {
        f"user:{ada.id}": {"name": "revoked in the page"},
        "cli": {"name": "revoked by the cli"},
    }


async def test_a_second_revocation_keeps_the_first_ones_time_and_actor(admin: Sso) -> None:
    token, _ = await new_token(admin.db, "t")
    first = await admin.db.write(tokens.revoke, token.id, "cli")
    again = await admin.db.write(tokens.revoke, token.id, "user:someone")
    assert (again.revoked, again.revoked_by) == (first.revoked, "cli")


async def test_last_used_is_current_to_the_minute(admin: Sso) -> None:
    token, plaintext = await new_token(admin.db, "jumpcloud")
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert "never" in row((await admin.client.get("/admin/api-tokens")).text, token.id)
    assert (await admin.client.get("/scim/v2/Users", headers=headers)).status_code == 200
    # The database is written at most once a minute per token; pretend it is a minute behind.
    stale = stamp(datetime.now(UTC) - timedelta(minutes=5))
    await admin.db.execute("UPDATE api_tokens SET last_used = ? WHERE id = ?", (stale, token.id))
    assert (await admin.client.get("/scim/v2/Users", headers=headers)).status_code == 200
    stored = await admin.db.read(tokens.get, token.id)
    assert stored is not None and stored.last_used == stale  # not written: within the minute
    cell = re.search(
        r'<td class="last-used"><time datetime="([^"]+)"[^>]*>([^<]+)</time>',
        row((await admin.client.get("/admin/api-tokens")).text, token.id),
    )
    assert cell is not None
    shown = datetime.strptime(cell[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert datetime.now(UTC) - shown < timedelta(seconds=60)
    assert cell[2] == "just now"


def test_the_usage_recorder_shows_the_later_of_stored_and_seen() -> None:
    recorder = tokens.UsageRecorder()
    token = tokens.ApiToken(
        "t1", "n", "wxt_x", ("all",), "2026", None, "2999-01-01T00:00:00Z", None
    )
    assert recorder.last_used(token) == "2999-01-01T00:00:00Z"
    recorder.due("t1")
    assert recorder.last_used(token) == "2999-01-01T00:00:00Z"  # stored is later: kept
    unused = tokens.ApiToken("t2", "n", "wxt_x", ("all",), "2026", None, None, None)
    assert recorder.last_used(unused) is None
    recorder.due("t2")
    seen = recorder.last_used(unused)
    assert seen is not None and seen[:4] == str(datetime.now(UTC).year)
