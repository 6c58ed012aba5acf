"""The support bundle holds each section the issue lists and nothing that signs anyone in or
names an end user: made from a service that has done a sign-in, a SCIM push and a failed
sign-in, every file is searched for every secret, token, cookie and email the test created."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from app.config import Config
from app.services import Services
from app.store import audit
from app.support.bundle import build
from tests.auth.sso import CLIENT_SECRET, Sso, restore_cookies, saved_cookies, sso_app
from tests.scim.client import Scim, scim_beside

pytestmark = pytest.mark.anyio

EMPLOYEE = "grace.hopper@navy.example"  # pushed by SCIM, never signs in
ADMIN_EMAIL = "ada@example.com"  # the FakeProvider's default user (signs in)


@dataclass
class Used:
    """A service after a sign-in, a SCIM push and a failed sign-in, and every secret it saw."""

    sso: Sso
    scim: Scim
    secrets: list[str]
    emails: list[str]

    @property
    def services(self) -> Services:
        svc: Services = self.sso.app.state.services
        return svc

    async def download(self, **form: str) -> dict[str, str]:
        """The bundle as the console's button downloads it (as the signed-in administrator)."""
        csrf = await self.sso.csrf_token()
        response = await self.sso.client.post(
            "/admin/settings/support-bundle", data={"csrfToken": csrf, **form}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/zip"
        assert response.headers["content-disposition"].startswith(
            'attachment; filename="webrix-support-'
        )
        return _files(response.content)

    async def bundle(self, **options: Any) -> dict[str, str]:
        svc = self.services
        await svc.write_support_records()
        data = await build(
            svc.config,
            svc.http,
            recent_logs=list(svc.support.ring.recent),
            **options,
        )
        return _files(data)


def _files(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            name.removeprefix("webrix-support/"): archive.read(name).decode()
            for name in archive.namelist()
        }


@asynccontextmanager
async def used_service(make_config: Callable[..., Config]) -> AsyncIterator[Used]:
    async with (
        sso_app(make_config, access={"admin_emails": [ADMIN_EMAIL]}) as sso,
        scim_beside(sso) as scim,
    ):
        await sso.signed_in()
        admin_cookies = saved_cookies(sso.client)
        cookies = [c.value for c in sso.client.cookies.jar if c.value]
        id_tokens = [r[0] for r in await sso.db.fetch_all("SELECT id_token FROM sessions") if r[0]]
        user = await scim.create_user(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": EMPLOYEE,
                "emails": [{"value": EMPLOYEE, "primary": True}],
            }
        )
        await scim.post(
            "/Groups",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering",
                "members": [{"value": user["id"]}],
            },
            headers={"User-Agent": "JumpCloud SCIM/1.0"},
        )
        await scim.get("/Users", token="wxt_" + "x" * 40)  # an unknown token: a 401 counted
        sso.client.cookies.clear()
        location = await sso.start()
        await sso.callback(sso.fake.authorize(location, error="access_denied"))
        restore_cookies(sso.client, admin_cookies)
        secrets = [
            CLIENT_SECRET,
            sso.config.server.secret_key,
            scim.token,
            *scim.tokens_made.values(),
            *cookies,
            *id_tokens,
        ]
        assert cookies and id_tokens and scim.token  # the search below has something to find
        yield Used(sso, scim, secrets, [EMPLOYEE, ADMIN_EMAIL])


