"""Shared fixtures: a config per test, the app with its lifespan running, a live server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from starlette.applications import Starlette

from app.config import Config, load_data
from app.db import Database
from app.main import create_app
from app.store import tokens
from app.store.tokens import ApiToken

if TYPE_CHECKING:
    from app.scim.schemas import Schema
    from tests.scim.client import Scim

SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnop"
ROOT = Path(__file__).resolve().parent.parent
WEBRIX = (sys.executable, "-m", "app")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def config_data(db_path: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    """A valid config document; `sections` are merged over the defaults."""
    data: dict[str, Any] = {
        "server": {"public_url": "http://127.0.0.1:8080", "secret_key": SECRET_KEY},
        "database": {"path": str(db_path)},
        "auth": {
            "jumpcloud": {
                "client_id": "test-client",
                "client_secret": "test-client-secret",
                "issuer": "https://oauth.id.jumpcloud.com/",
            }
        },
    }
    for name, values in sections.items():
        if name == "jumpcloud":
            data["auth"]["jumpcloud"].update(values)
        else:
            data.setdefault(name, {}).update(values)
    return data


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    """Build a Config for this test (fresh database under tmp_path)."""

    def make(**sections: dict[str, Any]) -> Config:
        return load_data(config_data(tmp_path / "webrix.db", **sections), "test.toml", tmp_path)

    return make


@asynccontextmanager
async def running(
    app: Starlette, base_url: str = "http://127.0.0.1:8080"
) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and give a client that talks to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 51000))
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


@pytest.fixture
async def scim(make_config: Callable[..., Config]) -> AsyncIterator[Scim]:
    """The whole app with a fresh database and an `admin:scim` token (a module that needs
    other settings defines its own `scim`)."""
    from tests.scim.client import scim_app  # that module imports this one

    async with scim_app(make_config) as running_scim:
        yield running_scim


@pytest.fixture
def resource_type(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Register a resource type made for a test: `resource_type("Device", DEVICE, ...)`, its
    core schema first. Gone after the test, with what the schema lookups cached."""
    from app.scim import schemas

    def register(name: str, *found: Schema) -> None:
        monkeypatch.setitem(schemas.RESOURCE_SCHEMAS, name, found)
        schemas.resolve.cache_clear()

    yield register
    schemas.resolve.cache_clear()


@pytest.fixture
async def client(make_config: Callable[..., Config]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(make_config())) as c:
        yield c


async def new_token(
    db: Database, name: str = "test", scopes: tuple[str, ...] = ("admin:scim",)
) -> tuple[ApiToken, str]:
    """A token made straight through the store: (token, plaintext)."""
    return await db.write(tokens.create, name, scopes)


def cli_token(config_path: Path, name: str) -> str:
    """A token made by `webrix token create`: the line it prints last."""
    created = webrix("--config", str(config_path), "token", "create", "--name", name)
    assert created.returncode == 0, created.stderr
    return created.stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def webrix(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the `webrix` command line as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def wait_http(
    url: str, timeout: float = 20.0, proc: subprocess.Popen[str] | None = None
) -> httpx.Response:
    """Poll `url` until it answers; fail early if `proc` dies."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"process exited with {proc.returncode}:\n{out}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError as exc:
            last = exc
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout}s: {last}")


@dataclass
class ServerProcess:
    """A running `webrix serve`; its output goes to `log` (a file, so it can never block)."""

    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> str:
        """Stop the server (SIGTERM, then SIGKILL) and return everything it printed."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.output()


@contextmanager
def serve_process(config_path: Path, port: int, *extra: str) -> Iterator[ServerProcess]:
    """`webrix serve` as a real process on 127.0.0.1:port."""
    log = config_path.with_name(f"server-{port}.log")
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [*WEBRIX, "--config", str(config_path), "serve", "--port", str(port), *extra],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(proc, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise AssertionError(
                    f"webrix serve exited with {proc.returncode}:\n{server.output()}"
                )
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"webrix serve did not start:\n{server.output()}"
                    ) from None
                time.sleep(0.1)
        yield server
    finally:
        server.stop()


def write_toml(path: Path, data: dict[str, Any]) -> Path:
    """A tiny TOML writer for test configs (strings, ints, bools, lists, nested tables)."""
    lines: list[str] = []

    def emit(prefix: str, table: dict[str, Any]) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        if prefix:
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{k} = {_toml_value(v)}")
        for k, v in table.items():
            if isinstance(v, dict):
                emit(f"{prefix}.{k}" if prefix else k, v)

    emit("", data)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
