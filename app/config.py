"""Configuration: a TOML file read into frozen dataclasses, validated in one place.

Every key is declared once in `SPEC` with its type, default and help text. Secrets may also
come from `<key>_file` (a file holding the value) or from an environment variable named
`WEBRIX_<SECTION>_<KEY>` (`WEBRIX_AUTH_JUMPCLOUD_CLIENT_SECRET`), which wins over the file.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from app.config_keys import (
    DEFAULT_ISSUER,
    LOG_LEVELS,
    PROVIDER_KEYS,
    REQUIRED,
    SECTIONS,
    SPEC,
    Key,
    env_name,
)
from app.config_providers import check_provider, is_loopback
from app.config_providers import check_url as _check_url

MIN_SECRET_KEY_BYTES = 32


class ConfigError(Exception):
    """The configuration cannot be used; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ServerConfig:
    public_url: str
    secret_key: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8080
    allow_insecure_http: bool = False
    log_level: str = "info"
    trusted_proxies: tuple[str, ...] = ("127.0.0.1",)

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")


@dataclass(frozen=True)
class DatabaseConfig:
    path: str


@dataclass(frozen=True)
class ProviderConfig:
    """The active `[auth.<name>]` section; `issuer` is the one its keys give (or the override).
    The preset keys of other providers keep their empty defaults."""

    client_id: str
    client_secret: str = field(repr=False)
    issuer: str = DEFAULT_ISSUER
    groups_claim: str = ""
    timeout_seconds: float = 10.0
    post_logout_redirect_uri: str = ""
    token_endpoint_auth_method: str = "client_secret_basic"  # noqa: S105 (a method's name)
    name: str = "jumpcloud"
    org_url: str = ""
    authorization_server: str = ""
    tenant_id: str = ""
    allowed_tenants: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    base_url: str = ""
    realm: str = ""
    display_name: str = ""

    @property
    def section(self) -> str:
        return f"auth.{self.name}"

    @property
    def uses_client_key(self) -> bool:
        """private_key_jwt: the service signs with its own key, no client secret."""
        return self.token_endpoint_auth_method == "private_key_jwt"  # noqa: S105 (a name)


@dataclass(frozen=True)
class AuthConfig:
    active: ProviderConfig

    @property
    def provider(self) -> str:
        """`[auth] provider`: the name in the routes, the section and the env variables."""
        return self.active.name

    @property
    def jumpcloud(self) -> ProviderConfig:
        """`[auth.jumpcloud]`, while JumpCloud is the active provider."""
        if self.active.name != "jumpcloud":
            raise AttributeError(f"the active provider is {self.active.name}, not jumpcloud")
        return self.active


@dataclass(frozen=True)
class AccessConfig:
    admin_emails: tuple[str, ...] = ()
    admin_groups: tuple[str, ...] = ()
    admin_group_external_ids: tuple[str, ...] = ()
    jit_provisioning: bool = True


@dataclass(frozen=True)
class SessionConfig:
    lifetime_minutes: int = 720
    idle_timeout_minutes: int = 120


@dataclass(frozen=True)
class ScimConfig:
    """Paging, and the limits that keep any one request's work small (see `SPEC`)."""

    max_page_size: int = 200
    default_page_size: int = 100
    max_body_bytes: int = 1_048_576
    max_url_bytes: int = 8192
    max_json_depth: int = 32
    max_json_values: int = 50_000
    max_integer_digits: int = 18
    max_resource_bytes: int = 65_536
    max_header_bytes: int = 32_768
    max_attribute_names: int = 100
    max_operations: int = 200
    max_values: int = 100
    max_members: int = 10_000
    max_filter_clauses: int = 50
    max_value_filters: int = 5
    query_budget_seconds: float = 2.0


@dataclass(frozen=True)
class AuditConfig:
    retention_days: int = 365


@dataclass(frozen=True)
class Config:
    server: ServerConfig
    database: DatabaseConfig
    auth: AuthConfig
    access: AccessConfig = AccessConfig()
    session: SessionConfig = SessionConfig()
    scim: ScimConfig = ScimConfig()
    audit: AuditConfig = AuditConfig()
    source: str = "<defaults>"

    @property
    def public_url(self) -> str:
        return self.server.public_url

    @property
    def redirect_uri(self) -> str:
        return f"{self.server.public_url}/api/auth/callback/{self.auth.provider}"

    @property
    def jwks_url(self) -> str:
        """Where the service publishes its public key for private_key_jwt."""
        return f"{self.server.public_url}/api/auth/jwks"

    @property
    def scim_base_url(self) -> str:
        return f"{self.server.public_url}/scim/v2"


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", bool: "true or false", list: "a list"}
    if isinstance(t, tuple):
        return "a number"
    return names.get(t, t.__name__)


