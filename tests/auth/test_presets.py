"""Each preset's rules (Entra's tenant and address, Google's domain) and Entra's `{tenantid}`
issuer, from the claims up to a whole sign-in through the relying party."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth import presets
from app.auth.errors import OidcError
from app.auth.issuers import issuer_matches
from app.auth.oidc import OidcClient, SignInResult
from app.auth.presets import EntraRules, GoogleRules, Rules
from app.config import ProviderConfig, load_data
from tests.auth.fakeprovider import DROP, FakeClock, FakeProvider
from tests.conftest import SECRET_KEY

pytestmark = pytest.mark.anyio

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER = "0c0ffee0-1234-4abc-8def-0123456789ab"
LOGIN = "https://login.microsoftonline.com"
TEMPLATE = f"{LOGIN}/{{tenantid}}/v2.0"
REDIRECT_URI = "https://webrix.example.com/api/auth/callback/entra"


def refusal(rules: Rules, claims: dict[str, Any]) -> OidcError:
    with pytest.raises(OidcError) as info:
        rules.check(claims)
    return info.value


# -- Entra ID ------------------------------------------------------------------------------


def test_entra_refuses_a_token_without_tid() -> None:
    rules = EntraRules(frozenset({TENANT}))
    for claims in ({}, {"tid": ""}, {"tid": 7}, {"tid": "contoso"}):
        error = refusal(rules, claims)
        assert error.code == "tenant_not_allowed"
        assert error.message == "The ID token names no tenant (tid); refused."


def test_entra_refuses_a_tenant_not_allowed() -> None:
    error = refusal(EntraRules(frozenset({TENANT})), {"tid": OTHER})
    assert error.code == "tenant_not_allowed"
    assert f"Your Microsoft Entra tenant ({OTHER}) is not allowed" in error.message
    assert "[auth.entra] allowed_tenants" in error.message


def test_entra_admits_an_allowed_tenant_in_any_case() -> None:
    rules = EntraRules(frozenset({TENANT}))
    rules.check({"tid": TENANT})
    rules.check({"tid": TENANT.upper()})


def test_entra_tenants_come_from_the_config(tmp_path: Path) -> None:
    one = provider(tmp_path, tenant_id=TENANT.upper())
    assert presets.rules(one) == EntraRules(frozenset({TENANT}))
    assert not presets.tenant_template(one)
    many = provider(tmp_path, tenant_id="organizations", allowed_tenants=[OTHER.upper(), TENANT])
    assert presets.rules(many) == EntraRules(frozenset({TENANT, OTHER}))
    assert presets.tenant_template(many)
    refusal(presets.rules(one), {"tid": OTHER})
    presets.rules(many).check({"tid": OTHER})


@pytest.mark.parametrize(
    ("claims", "address"),
    [
        ({"email": "ada@contoso.com", "preferred_username": "p@contoso.com"}, "ada@contoso.com"),
        ({"preferred_username": "p@contoso.com", "upn": "u@contoso.com"}, "p@contoso.com"),
        ({"upn": "u@contoso.com"}, "u@contoso.com"),
        ({"email": "", "preferred_username": "p@contoso.com"}, "p@contoso.com"),
        ({"preferred_username": "ada", "upn": "u@contoso.com"}, "u@contoso.com"),
    ],
)
def test_entra_address_from_email_then_preferred_username_then_upn(
    claims: dict[str, Any], address: str
) -> None:
    assert EntraRules(frozenset({TENANT})).email(claims) == (address, True)


def test_entra_a_preferred_username_without_at_is_no_address() -> None:
    rules = EntraRules(frozenset({TENANT}))
    assert rules.email({"preferred_username": "+15551234567"}) == (None, False)
    assert rules.email({"preferred_username": "ada", "email": 5}) == (None, False)


@pytest.mark.parametrize("edov", [False, "false", "False"])
def test_entra_an_unverified_domain_makes_the_address_unverified(edov: object) -> None:
    claims = {"email": "ada@contoso.com", "xms_edov": edov}
    assert EntraRules(frozenset({TENANT})).email(claims) == ("ada@contoso.com", False)


@pytest.mark.parametrize("edov", [True, "true", "1"])
def test_entra_a_verified_domain_keeps_the_address_verified(edov: object) -> None:
    claims = {"email": "ada@contoso.com", "xms_edov": edov}
    assert EntraRules(frozenset({TENANT})).email(claims) == ("ada@contoso.com", True)


def test_entra_ignores_email_verified_and_the_standard_rules_need_it() -> None:
    claims = {"email": "ada@contoso.com", "email_verified": False}
    assert Rules().email(claims) == ("ada@contoso.com", False)
    assert Rules().email({**claims, "email_verified": "true"}) == ("ada@contoso.com", True)
    assert Rules().email({"preferred_username": "p@contoso.com"}) == (None, False)


# -- Google --------------------------------------------------------------------------------


def test_google_refuses_a_personal_account() -> None:
    rules = GoogleRules(frozenset({"example.com"}))
    for claims in ({}, {"hd": ""}, {"hd": ["example.com"]}):
        error = refusal(rules, claims)
        assert error.code == "domain_not_allowed"
        assert "personal Google account" in error.message


def test_google_refuses_another_domain() -> None:
    error = refusal(GoogleRules(frozenset({"example.com"})), {"hd": "evil.example"})
    assert error.code == "domain_not_allowed"
    assert "'evil.example' is not allowed" in error.message
    refusal(GoogleRules(frozenset({"example.com"})), {"hd": "sub.example.com"})


def test_google_admits_its_domain_in_any_case(tmp_path: Path) -> None:
    rules = presets.rules(provider(tmp_path, "google", allowed_domains=["Example.com"]))
    assert rules == GoogleRules(frozenset({"example.com"}))
    rules.check({"hd": "EXAMPLE.com"})


def test_other_presets_have_the_standard_rules(tmp_path: Path) -> None:
    for name, keys in (
        ("okta", {"org_url": "https://example.okta.com"}),
        ("keycloak", {"base_url": "https://sso.example.com", "realm": "r"}),
        ("oidc", {"issuer": f"{LOGIN}/organizations/v2.0"}),
    ):
        config = provider(tmp_path, name, **keys)
        assert type(presets.rules(config)) is Rules
        assert not presets.tenant_template(config)


def test_titles(tmp_path: Path) -> None:
    assert presets.title(provider(tmp_path, tenant_id=TENANT)) == "Microsoft Entra ID"
    named = provider(tmp_path, "oidc", issuer="https://idp.example.com", display_name="Acme SSO")
    assert presets.title(named) == "Acme SSO"
    assert presets.title(provider(tmp_path, "oidc", issuer="https://idp.example.com")) == (
        "the identity provider"
    )


# -- the {tenantid} template ---------------------------------------------------------------


def test_issuer_matches_one_tenant_of_a_template() -> None:
    assert issuer_matches(TEMPLATE, f"{LOGIN}/{TENANT}/v2.0")
    assert issuer_matches(TEMPLATE, f"{LOGIN}/{TENANT.upper()}/v2.0")
    assert not issuer_matches(TEMPLATE, f"{LOGIN}/contoso/v2.0")
    assert not issuer_matches(TEMPLATE, f"{LOGIN}/{TENANT}/v2.0/")
    assert not issuer_matches(TEMPLATE, f"https://evil.example/{TENANT}/v2.0")
    assert not issuer_matches(TEMPLATE, f"{LOGIN}/{TENANT}/x/v2.0")
    assert not issuer_matches(TEMPLATE, TEMPLATE)
    assert issuer_matches("https://idp.example.com", "https://idp.example.com")
    assert not issuer_matches("https://idp.example.com", "https://idp.example.com/")


def entra_fake(clock: FakeClock, endpoint: str = "organizations") -> FakeProvider:
    """A provider answering at Entra's multi-tenant endpoint, its discovery templated."""
    fake = FakeProvider(issuer=f"{LOGIN}/{endpoint}/v2.0", clock=clock)
    fake.discovery_override = {"issuer": TEMPLATE, "end_session_endpoint": DROP}
    fake.user = {"sub": "pairwise-sub", "tid": TENANT, "preferred_username": "ada@contoso.com"}
    fake.claims_override = {"iss": f"{LOGIN}/{TENANT}/v2.0"}
    return fake


