"""The Jinja2 environment every page is rendered with, and its filters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import jinja2
from markupsafe import Markup, escape
from starlette.templating import Jinja2Templates

from app.store import parse_time


def human_time(stamp: str | None, *, now: datetime | None = None) -> str:
    """'just now', '5 min ago', '3 h ago', 'in 5 min', 'in 3 h' within a day;
    else '28 Nov 2026 23:48 UTC'."""
    if not stamp:
        return "never"
    at = parse_time(stamp)
    seconds = ((now or datetime.now(UTC)) - at).total_seconds()
    if -60 < seconds < 60:
        return "just now"
    if 0 < seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if 0 < seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if -3600 < seconds < 0:
        return f"in {int(-seconds // 60)} min"
    if -86400 < seconds < 0:
        return f"in {int(-seconds // 3600)} h"
    return f"{at.day} {at:%b %Y %H:%M} UTC"


def when(stamp: str | None, never: str = "never") -> Markup:
    """A <time> element: human-readable text, the exact UTC time in its title."""
    if not stamp:
        return Markup('<span class="muted">{}</span>').format(never)
    try:
        at = parse_time(stamp)
    except ValueError:
        return Markup("<span>{}</span>").format(stamp)
    exact = f"{at:%Y-%m-%d %H:%M:%S} UTC"
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        escape(stamp), exact, human_time(stamp)
    )


def make_templates(*extra_dirs: Path) -> Jinja2Templates:
    """Autoescaping Jinja2 templates from app/templates and the given folders."""
    here = Path(__file__).parent
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(here / "templates"), *map(str, extra_dirs)]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = when
    return Jinja2Templates(env=env)
