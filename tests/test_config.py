from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, load, load_data
from tests.conftest import SECRET_KEY, config_data, free_port, webrix, write_toml


def _problems(data: dict, tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_data(data, "x.toml", tmp_path)
    return info.value.problems


def test_valid_config_has_safe_defaults(tmp_path: Path) -> None:
    cfg = load_data(config_data(tmp_path / "w.db"), "x.toml", tmp_path)
    assert cfg.auth.jumpcloud.issuer == "https://oauth.id.jumpcloud.com/"
    assert cfg.access.jit_provisioning is True
    assert cfg.redirect_uri == "http://127.0.0.1:8080/api/auth/callback/jumpcloud"
    assert cfg.scim_base_url == "http://127.0.0.1:8080/scim/v2"
    assert "secret" not in repr(cfg.server) or SECRET_KEY not in repr(cfg)
    assert SECRET_KEY not in repr(cfg) and SECRET_KEY not in repr(cfg.server)
    assert "test-client-secret" not in repr(cfg)


def test_relative_database_path_is_beside_the_config(tmp_path: Path) -> None:
    data = config_data(Path("sub/w.db"))
    cfg = load_data(data, "x.toml", tmp_path)
    assert cfg.database.path == str(tmp_path / "sub/w.db")


def test_trailing_slash_of_public_url_is_dropped(tmp_path: Path) -> None:
    data = config_data(tmp_path / "w.db", server={"public_url": "https://connect.example.com/"})
    assert load_data(data, "x.toml", tmp_path).public_url == "https://connect.example.com"


def test_secret_from_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secret.txt").write_text("from-a-file\n")
    data = config_data(tmp_path / "w.db")
    del data["auth"]["jumpcloud"]["client_secret"]
    data["auth"]["jumpcloud"]["client_secret_file"] = "secret.txt"
    assert load_data(data, "x.toml", tmp_path).auth.jumpcloud.client_secret == "from-a-file"
    monkeypatch.setenv("WEBRIX_AUTH_JUMPCLOUD_CLIENT_SECRET", "from-env")
    assert load_data(data, "x.toml", tmp_path).auth.jumpcloud.client_secret == "from-env"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = config_data(tmp_path / "w.db", server={"public_url": "nope", "secret_key": "short"})
    problems = _problems(data, tmp_path)
    assert any("public_url" in p for p in problems)
    assert any("secret_key" in p for p in problems)


def test_both_secret_and_secret_file_is_refused(tmp_path: Path) -> None:
    data = config_data(tmp_path / "w.db")
    data["auth"]["jumpcloud"]["client_secret_file"] = "x"
    assert any("not both" in p for p in _problems(data, tmp_path))


def test_http_public_url_off_loopback_needs_explicit_consent(tmp_path: Path) -> None:
    data = config_data(tmp_path / "w.db", server={"public_url": "http://connect.example.com"})
    assert any("public_url" in p and "https" in p for p in _problems(data, tmp_path))
    data["server"]["allow_insecure_http"] = True
    assert load_data(data, "x.toml", tmp_path).public_url == "http://connect.example.com"


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "absent.toml")
    (tmp_path / "bad.toml").write_text("[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(tmp_path / "bad.toml")


# Each bad config, through the real command line: exit status 2, one line naming file and key.
BAD_CONFIGS = [
    (
        "missing",
        lambda d: d["auth"]["jumpcloud"].pop("client_id"),
        "[auth.jumpcloud] client_id: required key is missing",
    ),
    (
        "wrong type",
        lambda d: d["server"].update(port="eighty"),
        "[server] port: must be an integer, got 'eighty'",
    ),
    (
        "unknown key",
        lambda d: d["server"].update(publc_url="x"),
        "[server] publc_url: unknown key (did you mean 'public_url'?)",
    ),
    (
        "unknown section",
        lambda d: d.update(acess={}),
        "[acess]: unknown section (did you mean 'access'?)",
    ),
    (
        "relative url",
        lambda d: d["server"].update(public_url="connect.example.com"),
        "[server] public_url: must be an absolute http(s) URL",
    ),
    (
        "http issuer",
        lambda d: d["auth"]["jumpcloud"].update(issuer="http://oauth.id.jumpcloud.com/"),
        "[auth.jumpcloud] issuer: http:// is only accepted on a loopback host",
    ),
    (
        "short secret",
        lambda d: d["server"].update(secret_key="too-short"),
        "[server] secret_key: must be at least 32 bytes",
    ),
    (
        "unreadable file",
        lambda d: (d["server"].pop("secret_key"), d["server"].update(secret_key_file="nope.txt")),
        "[server] secret_key_file: cannot read",
    ),
    (
        "bool for int",
        lambda d: d["session"].update(lifetime_minutes=True),
        "[session] lifetime_minutes: must be an integer",
    ),
    (
        "bad proxy",
        lambda d: d["server"].update(trusted_proxies=["10.0.0.1", "proxy.local"]),
        "[server] trusted_proxies: 'proxy.local' is not an IP address or network",
    ),
]


@pytest.mark.parametrize(
    ("case", "mutate", "expected"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS]
)
def test_bad_config_exits_2_with_a_clear_message(
    tmp_path: Path, case: str, mutate, expected: str
) -> None:
    data = config_data(tmp_path / "w.db", session={})
    mutate(data)
    path = write_toml(tmp_path / "config.toml", data)
    result = webrix("--config", str(path), "check")
    assert result.returncode == 2, result
    assert f"{path}: {expected}" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_path_from_environment_and_unreachable_provider(tmp_path: Path) -> None:
    data = config_data(tmp_path / "w.db", jumpcloud={"issuer": f"http://127.0.0.1:{free_port()}/"})
    path = write_toml(tmp_path / "elsewhere.toml", data)
    result = webrix("check", env={"WEBRIX_CONFIG": str(path)})
    assert "http://127.0.0.1:8080/api/auth/callback/jumpcloud" in result.stdout
    assert "http://127.0.0.1:8080/scim/v2" in result.stdout
    assert result.returncode == 1, result.stdout
    assert "PROBLEM  Discovery document: Could not reach" in result.stdout
    assert "test-client-secret" not in result.stdout + result.stderr


def test_default_config_path_missing_is_a_config_error(tmp_path: Path) -> None:
    result = webrix("check", cwd=tmp_path, env={"WEBRIX_CONFIG": ""})
    assert result.returncode == 2
    assert "config.toml: config file not found" in result.stderr


def test_example_config_is_valid(tmp_path: Path) -> None:
    from tests.conftest import ROOT

    path = tmp_path / "config.toml"
    path.write_text((ROOT / "config.example.toml").read_text())
    (tmp_path / "secret_key").write_text(SECRET_KEY)
    (tmp_path / "jumpcloud_client_secret").write_text("s3cret")
    cfg = load(path)
    assert cfg.auth.jumpcloud.client_secret == "s3cret"
    assert cfg.auth.jumpcloud.issuer == "https://oauth.id.jumpcloud.com/"


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("HTTPS://Connect.Example.COM", "https://connect.example.com"),
        ("Https://CONNECT.example.com:8443/Webrix/", "https://connect.example.com:8443/Webrix"),
        ("HTTP://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_public_url_scheme_and_host_are_lower_case(tmp_path: Path, written: str, kept: str) -> None:
    cfg = load_data(config_data(tmp_path / "w.db", server={"public_url": written}), "x", tmp_path)
    assert cfg.public_url == kept
    assert cfg.server.https is kept.startswith("https://")  # Secure cookies, __Host-, HSTS


def test_public_url_with_credentials_is_refused(tmp_path: Path) -> None:
    data = config_data(tmp_path / "w.db", server={"public_url": "https://u:p@connect.example.com"})
    with pytest.raises(ConfigError, match="user name or password"):
        load_data(data, "x", tmp_path)
