"""Shared fixtures of the end-to-end tests: headless Chromium and a running `webrix demo`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import free_port, wait_http
from tests.e2e.test_browser_smoke import CHROMIUM, CHROMIUM_ARGS

TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} missing: apt-get install -y chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()  # a fresh cookie jar per test
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[str]:
    port, idp_port = free_port(), free_port()
    log = (tmp_path / "demo.log").open("w")
    command = [sys.executable, "-m", "app", "demo", "--data", str(tmp_path / "data")]
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--idp-port", str(idp_port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(f"{base}/healthz", proc=proc)
            wait_http(f"http://127.0.0.1:{idp_port}/.well-known/openid-configuration", proc=proc)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{(tmp_path / 'demo.log').read_text()}") from None
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    output = (tmp_path / "demo.log").read_text()
    assert "SCIM token (shown once):" in output
    assert "Traceback" not in output, output
