"""Property-based tests (hypothesis): whatever a client sends, the filter parser, the path parser,
the PATCH engine and the SCIM endpoints answer with a result or a SCIM error — never another
exception, never a 5xx, never a traceback."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import ScimConfig, load_data
from app.main import create_app
from app.scim.errors import ScimError
from app.scim.filter import Filter, FilterError, PatchPath, parse_filter, parse_path
from app.scim.filter_sql import GROUPS_TABLE, USERS_TABLE, to_sql
from app.scim.patch import apply_patch
from app.scim.schemas import UnknownAttribute
from tests.conftest import config_data, new_token, running
from tests.scim.wire import ENTERPRISE_URN, USER_URN, patch_body

ATTRS = [
    "userName", "name.givenName", "name", "emails", "emails.value", "emails.type", "active",
    "displayName", "title", "members", "members.value", "meta.created", "id", "externalId",
    "groups", "x509Certificates", "phoneNumbers.primary", "addresses.locality",
    f"{ENTERPRISE_URN}:employeeNumber", f"{ENTERPRISE_URN}:manager.value",
    f"{USER_URN}:userName", "$ref", "unknown", "a.b.c",
]  # fmt: skip
OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "xx"]
VALUES = ['"x"', '"a@b.c"', "true", "false", "null", "1", "-2.5", "1e999", '"\\u00e9"', '"\\q"']
TOKENS = [*ATTRS, *OPS, *VALUES, "and", "or", "not", "(", ")", "[", "]", " ", '"', "."]


@st.composite
def filters(draw: st.DrawFn) -> str:
    """Mostly well-formed filters, sometimes token soup, sometimes any text."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.text(max_size=60))
    if kind == 1:
        return " ".join(draw(st.lists(st.sampled_from(TOKENS), max_size=12)))
    clauses = []
    for _ in range(draw(st.integers(1, 4))):
        attr, op = draw(st.sampled_from(ATTRS)), draw(st.sampled_from(OPS))
        clause = f"{attr} {op}" if op == "pr" else f"{attr} {op} {draw(st.sampled_from(VALUES))}"
        if draw(st.booleans()):
            clause = f"emails[{clause}]"
        if draw(st.booleans()):
            clause = f"not ({clause})"
        clauses.append(clause)
    return f" {draw(st.sampled_from(['and', 'or']))} ".join(clauses)


@settings(max_examples=300, deadline=None)
@given(text=filters())
def test_the_filter_parser_and_compiler_only_raise_filter_errors(text: str) -> None:
    try:
        parsed = parse_filter(text)
    except FilterError:
        return
    assert isinstance(parsed, Filter)
    hash(parsed)  # the AST is immutable and hashable
    for table in (USERS_TABLE, GROUPS_TABLE):
        try:
            where, args = to_sql(parsed, table)
        except FilterError:
            continue
        assert isinstance(where, str) and isinstance(args, list)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.sampled_from(ATTRS), filters().map(lambda f: f"emails[{f}].value")))
def test_the_path_parser_only_raises_filter_errors(text: str) -> None:
    with contextlib.suppress(FilterError):
        assert isinstance(parse_path(text), PatchPath)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def operations(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON_VALUES)  # not even a PatchOp
    ops = []
    for _ in range(draw(st.integers(0, 4))):
        op: dict[str, Any] = {"op": draw(st.sampled_from(["add", "replace", "remove", "Add", "x"]))}
        if draw(st.booleans()):
            path = draw(st.sampled_from(ATTRS))
            if draw(st.booleans()):
                path = draw(st.sampled_from(["emails", "members", "addresses"])) + (
                    f"[{draw(filters())}]"
                )
            op["path"] = path
        if draw(st.booleans()):
            op["value"] = draw(JSON_VALUES)
        ops.append(op)
    return patch_body(*ops)


USER = {
    "schemas": [USER_URN],
    "userName": "ada@example.com",
    "name": {"givenName": "Ada"},
    "emails": [{"value": "ada@example.com", "type": "work", "primary": True}],
    "active": True,
}


@settings(max_examples=400, deadline=None)
@given(body=operations(), resource_type=st.sampled_from(["User", "Group"]))
def test_the_patch_engine_only_raises_scim_errors(body: Any, resource_type: str) -> None:
    resource = USER if resource_type == "User" else {"displayName": "Group"}
    try:
        result = apply_patch(resource, body, resource_type, ScimConfig())
    except (ScimError, UnknownAttribute):
        return
    json.dumps(result.resource)  # still JSON


# --- the endpoints, in-process through one app --------------------------------------------


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, httpx.AsyncClient]]:
    folder: Path = tmp_path_factory.mktemp("properties")
    config = load_data(config_data(folder / "w.db"), "test.toml", folder)
    app = create_app(config)
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(running(app)) as client,
    ):
        _, plaintext = portal.call(new_token, app.state.services.db)
        client.headers["Authorization"] = f"Bearer {plaintext}"
        client.headers["Content-Type"] = "application/scim+json"
        created = portal.call(lambda: client.post("/scim/v2/Users", json=USER))
        assert created.status_code == 201
        client.headers["X-User"] = created.json()["id"]
        yield portal, client


def _sane(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text and 'File "' not in response.text
    if response.status_code >= 400 and response.status_code != 404:
        assert response.json()["status"] == str(response.status_code)


QUERY_NAMES = [
    "filter",
    "sortBy",
    "sortOrder",
    "startIndex",
    "count",
    "attributes",
    "excludedAttributes",
]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from(QUERY_NAMES), st.one_of(filters(), st.text(max_size=20)), max_size=4
    ),
    resource=st.sampled_from(["Users", "Groups"]),
)
def test_list_queries_never_fail(
    app_client: tuple[Any, httpx.AsyncClient], params: dict[str, str], resource: str
) -> None:
    portal, client = app_client
    _sane(portal.call(lambda: client.get(f"/scim/v2/{resource}", params=params)))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.one_of(JSON_VALUES, st.fixed_dictionaries({"userName": JSON_VALUES}, optional={
    "emails": JSON_VALUES, "name": JSON_VALUES, "active": JSON_VALUES, "schemas": JSON_VALUES,
})))  # fmt: skip
def test_user_bodies_never_fail(app_client: tuple[Any, httpx.AsyncClient], body: Any) -> None:
    portal, client = app_client
    response = portal.call(lambda: client.post("/scim/v2/Users", content=json.dumps(body)))
    _sane(response)
    if response.status_code == 201:
        user = response.json()["id"]
        _sane(portal.call(lambda: client.delete(f"/scim/v2/Users/{user}")))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=operations())
def test_user_patches_never_fail(app_client: tuple[Any, httpx.AsyncClient], body: Any) -> None:
    portal, client = app_client
    user = client.headers["X-User"]
    response = portal.call(lambda: client.patch(f"/scim/v2/Users/{user}", content=json.dumps(body)))
    _sane(response)
    # Whatever happened, the user is still readable and still valid JSON.
    got = portal.call(lambda: client.get(f"/scim/v2/Users/{user}"))
    _sane(got)
    assert got.status_code == 200, got.text
