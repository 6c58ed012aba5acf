"""`webrix demo` set-up: its generated config and the token it prints."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from app.db import Database
from app.demo.command import _fresh_token, banner, prepare
from app.demo.ports import PortError, listen
from app.store import tokens
from tests.conftest import free_port, webrix


def test_the_banner_names_the_users_the_admin_url_and_then_the_token(tmp_path: Path) -> None:
    cfg = prepare(tmp_path / "data", 18080, 18081)
    lines = banner(cfg, "tok-123")
    text = "\n".join(lines)
    assert "  Admin console:   http://127.0.0.1:18080/admin " in text
    ada = next(line for line in lines if "ada@example.com" in line)
    assert "Ada Admin" in ada and "administrator" in ada
    grace = next(line for line in lines if "grace@example.com" in line)
    assert "Grace User" in grace and "administrator" not in grace
    assert any("linus@example.com" in line for line in lines)
    # What the token is, then the token alone on the last line; the curl hint comes before.
    assert lines[-2:] == ["  SCIM token (shown once):", "tok-123"]
    assert "Bearer <token>" in lines[-3]


@pytest.mark.anyio
async def test_each_start_prints_a_new_token_and_revokes_the_last(tmp_path: Path) -> None:
    cfg = prepare(tmp_path / "data", 18080, 18081)
    first = await _fresh_token(cfg)
    second = await _fresh_token(cfg)
    assert first != second
    db = await Database.open(cfg.database.path)
    try:
        old = await db.read(tokens.find_by_plaintext, first)
        new = await db.read(tokens.find_by_plaintext, second)
    finally:
        await db.close()
    assert old is not None and not old.active
    assert new is not None and new.active


def test_the_generated_config_is_loopback_only_and_kept(tmp_path: Path) -> None:
    cfg = prepare(tmp_path / "data", 18080, 18081)
    assert cfg.public_url == "http://127.0.0.1:18080"
    assert cfg.auth.jumpcloud.issuer == "http://127.0.0.1:18081/"
    assert prepare(tmp_path / "data", 18080, 18081).server.secret_key == cfg.server.secret_key
    moved = prepare(tmp_path / "data", 19080, 19081)  # other ports: the config follows
    assert moved.public_url == "http://127.0.0.1:19080"


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.anyio
async def test_the_generated_config_and_the_demo_database_are_private(tmp_path: Path) -> None:
    previous = os.umask(0o022)  # the modes come from creation, not from this process's umask
    try:
        cfg = prepare(tmp_path / "data", 18080, 18081)
        await _fresh_token(cfg)
        assert _mode(tmp_path / "data") == 0o700
        assert _mode(tmp_path / "data" / "demo-config.toml") == 0o600
        assert _mode(Path(cfg.database.path)) == 0o600
        prepare(tmp_path / "data", 19080, 19081)  # rewritten for other ports: still private
        assert _mode(tmp_path / "data" / "demo-config.toml") == 0o600
        assert [p.name for p in (tmp_path / "data").glob("*.tmp")] == []
    finally:
        os.umask(previous)


def _demo(tmp_path: Path, port: int, idp_port: int) -> subprocess.CompletedProcess[str]:
    data = tmp_path / "data"
    return webrix("demo", "--data", str(data), "--port", str(port), "--idp-port", str(idp_port))


@pytest.mark.parametrize("busy", ["--port", "--idp-port"])
def test_a_busy_port_is_one_line_before_any_token(tmp_path: Path, busy: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        free = free_port()
        ports = (port, free) if busy == "--port" else (free, port)
        result = _demo(tmp_path, *ports)
    assert result.returncode == 1
    assert result.stdout == ""  # no banner, no token
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {port} " in lines[0] and "is in use" in lines[0]
    assert f"webrix demo {busy} " in lines[0] and f'make run DEMO_ARGS="{busy} ' in lines[0]
    assert "wxt_" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # nothing created: no config, no database, no token


def test_the_two_ports_must_differ(tmp_path: Path) -> None:
    port = free_port()
    result = _demo(tmp_path, port, port)
    assert result.returncode == 1 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "need two ports" in result.stderr
    assert not (tmp_path / "data").exists()


def test_the_ports_are_held_from_the_check_to_the_start() -> None:
    """The sockets checked are the ones served: no other process can take a port between."""
    port, idp_port = free_port(), free_port()
    service, idp = listen(port, idp_port)
    with service, idp:
        assert service.getsockname() == ("127.0.0.1", port)
        assert idp.getsockname() == ("127.0.0.1", idp_port)
        with pytest.raises(PortError, match=f"port {port} .*is in use"):
            listen(port, free_port())
        with socket.create_connection(("127.0.0.1", idp_port), timeout=5):
            pass  # already listening: a browser's first request waits in the backlog
