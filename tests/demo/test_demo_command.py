"""`webrix demo` set-up: its generated config and the token it prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.db import Database
from app.demo.command import _fresh_token, prepare
from app.store import tokens


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