def client_for(fake: FakeProvider, clock: FakeClock, rules: Rules, *, template: bool) -> OidcClient:
    return OidcClient(
        issuer=fake.issuer,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        redirect_uri=REDIRECT_URI,
        http=httpx.AsyncClient(transport=fake.transport),
        clock=clock,
        provider_name="Microsoft Entra ID",
        rules=rules,
        tenant_template=template,
    )


async def sign_in(client: OidcClient, fake: FakeProvider) -> SignInResult:
    tx = client.new_transaction("/")
    params = fake.authorize(await client.authorization_url(tx))
    return await client.handle_callback(params, tx)


async def refused(client: OidcClient, fake: FakeProvider) -> OidcError:
    with pytest.raises(OidcError) as info:
        await sign_in(client, fake)
    return info.value


@pytest.mark.parametrize("endpoint", ["organizations", "common"])
async def test_a_templated_issuer_signs_in_an_allowed_tenant(endpoint: str) -> None:
    clock = FakeClock()
    fake = entra_fake(clock, endpoint)
    client = client_for(fake, clock, EntraRules(frozenset({TENANT})), template=True)
    result = await sign_in(client, fake)
    assert result.issuer == f"{LOGIN}/{TENANT}/v2.0"  # the tenant's, not the template
    assert (result.sub, result.email, result.email_verified) == (
        "pairwise-sub",
        "ada@contoso.com",
        True,
    )
    assert result.provider == "Microsoft Entra ID"


