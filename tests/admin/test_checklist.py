"""The setup checklist on /admin: each step of JumpCloud's setup page flips from "not yet" to
"done" when what proves it appears, and says when, by whom, and where it is done."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from app.admin.checklist import checklist
from app.config import Config
from app.db import Stats
from app.store import facts, tokens
from app.store.checklist import setup_state
from tests.auth.sso import Sso, sso_app
from tests.scim.client import scim_beside
from tests.scim.wire import user_body

pytestmark = pytest.mark.anyio

ADA = "ada@example.com"  # the fake provider's default user
ADMINS = {"admin_emails": [ADA]}
STEPS = (
    "step-sso-configured",
    "step-sso-tested",
    "step-first-signin",
    "step-scim-token",
    "step-scim-request",
    "step-scim-received",
    "step-admins",
)
_STEP = re.compile(
    r'<li id="(step-[a-z-]+)" data-status="([a-z ]+)">(.*?)</li>\s*(?=<li id="step-|</ol>)', re.S
)


def steps_on(page: str) -> dict[str, tuple[str, str]]:
    """Each step of the page's checklist: (status, its text without tags)."""
    found = {
        m[1]: (m[2], re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m[3])))
        for m in _STEP.finditer(page)
    }
    assert tuple(found) == STEPS, list(found)
    for status, text in found.values():
        assert status in text  # the status is written as a badge, not shown by colour only
    return found


async def shown(sso: Sso) -> dict[str, tuple[str, str]]:
    response = await sso.client.get("/admin")
    assert response.status_code == 200, response.text
    return steps_on(response.text)


async def statuses(sso: Sso) -> dict[str, str]:
    return {step: status for step, (status, _) in (await shown(sso)).items()}


async def built(config: Config, sso: Sso) -> dict[str, str]:
    """The checklist as the page would build it, for a state no administrator can see."""
    state = await sso.db.read(setup_state)
    every = await sso.db.read(tokens.list_tokens)
    return {s.id: s.status for sec in checklist(config, state, every, 0) for s in sec.steps}


async def test_each_step_flips_when_what_proves_it_appears(
    make_config: Callable[..., Config],
) -> None:
    async with sso_app(make_config, access=ADMINS) as sso:
        before = await built(sso.config, sso)
        assert before == dict.fromkeys(STEPS, "not yet") | {
            "step-sso-configured": "done",
            "step-admins": "done",
        }

        await sso.signed_in()
        now = await shown(sso)
        assert now["step-first-signin"][0] == "done" and ADA in now["step-first-signin"][1]
        # Signing in created Ada just in time: that is not a user received by SCIM.
        assert now["step-scim-received"][0] == "not yet"
        assert "Users from SCIM: 0" in now["step-scim-received"][1]

        ada = await sso.user_by_email(ADA)
        assert ada is not None
        failed = {"ok": False, "result": "The Client Secret was refused", "by": f"user:{ada.id}"}
        await sso.db.write(facts.put, "sso.tested", failed)
        status, text = (await shown(sso))["step-sso-tested"]
        assert status == "failed" and "The Client Secret was refused" in text and ADA in text
        await sso.db.write(facts.put, "sso.tested", {"ok": True, "result": "OK", "by": "cli"})
        await sso.db.write(facts.put, "sso.test_signin", {"ok": True, "by": f"user:{ada.id}"})
        status, text = (await shown(sso))["step-sso-tested"]
        assert (
            status == "done"
            and "webrix check" in text
            and f"Test sign-in: passed, by {ADA}" in text
        )

        async with scim_beside(sso) as scim:  # makes the token "jumpcloud"
            assert (await statuses(sso))["step-scim-token"] == "done"
            assert (await statuses(sso))["step-scim-request"] == "not yet"

            agent = "JumpCloud-SCIM/1.0 \x07<b>" + "x" * 400
            listed = await scim.get("/Users", headers={"User-Agent": agent})
            assert listed.status_code == 200
            status, text = (await shown(sso))["step-scim-request"]
            assert status == "done"
            assert "GET /scim/v2/Users" in text and f"jumpcloud ({scim.token_id})" in text
            assert "JumpCloud-SCIM/1.0 &lt;b&gt;" in text  # escaped, the bell dropped
            first = (await sso.db.read(facts.all_facts))["scim.first_request"].value
            assert first["user_agent"] == ("JumpCloud-SCIM/1.0 <b>" + "x" * 400)[:200]
            assert first == first | {"token_id": scim.token_id, "method": "GET"}

            # Another token's first request does not replace the first one seen.
            _, other = await scim.new_token(name="okta")
            await scim.get("/Groups", token=other)
            again = (await sso.db.read(facts.all_facts))["scim.first_request"].value
            assert again == first

            user = await scim.create_user(user_body("grace@example.com"))
            assert (await statuses(sso))["step-scim-received"] == "not yet"  # no group yet
            group = await scim.group("Engineering", [user["id"]])
            assert group["members"]
            status, text = (await shown(sso))["step-scim-received"]
            assert status == "done" and "Users from SCIM: 1" in text and "Groups: 1" in text

        assert set((await statuses(sso)).values()) == {"done"}


