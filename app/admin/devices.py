"""A short, readable name for the device behind a User-Agent header ("Chrome 120 on Windows")."""

from __future__ import annotations

import re

# First match wins: the more specific names (Edge, Opera) before the engines they embed.
_BROWSERS = (
    ("Edge", re.compile(r"Edg(?:e|A|iOS)?/(\d+)")),
    ("Opera", re.compile(r"(?:OPR|Opera)/(\d+)")),
    ("Firefox", re.compile(r"(?:Firefox|FxiOS)/(\d+)")),
    ("Headless Chrome", re.compile(r"HeadlessChrome/(\d+)")),
    ("Chrome", re.compile(r"(?:Chrome|CriOS)/(\d+)")),
    ("Safari", re.compile(r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/")),
)
_SYSTEMS = (
    ("iPhone", re.compile(r"iPhone")),
    ("iPad", re.compile(r"iPad")),
    ("Android", re.compile(r"Android")),
    ("Windows", re.compile(r"Windows")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Linux", re.compile(r"Linux|X11")),
)
_TOOL = re.compile(r"^([A-Za-z][\w.-]{0,40})/(\d+)")  # curl/8.4.0, python-httpx/0.27


def device(user_agent: str | None) -> str:
    """'Firefox 121 on Linux', 'Safari 17 on iPhone', 'curl 8', or 'Unknown device'."""
    if not user_agent:
        return "Unknown device"
    agent = user_agent[:300]
    browser = next(
        (f"{name} {m.group(1)}" for name, rx in _BROWSERS if (m := rx.search(agent))), None
    )
    system = next((name for name, rx in _SYSTEMS if rx.search(agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or f"A browser on {system}"
    tool = _TOOL.match(agent)
    if tool and not agent.startswith("Mozilla/"):
        return f"{tool.group(1)} {tool.group(2)}"
    return "Unknown device"