async def test_the_template_is_refused_unless_the_preset_allows_it() -> None:
    clock = FakeClock()
    fake = entra_fake(clock)
    client = client_for(fake, clock, EntraRules(frozenset({TENANT})), template=False)
    assert (await refused(client, fake)).code == "discovery_issuer_mismatch"
    client = client_for(fake, clock, Rules(), template=False)
    assert (await refused(client, fake)).code == "discovery_issuer_mismatch"


async def test_the_template_is_refused_at_a_single_tenant_endpoint() -> None:
    clock = FakeClock()
    fake = FakeProvider(issuer=f"{LOGIN}/{TENANT}/v2.0", clock=clock)
    fake.discovery_override = {"issuer": TEMPLATE}
    client = client_for(fake, clock, EntraRules(frozenset({TENANT})), template=True)
    assert (await refused(client, fake)).code == "discovery_issuer_mismatch"


async def test_a_token_naming_another_tenant_than_its_tid_is_refused() -> None:
    clock = FakeClock()
    fake = entra_fake(clock)
    fake.claims_override = {"iss": f"{LOGIN}/{OTHER}/v2.0"}  # tid stays TENANT
    client = client_for(fake, clock, EntraRules(frozenset({TENANT, OTHER})), template=True)
    error = await refused(client, fake)
    assert (error.code, error.message) == (
        "invalid_id_token",
        f"The ID token was issued by '{LOGIN}/{OTHER}/v2.0', not by '{LOGIN}/{TENANT}/v2.0'.",
    )


async def test_a_templated_token_without_tid_is_refused() -> None:
    clock = FakeClock()
    fake = entra_fake(clock)
    fake.user = {"sub": "pairwise-sub", "preferred_username": "ada@contoso.com"}
    client = client_for(fake, clock, EntraRules(frozenset({TENANT})), template=True)
    error = await refused(client, fake)
    assert (error.code, error.message) == (
        "invalid_id_token",
        "The ID token names no tenant (tid).",
    )
    fake.user = {"sub": "s", "tid": "../evil", "preferred_username": "a@contoso.com"}
    fake.claims_override = {"iss": f"{LOGIN}/../evil/v2.0"}
    assert (await refused(client, fake)).code == "invalid_id_token"


async def test_a_tenant_not_allowed_is_refused_after_verification() -> None:
    clock = FakeClock()
    fake = entra_fake(clock)
    fake.user = {**fake.user, "tid": OTHER}
    fake.claims_override = {"iss": f"{LOGIN}/{OTHER}/v2.0"}
    client = client_for(fake, clock, EntraRules(frozenset({TENANT})), template=True)
    assert (await refused(client, fake)).code == "tenant_not_allowed"


async def test_google_domain_is_checked_in_the_flow() -> None:
    clock = FakeClock()
    fake = FakeProvider(issuer="https://accounts.google.com", clock=clock)
    client = client_for(fake, clock, GoogleRules(frozenset({"example.com"})), template=False)
    assert (await refused(client, fake)).code == "domain_not_allowed"  # no hd
    fake.user = {**fake.user, "hd": "example.com"}
    assert (await sign_in(client, fake)).email == "ada@example.com"


def provider(tmp_path: Path, name: str = "entra", **keys: Any) -> ProviderConfig:
    section = {"client_id": "webrix", "client_secret": "s3cret", **keys}
    data = {
        "server": {"public_url": "https://connect.example.com", "secret_key": SECRET_KEY},
        "database": {"path": str(tmp_path / "w.db")},
        "auth": {"provider": name, name: section},
    }
    return load_data(data, "x.toml", tmp_path).auth.active
