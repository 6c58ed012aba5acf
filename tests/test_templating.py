"""The console's time filter: human text, the exact UTC time in the title, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime

from app.templating import human_time, when

NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)


def test_human_time_buckets() -> None:
    assert human_time(None) == "never"
    assert human_time("2026-11-30T11:59:30Z", now=NOW) == "just now"
    assert human_time("2026-11-30T11:55:00Z", now=NOW) == "5 min ago"
    assert human_time("2026-11-30T09:00:00Z", now=NOW) == "3 h ago"
    assert human_time("2026-11-29T12:00:01Z", now=NOW) == "23 h ago"
    assert human_time("2026-11-28T23:48:53Z", now=NOW) == "28 Nov 2026 23:48 UTC"
    # The future: counted down within a day, absolute (with its zone) beyond.
    assert human_time("2026-11-30T12:05:00Z", now=NOW) == "in 5 min"
    assert human_time("2026-11-30T17:30:00Z", now=NOW) == "in 5 h"
    assert human_time("2026-12-01T11:59:59Z", now=NOW) == "in 23 h"
    assert human_time("2026-12-05T10:00:00Z", now=NOW) == "5 Dec 2026 10:00 UTC"


def test_when_markup_escapes_and_titles() -> None:
    html = str(when("2026-11-28T23:48:53Z"))
    assert html.startswith('<time datetime="2026-11-28T23:48:53Z" title="2026-11-28 23:48:53 UTC">')
    assert str(when(None, "not yet")) == '<span class="muted">not yet</span>'
    assert str(when("<b>odd</b>")) == "<span>&lt;b&gt;odd&lt;/b&gt;</span>"
