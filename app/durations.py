"""Durations typed on the command line or in a form: "90d", "24h", "30m"."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"([0-9]{1,6})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class OutOfRange(ValueError):
    """A well-formed duration outside the bounds asked for."""


def parse_duration(
    text: str,
    *,
    minimum: timedelta = timedelta(minutes=1),
    maximum: timedelta = timedelta(days=3650),
    units: str = "mhd",
) -> timedelta:
    """A number of minutes, hours or days ("30m", "24h", "90d"; only the `units` letters),
    from `minimum` to `maximum`: ValueError if malformed, OutOfRange if outside the bounds."""
    m = _DURATION.fullmatch(text.strip().lower())
    if not m or m.group(2) not in units:
        raise ValueError(f"{text[:40]!r} is not a duration like 30m, 24h or 90d")
    value = timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    if not minimum <= value <= maximum:
        raise OutOfRange(f"{text[:40]!r} is not between {minimum} and {maximum.days} days")
    return value
