"""Run the real OpenID provider in `oidc-provider/` (panva's oidc-provider) for end-to-end tests.

`start_oidc_provider(...)` installs its npm packages on first use (`npm ci`), starts
`node server.js` on a free loopback port, waits for its `listening` line and stops it afterwards.
By default it behaves like JumpCloud; `preset=` makes it behave like Okta, Keycloak, Google,
Entra ID or a generic provider (see `oidc-provider/presets.js`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal, NotRequired, TypedDict
from urllib.parse import urlsplit

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc-provider"
START_TIMEOUT = 30.0
NPM_CI_TIMEOUT = 300.0
_LISTENING = "listening http://127.0.0.1:"
_ISSUER = "issuer "
_CONFIGURED_ISSUER = "configured_issuer "
_install_lock = threading.Lock()

Preset = Literal["jumpcloud", "okta", "keycloak", "google", "entra", "oidc"]
ClientAuth = Literal["client_secret_basic", "client_secret_post", "private_key_jwt"]
DEFAULT_TENANT_ID = "3c9f1a52-7d0e-4b8a-9f61-2e5d7c4b8a10"
"""The Entra preset's tenant (`tid`) unless `tenant_id` is given."""
DEFAULT_REALM = "webrix"


class ProviderUser(TypedDict):
    """One account the provider can sign in; the optional fields matter to some presets only."""

    sub: str
    email: str
    given_name: str
    family_name: str
    groups: list[str]
    """Group names; with entra, group object ids (GUID strings)."""
    email_verified: NotRequired[bool]
    """Overrides `email_verified` (default true; entra never sends it)."""
    hd: NotRequired[str]
    """google: the Workspace domain; absent = a consumer account, no `hd` claim."""
    tid: NotRequired[str]
    """entra: overrides the `tid` claim (default the provider's tenant)."""
    oid: NotRequired[str]
    """entra: the object id (default a GUID derived from `sub`)."""
    preferred_username: NotRequired[str]
    """entra: `preferred_username` (default the email)."""
    email_claim: NotRequired[bool]
    """entra: false leaves `email` out of the tokens (the UPN is in `preferred_username`)."""
    groups_overage: NotRequired[bool]
    """entra: true sends the overage claim (`_claim_names`/`_claim_sources`) instead of groups."""
    id_token_audience: NotRequired[str]
    """Another client id: that client is registered too, and this user's ID tokens are issued
    to it (their `aud`) instead of to the client that redeemed the code."""


