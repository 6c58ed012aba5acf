"""Subject links per issuer (migration 0004): a `sub` means someone only within its issuer, a
provider switch relinks by verified email, and links made while JumpCloud was the only
provider (no issuer recorded) stay JumpCloud's."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.auth.admission import SignInRefused, Where, admit, decide, jit_user
from app.auth.oidc import SignInResult
from app.db import Database
from app.migrate import latest_version, migrations
from app.store import users as user_store
from app.store.users import Email, User, UserFields

pytestmark = pytest.mark.anyio

JUMPCLOUD = "https://oauth.id.jumpcloud.com/"
OKTA = "https://example.okta.com"
KEYCLOAK = "https://sso.example.com/realms/webrix"
WHERE: Where = {"ip": "127.0.0.1", "request_id": "test"}


def signed_in(
    sub: str, issuer: str, email: str = "ada@example.com", *, verified: bool = True
) -> SignInResult:
    return SignInResult(
        sub=sub,
        email=email,
        email_verified=verified,
        given_name="Ada",
        family_name="Lovelace",
        name=None,
        groups=[],
        id_token="t",
        claims={},
        issuer=issuer,
        provider={JUMPCLOUD: "JumpCloud", OKTA: "Okta"}.get(issuer, "Keycloak"),
    )


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(str(tmp_path / "w.db"))
    try:
        yield database
    finally:
        await database.close()


async def provisioned(
    db: Database, email: str = "ada@example.com", sub: str | None = None, issuer: str | None = None
) -> User:
    fields = UserFields(
        user_name=email,
        email=email,
        given_name="Ada",
        family_name="Lovelace",
        active=True,
        emails=(Email(email, "work", True),),
    )
    resource = json.dumps({"userName": email, "active": True})
    return await db.write(
        user_store.create, fields, resource, source="scim", oidc_sub=sub, oidc_issuer=issuer
    )


async def admitted(db: Database, result: SignInResult, *, legacy: bool) -> User:
    jit = jit_user(result) if result.email else None
    return await db.write(admit, result, True, jit, WHERE, legacy=legacy)


async def refusal(db: Database, result: SignInResult, *, legacy: bool) -> SignInRefused:
    with pytest.raises(SignInRefused) as info:
        await admitted(db, result, legacy=legacy)
    return info.value


async def stored(db: Database, user_id: str) -> User:
    user = await db.read(user_store.get, user_id)
    assert user is not None
    return user


async def test_a_subject_is_found_only_under_its_issuer(db: Database) -> None:
    user = await provisioned(db, sub="s-1", issuer=OKTA)
    assert (await db.read(user_store.find_by_sub, "s-1", OKTA, legacy=False)).id == user.id
    assert await db.read(user_store.find_by_sub, "s-1", KEYCLOAK, legacy=True) is None
    assert await db.read(user_store.find_by_sub, "s-1", KEYCLOAK, legacy=False) is None


async def test_the_same_sub_under_another_issuer_is_someone_else(db: Database) -> None:
    ada = await provisioned(db, sub="s-1", issuer=OKTA)
    decision = await db.read(
        decide, signed_in("s-1", KEYCLOAK, "grace@example.com"), True, legacy=False
    )
    assert (decision.how, decision.user) == ("jit", None)
    grace = await admitted(db, signed_in("s-1", KEYCLOAK, "grace@example.com"), legacy=False)
    assert grace.id != ada.id
    assert (grace.oidc_sub, grace.oidc_issuer) == ("s-1", KEYCLOAK)
    # Both links stand, each found under its own issuer.
    assert (await admitted(db, signed_in("s-1", OKTA), legacy=False)).id == ada.id
    assert (await admitted(db, signed_in("s-1", KEYCLOAK, "x@y.z"), legacy=False)).id == grace.id


async def test_the_index_refuses_one_subject_twice_under_one_issuer(db: Database) -> None:
    await provisioned(db, "ada@example.com", sub="s-1", issuer=OKTA)
    with pytest.raises(sqlite3.IntegrityError):
        await provisioned(db, "grace@example.com", sub="s-1", issuer=OKTA)
    await provisioned(db, "legacy@example.com", sub="s-2")
    with pytest.raises(sqlite3.IntegrityError):
        await provisioned(db, "legacy2@example.com", sub="s-2")


async def test_a_provider_switch_relinks_by_verified_email(db: Database) -> None:
    ada = await provisioned(db, sub="okta-sub", issuer=OKTA)
    decision = await db.read(decide, signed_in("kc-sub", KEYCLOAK), True, legacy=False)
    assert (decision.how, decision.user and decision.user.id) == ("email", ada.id)
    user = await admitted(db, signed_in("kc-sub", KEYCLOAK), legacy=False)
    assert user.id == ada.id
    assert (user.oidc_sub, user.oidc_issuer) == ("kc-sub", KEYCLOAK)
    # The old provider's subject no longer finds them.
    assert await db.read(user_store.find_by_sub, "okta-sub", OKTA, legacy=False) is None


async def test_a_provider_switch_refuses_an_unverified_email(db: Database) -> None:
    ada = await provisioned(db, sub="okta-sub", issuer=OKTA)
    refused = await refusal(db, signed_in("kc-sub", KEYCLOAK, verified=False), legacy=False)
    assert (refused.code, refused.user_id) == ("email_unverified", ada.id)
    assert "Keycloak did not confirm" in refused.message
    kept = await stored(db, ada.id)
    assert (kept.oidc_sub, kept.oidc_issuer) == ("okta-sub", OKTA)


async def test_another_subject_of_the_same_issuer_is_refused(db: Database) -> None:
    ada = await provisioned(db, sub="okta-sub", issuer=OKTA)
    refused = await refusal(db, signed_in("okta-other", OKTA), legacy=False)
    assert (refused.code, refused.user_id) == ("email_linked_elsewhere", ada.id)
    assert "linked to another Okta identity" in refused.message


async def test_a_legacy_link_is_jumpcloud_s(db: Database) -> None:
    ada = await provisioned(db, sub="jc-sub")  # linked before issuers were recorded
    assert ada.oidc_issuer is None
    found = await db.read(user_store.find_by_sub, "jc-sub", JUMPCLOUD, legacy=True)
    assert found is not None and found.id == ada.id
    # Through another provider the same sub is not theirs...
    assert await db.read(user_store.find_by_sub, "jc-sub", OKTA, legacy=False) is None
    # ...and the legacy link is another provider's: a verified email relinks...
    user = await admitted(db, signed_in("okta-sub", OKTA), legacy=False)
    assert (user.id, user.oidc_sub, user.oidc_issuer) == (ada.id, "okta-sub", OKTA)


async def test_a_legacy_link_refuses_another_jumpcloud_subject(db: Database) -> None:
    ada = await provisioned(db, sub="jc-sub")
    refused = await refusal(db, signed_in("jc-other", JUMPCLOUD), legacy=True)
    assert (refused.code, refused.user_id) == ("email_linked_elsewhere", ada.id)
    refused = await refusal(db, signed_in("okta-sub", OKTA, verified=False), legacy=False)
    assert refused.code == "email_unverified"


async def test_the_issuer_is_recorded_at_the_next_jumpcloud_sign_in(db: Database) -> None:
    ada = await provisioned(db, sub="jc-sub")
    user = await admitted(db, signed_in("jc-sub", JUMPCLOUD), legacy=True)
    assert user.id == ada.id
    kept = await stored(db, ada.id)
    assert (kept.oidc_sub, kept.oidc_issuer) == ("jc-sub", JUMPCLOUD)
    # Recorded, it no longer counts as legacy for anyone.
    assert await db.read(user_store.find_by_sub, "jc-sub", OKTA, legacy=True) is None


async def test_jit_users_carry_their_issuer(db: Database) -> None:
    user = await admitted(db, signed_in("new-sub", OKTA, "new@example.com"), legacy=False)
    assert (user.oidc_sub, user.oidc_issuer, user.source) == ("new-sub", OKTA, "jit")


def _schema_3(path: Path) -> None:
    """A database as the release before migration 0004 left it."""
    conn = sqlite3.connect(path)
    try:
        for number, _, sql in migrations()[:3]:
            conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
        now = "2026-01-01T00:00:00Z"
        conn.execute(
            "INSERT INTO users (id, user_name, email, given_name, family_name, display_name,"
            " active, oidc_sub, source, resource, created, last_modified, version)"
            " VALUES ('u-1', 'ada@example.com', 'ada@example.com', 'Ada', 'Lovelace', NULL,"
            " 1, 'jc-sub', 'scim', ?, ?, ?, 1)",
            (json.dumps({"userName": "ada@example.com", "active": True}), now, now),
        )
        conn.commit()
    finally:
        conn.close()


async def test_a_database_of_schema_3_migrates_and_keeps_its_links(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _schema_3(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        columns: list[Any] = [r[1] for r in conn.execute("PRAGMA table_info(users)")]
        assert "oidc_issuer" not in columns
    db = await Database.open(str(path))
    try:
        assert (await db.fetch_one("PRAGMA user_version"))[0] == latest_version()
        old = await stored(db, "u-1")
        assert (old.oidc_sub, old.oidc_issuer) == ("jc-sub", None)
        user = await admitted(db, signed_in("jc-sub", JUMPCLOUD), legacy=True)
        assert user.id == "u-1"
        assert (await stored(db, "u-1")).oidc_issuer == JUMPCLOUD
        # The new unique index lets another issuer hold the same sub.
        other = await admitted(db, signed_in("jc-sub", OKTA, "g@example.com"), legacy=False)
        assert other.id != "u-1"
        assert (await db.fetch_one("SELECT count(*) FROM client_keys"))[0] == 0
    finally:
        await db.close()
