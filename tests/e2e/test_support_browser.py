"""Settings → Download support bundle, in Chromium against `webrix serve` and the real npm
oidc-provider: the administrator's browser downloads the .zip, which holds no cookie, secret
or end-user email; a member is refused."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.e2e.stack import ADMIN, MEMBER, Stack, console_stack, person, sign_in

CLIENT_ID = "webrix-e2e-support"
CLIENT_SECRET = "support e2e secret"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with console_stack(tmp_path_factory.mktemp("support"), CLIENT_ID, CLIENT_SECRET) as running:
        yield running


def test_an_administrator_downloads_the_bundle(browser: Browser, stack: Stack) -> None:
    member_context, admin_context = person(browser), person(browser)
    try:
        member = member_context.new_page()
        sign_in(member, stack.base, stack.issuer, MEMBER)
        csrf = member.request.get(f"{stack.base}/api/auth/csrf").json()["csrfToken"]
        refused = member.request.post(
            f"{stack.base}/admin/settings/support-bundle",
            form={"csrfToken": csrf, "since": "24h"},
            headers={"Origin": stack.base},
        )
        assert refused.status == 403 and "Administrators only" in refused.text()

        admin = admin_context.new_page()
        sign_in(admin, stack.base, stack.issuer, ADMIN, "/admin/settings")
        with admin.expect_download() as started:
            admin.click("#support-bundle")
        download = started.value
        assert download.suggested_filename.startswith("webrix-support-")
        assert download.suggested_filename.endswith(".zip")
        with zipfile.ZipFile(download.path()) as archive:
            files = {n: archive.read(n).decode() for n in archive.namelist()}
        cookies = [c["value"] for c in admin_context.cookies() + member_context.cookies()]
    finally:
        member_context.close()
        admin_context.close()
    assert {"webrix-support/README.txt", "webrix-support/check.txt"} <= set(files)
    assert "OK: sign-in can reach the identity provider" in files["webrix-support/check.txt"]
    assert cookies
    for name, text in files.items():
        for secret in [CLIENT_SECRET, *cookies]:
            assert secret not in text, name
        assert ADMIN not in text and MEMBER not in text, name
