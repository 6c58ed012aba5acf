from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import anyio
import pytest

from app.db import Database, DatabaseError, Tx
from app.migrate import latest_version
from app.store import audit, tokens
from tests.conftest import config_data, webrix, write_toml


def _schema(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT type, name FROM sqlite_master ORDER BY name").fetchall()


@pytest.mark.anyio
async def test_open_applies_migrations_and_settings(tmp_path: Path) -> None:
    db = await Database.open(str(tmp_path / "w.db"))
    try:
        assert (await db.fetch_one("PRAGMA user_version"))[0] == latest_version()
        assert (await db.fetch_one("PRAGMA journal_mode"))[0] == "wal"
        assert (await db.fetch_one("PRAGMA foreign_keys"))[0] == 1
    finally:
        await db.close()


@pytest.mark.anyio
async def test_migrating_twice_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    db = await Database.open(str(path))
    await db.write(tokens.create, "kept")
    await db.close()
    before = _schema(path)
    db = await Database.open(str(path))
    try:
        assert [t.name for t in await db.read(tokens.list_tokens)] == ["kept"]
    finally:
        await db.close()
    assert _schema(path) == before


@pytest.mark.anyio
async def test_newer_schema_refuses_to_start(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    with pytest.raises(DatabaseError, match="newer than this webrix knows"):
        await Database.open(str(path))


@pytest.mark.parametrize("command", [["token", "list"], ["serve", "--port", "0"]])
def test_newer_schema_message_from_the_command_line(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "w.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 5}")
    cfg = write_toml(tmp_path / "c.toml", config_data(path))
    result = webrix("--config", str(cfg), *command)
    assert result.returncode == 1
    assert "newer than this webrix knows" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.anyio
async def test_rollback_on_error_leaves_nothing(tmp_path: Path) -> None:
    db = await Database.open(str(tmp_path / "w.db"))
    try:

        def fails(tx: Tx) -> None:
            tokens.create(tx, "lost")
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await db.write(fails)
        assert await db.read(tokens.list_tokens) == []
    finally:
        await db.close()


@pytest.mark.anyio
async def test_concurrent_writers_and_readers_never_see_locked(tmp_path: Path) -> None:
    db = await Database.open(str(tmp_path / "w.db"))
    errors: list[BaseException] = []

    async def writer(i: int) -> None:
        def two(tx: Tx) -> None:
            audit.record(tx, actor="test", action=f"write.{i}")
            audit.record(tx, actor="test", action=f"write.{i}.b")

        try:
            await db.write(two)
        except BaseException as exc:  # collected, asserted below
            errors.append(exc)

    async def reader() -> None:
        try:
            await db.read(audit.recent, limit=10)
        except BaseException as exc:
            errors.append(exc)

    try:
        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(writer, i)
                tg.start_soon(reader)
        assert errors == []
        assert (await db.fetch_one("SELECT count(*) FROM audit_events"))[0] == 400
    finally:
        await db.close()


WRITER = textwrap.dedent(
    """
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    end = time.monotonic() + float(sys.argv[2])
    n = 0
    print("writing", flush=True)
    while time.monotonic() < end:
        conn.execute("BEGIN IMMEDIATE")
        for _ in range(50):
            conn.execute(
                "INSERT INTO audit_events (at, actor, action, detail) VALUES ('t', 'w', 'x', ?)",
                ("{" + '"pad": "' + "y" * 200 + '"}',),
            )
        conn.execute("COMMIT")
        n += 50
    print(n, flush=True)
    """
)


def test_backup_while_another_process_writes(tmp_path: Path) -> None:
    db_path = tmp_path / "w.db"
    cfg = write_toml(tmp_path / "c.toml", config_data(db_path))
    assert webrix("--config", str(cfg), "token", "list").returncode == 0  # creates + migrates
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db_path), "4"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "writing"
        time.sleep(0.5)
        results = [
            webrix("--config", str(cfg), "db", "backup", str(tmp_path / f"b{i}.db"))
            for i in range(3)
        ]
    finally:
        out, _ = writer.communicate(timeout=30)
    written = int(out.strip())
    assert written > 0
    counts = []
    for i, result in enumerate(results):
        assert result.returncode == 0, result.stderr
        with sqlite3.connect(tmp_path / f"b{i}.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            counts.append(conn.execute("SELECT count(*) FROM audit_events").fetchone()[0])
            assert counts[-1] % 50 == 0  # whole transactions only
    assert counts == sorted(counts)
    # The writer had committed for half a second before the first backup began: an empty
    # copy is a lost copy, not a consistent one.
    assert counts[0] > 0 and counts[-1] <= written, (counts, written)


def test_unusable_database_path_is_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    cfg = write_toml(tmp_path / "c.toml", config_data(tmp_path / "a-file" / "w.db"))
    result = webrix("--config", str(cfg), "token", "list")
    assert result.returncode == 1
    assert "cannot open database" in result.stderr and "a-file" in result.stderr
    assert "Traceback" not in result.stderr


def test_backup_refuses_to_overwrite(tmp_path: Path) -> None:
    cfg = write_toml(tmp_path / "c.toml", config_data(tmp_path / "w.db"))
    assert webrix("--config", str(cfg), "token", "list").returncode == 0
    (tmp_path / "exists.db").write_text("precious")
    result = webrix("--config", str(cfg), "db", "backup", str(tmp_path / "exists.db"))
    assert result.returncode == 1
    assert "already exists" in result.stderr
    assert (tmp_path / "exists.db").read_text() == "precious"