class _Loader:
    def __init__(self, data: Mapping[str, Any], source: str, base_dir: Path) -> None:
        self.data = data
        self.source = source
        self.base_dir = base_dir
        self.problems: list[str] = []

    def problem(self, section: str, key: str | None, message: str) -> None:
        where = f"[{section}] {key}" if key else f"[{section}]"
        self.problems.append(f"{self.source}: {where}: {message}")

    def table(self, section: str) -> Mapping[str, Any]:
        node: Any = self.data
        for part in section.split("."):
            node = node.get(part, {}) if isinstance(node, Mapping) else {}
        if not isinstance(node, Mapping):
            self.problem(section, None, "must be a table")
            return {}
        return node

    def check_unknown(self) -> None:
        for name, value in self.data.items():
            if name not in SECTIONS:
                self.problem(name, None, "unknown section" + _suggest(name, SECTIONS))
            elif not isinstance(value, Mapping):
                self.problem(name, None, "must be a table")
        for section, keys in SPEC.items():
            table = self.table(section)
            known = set(keys) | {f"{k}_file" for k, s in keys.items() if s.secret}
            known |= {s.split(".", 1)[1] for s in SPEC if s.startswith(section + ".")}
            for key in table:
                if key not in known:
                    self.problem(section, key, "unknown key" + _suggest(key, known))

    def value(self, section: str, key: str) -> Any:
        spec = SPEC[section][key]
        table = self.table(section)
        env = os.environ.get(env_name(section, key))
        if env is not None:
            return self._from_env(section, key, spec, env)
        if spec.secret and f"{key}_file" in table:
            if key in table:
                self.problem(section, key, f"set either {key} or {key}_file, not both")
                return None
            return self._from_file(section, f"{key}_file", table[f"{key}_file"])
        if key not in table:
            if spec.default is REQUIRED:
                self.problem(section, key, "required key is missing")
                return None
            return spec.default
        value = table[key]
        ok = isinstance(value, spec.type) and not (
            isinstance(value, bool) and spec.type in (int, (int, float))
        )
        if not ok:
            shown = "a table" if isinstance(value, Mapping) else repr(value)
            self.problem(section, key, f"must be {_type_name(spec.type)}, got {shown}")
            return None
        if spec.type is list and not all(isinstance(v, str) for v in value):
            self.problem(section, key, "must be a list of strings")
            return None
        return value

    def _from_env(self, section: str, key: str, spec: Key, raw: str) -> Any:
        name = env_name(section, key)
        if spec.type is str:
            return raw
        if spec.type is bool:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
        elif spec.type is list:
            return [item.strip() for item in raw.split(",") if item.strip()]
        else:
            try:
                return int(raw) if spec.type is int else float(raw)
            except ValueError:
                pass
        self.problem(section, key, f"environment variable {name} must be {_type_name(spec.type)}")
        return None

    def _from_file(self, section: str, key: str, raw: Any) -> str | None:
        if not isinstance(raw, str):
            self.problem(section, key, f"must be a file path string, got {raw!r}")
            return None
        path = self.base_dir / raw
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            self.problem(section, key, f"cannot read {path}: {exc.strerror or exc}")
            return None
        if not text:
            self.problem(section, key, f"{path} is empty")
            return None
        return text


