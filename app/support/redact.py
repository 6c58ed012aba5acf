"""What keeps secrets and end users out of a support bundle: the effective configuration with
every secret replaced by `<set>`/`<not set>` and its length, and a last scrub of every file."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from app.config import Config
from app.config_keys import PROVIDER_KEYS

# Whatever runs up to an "@" (any script, any punctuation but quotes and brackets) and the
# host after it, with or without a dot: only the host is kept.
_EMAIL = re.compile(r"""[^\s@"'<>()\[\]{},;:]+@([^\s@"'<>()\[\]{},;:]*[A-Za-z0-9])""")
_API_TOKEN = re.compile(r"wxt_[A-Za-z0-9_-]{16,}")  # a prefix (shown in lists) is shorter
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?")
# A credential after the scheme, on the same line ("Client Secret Basic" ends a line in
# check.txt: the next line's first word is no credential).
_AUTHORIZATION = re.compile(r"(?i)\b(bearer|basic)[ \t]+[A-Za-z0-9._~+/=-]{8,}")


def secret_field(f: dataclasses.Field[Any]) -> bool:
    """Config fields that hold secrets are the ones declared `repr=False`."""
    return not f.repr


def redacted_config(config: Config) -> dict[str, Any]:
    """The effective configuration as plain data; secrets as `<set> (N characters)`."""

    def walk(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            out: dict[str, Any] = {}
            for f in dataclasses.fields(obj):
                value = getattr(obj, f.name)
                if secret_field(f):
                    out[f.name] = f"<set> ({len(value)} characters)" if value else "<not set>"
                else:
                    out[f.name] = walk(value)
            return out
        if isinstance(obj, tuple | list):
            return [walk(v) for v in obj]
        return obj

    data: dict[str, Any] = walk(config)
    # As the file names it: [auth] provider and that provider's own section.
    name = config.auth.provider
    section = data["auth"]["active"]
    data["auth"] = {
        "provider": name,
        name: {k: v for k, v in section.items() if k in PROVIDER_KEYS[name]},
    }
    return data


def secrets_of(config: Config) -> list[str]:
    """Every secret value the configuration holds (for the final scrub)."""
    found: list[str] = []

    def walk(obj: Any) -> None:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            for f in dataclasses.fields(obj):
                value = getattr(obj, f.name)
                if secret_field(f) and isinstance(value, str) and value:
                    found.append(value)
                else:
                    walk(value)

    walk(config)
    return found


def scrub(text: str, *, secrets: list[str], include_users: bool) -> str:
    """`text` without any secret, API token, JWT, Authorization credential or (unless
    `include_users`) email address, whatever put it there."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "<secret removed>")
    text = _API_TOKEN.sub("wxt_<removed>", text)
    text = _JWT.sub("<JWT removed>", text)
    text = _AUTHORIZATION.sub(lambda m: f"{m.group(1)} <removed>", text)
    if not include_users:
        text = _EMAIL.sub(lambda m: f"<user>@{m.group(1)}", text)
    return text
