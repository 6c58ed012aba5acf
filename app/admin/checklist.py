"""The setup checklist on /admin: the setup page's steps, each done or not yet, with what is
known about it (when, by whom) and a link to where it is done. The steps are worded for the
active provider (app.provider_hints): JumpCloud's exactly as its setup page says them; a
provider that does not provision custom apps by SCIM has SCIM steps that say so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.auth.presets import title
from app.checks import unconfigured
from app.config import Config
from app.provider_hints import Hints, hints
from app.store.checklist import SetupState
from app.store.tokens import ApiToken

DONE, NOT_YET, FAILED = "done", "not yet", "failed"
BADGE = {DONE: "ok", NOT_YET: "off", FAILED: "bad"}
_TEXT_LIMIT = 300  # facts hold text other code (and SCIM clients) wrote: shown bounded


@dataclass(frozen=True)
class Fact:
    label: str
    text: str = ""
    at: str | None = None  # shown with the `when` filter
    code: bool = False  # a value to read exactly (a URL, a config key): monospace


@dataclass(frozen=True)
class Link:
    href: str
    text: str


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    status: str
    todo: str  # what to do while not done
    facts: list[Fact] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    @property
    def badge(self) -> str:
        return BADGE[self.status]


@dataclass(frozen=True)
class Section:
    title: str
    steps: list[Step]


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else ""
    return "".join(c for c in text[: _TEXT_LIMIT * 4] if c.isprintable())[:_TEXT_LIMIT]


def _who(state: SetupState, actor: Any) -> str:
    if not isinstance(actor, str) or not actor:
        return "unknown"
    if actor == "cli":
        return "the command line (webrix check)"
    return state.people.get(actor, _text(actor))


def _sso(config: Config, state: SetupState) -> Section:
    missing = unconfigured(config)
    active = config.auth.active
    h = hints(active)
    settings = Link("/admin/settings", "Settings → Authentication")
    configured = Step(
        "step-sso-configured",
        "SSO configured",
        NOT_YET if missing else DONE,
        h.create,
        [Fact("Still to set", text) for text in missing]
        or [Fact("Provider", title(active)), Fact("Issuer", active.issuer, code=True)],
        [settings],
    )
    credentials = (
        "the Client ID and the service's key (private_key_jwt) themselves"
        if active.uses_client_key
        else "the Client ID and Secret themselves"
    )
    # The service's own test; `webrix check`'s (another environment, maybe) only without one.
    tested = state.facts.get("sso.tested") or state.facts.get("sso.tested.cli")
    test_signin = state.facts.get("sso.test_signin")
    tested_facts: list[Fact] = []
    status = NOT_YET
    if tested is not None:
        ok = tested.value.get("ok") is True
        status = DONE if ok else FAILED
        tested_facts.append(
            Fact("Last test", "passed" if ok else "failed", tested.at),
        )
        tested_facts.append(Fact("By", _who(state, tested.value.get("by"))))
        if result := _text(tested.value.get("result")):
            tested_facts.append(Fact("Result", result))
    if test_signin is not None:
        ok = test_signin.value.get("ok") is True
        by = _who(state, test_signin.value.get("by"))
        tested_facts.append(
            Fact("Test sign-in", f"{'passed' if ok else 'failed'}, by {by}", test_signin.at)
        )
    test = Step(
        "step-sso-tested",
        "SSO tested",
        status,
        "Run Test connection on Settings (or webrix check on the server): it checks discovery, "
        f"the signing keys, and {credentials}.",
        tested_facts,
        [Link("/admin/settings", "Settings → Test connection")],
    )
    first = state.first_signin
    signin_facts = []
    if first is not None:
        who = first.email or _who(state, first.actor)
        signin_facts = (
            [Fact("First sign-in", who, first.at)]
            if first.at
            else [Fact("First sign-in", "before the oldest audit event kept")]
        )
    signin = Step(
        "step-first-signin",
        "First sign-in",
        DONE if first is not None else NOT_YET,
        f"Open the Webrix dashboard: you are sent to {h.title} and back.",
        signin_facts,
        [Link("/", "Webrix dashboard")],
    )
    return Section("Sign-in (SSO)", [configured, test, signin])


def _scim_todo(h: Hints, name: str) -> tuple[str, str, str]:
    """What to do for the token, the first request and the users, at this provider."""
    if h.scim is None:
        return h.no_scim, h.no_scim, h.no_scim
    if name == "jumpcloud":
        return (
            "Generate Token, name it (for example JumpCloud SCIM) and paste it into JumpCloud.",
            "In JumpCloud, Identity Management → SCIM: paste the Base URL and the token, then "
            "click Test Connection.",
            h.scim.users,
        )
    return (
        f"Generate Token, name it (for example {h.title} SCIM) and paste it into {h.title}.",
        f"In {h.scim.where}: paste the Base URL into {h.scim.base_url}; the token: "
        f"{h.scim.auth_header}. Then test the connection there.",
        h.scim.users,
    )


def _scim(config: Config, state: SetupState, tokens: Sequence[ApiToken], groups: int) -> Section:
    h = hints(config.auth.active)
    todo_token, todo_request, todo_received = _scim_todo(h, config.auth.provider)
    active = [t for t in tokens if t.active]
    newest = max(active, key=lambda t: t.created, default=None)
    token = Step(
        "step-scim-token",
        "SCIM token created",
        DONE if active else NOT_YET,
        todo_token,
        [Fact("Active tokens", str(len(active)))]
        + ([Fact("Newest", newest.name, newest.created)] if newest else []),
        [Link("/admin/api-tokens", "API tokens → Generate Token")],
    )
    first = state.facts.get("scim.first_request")
    used = max((t.last_used for t in tokens if t.last_used), default=None)
    request_facts: list[Fact] = []
    if first is not None:
        v = first.value
        name, token_id = _text(v.get("token_name")), _text(v.get("token_id"))
        request_facts = [
            Fact("First request", f"{_text(v.get('method'))} {_text(v.get('path'))}", first.at),
            Fact("Token", f"{name} ({token_id})" if token_id else name),
            Fact("Client", _text(v.get("user_agent")) or "no User-Agent sent"),
        ]
    elif used is not None:  # tokens used before the first request was recorded
        request_facts = [Fact("Last SCIM request", "", used)]
    request = Step(
        "step-scim-request",
        "First SCIM request seen",
        DONE if first is not None or used is not None else NOT_YET,
        todo_request,
        request_facts
        or ([Fact("SCIM Base URL", config.scim_base_url, code=True)] if h.scim else []),
        [Link("/admin/api-tokens", "API tokens")],
    )
    users = state.scim_users
    received = Step(
        "step-scim-received",
        "Users and groups received",
        DONE if users > 0 and groups > 0 else NOT_YET,
        todo_received,
        [Fact("Users from SCIM", str(users)), Fact("Groups", str(groups))],
        [Link("/admin/users", "Users"), Link("/admin/groups", "Groups")],
    )
    return Section("Provisioning (SCIM)", [token, request, received])


def _admins(config: Config) -> Section:
    access = config.access
    keys = {
        "admin_emails": access.admin_emails,
        "admin_groups": access.admin_groups,
        "admin_group_external_ids": access.admin_group_external_ids,
    }
    step = Step(
        "step-admins",
        "Administrators configured",
        DONE if any(keys.values()) else NOT_YET,
        "Name who may open /admin: edit one of these keys in the config file, then restart.",
        [
            Fact(f"[access] {key}", f"{len(values)} set" if values else "empty")
            for key, values in keys.items()
        ]
        + [Fact("Config file", config.source, code=True)],
    )
    return Section("Administrators", [step])


def checklist(
    config: Config, state: SetupState, tokens: Sequence[ApiToken], groups: int
) -> list[Section]:
    """The checklist's sections, in the setup page's order."""
    return [_sso(config, state), _scim(config, state, tokens, groups), _admins(config)]