def _suggest(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _lower_origin(url: str) -> str:
    """Scheme and host in lower case (they are case-insensitive; `https` and the Origin check
    compare them as text); the path is kept as written."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))


def _validate(ld: _Loader) -> dict[str, dict[str, Any]]:
    provider = ld.value("auth", "provider")
    if provider is not None and provider not in PROVIDER_KEYS:
        ld.problem(
            "auth", "provider", f"must be one of {', '.join(PROVIDER_KEYS)}, got {provider!r}"
        )
        provider = None
    # Only the active provider's section is read: the others may be half-written drafts
    # (their key names are still checked).
    v = {
        s: {k: ld.value(s, k) for k in keys}
        for s, keys in SPEC.items()
        if s != "auth" and (not s.startswith("auth.") or s == f"auth.{provider}")
    }
    v["auth"] = {"provider": provider}  # read once: a wrong value is one problem
    server = v["server"]
    url = _check_url(ld, "server", "public_url", server["public_url"])
    url = _lower_origin(url) if url is not None else None
    if url is not None:
        host = urlsplit(url).hostname
        if (
            url.startswith("http://")
            and not is_loopback(host)
            and not server["allow_insecure_http"]
        ):
            ld.problem(
                "server",
                "public_url",
                "http:// is only accepted on a loopback host; use https:// (or set "
                "allow_insecure_http = true if TLS really ends elsewhere)",
            )
        server["public_url"] = url.rstrip("/")
    key = server["secret_key"]
    if isinstance(key, str) and len(key.encode()) < MIN_SECRET_KEY_BYTES:
        ld.problem(
            "server",
            "secret_key",
            f"must be at least {MIN_SECRET_KEY_BYTES} bytes (got {len(key.encode())}); "
            'generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"',
        )
    if isinstance(server["port"], int) and not 0 <= server["port"] <= 65535:
        ld.problem("server", "port", f"must be between 0 and 65535, got {server['port']}")
    for proxy in server["trusted_proxies"] or []:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            ld.problem("server", "trusted_proxies", f"{proxy!r} is not an IP address or network")
    if isinstance(server["log_level"], str) and server["log_level"].lower() not in LOG_LEVELS:
        ld.problem("server", "log_level", f"must be one of {', '.join(sorted(LOG_LEVELS))}")
    if provider is not None:
        check_provider(ld, provider, v[f"auth.{provider}"])
    for section, k in (
        ("session", "lifetime_minutes"),
        ("session", "idle_timeout_minutes"),
        ("scim", "default_page_size"),
        *(("scim", k) for k in SPEC["scim"] if k.startswith("max_")),
        ("audit", "retention_days"),
    ):
        if isinstance(v[section][k], int) and v[section][k] < 1:
            ld.problem(section, k, "must be a positive integer")
    budget = v["scim"]["query_budget_seconds"]
    if isinstance(budget, (int, float)) and not 0.01 <= budget <= 60:
        ld.problem("scim", "query_budget_seconds", "must be between 0.01 and 60")
    return v


def load_data(
    data: Mapping[str, Any], source: str = "<config>", base_dir: Path | None = None
) -> Config:
    """Validate an already-parsed TOML document."""
    loader = _Loader(data, source, base_dir or Path.cwd())
    loader.check_unknown()
    v = _validate(loader)
    if loader.problems:
        raise ConfigError(loader.problems)
    db_path = Path(v["database"]["path"])
    if not db_path.is_absolute():
        db_path = loader.base_dir / db_path
    server = v["server"]
    return Config(
        server=ServerConfig(
            public_url=server["public_url"],
            secret_key=server["secret_key"],
            host=server["host"],
            port=server["port"],
            allow_insecure_http=server["allow_insecure_http"],
            log_level=server["log_level"].lower(),
            trusted_proxies=tuple(server["trusted_proxies"]),
        ),
        database=DatabaseConfig(path=str(db_path)),
        auth=AuthConfig(active=_provider_config(v["auth"]["provider"], v)),
        access=AccessConfig(
            admin_emails=tuple(e.strip().lower() for e in v["access"]["admin_emails"]),
            admin_groups=tuple(v["access"]["admin_groups"]),
            admin_group_external_ids=tuple(v["access"]["admin_group_external_ids"]),
            jit_provisioning=v["access"]["jit_provisioning"],
        ),
        session=SessionConfig(**v["session"]),
        scim=ScimConfig(
            **{**v["scim"], "query_budget_seconds": float(v["scim"]["query_budget_seconds"])}
        ),
        audit=AuditConfig(**v["audit"]),
        source=source,
    )


def _provider_config(name: str, v: dict[str, dict[str, Any]]) -> ProviderConfig:
    keys = v[f"auth.{name}"]
    lists: dict[str, Any] = {
        k: tuple(keys[k]) for k in ("allowed_tenants", "allowed_domains") if k in keys
    }
    return ProviderConfig(
        **{**keys, **lists, "timeout_seconds": float(keys["timeout_seconds"]), "name": name}
    )


def load(path: str | os.PathLike[str]) -> Config:
    """Read and validate the TOML file at `path`."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{p}: config file not found (set --config or WEBRIX_CONFIG)"]) from None
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read config file: {exc.strerror or exc}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{p}: not valid TOML: {exc}"]) from None
    return load_data(data, str(p), p.resolve().parent)
