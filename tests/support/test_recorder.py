"""What the service records for the support bundle: bounded, scrubbed, and kept across a
failed write."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import pytest

from app.config import Config
from app.durations import parse_duration
from app.support.recorder import LogRing, ScimClients, SupportRecorder, endpoint
from app.support.redact import redacted_config, scrub, secrets_of


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/scim/v2/Users", "GET /Users"),
        ("PATCH", "/scim/v2/Groups/5b1f", "PATCH /Groups/{id}"),
        ("POST", "/scim/v2/Users/.search", "POST /Users/.search"),
        ("GET", "/scim/v2/Users/abc/def", "GET /Users/{id}/…"),
        ("GET", "/scim/v2/", "GET /"),
        ("GET", "/scim/v2/Secret-wxt_abc", "GET /(unknown)"),
        ("BREW", "/scim/v2/Users", "OTHER /Users"),
        ("GET", "/scim/v1/Users", "GET (outside /scim/v2)"),
    ],
)
def test_endpoint_has_no_ids(method: str, path: str, expected: str) -> None:
    assert endpoint(method, path) == expected


def test_client_counts_are_bounded() -> None:
    clients = ScimClients(max_keys=3)
    for i in range(10):
        clients.add("t1", f"agent {i}", "GET /Users", 200)
    clients.add("t1", "agent 0", "GET /Users", 200)
    taken = {c.user_agent: c.count for c in clients.take()}
    assert taken == {"agent 0": 2, "agent 1": 1, "agent 2": 1, "(more user agents)": 7}
    assert clients.take() == []


def test_ring_keeps_the_last_warnings_only() -> None:
    ring = LogRing(size=3)
    log = logging.getLogger("webrix.ringtest")
    log.addHandler(ring)
    try:
        log.info("not kept")
        for i in range(5):
            log.warning("problem %d\nforged line", i)
        try:
            raise KeyError("x")
        except KeyError:
            log.exception("boom")
    finally:
        log.removeHandler(ring)
    assert [e.message for e in ring.recent] == [
        "problem 3 forged line",
        "problem 4 forged line",
        "boom [KeyError]",
    ]
    taken = ring.take()
    assert len(taken) == 3 and ring.take() == []
    ring.give_back(taken)
    assert ring.take() == taken


def test_failed_write_keeps_counts_for_the_next() -> None:
    recorder = SupportRecorder()
    recorder.clients.add("t1", "JumpCloud", "GET /Users", 200)
    events, counts = recorder.pending()
    recorder.give_back(events, counts)
    recorder.clients.add("t1", "JumpCloud", "GET /Users", 200)
    _, again = recorder.pending()
    assert sum(c.count for c in again) == 2
    assert recorder.pending() == ([], [])


def test_config_redaction(make_config: Callable[..., Config]) -> None:
    config = make_config(jumpcloud={"client_secret": "s3cr3t-value"})
    data = redacted_config(config)
    assert data["auth"]["jumpcloud"]["client_secret"] == "<set> (12 characters)"
    assert "s3cr3t-value" not in repr(data)
    assert set(secrets_of(config)) == {"s3cr3t-value", config.server.secret_key}


def test_scrub_removes_what_signs_in_and_end_users() -> None:
    text = (
        "token wxt_" + "a" * 43 + " prefix wxt_abcdefgh; Authorization: Bearer abc.defghij;"
        " id eyJhbGciOi.eyJzdWIi.c2ln; mail Ada.Lovelace+x@Example.COM; secret hunter22"
    )
    clean = scrub(text, secrets=["hunter22"], include_users=False)
    assert clean == (
        "token wxt_<removed> prefix wxt_abcdefgh; Authorization: Bearer <removed>;"
        " id <JWT removed>; mail <user>@Example.COM; secret <secret removed>"
    )
    assert "Ada.Lovelace+x@Example.COM" in scrub(text, secrets=[], include_users=True)


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("agent jürgen.müller@firma.de!", "agent <user>@firma.de!"),
        ("first!last@corp.com", "<user>@corp.com"),
        ("ops@localhost", "<user>@localhost"),
        ('{"email": "grace@navy.example"}', '{"email": "<user>@navy.example"}'),
        ("mailto:ops@corp.example,", "mailto:<user>@corp.example,"),
        # check.txt: "Basic" ends a line, and the next line's word is no credential.
        ("Client Secret Basic\nPaste into JumpCloud", "Client Secret Basic\nPaste into JumpCloud"),
        ("select Client Secret Basic as the type", "select Client Secret Basic as the type"),
    ],
)
def test_scrub_edges(text: str, clean: str) -> None:
    assert scrub(text, secrets=[], include_users=False) == clean


def test_durations() -> None:
    assert parse_duration("90d") == timedelta(days=90)
    assert parse_duration(" 24h ") == timedelta(hours=24)
    assert parse_duration("30m") == timedelta(minutes=30)
    for bad in ("", "0d", "1w", "-1d", "1.5h", "\uff19d", "99999999d", "4000d"):
        with pytest.raises(ValueError):
            parse_duration(bad)
