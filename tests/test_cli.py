from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import stat
import subprocess
from pathlib import Path

import anyio
import httpx

from app import cli
from app.db import Database
from app.migrate import backup
from app.store import tokens
from app.store.tokens import hash_token
from tests.conftest import (
    ROOT,
    config_data,
    free_port,
    serve_process,
    wait_http,
    webrix,
    write_toml,
)


def _config(tmp_path: Path) -> Path:
    return write_toml(tmp_path / "config.toml", config_data(tmp_path / "w.db"))


def _all_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def test_token_create_list_revoke(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    created = webrix("--config", str(cfg), "token", "create", "--name", "JumpCloud SCIM")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("wxt_") and len(token) >= 4 + 43
    assert token.count("wxt_") == 1 and " " not in token

    # Only the hash is stored: the plaintext is nowhere in the database files.
    db = tmp_path / "w.db"
    assert token.encode() not in _all_bytes(db)
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT id, hash, prefix, scopes, revoked FROM api_tokens").fetchone()
    token_id, stored_hash, prefix, scopes, revoked = row
    assert stored_hash == hash_token(token)
    assert token.startswith(prefix) and len(prefix) < 16
    assert scopes == "admin:scim" and revoked is None

    listed = webrix("--config", str(cfg), "token", "list")
    assert listed.returncode == 0
    assert (
        token_id in listed.stdout
        and "JumpCloud SCIM" in listed.stdout
        and "active" in listed.stdout
    )
    assert token not in listed.stdout and token[len(prefix) :] not in listed.stdout

    revoked_run = webrix("--config", str(cfg), "token", "revoke", token_id)
    assert revoked_run.returncode == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT revoked FROM api_tokens").fetchone()[0] is not None
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_events ORDER BY id")]
    assert actions == ["token.create", "token.revoke"]
    assert "revoked" in webrix("--config", str(cfg), "token", "list").stdout


def test_token_scopes_and_errors(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    created = webrix(
        "--config",
        str(cfg),
        "token",
        "create",
        "--name",
        "ops",
        "--scope",
        "admin:read",
        "--scope",
        "admin:write",
    )
    assert created.returncode == 0
    assert "admin:read admin:write" in webrix("--config", str(cfg), "token", "list").stdout
    several = webrix(
        "--config", str(cfg), "token", "create", "--name", "b", "--scope", "all", "admin:read"
    )
    assert several.returncode == 0 and "scopes: all admin:read" in several.stdout
    bad_scope = webrix("--config", str(cfg), "token", "create", "--name", "x", "--scope", "root")
    assert bad_scope.returncode == 2 and "invalid choice" in bad_scope.stderr
    unknown = webrix("--config", str(cfg), "token", "revoke", "nope")
    assert unknown.returncode == 1 and "no token with id 'nope'" in unknown.stderr


# -- global options, file modes ------------------------------------------------------------------


def _parse(*argv: str) -> argparse.Namespace:
    return cli._with_global_options(cli._parser()).parse_args(argv)


def test_config_may_come_before_or_after_the_command_and_the_later_one_wins() -> None:
    assert _parse("--config", "a.toml", "check").config == "a.toml"
    assert _parse("check", "--config", "b.toml").config == "b.toml"
    assert _parse("token", "list", "--config", "b.toml").config == "b.toml"
    assert _parse("token", "--config", "b.toml", "list").config == "b.toml"
    assert _parse("db", "backup", "x.db", "--config", "b.toml").config == "b.toml"
    assert _parse("--config", "a.toml", "token", "list", "--config", "b.toml").config == "b.toml"
    assert _parse("--config", "a.toml", "token", "revoke", "id1").config == "a.toml"
    assert _parse("check").config is None  # then $WEBRIX_CONFIG, else ./config.toml


def test_config_after_the_command_is_the_one_used(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    missing = str(tmp_path / "missing.toml")
    created = webrix("token", "create", "--name", "after", "--config", str(cfg))
    assert created.returncode == 0, created.stderr
    listed = webrix("--config", missing, "token", "list", "--config", str(cfg))
    assert listed.returncode == 0, listed.stderr
    assert "after" in listed.stdout
    # The later option wins in the other order too: the missing file is the one reported.
    wrong = webrix("--config", str(cfg), "check", "--config", missing)
    assert wrong.returncode == 2 and "missing.toml" in wrong.stderr, wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_help_shows_the_config_option_on_each_command() -> None:
    for command in (("check",), ("token", "list"), ("token", "create"), ("db", "backup")):
        shown = webrix(*command, "--help")
        assert shown.returncode == 0
        assert "--config PATH" in shown.stdout and "WEBRIX_CONFIG" in shown.stdout
    demo = webrix("--config", "x.toml", "demo")
    assert demo.returncode == 2 and "--config does not apply" in demo.stderr


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_database_its_wal_and_folders_are_created_private(tmp_path: Path) -> None:
    """Modes given at creation, not by the umask: this test process keeps its own (022)."""
    previous = os.umask(0o022)
    try:
        existing = tmp_path / "existing"
        existing.mkdir(mode=0o755)
        path = existing / "new" / "deeper" / "w.db"

        async def opened() -> dict[str, int]:
            db = await Database.open(str(path), readers=1)
            try:
                await db.write(tokens.create, "t", ("admin:scim",))
                return {p.name: _mode(p) for p in path.parent.iterdir()}
            finally:
                await db.close()

        modes = anyio.run(opened)
    finally:
        os.umask(previous)
    assert modes == {"w.db": 0o600, "w.db-wal": 0o600, "w.db-shm": 0o600}
    assert _mode(existing / "new") == 0o700 and _mode(existing / "new" / "deeper") == 0o700
    assert _mode(existing) == 0o755  # a folder that existed keeps its mode

    backup(str(path), str(tmp_path / "backups" / "copy.db"))
    assert _mode(tmp_path / "backups" / "copy.db") == 0o600
    assert _mode(tmp_path / "backups") == 0o700
    assert not list((tmp_path / "backups").glob("*.partial"))


def test_webrix_db_backup_creates_a_private_file(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    assert webrix("--config", str(cfg), "token", "create", "--name", "t").returncode == 0
    assert _mode(tmp_path / "w.db") == 0o600
    dest = tmp_path / "b" / "copy.db"
    done = webrix("db", "backup", str(dest), "--config", str(cfg))
    assert done.returncode == 0, done.stderr
    assert _mode(dest) == 0o600 and _mode(dest.parent) == 0o700
    with sqlite3.connect(dest) as conn:
        assert conn.execute("SELECT name FROM api_tokens").fetchone() == ("t",)
    again = webrix("db", "backup", str(dest), "--config", str(cfg))
    assert again.returncode == 1 and "already exists" in again.stderr


def test_serve_answers_health_and_readiness_and_logs_no_secrets(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    port = free_port()
    secret = "wxt_" + "S" * 43
    with serve_process(cfg, port) as server:
        base = f"http://127.0.0.1:{port}"
        health = httpx.get(f"{base}/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json()["database"] == "ok"
        assert len(ready.headers["x-request-id"]) >= 16
        missing = httpx.get(
            f"{base}/nowhere?code=abc123code&state=xyz789state&page=2",
            headers={"Authorization": f"Bearer {secret}", "Cookie": "session=cookie-value-123"},
        )
        assert missing.status_code == 404
        rid = missing.headers["x-request-id"]
        out = server.stop()
    assert rid in out  # the access line carries the request id
    assert "page=2" in out
    for leaked in (secret, "abc123code", "xyz789state", "cookie-value-123", "test-client-secret"):
        assert leaked not in out


def test_make_run_serves_the_demo(tmp_path: Path) -> None:
    """`make run` (the README's first command) brings up the service and prints a token."""
    port, idp_port = free_port(), free_port()
    args = f"--data {tmp_path / 'data'} --port {port} --idp-port {idp_port}"
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "-C", str(ROOT), "run", f"DEMO_ARGS={args}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert (
            wait_http(f"http://127.0.0.1:{port}/healthz", timeout=120, proc=proc).status_code == 200
        )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out = proc.communicate(timeout=20)[0]
    tokens_printed = [line for line in out.splitlines() if line.startswith("wxt_")]
    assert len(tokens_printed) == 1
    assert f"http://127.0.0.1:{port}/scim/v2" in out


def test_forwarded_client_address_is_believed_only_from_trusted_proxies(tmp_path: Path) -> None:
    for proxies, expected in ((["127.0.0.1"], "203.0.113.9"), (["10.0.0.0/8"], "127.0.0.1")):
        data = config_data(tmp_path / "w.db", server={"trusted_proxies": proxies})
        cfg = write_toml(tmp_path / "config.toml", data)
        port = free_port()
        with serve_process(cfg, port) as server:
            headers = {"X-Forwarded-For": "203.0.113.9", "X-Request-ID": f"fwd-{port}"}
            httpx.get(f"http://127.0.0.1:{port}/healthz", headers=headers)
            out = server.stop()
        line = next(line for line in out.splitlines() if f"fwd-{port}" in line)
        assert f"] {expected} " in line, line


def test_support_bundle_file(tmp_path: Path) -> None:
    """The CLI's bundle: a new 0600 file; an unreachable provider is reported inside it."""
    closed = free_port()
    issuer = f"http://127.0.0.1:{closed}/"
    cfg = write_toml(
        tmp_path / "config.toml",
        config_data(tmp_path / "w.db", jumpcloud={"issuer": issuer, "timeout_seconds": 2}),
    )
    created = webrix("--config", str(cfg), "token", "create", "--name", "JumpCloud SCIM")
    token = created.stdout.strip().splitlines()[-1]
    out = tmp_path / "bundle.zip"
    made = webrix("--config", str(cfg), "support-bundle", "--since", "2h", "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert f"Wrote {out}" in made.stdout
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    import zipfile

    with zipfile.ZipFile(out) as archive:
        files = {n: archive.read(n).decode() for n in archive.namelist()}
    check = files["webrix-support/check.txt"]
    assert "PROBLEM" in check and "exit status: 1" in check
    assert '"problem"' in files["webrix-support/idp.json"]
    assert all(token not in text and "test-client-secret" not in text for text in files.values())
    again = webrix("--config", str(cfg), "support-bundle", "--out", str(out))
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = webrix("--config", str(cfg), "support-bundle", "--since", "forever")
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_token_create_expires_in(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    cfg = _config(tmp_path)
    started = datetime.now(UTC).replace(microsecond=0)
    for lifetime in ("90d", "12h"):
        made = webrix(
            "--config", str(cfg), "token", "create", "--name", lifetime, "--expires-in", lifetime
        )
        assert made.returncode == 0, made.stderr
        assert "expires at" in made.stdout and made.stdout.strip().splitlines()[-1].startswith(
            "wxt_"
        )
    with sqlite3.connect(tmp_path / "w.db") as conn:
        expires = dict(conn.execute("SELECT name, expires FROM api_tokens").fetchall())
    for name, length in (("90d", timedelta(days=90)), ("12h", timedelta(hours=12))):
        at = datetime.strptime(expires[name], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert started + length <= at <= started + length + timedelta(seconds=30)
    listed = webrix("--config", str(cfg), "token", "list").stdout
    assert "EXPIRES" in listed and expires["90d"] in listed
    with sqlite3.connect(tmp_path / "w.db") as conn:
        conn.execute("UPDATE api_tokens SET expires = '2000-01-01T00:00:00Z' WHERE name = '12h'")
    lines = webrix("--config", str(cfg), "token", "list").stdout.splitlines()
    assert [line.split()[2] for line in lines if line.endswith(("90d", "12h"))] == [
        "active",
        "expired",
    ]
    for bad, message in (
        ("90", "not a lifetime"),
        ("3w", "not a lifetime"),
        ("0h", "between"),
        ("3651d", "between"),
        ("99999999d", "not a lifetime"),
    ):
        refused = webrix(
            "--config", str(cfg), "token", "create", "--name", "x", "--expires-in", bad
        )
        assert refused.returncode == 2, (bad, refused.stdout)
        assert "--expires-in" in refused.stderr and message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
