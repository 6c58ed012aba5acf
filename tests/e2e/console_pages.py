"""The console's pages as the look-and-feel tests visit them, and axe-core to check them.

`CONSOLE_PAGES` is the one list the accessibility, width and screenshot sweeps walk: add a page
here (e.g. `/admin/users/{user_id}`) and every sweep covers it. A path may name `{user_id}` and
`{group_id}`: the SCIM ids of the user and group the test module pushes before the sweep.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
# What must never be found; "moderate" and "minor" findings are left to judgement.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
_install_lock = threading.Lock()


def test_connection(page: Page) -> None:
    """The settings page showing a connection test's steps."""
    page.click("#test-connection")
    page.wait_for_selector("#test-steps")


def generate_token(page: Page) -> None:
    """The token-shown state: generate one through the form, as the setup page says."""
    page.fill("#token-name", "Screenshot token")
    page.click("#generate")
    page.wait_for_selector("#new-token")


@dataclass(frozen=True)
class ConsolePage:
    name: str  # names screenshots and failures
    path: str  # may name {user_id} and {group_id}
    role: str  # "admin" or "member": who looks at it
    status: int = 200
    nav: str | None = None  # the nav entry marked aria-current, if any
    then: Callable[[Page], None] | None = None  # brings the page to the state to check


CONSOLE_PAGES: tuple[ConsolePage, ...] = (
    ConsolePage("overview", "/admin", "admin", nav="Overview"),
    ConsolePage("settings", "/admin/settings", "admin", nav="Settings"),
    ConsolePage(
        "settings-tested", "/admin/settings", "admin", nav="Settings", then=test_connection
    ),
    ConsolePage("api-tokens", "/admin/api-tokens", "admin", nav="API tokens"),
    ConsolePage(
        "api-token-shown", "/admin/api-tokens", "admin", nav="API tokens", then=generate_token
    ),
    ConsolePage("users", "/admin/users", "admin", nav="Users"),
    ConsolePage("users-filtered", "/admin/users?status=active&source=scim", "admin", nav="Users"),
    ConsolePage("user", "/admin/users/{user_id}", "admin", nav="Users"),
    ConsolePage("groups", "/admin/groups", "admin", nav="Groups"),
    ConsolePage("group", "/admin/groups/{group_id}", "admin", nav="Groups"),
    ConsolePage("audit", "/admin/audit", "admin", nav="Audit log"),
    ConsolePage("audit-filtered", "/admin/audit?action=user.", "admin", nav="Audit log"),
    ConsolePage("audit-bad-date", "/admin/audit?since=yesterday", "admin", 400, "Audit log"),
    ConsolePage("dashboard-admin", "/", "admin", nav="Dashboard"),
    ConsolePage("dashboard-member", "/", "member", nav="Dashboard"),
    ConsolePage("not-found", "/admin/no-such-page", "admin", status=404),
    ConsolePage("forbidden", "/admin", "member", status=403),
)


def ensure_axe() -> Path:
    """axe-core from tests/e2e/axe/package-lock.json (`make test-deps` runs the same npm ci)."""
    with _install_lock:
        if not AXE_JS.is_file():
            npm = shutil.which("npm")
            assert npm, "npm is not installed; the accessibility tests need axe-core from npm"
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=AXE_DIR,
                check=True,
                timeout=300,
            )
    return AXE_JS


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page; its serious and critical violations, each with where."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(ensure_axe()))
    results: dict[str, Any] = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "where": [" ".join(n["target"]) for n in v["nodes"]][:5],
        }
        for v in results["violations"]
        if v["impact"] in BLOCKING_IMPACTS
    ]


def page_width(page: Page) -> tuple[int, int]:
    """(document width, viewport width): the first must not exceed the second."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return int(width), int(inner)