async def test_bundle_holds_each_section_and_no_secret(
    make_config: Callable[..., Config],
) -> None:
    """Downloaded from Settings as an administrator would (the CLI makes the same one)."""
    async with used_service(make_config) as used:
        files = await used.download(since="24h")
        token_id = used.scim.token_id
        made = [e for e in await used.sso.events("support.bundle")]
    assert [(e.actor.startswith("user:"), e.detail) for e in made] == [
        (True, {"since": "24h", "include_users": False})
    ]
    assert set(files) == {
        "README.txt",
        "system.json",
        "config.json",
        "check.txt",
        "database.json",
        "errors.json",
        "scim_clients.json",
        "idp.json",
    }
    for name, text in files.items():
        for secret in used.secrets:
            assert secret not in text, f"a secret in {name}"
        for email in used.emails:
            assert email.lower() not in text.lower(), f"{email} in {name}"
        assert "wxt_x" not in text and "Bearer " not in text
    system = json.loads(files["system.json"])
    assert {"webrix", "python", "sqlite", "platform"} <= set(system)
    config = json.loads(files["config.json"])
    assert (
        config["auth"]["jumpcloud"]["client_secret"] == f"<set> ({len(CLIENT_SECRET)} characters)"
    )
    assert config["server"]["secret_key"].startswith("<set> (")
    assert config["auth"]["jumpcloud"]["client_id"] == "test-client"
    db = json.loads(files["database.json"])
    assert db["integrity_check"] == {"pragma": "quick_check", "result": ["ok"]}
    assert db["counts"]["users"] == 2 and db["counts"]["groups"] == 1
    assert db["counts"]["sessions"] == 1
    assert db["user_email_domains"] == {"navy.example": 1, "example.com": 1}
    assert db["file_bytes"] > 0 and "wal_bytes" in db and db["schema_version"] >= 3
    assert [t["id"] for t in db["tokens"]] == [token_id]
    prefix = db["tokens"][0]["prefix"]
    assert "hash" not in db["tokens"][0] and len(prefix) >= 8 and used.scim.token.startswith(prefix)
    errors = json.loads(files["errors.json"])
    refused = [e for e in errors["audit"] if e["action"] == "auth.signin.refused"]
    assert len(refused) == 1 and refused[0]["request_id"]
    clients = json.loads(files["scim_clients.json"])
    pushes = [c for c in clients if c["user_agent"] == "JumpCloud SCIM/1.0"]
    assert pushes == [
        {
            "token_id": token_id,
            "token_name": pushes[0]["token_name"],
            "user_agent": "JumpCloud SCIM/1.0",
            "endpoint": "POST /Groups",
            "status": 201,
            "count": 1,
            "first_seen": pushes[0]["first_seen"],
            "last_seen": pushes[0]["last_seen"],
        }
    ]
    unknown = [c for c in clients if c["token_id"] == "" and c["endpoint"] == "GET /Users"]
    assert [(c["status"], c["count"]) for c in unknown] == [(401, 1)]
    check = files["check.txt"]
    assert "OK: sign-in can reach the identity provider, and it accepts the Client ID" in check
    assert "exit status: 0" in check and used.sso.config.redirect_uri in check
    idp = json.loads(files["idp.json"])
    assert idp["discovery"]["issuer"] == used.sso.fake.issuer
    assert idp["key_ids"] == ["fake-key-1"]
    assert (
        "What was removed" in files["README.txt"]
        and "only counts and email domains" in (files["README.txt"])
    )


async def test_include_users_lists_them(make_config: Callable[..., Config]) -> None:
    async with used_service(make_config) as used:
        files = await used.bundle(include_users=True)
    users = json.loads(files["users.json"])
    assert sorted(u["email"] for u in users) == sorted(used.emails)
    for text in files.values():
        for secret in used.secrets:
            assert secret not in text


async def test_log_window_and_ring(make_config: Callable[..., Config]) -> None:
    async with used_service(make_config) as used:
        import logging

        logging.getLogger("webrix.test").warning("disk nearly full for %s", EMPLOYEE)
        files = await used.bundle(since=timedelta(hours=1))
    logged = json.loads(files["errors.json"])["log"]
    assert [e["message"] for e in logged if e["logger"] == "webrix.test"] == [
        "disk nearly full for <user>@navy.example"
    ]


async def test_console_button_refusals(make_config: Callable[..., Config]) -> None:
    async with used_service(make_config) as used:
        client = used.sso.client
        no_csrf = await client.post("/admin/settings/support-bundle", data={"since": "24h"})
        csrf = await used.sso.csrf_token()
        bad_window = await client.post(
            "/admin/settings/support-bundle", data={"csrfToken": csrf, "since": "forever"}
        )
        events = await used.sso.events("support.bundle")
    assert no_csrf.status_code == 403 and bad_window.status_code == 400
    assert "1h, 24h, 7d" in bad_window.text
    assert events == []  # nothing made, nothing audited


async def test_one_noisy_refusal_cannot_push_the_others_out(
    make_config: Callable[..., Config],
) -> None:
    async with used_service(make_config) as used:

        def flood(tx: Any) -> None:
            for _ in range(80):
                audit.record(tx, actor="user:x", action="admin.refused", detail={})

        await used.sso.db.write(flood)
        files = await used.bundle()
    actions = [e["action"] for e in json.loads(files["errors.json"])["audit"]]
    assert actions.count("admin.refused") == 50 and "auth.signin.refused" in actions


async def test_user_agents_are_read_as_utf8_and_their_emails_removed(
    make_config: Callable[..., Config],
) -> None:
    agent = "Provisioner/2 (jürgen.müller@firma.de)"
    async with used_service(make_config) as used:
        await used.scim.get("/Users", headers={"User-Agent": agent.encode()})  # UTF-8 bytes
        files = await used.bundle()
    agents = {c["user_agent"] for c in json.loads(files["scim_clients.json"])}
    assert "Provisioner/2 (<user>@firma.de)" in agents
    assert not any("ü" in a or "Ã" in a for a in agents)