async def test_sso_configured_and_administrators_name_what_to_set(
    make_config: Callable[..., Config],
) -> None:
    async with sso_app(make_config, access=ADMINS) as sso:
        await sso.signed_in()
        page = (await sso.client.get("/admin")).text
    for href in ("/admin/settings", "/admin/api-tokens", "/admin/users", "/admin/groups"):
        assert f'href="{href}"' in page
    assert "[access] admin_emails: 1 set" in steps_on(page)["step-admins"][1]
    # The provider as Settings names it; the heading as the navigation names the page.
    assert "Provider: JumpCloud " in steps_on(page)["step-sso-configured"][1]
    assert "<h1>Overview</h1>" in page and ">Overview</a>" in page

    unset = make_config(jumpcloud={"client_id": "paste-the-client-id-from-jumpcloud"})
    assert unset.access.admin_emails == ()
    async with sso_app(lambda **_: unset) as sso:
        steps = await built(unset, sso)
        state = await sso.db.read(setup_state)
    assert steps["step-sso-configured"] == "not yet" and steps["step-admins"] == "not yet"
    (sso_section, _, admins) = checklist(unset, state, [], 0)
    texts = [f.text for f in sso_section.steps[0].facts]
    assert any("[auth.jumpcloud] client_id" in t for t in texts)
    assert [f.label for f in admins.steps[0].facts][:3] == [
        "[access] admin_emails",
        "[access] admin_groups",
        "[access] admin_group_external_ids",
    ]


async def test_the_page_reads_everything_in_one_round_trip(
    make_config: Callable[..., Config],
) -> None:
    async with sso_app(make_config, access=ADMINS) as sso:
        await sso.signed_in()
        before = Stats(**vars(sso.db.stats))
        assert (await sso.client.get("/admin")).status_code == 200
        # The session's lookup (every console page makes it), then one read for the whole page.
        assert sso.db.stats.reads - before.reads == 2


async def test_a_token_used_before_the_first_request_was_recorded_still_counts(
    make_config: Callable[..., Config],
) -> None:
    async with sso_app(make_config, access=ADMINS) as sso:
        await sso.signed_in()
        token, _ = await sso.db.write(tokens.create, "old", ("admin:scim",))
        await sso.db.write(tokens.mark_used, token.id)  # as an older version recorded it
        status, text = (await shown(sso))["step-scim-request"]
    assert status == "done" and "Last SCIM request" in text


async def test_members_and_visitors_do_not_see_the_checklist(
    make_config: Callable[..., Config],
) -> None:
    async with sso_app(make_config, access={"admin_emails": ["boss@example.com"]}) as sso:
        anonymous: httpx.Response = await sso.client.get("/admin")
        assert anonymous.status_code == 302
        await sso.signed_in()
        refused = await sso.client.get("/admin")
    assert refused.status_code == 403 and "setup-checklist" not in refused.text
