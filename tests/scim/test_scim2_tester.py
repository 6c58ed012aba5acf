"""The independent checker from PyPI, scim2-tester, against the real server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server
from scim2_tester.utils import Status

from tests.conftest import cli_token, config_data, free_port, serve_process, write_toml


@pytest.fixture(scope="module")
def live_scim(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp: Path = tmp_path_factory.mktemp("scim2-tester")
    cfg = write_toml(tmp / "config.toml", config_data(tmp / "w.db"))
    token = cli_token(cfg, "scim2-tester")
    port = free_port()
    with serve_process(cfg, port):
        yield f"http://127.0.0.1:{port}/scim/v2", token


def _run(url: str, token: str, resource_types: list[str] | None = None) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx2.Client(base_url=url, headers=headers, timeout=30) as http:
        results = check_server(SyncSCIMClient(http), resource_types=resource_types)
    assert len(results) > 20, "the checker ran far fewer checks than expected"
    return [
        f"{r.status.name} {r.resource_type} {r.title}: {r.reason}"
        for r in results
        if r.status is not Status.SUCCESS
    ]


def test_every_discovery_user_and_group_check_succeeds(live_scim: tuple[str, str]) -> None:
    url, token = live_scim
    failures = _run(url, token)
    assert failures == []


def test_me_and_bulk_say_not_implemented(live_scim: tuple[str, str]) -> None:
    url, token = live_scim
    headers = {"Authorization": f"Bearer {token}"}
    for method, path in (("GET", "/Me"), ("POST", "/Bulk")):
        response = httpx2.request(method, f"{url}{path}", headers=headers, json={})
        assert response.status_code == 501
        assert response.json()["status"] == "501"
        assert httpx2.request(method, f"{url}{path}").status_code == 401
