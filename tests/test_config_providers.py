"""`[auth] provider` and its `[auth.<provider>]` sections: each preset's issuer, each refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.config import Config, ConfigError, load, load_data
from tests.conftest import ROOT, SECRET_KEY, config_data

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "0c0ffee0-1234-4abc-8def-0123456789ab"


def doc(tmp_path: Path, provider: str, **section: Any) -> dict[str, Any]:
    """A config whose only auth section is `[auth.<provider>]`, active."""
    keys = {"client_id": "webrix", "client_secret": "s3cret", **section}
    return {
        "server": {"public_url": "https://connect.example.com", "secret_key": SECRET_KEY},
        "database": {"path": str(tmp_path / "w.db")},
        "auth": {"provider": provider, provider: {k: v for k, v in keys.items() if v is not None}},
    }


def loaded(tmp_path: Path, provider: str, **section: Any) -> Config:
    return load_data(doc(tmp_path, provider, **section), "x.toml", tmp_path)


def problems(data: dict[str, Any], tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_data(data, "x.toml", tmp_path)
    return info.value.problems


def refused(tmp_path: Path, provider: str, **section: Any) -> list[str]:
    return problems(doc(tmp_path, provider, **section), tmp_path)


@pytest.mark.parametrize(
    ("provider", "section", "issuer"),
    [
        ("okta", {"org_url": "https://example.okta.com"}, "https://example.okta.com"),
        ("okta", {"org_url": "https://example.okta.com/"}, "https://example.okta.com"),
        (
            "okta",
            {"org_url": "https://example.okta.com", "authorization_server": "default"},
            "https://example.okta.com/oauth2/default",
        ),
        (
            "okta",
            {"org_url": "https://example.okta.com", "authorization_server": "aus1a2b3c4D5e6F7"},
            "https://example.okta.com/oauth2/aus1a2b3c4D5e6F7",
        ),
        ("entra", {"tenant_id": TENANT}, f"https://login.microsoftonline.com/{TENANT}/v2.0"),
        (
            "entra",
            {"tenant_id": TENANT.upper()},
            f"https://login.microsoftonline.com/{TENANT}/v2.0",
        ),
        (
            "entra",
            {"tenant_id": "organizations", "allowed_tenants": [TENANT]},
            "https://login.microsoftonline.com/organizations/v2.0",
        ),
        (
            "entra",
            {"tenant_id": "common", "allowed_tenants": [TENANT, OTHER_TENANT]},
            "https://login.microsoftonline.com/common/v2.0",
        ),
        ("google", {"allowed_domains": ["example.com"]}, "https://accounts.google.com"),
        (
            "keycloak",
            {"base_url": "https://sso.example.com", "realm": "webrix"},
            "https://sso.example.com/realms/webrix",
        ),
        (
            "keycloak",
            {"base_url": "https://sso.example.com/auth/", "realm": "webrix"},
            "https://sso.example.com/auth/realms/webrix",
        ),
        ("oidc", {"issuer": "https://idp.example.com"}, "https://idp.example.com"),
    ],
)
def test_each_preset_derives_its_issuer(
    tmp_path: Path, provider: str, section: dict[str, Any], issuer: str
) -> None:
    config = loaded(tmp_path, provider, **section)
    assert config.auth.provider == provider
    assert config.auth.active.name == provider
    assert config.auth.active.issuer == issuer
    assert config.redirect_uri == f"https://connect.example.com/api/auth/callback/{provider}"
    assert config.jwks_url == "https://connect.example.com/api/auth/jwks"
    assert config.auth.active.token_endpoint_auth_method == "client_secret_basic"
    with pytest.raises(AttributeError, match=f"the active provider is {provider}"):
        _ = config.auth.jumpcloud


def test_okta_redirect_uri_and_defaults(tmp_path: Path) -> None:
    config = loaded(tmp_path, "okta", org_url="https://example.okta.com")
    assert config.redirect_uri == "https://connect.example.com/api/auth/callback/okta"
    assert config.auth.active.client_secret == "s3cret"
    assert "s3cret" not in repr(config)


def test_entra_lists_are_kept_lower_case(tmp_path: Path) -> None:
    config = loaded(tmp_path, "entra", tenant_id="Common", allowed_tenants=[TENANT.upper()])
    assert config.auth.active.tenant_id == "common"
    assert config.auth.active.allowed_tenants == (TENANT,)


def test_google_domains_are_kept_lower_case(tmp_path: Path) -> None:
    config = loaded(tmp_path, "google", allowed_domains=["Example.COM.", "corp.example.org"])
    assert config.auth.active.allowed_domains == ("example.com", "corp.example.org")


def test_an_issuer_key_overrides_every_preset(tmp_path: Path) -> None:
    local = "http://127.0.0.1:9000/organizations/v2.0"
    config = loaded(
        tmp_path, "entra", tenant_id="organizations", allowed_tenants=[TENANT], issuer=local
    )
    assert config.auth.active.issuer == local
    google = loaded(tmp_path, "google", allowed_domains=["example.com"], issuer="http://[::1]:9")
    assert google.auth.active.issuer == "http://[::1]:9"


def test_unknown_provider(tmp_path: Path) -> None:
    data = doc(tmp_path, "okta", org_url="https://example.okta.com")
    data["auth"]["provider"] = "onelogin"
    assert problems(data, tmp_path) == [
        "x.toml: [auth] provider: must be one of jumpcloud, okta, entra, google, keycloak, "
        "oidc, got 'onelogin'"
    ]


def test_a_provider_that_is_not_a_string_is_one_problem(tmp_path: Path) -> None:
    data = doc(tmp_path, "okta", org_url="https://example.okta.com")
    data["auth"]["provider"] = 5
    assert problems(data, tmp_path) == ["x.toml: [auth] provider: must be a string, got 5"]


P = "x.toml: [auth.{}] {}: {}"

REFUSALS = [
    (
        "entra organizations without allowed_tenants",
        "entra",
        {"tenant_id": "organizations"},
        P.format(
            "entra",
            "allowed_tenants",
            'is required with tenant_id = "organizations": list the tenant ids whose users '
            "may sign in (without it, any Microsoft organisation could)",
        ),
    ),
    (
        "entra common without allowed_tenants",
        "entra",
        {"tenant_id": "common"},
        P.format(
            "entra",
            "allowed_tenants",
            'is required with tenant_id = "common": list the tenant ids whose users '
            "may sign in (without it, any Microsoft organisation could)",
        ),
    ),
    (
        "entra tenant not a GUID",
        "entra",
        {"tenant_id": "contoso.onmicrosoft.com"},
        P.format(
            "entra",
            "tenant_id",
            'must be the Directory (tenant) ID, a GUID, or "organizations" / "common"; '
            "got 'contoso.onmicrosoft.com'",
        ),
    ),
    (
        "entra allowed_tenants with one tenant",
        "entra",
        {"tenant_id": TENANT, "allowed_tenants": [OTHER_TENANT]},
        P.format(
            "entra",
            "allowed_tenants",
            "only applies with tenant_id = organizations or common: with one tenant, that "
            "tenant alone may sign in; remove the key",
        ),
    ),
    (
        "entra allowed tenant not a GUID",
        "entra",
        {"tenant_id": "organizations", "allowed_tenants": ["contoso"]},
        P.format("entra", "allowed_tenants", "'contoso' is not a tenant id (a GUID)"),
    ),
    (
        "entra tenant_id missing",
        "entra",
        {},
        P.format(
            "entra",
            "tenant_id",
            "required key is missing (the Directory (tenant) ID on the app's Overview page)",
        ),
    ),
    (
        "google without allowed_domains",
        "google",
        {},
        P.format(
            "google",
            "allowed_domains",
            "is required: your Google Workspace domain(s), checked against the hd claim "
            "(without it, any Google account could sign in)",
        ),
    ),
    (
        "google with a bad domain",
        "google",
        {"allowed_domains": ["example.com", "not a domain"]},
        P.format("google", "allowed_domains", "'not a domain' is not a domain name"),
    ),
    (
        "okta org_url with -admin",
        "okta",
        {"org_url": "https://example-admin.okta.com"},
        P.format("okta", "org_url", "is the Admin Console's address: remove -admin from the host"),
    ),
    (
        "okta org_url with a path",
        "okta",
        {"org_url": "https://example.okta.com/oauth2/default"},
        P.format("okta", "org_url", "must be the organisation's URL alone, without a path"),
    ),
    (
        "okta org_url missing",
        "okta",
        {},
        P.format("okta", "org_url", "required key is missing (your Okta URL, without -admin)"),
    ),
    (
        "okta authorization server not an id",
        "okta",
        {"org_url": "https://example.okta.com", "authorization_server": "oauth2/default"},
        P.format(
            "okta",
            "authorization_server",
            "must be an authorization server's id (letters and digits, e.g. default), "
            "got 'oauth2/default'",
        ),
    ),
    (
        "keycloak base_url with /realms/",
        "keycloak",
        {"base_url": "https://sso.example.com/realms/webrix", "realm": "webrix"},
        P.format("keycloak", "base_url", "must end before /realms/: put the realm in realm"),
    ),
    (
        "keycloak realm missing",
        "keycloak",
        {"base_url": "https://sso.example.com"},
        P.format("keycloak", "realm", "required key is missing"),
    ),
    (
        "oidc issuer missing",
        "oidc",
        {},
        P.format("oidc", "issuer", "required key is missing (the provider's issuer URL)"),
    ),
    (
        "client_id missing",
        "oidc",
        {"issuer": "https://idp.example.com", "client_id": None},
        P.format("oidc", "client_id", "required key is missing"),
    ),
    (
        "client_secret missing",
        "okta",
        {"org_url": "https://example.okta.com", "client_secret": None},
        P.format("okta", "client_secret", "required key is missing"),
    ),
    (
        "client_secret empty",
        "okta",
        {"org_url": "https://example.okta.com", "client_secret": ""},
        P.format("okta", "client_secret", "must not be empty"),
    ),
    (
        "private_key_jwt with a client secret",
        "okta",
        {"org_url": "https://example.okta.com", "token_endpoint_auth_method": "private_key_jwt"},
        P.format(
            "okta",
            "client_secret",
            "is not used with private_key_jwt (the service signs with its own key): remove it",
        ),
    ),
    (
        "private_key_jwt for jumpcloud",
        "jumpcloud",
        {"token_endpoint_auth_method": "private_key_jwt", "client_secret": None},
        P.format(
            "jumpcloud",
            "token_endpoint_auth_method",
            "must be one of client_secret_basic, client_secret_post, got 'private_key_jwt' "
            "(JumpCloud offers Client Secret Basic and Client Secret Post)",
        ),
    ),
    (
        "private_key_jwt for entra",
        "entra",
        {
            "tenant_id": TENANT,
            "token_endpoint_auth_method": "private_key_jwt",
            "client_secret": None,
        },
        P.format(
            "entra",
            "token_endpoint_auth_method",
            "must be one of client_secret_basic, client_secret_post, got 'private_key_jwt' "
            "(Entra ID takes a private key only as an uploaded certificate, not a JWKS URL)",
        ),
    ),
    (
        "private_key_jwt for google",
        "google",
        {
            "allowed_domains": ["example.com"],
            "token_endpoint_auth_method": "private_key_jwt",
            "client_secret": None,
        },
        P.format(
            "google",
            "token_endpoint_auth_method",
            "must be one of client_secret_basic, client_secret_post, got 'private_key_jwt' "
            "(Google's OAuth clients authenticate with a client secret only)",
        ),
    ),
    (
        "an unknown method",
        "keycloak",
        {
            "base_url": "https://sso.example.com",
            "realm": "r",
            "token_endpoint_auth_method": "tls_client_auth",
        },
        P.format(
            "keycloak",
            "token_endpoint_auth_method",
            "must be one of client_secret_basic, client_secret_post, private_key_jwt, "
            "got 'tls_client_auth'",
        ),
    ),
    (
        "http issuer off loopback",
        "okta",
        {"org_url": "https://example.okta.com", "issuer": "http://example.okta.com"},
        P.format("okta", "issuer", "http:// is only accepted on a loopback host"),
    ),
    (
        "http org_url off loopback",
        "okta",
        {"org_url": "http://example.okta.com"},
        P.format("okta", "org_url", "http:// is only accepted on a loopback host"),
    ),
    (
        "http keycloak off loopback",
        "keycloak",
        {"base_url": "http://sso.example.com", "realm": "r"},
        P.format("keycloak", "base_url", "http:// is only accepted on a loopback host"),
    ),
    (
        "a templated issuer",
        "oidc",
        {"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0"},
        P.format(
            "oidc",
            "issuer",
            "must name one issuer, not a template ({tenantid}): for Entra ID's multi-tenant "
            'endpoints, use [auth.entra] tenant_id = "organizations" with allowed_tenants',
        ),
    ),
]


@pytest.mark.parametrize(
    ("case", "provider", "section", "expected"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_each_refusal_says_what_to_fix(
    tmp_path: Path, case: str, provider: str, section: dict[str, Any], expected: str
) -> None:
    assert expected in refused(tmp_path, provider, **section)


def test_private_key_jwt_needs_no_secret(tmp_path: Path) -> None:
    for provider, keys in (
        ("okta", {"org_url": "https://example.okta.com"}),
        ("keycloak", {"base_url": "https://sso.example.com", "realm": "r"}),
        ("oidc", {"issuer": "https://idp.example.com"}),
    ):
        config = loaded(
            tmp_path,
            provider,
            token_endpoint_auth_method="private_key_jwt",
            client_secret=None,
            **keys,
        )
        assert config.auth.active.uses_client_key
        assert config.auth.active.client_secret == ""


def test_client_secret_post_for_every_provider(tmp_path: Path) -> None:
    config = loaded(
        tmp_path,
        "google",
        allowed_domains=["example.com"],
        token_endpoint_auth_method=("client_secret_post"),
    )
    assert config.auth.active.token_endpoint_auth_method == "client_secret_post"
    assert not config.auth.active.uses_client_key


def test_secret_file_and_environment_follow_the_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "okta_secret").write_text("from-a-file\n")
    data = doc(tmp_path, "okta", org_url="https://example.okta.com", client_secret=None)
    data["auth"]["okta"]["client_secret_file"] = "okta_secret"
    assert load_data(data, "x.toml", tmp_path).auth.active.client_secret == "from-a-file"
    monkeypatch.setenv("WEBRIX_AUTH_OKTA_CLIENT_SECRET", "from-env")
    assert load_data(data, "x.toml", tmp_path).auth.active.client_secret == "from-env"
    # JumpCloud's variable is not Okta's.
    monkeypatch.delenv("WEBRIX_AUTH_OKTA_CLIENT_SECRET")
    monkeypatch.setenv("WEBRIX_AUTH_JUMPCLOUD_CLIENT_SECRET", "jumpcloud's")
    assert load_data(data, "x.toml", tmp_path).auth.active.client_secret == "from-a-file"


def test_environment_alone_supplies_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = doc(tmp_path, "keycloak", base_url="https://sso.example.com", realm="r")
    del data["auth"]["keycloak"]["client_secret"]
    assert P.format("keycloak", "client_secret", "required key is missing") in problems(
        data, tmp_path
    )
    monkeypatch.setenv("WEBRIX_AUTH_KEYCLOAK_CLIENT_SECRET", "from-env")
    assert load_data(data, "x.toml", tmp_path).auth.active.client_secret == "from-env"


def test_an_empty_secret_from_the_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBRIX_AUTH_JUMPCLOUD_CLIENT_SECRET", "")
    data = config_data(tmp_path / "w.db")
    del data["auth"]["jumpcloud"]["client_secret"]  # the variable alone, empty
    assert "x.toml: [auth.jumpcloud] client_secret: must not be empty" in problems(data, tmp_path)


def test_an_inactive_section_reports_unknown_keys_not_missing_ones(tmp_path: Path) -> None:
    data = config_data(tmp_path / "w.db")  # JumpCloud active
    data["auth"]["okta"] = {"org_ur": "https://example.okta.com"}  # no client_id either
    data["auth"]["entra"] = {"tenant_id": "not-a-guid"}  # a draft: not checked
    assert problems(data, tmp_path) == [
        "x.toml: [auth.okta] org_ur: unknown key (did you mean 'org_url'?)"
    ]
    del data["auth"]["okta"]["org_ur"]
    assert load_data(data, "x.toml", tmp_path).auth.provider == "jumpcloud"


def test_a_preset_key_in_another_section_is_unknown(tmp_path: Path) -> None:
    data = doc(tmp_path, "okta", org_url="https://example.okta.com", tenant_id=TENANT)
    [problem] = problems(data, tmp_path)
    assert problem.startswith("x.toml: [auth.okta] tenant_id: unknown key")


def test_the_active_section_missing_entirely(tmp_path: Path) -> None:
    data = doc(tmp_path, "oidc")
    del data["auth"]["oidc"]
    assert problems(data, tmp_path) == [
        P.format("oidc", "client_id", "required key is missing"),
        P.format("oidc", "client_secret", "required key is missing"),
        P.format("oidc", "issuer", "required key is missing (the provider's issuer URL)"),
    ]


def test_jumpcloud_configs_load_as_before(tmp_path: Path) -> None:
    plain = load_data(config_data(tmp_path / "w.db"), "x.toml", tmp_path)
    explicit = config_data(tmp_path / "w.db")
    explicit["auth"]["provider"] = "jumpcloud"
    for config in (plain, load_data(explicit, "x.toml", tmp_path)):
        jc = config.auth.jumpcloud
        assert config.auth.provider == "jumpcloud"
        assert jc is config.auth.active
        assert (jc.client_id, jc.client_secret) == ("test-client", "test-client-secret")
        assert jc.issuer == "https://oauth.id.jumpcloud.com/"
        assert jc.token_endpoint_auth_method == "client_secret_basic"
        assert not jc.uses_client_key
        assert config.redirect_uri == "http://127.0.0.1:8080/api/auth/callback/jumpcloud"
    # The issuer key's default is JumpCloud's issuer, written or not.
    del explicit["auth"]["jumpcloud"]["issuer"]
    assert load_data(explicit, "x.toml", tmp_path).auth.jumpcloud.issuer == (
        "https://oauth.id.jumpcloud.com/"
    )


def test_the_example_config_loads_as_before(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text((ROOT / "config.example.toml").read_text())
    (tmp_path / "secret_key").write_text(SECRET_KEY)
    (tmp_path / "jumpcloud_client_secret").write_text("s3cret")
    config = load(path)
    assert config.auth.provider == "jumpcloud"
    assert config.redirect_uri.endswith("/api/auth/callback/jumpcloud")
