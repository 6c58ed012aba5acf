"""Run the real OpenID provider in `oidc-provider/` (panva's oidc-provider) for end-to-end tests.

`start_oidc_provider(...)` installs its npm packages on first use (`npm ci`), starts
`node server.js` on a free loopback port, waits for its `listening` line and stops it afterwards.
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
from typing import IO, TypedDict

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc-provider"
START_TIMEOUT = 30.0
NPM_CI_TIMEOUT = 300.0
_LISTENING = "listening http://127.0.0.1:"
_install_lock = threading.Lock()


class ProviderUser(TypedDict):
    """One account the provider can sign in."""

    sub: str
    email: str
    given_name: str
    family_name: str
    groups: list[str]


@dataclass
class Provider:
    """A running provider: its issuer (with the trailing slash) and its node process."""

    issuer: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        """The loopback port it listens on."""
        return int(self.issuer.rstrip("/").rsplit(":", 1)[1])


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
) -> Iterator[Provider]:
    """Start the provider with one registered client; stop it on exit."""
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
        yield Provider(issuer=f"http://127.0.0.1:{bound[0]}/", process=process, output=output)
    finally:
        _stop(process)
        reader.join(timeout=5)
