"""Replay recorded SCIM client conversations against the app and check every answer.

A fixture (``fixtures/<client>_<scenario>.json``) is a JSON list of exchanges::

    {
      "note": "why this request looks the way it does (optional, free text)",
      "request": {
        "method": "PATCH",
        "path": "/Users/{alice.id}",          # relative to /scim/v2
        "query": {"filter": "userName eq \\"a@x\\""},  # a dict (encoded for you) or a raw string
        "headers": {"Content-Type": "application/scim+json"},
        "body": {...}                         # JSON, sent as UTF-8 bytes exactly as written
      },
      "expect": {
        "status": 200,
        "body": {...},                        # must be contained in the response (rules below)
        "headers": {"Location": true},        # true: present; a string: equal (see _header_ok)
        "absent": ["members", "Resources.*.members"],
        "capture": {"alice.id": "id"}         # placeholder name -> dotted path in the response
      }
    }

Placeholders ``{name}`` are replaced in the path, query, headers, body and expectations by
values captured from earlier responses; a string that is nothing but one placeholder takes the
captured value with its JSON type. An unknown placeholder is an error, not a literal.

The ``Authorization: Bearer …`` header is added by the harness (recordings never hold secrets).

Matching ``expect.body`` against the response (``contained``):
- an object matches when every expected key is present with a matching value (extra keys in
  the response are fine);
- a list matches element-wise: same length, element *i* matching element *i* (so duplicates and
  leftovers fail);
- ``{"$contains": [...]}`` matches a list holding, for every expected element, a distinct
  matching element (order and extra elements do not matter);
- ``{"$unordered": [...]}`` is ``$contains`` plus "and nothing else": same length, any order
  (a member list with a duplicate or a leftover fails);
- ``{"$excludes": [...]}`` matches a list (or an absent key) where no element matches any of
  the given ones;
- ``{"$type": "string" | "integer" | "boolean" | "object" | "array" | "null"}`` checks the type
  only;
- scalars must be equal and of the same JSON type (``1`` is not ``true``, ``"5"`` is not ``5``).

Paths (``capture``, ``absent``) are dotted: ``Resources.0.id``; keys holding dots or colons
(``urn:…:User``) are written as they are, and ``absent`` accepts ``*`` for "every element".
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.scim.wire import BASE

FIXTURES = Path(__file__).resolve().parent / "fixtures"
OPERATORS = ("$contains", "$unordered", "$excludes", "$type")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")
_REQUEST_KEYS = {"method", "path", "query", "headers", "body"}
_EXPECT_KEYS = {"status", "body", "headers", "absent", "capture"}
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


class FixtureError(Exception):
    """The fixture itself is malformed (a typo in a key, an unknown placeholder…)."""


class ReplayFailure(AssertionError):
    """A response did not meet its expectation."""


@dataclass(frozen=True)
class Exchange:
    index: int
    request: dict[str, Any]
    expect: dict[str, Any]
    note: str | None = None


def load(path: Path) -> list[Exchange]:
    """The exchanges of one fixture file, checked for shape (unknown keys are typos)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list) or not data:
        raise FixtureError(f"{path.name}: a fixture is a non-empty JSON list of exchanges")
    exchanges = []
    for index, raw in enumerate(data):
        where = f"{path.name}[{index}]"
        if not isinstance(raw, dict) or set(raw) - {"request", "expect", "note"}:
            raise FixtureError(f"{where}: an exchange has only request, expect and note")
        request, expect = raw.get("request"), raw.get("expect")
        if not isinstance(request, dict) or set(request) - _REQUEST_KEYS:
            raise FixtureError(f"{where}.request: keys are {sorted(_REQUEST_KEYS)}")
        if not isinstance(expect, dict) or set(expect) - _EXPECT_KEYS:
            raise FixtureError(f"{where}.expect: keys are {sorted(_EXPECT_KEYS)}")
        if not isinstance(request.get("method"), str) or not isinstance(request.get("path"), str):
            raise FixtureError(f"{where}.request needs a method and a path")
        if not isinstance(expect.get("status"), int):
            raise FixtureError(f"{where}.expect needs an integer status")
        exchanges.append(Exchange(index, request, expect, raw.get("note")))
    return exchanges


# --- placeholders ---------------------------------------------------------------------------


