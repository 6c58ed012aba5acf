"""At every log level, `debug` included, the log never holds a token, secret, cookie, ID token,
CSRF token, authorization code or Authorization header: a whole sign-in, SCIM session and
sign-out run at debug, and the captured log is searched for each of them."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator

import pytest

from app.config import Config
from app.logs import QUIET_LOGGERS, flush_logs, setup_logging
from tests.auth.sso import sso_app
from tests.scim.client import scim_beside
from tests.scim.wire import patch_body

pytestmark = pytest.mark.anyio


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """The app's own logging set up at debug, written into a string for the test to read."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging._srcfile)
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    stream = io.StringIO()
    setup_logging("debug")
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        yield stream
    finally:
        flush_logs()
        root.handlers[:], root.level, logging._srcfile = saved
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


async def test_a_debug_log_holds_no_secret(
    make_config: Callable[..., Config], debug_log: io.StringIO
) -> None:
    async with sso_app(make_config) as sso, scim_beside(sso) as scim:
        await sso.signed_in()
        cookies = [c.value for c in sso.client.cookies.jar if c.value]
        csrf = await sso.csrf_token()
        [row] = await sso.db.fetch_all("SELECT id_token FROM sessions")
        id_token = row[0]
        plaintext = scim.token
        body = {"userName": "grace@example.com", "emails": [{"value": "grace@example.com"}]}
        created = await scim.post("/Users", body)
        assert created.status_code == 201
        user = created.json()["id"]
        patch = patch_body({"op": "replace", "path": "active", "value": False})
        assert (await scim.patch(f"/Users/{user}", patch)).is_success
        filtered = await scim.get("/Users", params={"filter": 'userName eq "grace@example.com"'})
        assert filtered.status_code == 200
        bad = {"Authorization": "Bearer wxt_" + "q" * 43}
        assert (await scim.get("/Users", token=None, headers=bad)).status_code == 401
        signed_out = await sso.client.post("/api/auth/signout", data={"csrfToken": csrf})
        assert signed_out.status_code == 303
        codes = [a["code"] for a in sso.fake.token_requests if "code" in a]
        secrets = {
            "SCIM token": plaintext,
            "made-up token": bad["Authorization"].split()[1],
            "client secret": sso.config.auth.jumpcloud.client_secret,
            "secret key": sso.config.server.secret_key,
            "ID token": id_token,
            "ID token signature": id_token.rsplit(".", 1)[1],
            "CSRF token": csrf,
            **{f"cookie {i}": value for i, value in enumerate(cookies)},
            **{f"code {i}": code for i, code in enumerate(codes)},
        }
    flush_logs()
    text = debug_log.getvalue()
    assert "DEBUG" in text and "webrix.access" in text  # the log did run at debug
    for what, value in secrets.items():
        assert value and value not in text, f"the debug log holds the {what}"
    assert "Bearer" not in text and "authorization:" not in text.lower()