@dataclass
class Provider:
    """A running provider and its node process.

    `issuer` is the issuer its tokens carry (JumpCloud's has the trailing slash);
    `configured_issuer` is what an administrator puts in `[auth.<preset>] issuer`: the same, but
    for Entra multi-tenant, `http://127.0.0.1:P/organizations/v2.0` (whose discovery document
    advertises the templated issuer `http://127.0.0.1:P/{tenantid}/v2.0`).
    """

    issuer: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    configured_issuer: str = ""
    preset: Preset = "jumpcloud"
    tenant_id: str | None = None
    """entra: the tenant in the issuer and in `tid`."""

    def __post_init__(self) -> None:
        if not self.configured_issuer:
            self.configured_issuer = self.issuer

    @property
    def port(self) -> int:
        """The loopback port it listens on."""
        port = urlsplit(self.issuer).port
        assert port is not None
        return port

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:P`, no trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def discovery_url(self) -> str:
        """The discovery document for `configured_issuer`."""
        return self.configured_issuer.rstrip("/") + "/.well-known/openid-configuration"


class ProviderStartError(RuntimeError):
    """The provider did not come up (install failure, crash or timeout)."""


def ensure_installed() -> None:
    """Install the provider's npm packages from package-lock.json unless already there."""
    with _install_lock:
        if (PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json").is_file():
            return
        npm = shutil.which("npm")
        if npm is None:
            raise ProviderStartError("npm is not installed; the e2e OpenID provider needs Node 20+")
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=PROVIDER_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_CI_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise ProviderStartError(f"npm ci failed in {PROVIDER_DIR}:\n{result.stderr}")


def _drain(stream: IO[str], sink: list[str], ready: threading.Event, port: list[int]) -> None:
    for line in stream:
        sink.append(line)
        if not ready.is_set() and line.startswith(_LISTENING):
            port.append(int(line[len(_LISTENING) :].strip()))
            ready.set()
    stream.close()


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def start_oidc_provider(
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    post_logout_redirect_uri: str,
    users: Sequence[ProviderUser] | None = None,
    *,
    port: int = 0,
    preset: Preset = "jumpcloud",
    client_auth: ClientAuth = "client_secret_basic",
    client_jwks_uri: str | None = None,
    tenant_id: str | None = None,
    multi_tenant: bool = False,
    realm: str = DEFAULT_REALM,
    alias_path: str | None = None,
) -> Iterator[Provider]:
    """Start the provider with one registered client; stop it on exit.

    `client_auth` is the client's only token endpoint auth method (and the only one the provider
    offers); `private_key_jwt` needs `client_jwks_uri`, which the provider fetches (http on
    loopback is fine). `tenant_id` and `multi_tenant` are for entra, `realm` for keycloak.
    `alias_path` (e.g. "/oauth2/other") serves the provider under that path as well, its
    discovery document there still naming the preset's issuer.
    """
    if alias_path is not None and not alias_path.startswith("/"):
        raise ValueError("alias_path must start with /")
    if client_auth == "private_key_jwt" and not client_jwks_uri:
        raise ValueError("client_auth='private_key_jwt' needs client_jwks_uri")
    if preset != "entra" and (tenant_id is not None or multi_tenant):
        raise ValueError("tenant_id and multi_tenant are for preset='entra'")
    ensure_installed()
    node = shutil.which("node")
    if node is None:
        raise ProviderStartError("node is not installed; the e2e OpenID provider needs Node 20+")
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENT_ID": client_id,
        "CLIENT_SECRET": client_secret,
        "REDIRECT_URI": redirect_uri,
        "POST_LOGOUT_REDIRECT_URI": post_logout_redirect_uri,
        "PRESET": preset,
        "CLIENT_AUTH": client_auth,
        "CLIENT_JWKS_URI": client_jwks_uri or "",
        "TENANT_ID": tenant_id or "",
        "MULTI_TENANT": "1" if multi_tenant else "",
        "REALM": realm,
        "ALIAS_PATH": alias_path or "",
        "NODE_ENV": "development",
    }
    env.pop("ISSUER", None)
    if users is not None:
        env["USERS_JSON"] = json.dumps(list(users))
    else:
        env.pop("USERS_JSON", None)

    process = subprocess.Popen(
        [node, "server.js"],
        cwd=PROVIDER_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    assert process.stdout is not None
    output: list[str] = []
    ready = threading.Event()
    bound: list[int] = []
    reader = threading.Thread(
        target=_drain, args=(process.stdout, output, ready, bound), daemon=True
    )
    reader.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.wait(timeout=0.05):
            if process.poll() is not None or time.monotonic() > deadline:
                reader.join(timeout=1)
                raise ProviderStartError(
                    "the e2e OpenID provider did not start:\n" + "".join(output)
                )
        issuers = {
            name: line[len(name) :].strip()
            for line in output
            for name in (_ISSUER, _CONFIGURED_ISSUER)
            if line.startswith(name)
        }
        yield Provider(
            issuer=issuers[_ISSUER],
            process=process,
            output=output,
            configured_issuer=issuers[_CONFIGURED_ISSUER],
            preset=preset,
            tenant_id=(tenant_id or DEFAULT_TENANT_ID) if preset == "entra" else None,
        )
    finally:
        _stop(process)
        reader.join(timeout=5)