def substitute(value: Any, captured: dict[str, Any]) -> Any:
    """``value`` with every ``{name}`` replaced by its captured value."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            return _captured(whole.group(1), captured)
        return _PLACEHOLDER.sub(lambda m: str(_captured(m.group(1), captured)), value)
    if isinstance(value, list):
        return [substitute(v, captured) for v in value]
    if isinstance(value, dict):
        return {substitute(k, captured): substitute(v, captured) for k, v in value.items()}
    return value


def _captured(name: str, captured: dict[str, Any]) -> Any:
    if name not in captured:
        raise FixtureError(f"placeholder {{{name}}} was never captured (known: {sorted(captured)})")
    return captured[name]


# --- paths ----------------------------------------------------------------------------------


def _split(path: str) -> list[str]:
    """Dotted path segments, keeping the dots of a URN key (``urn:…:enterprise:2.0:User``)."""
    parts: list[str] = []
    for piece in path.split("."):
        if parts and parts[-1].startswith("urn:") and re.fullmatch(r"\d+(:[^.]*)?", piece):
            parts[-1] += "." + piece  # the "0:User" of "…:2.0:User"
        else:
            parts.append(piece)
    return parts


def lookup(body: Any, path: str) -> tuple[bool, Any]:
    """(found, value) at a dotted path; list elements by index."""
    node = body
    for part in _split(path):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def present(body: Any, path: str) -> list[str]:
    """The concrete paths matching ``path`` (``*`` = every element) that exist in ``body``."""
    found: list[str] = []

    def walk(node: Any, parts: list[str], done: list[str]) -> None:
        if not parts:
            found.append(".".join(done))
            return
        head, rest = parts[0], parts[1:]
        if head == "*" and isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, rest, [*done, str(i)])
        elif isinstance(node, dict) and head in node:
            walk(node[head], rest, [*done, head])
        elif isinstance(node, list) and head.isdigit() and int(head) < len(node):
            walk(node[int(head)], rest, [*done, head])

    walk(body, _split(path), [])
    return found


# --- matching -------------------------------------------------------------------------------


def _same_scalar(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    return type(expected) is type(actual) and expected == actual


def _operator(expected: Any) -> str | None:
    if isinstance(expected, dict) and len(expected) == 1:
        key: str = next(iter(expected))
        if key in OPERATORS:
            return key
    return None


def contained(expected: Any, actual: Any, where: str = "body") -> str | None:
    """None when ``expected`` is contained in ``actual`` (rules in the module docstring), else
    a one-line reason naming the first place they differ."""
    op = _operator(expected)
    if op == "$type":
        kind = expected[op]
        if kind not in _TYPES:
            raise FixtureError(f"{where}: unknown $type {kind!r}")
        ok = isinstance(actual, _TYPES[kind]) and not (
            kind == "integer" and isinstance(actual, bool)
        )
        return None if ok else f"{where}: expected a {kind}, got {json.dumps(actual)}"
    if op == "$excludes":
        if actual is None:
            return None
        if not isinstance(actual, list):
            return f"{where}: expected a list, got {json.dumps(actual)}"
        for unwanted in expected[op]:
            for i, item in enumerate(actual):
                if contained(unwanted, item) is None:
                    return f"{where}[{i}]: holds {json.dumps(item)}, which must not be there"
        return None
    if op in ("$contains", "$unordered"):
        if not isinstance(actual, list):
            return f"{where}: expected a list, got {json.dumps(actual)}"
        if op == "$unordered" and len(actual) != len(expected[op]):
            return f"{where}: expected {len(expected[op])} element(s), got {json.dumps(actual)}"
        used: set[int] = set()
        for wanted in expected[op]:
            hit = next(
                (
                    i
                    for i, item in enumerate(actual)
                    if i not in used and contained(wanted, item) is None
                ),
                None,
            )
            if hit is None:
                return f"{where}: no element matches {json.dumps(wanted)}"
            used.add(hit)
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where}: expected an object, got {json.dumps(actual)}"
        for key, value in expected.items():
            if key not in actual:
                if _operator(value) == "$excludes":
                    continue
                return f"{where}.{key}: missing (keys present: {sorted(actual)})"
            reason = contained(value, actual[key], f"{where}.{key}")
            if reason:
                return reason
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{where}: expected a list, got {json.dumps(actual)}"
        if len(expected) != len(actual):
            return f"{where}: expected {len(expected)} element(s), got {len(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            reason = contained(e, a, f"{where}[{i}]")
            if reason:
                return reason
        return None
    if not _same_scalar(expected, actual):
        return f"{where}: expected {json.dumps(expected)}, got {json.dumps(actual)}"
    return None


def _header_ok(expected: Any, actual: str | None) -> bool:
    """``true``: present; a string: equal, ignoring parameters (``; charset=…``) unless the
    expectation names some."""
    if expected is True:
        return actual is not None
    if expected is False:
        return actual is None
    if actual is None or not isinstance(expected, str):
        return False
    if ";" not in expected:
        actual = actual.split(";")[0].strip()
    return actual == expected


# --- the conversation -----------------------------------------------------------------------


def _show(exchange: Exchange, request: httpx.Request, response: httpx.Response | None) -> str:
    lines = [f"exchange #{exchange.index}" + (f" — {exchange.note}" if exchange.note else "")]
    lines.append(f">>> {request.method} {request.url}")
    for name, value in request.headers.items():
        if name.lower() != "authorization":
            lines.append(f">>> {name}: {value}")
    if request.content:
        lines.append(">>> " + request.content.decode("utf-8", "replace"))
    if response is not None:
        lines.append(f"<<< {response.status_code} {response.reason_phrase}")
        for name, value in response.headers.items():
            lines.append(f"<<< {name}: {value}")
        text = response.text
        with contextlib.suppress(ValueError):
            text = json.dumps(response.json(), indent=2, ensure_ascii=False)
        lines.extend("<<< " + line for line in text.splitlines())
    return "\n".join(lines)


def build(exchange: Exchange, captured: dict[str, Any], token: str) -> httpx.Request:
    """The HTTP request of one exchange, placeholders filled in."""
    spec = substitute(exchange.request, captured)
    path = spec["path"]
    if not path.startswith("/"):
        raise FixtureError(f"exchange #{exchange.index}: path must start with '/'")
    url = httpx.URL(f"http://127.0.0.1:8080{BASE}{path}")
    query = spec.get("query")
    if isinstance(query, dict):
        url = url.copy_merge_params({k: str(v) for k, v in query.items()})
    elif isinstance(query, str):
        # As recorded on the wire; httpx escapes only what a URL cannot hold (spaces, quotes).
        url = httpx.URL(f"{url}?{query}")
    elif query is not None:
        raise FixtureError(f"exchange #{exchange.index}: query is an object or a raw string")
    headers = {"Authorization": f"Bearer {token}", **(spec.get("headers") or {})}
    content = None
    if "body" in spec:
        content = json.dumps(spec["body"], ensure_ascii=False).encode("utf-8")
    return httpx.Request(spec["method"], url, headers=headers, content=content)


def check(exchange: Exchange, response: httpx.Response, captured: dict[str, Any]) -> list[str]:
    """What is wrong with ``response`` (empty when it meets the expectation); captures on
    success."""
    expect = substitute(exchange.expect, captured)
    problems = []
    if response.status_code != expect["status"]:
        problems.append(f"status: expected {expect['status']}, got {response.status_code}")
    body: Any = None
    if response.content:
        try:
            body = response.json()
        except ValueError:
            problems.append("body: not JSON")
    if "body" in expect:
        reason = contained(expect["body"], body)
        if reason:
            problems.append(reason)
    for name, wanted in (expect.get("headers") or {}).items():
        actual = response.headers.get(name)
        if not _header_ok(wanted, actual):
            problems.append(f"header {name}: expected {json.dumps(wanted)}, got {actual!r}")
    for path in expect.get("absent") or []:
        for hit in present(body, path):
            problems.append(f"body.{hit}: must be absent")
    if not problems:
        for name, path in (expect.get("capture") or {}).items():
            found, value = lookup(body, path)
            if not found:
                problems.append(f"capture {name}: nothing at body.{path}")
            else:
                captured[name] = value
    return problems


async def replay(client: httpx.AsyncClient, exchanges: list[Exchange], token: str) -> None:
    """Send every exchange in order; raise ReplayFailure at the first unmet expectation."""
    captured: dict[str, Any] = {}
    for exchange in exchanges:
        request = build(exchange, captured, token)
        response = await client.send(request)
        problems = check(exchange, response, captured)
        if problems:
            raise ReplayFailure(
                "\n".join(["", *("  ✗ " + p for p in problems), _show(exchange, request, response)])
            )
