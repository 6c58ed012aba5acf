"""Durations typed on the command line or in a form: "90d", "24h", "30m"."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"([0-9]{1,6})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str, *, maximum: timedelta = timedelta(days=3650)) -> timedelta:
    """A positive number of minutes, hours or days ("30m", "24h", "90d"); ValueError otherwise."""
    m = _DURATION.fullmatch(text.strip())
    if not m or int(m.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like 30m, 24h or 90d")
    value = timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    if value > maximum:
        raise ValueError(f"{text!r} is longer than {maximum.days} days")
    return value
