"""SCIM over HTTP: bearer tokens, bodies, list parameters, responses."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import re
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any
from urllib.parse import unquote, unquote_plus

from starlette.requests import Request
from starlette.responses import Response

from app.config import ScimConfig
from app.db import DatabaseUnavailable, Tx
from app.logs import clip_printable
from app.scim.errors import (
    Forbidden,
    InvalidSyntax,
    InvalidValue,
    PayloadTooLarge,
    PreconditionFailed,
    TooManyRequests,
    Unauthorized,
)
from app.scim.projection import parse_attribute_list
from app.services import services
from app.store import facts, tokens
from app.store.tokens import ApiToken
from app.throttle import client_key, retry_after

SCIM_JSON = "application/scim+json"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
WRITE_SCOPES = ("admin:scim", "admin:write")
READ_SCOPES = (*WRITE_SCOPES, "admin:read")
# ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
_INTEGER = re.compile(r"-?[0-9]+")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # \uD800-\uDFFF written as an escape

Endpoint = Callable[[Request], Awaitable[Response]]
# Where a RawJson value goes while the rest is encoded: a NUL (refused in every stored string)
# and a secret of this process, so that no client-written text can pose as one.
_SLOT = f"\x00raw{secrets.token_hex(16)}:"
_SLOT_IN_JSON = re.compile(re.escape(json.dumps(_SLOT)[:-1]) + r'([0-9]+)\\u0000"')


class RawJson:
    """JSON text made elsewhere (by SQLite: `member_entries_json`), put into an answer as it
    is, where encoding its value again would cost the event loop as much as the rest."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_raw_texts = threading.local()  # the RawJson texts met by the encoding under way, per thread


def _slot(value: object) -> str:
    """The encoder's `default`: a RawJson value becomes a slot, to be filled after encoding."""
    if not isinstance(value, RawJson):
        raise TypeError(f"{type(value).__name__} is not JSON")
    texts: list[str] = _raw_texts.texts
    texts.append(value.text)
    return f"{_SLOT}{len(texts) - 1}\x00"


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_slot)


def render_json(content: Any) -> bytes:
    """`content` as compact JSON, each RawJson value in it written as its own text."""
    raw: list[str] = []
    _raw_texts.texts = raw
    text = _ENCODER.encode(content)
    if raw:
        text = _SLOT_IN_JSON.sub(lambda match: raw[int(match[1])], text)
    return text.encode()


class ScimResponse(Response):
    media_type = SCIM_JSON

    def __init__(
        self, content: Any, status_code: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(content, status_code, headers)

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        return render_json(content)


async def authenticate(request: Request, *scopes: str) -> ApiToken:
    """The API token of this request, with one of `scopes`; Unauthorized/Forbidden if not."""
    svc = services(request)
    header = next((v for k, v in request.scope["headers"] if k == b"authorization"), b"")
    scheme, _, value = header.decode("latin-1").partition(" ")
    value = value.strip()
    token = svc.tokens.cached(value) if value else None
    if token is None:
        if scheme.lower() == "bearer" and value:
            token = await svc.tokens.find(value)  # a token not seen yet is looked up, always
        if token is None or not token.active:
            # Unknown tokens: a client that keeps sending them is slowed down (429), while a
            # valid token, from any address, is never refused for its neighbours' failures.
            client = client_key(request.client.host) if request.client else "-"
            if wait := svc.bad_tokens.wait(client):
                raise TooManyRequests(
                    "Too many requests with an unknown token from this address; retry later",
                    retry_after=retry_after(wait),
                )
            svc.bad_tokens.fail(client)
            if scheme.lower() != "bearer" or not value:
                raise Unauthorized("A bearer token is required (Authorization: Bearer wxt_…)")
            raise Unauthorized("The bearer token is unknown, revoked or expired")
    if not token.allows(*scopes):
        raise Forbidden(f"This token lacks the scope for this request ({' or '.join(scopes)})")
    if svc.token_usage.due(token.id):
        # "Last used" can wait; the request itself may be a read that works on a full disk.
        with contextlib.suppress(DatabaseUnavailable):
            if token.last_used is None:  # maybe the first SCIM request: the checklist shows it
                await svc.db.write(_first_use, token, _first_request(request, token))
            else:
                await svc.db.write(tokens.mark_used, token.id)
    request.state.token = token
    return token


def _first_request(request: Request, token: ApiToken) -> dict[str, str]:
    """What the setup checklist tells of the first SCIM request: which token, which client."""
    return {
        "token_id": token.id,
        "token_name": clip_printable(token.name, 200, ""),
        "user_agent": clip_printable(request.headers.get("user-agent", ""), 200, ""),
        "method": request.method,
        "path": clip_printable(request.url.path, 200, ""),
    }


def _first_use(tx: Tx, token: ApiToken, first: dict[str, str]) -> None:
    """`tokens.mark_used`, and the fact "scim.first_request" unless one is known: one write."""
    tokens.mark_used(tx, token.id)
    facts.put_once(tx, "scim.first_request", first)


def scim_endpoint(*scopes: str) -> Callable[[Endpoint], Endpoint]:
    """Decorate an endpoint: authenticate first with one of `scopes` (or `all`)."""

    def wrap(fn: Endpoint) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            await authenticate(request, *scopes)
            return await fn(request)

        endpoint.__name__ = fn.__name__
        endpoint.__doc__ = fn.__doc__
        return endpoint

    return wrap


async def read_json(request: Request) -> Any:
    """The request body as JSON, refusing oversized bodies (413), malformed ones (400), and
    nesting or integers past the limits (400) before they cost anything."""
    limits = services(request).config.scim
    limit = limits.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and _INTEGER.fullmatch(declared) and int(declared) > limit:
        raise PayloadTooLarge(f"The request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body exceeds {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise InvalidSyntax("The request body is empty")
    _prescan(raw, limits)
    try:
        data = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise InvalidSyntax(f"The request body is not valid JSON: {exc.msg}") from None
    except ValueError:  # not UTF-8, or an integer with thousands of digits
        raise InvalidSyntax("The request body is not valid UTF-8 JSON") from None
    # "\ud800" alone is a valid escape but no text: SQLite and the response encoder would
    # choke on it. Only bodies that escape a surrogate at all are encoded again to find out.
    if _SURROGATE_ESCAPE.search(raw):
        try:
            json.dumps(data, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise InvalidSyntax("The request body holds an unpaired surrogate escape") from None
    return data


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: runs, not chars
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


@functools.lru_cache(maxsize=8)
def _long_number(digits: int) -> re.Pattern[bytes]:
    return re.compile(rb"[0-9]{%d,}" % (digits + 1))


def _prescan(raw: bytes, limits: ScimConfig) -> None:
    """Refuse, before parsing, a body whose parsing alone would cost too much: too many values
    (each `[`, `{` and `,` outside strings starts one), too deep a nesting (a parser recurses),
    or too long a number. Strings are blanked out by one regular expression and the rest is
    counted in C: linear, a few milliseconds for the largest body allowed."""
    blank = _JSON_STRING.sub(b'""', raw)
    opened = blank.count(b"[") + blank.count(b"{")
    values = opened + blank.count(b",")
    if values > limits.max_json_values:
        raise InvalidValue(
            f"The request body holds {values} values; at most {limits.max_json_values} are"
            " read ([scim] max_json_values)"
        )
    if opened > limits.max_json_depth:  # else it cannot nest deeper than the limit
        brackets = blank.translate(None, _NOT_BRACKETS)
        if max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limits.max_json_depth:
            raise InvalidValue(
                f"The request body nests deeper than {limits.max_json_depth} levels"
                " ([scim] max_json_depth)"
            )
    if _long_number(limits.max_integer_digits).search(blank):
        raise InvalidValue(
            f"The request body holds a number of more than {limits.max_integer_digits} digits"
            " ([scim] max_integer_digits)"
        )


def _bounded_int(text: str, digits: int) -> int:
    if len(text) - text.startswith("-") > digits:
        raise InvalidValue(
            f"The number {text[:20]}… has more than {digits} digits ([scim] max_integer_digits)"
        )
    return int(text)


def _not_json(name: str) -> Any:
    raise InvalidSyntax(f"The request body is not valid JSON: {name} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise InvalidValue(f"The number {text[:30]} is out of range")
    return value


@dataclass(frozen=True)
class ListParams:
    filter: str | None
    start_index: int
    count: int
    sort_by: str | None
    descending: bool
    attributes: list[str] | None
    excluded: list[str] | None


def _int(value: Any, name: str, digits: int) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidValue(f"'{name}' must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return _bounded_int(value.strip(), digits)
    raise InvalidValue(f"'{name}' must be an integer")


def attribute_names(text: str | None, limit: int) -> list[str] | None:
    """An `attributes`/`excludedAttributes` list, each name once; 400 past `limit` names."""
    names = parse_attribute_list(text)
    if names is None:
        return None
    unique = list({name.lower(): name for name in names}.values())
    if len(unique) > limit:
        raise InvalidValue(
            f"{len(unique)} attribute names were given; at most {limit} are accepted"
            " ([scim] max_attribute_names)"
        )
    return unique


def list_params(source: dict[str, Any], limits: ScimConfig) -> ListParams:
    """Paging, sorting, filtering and projection from a query string or a SearchRequest."""

    def text(name: str) -> str | None:
        value = source.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise InvalidValue(f"'{name}' must be a string")
        return value

    def names(name: str) -> list[str] | None:
        value = source.get(name)
        if isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                raise InvalidValue(f"'{name}' must be a list of attribute names")
            return attribute_names(",".join(value), limits.max_attribute_names)
        return attribute_names(text(name), limits.max_attribute_names)

    start = _int(source.get("startIndex"), "startIndex", limits.max_integer_digits)
    count = _int(source.get("count"), "count", limits.max_integer_digits)
    order = (text("sortOrder") or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise InvalidValue("'sortOrder' must be 'ascending' or 'descending'")
    return ListParams(
        filter=text("filter"),
        start_index=max(1, start if start is not None else 1),
        count=max(
            0, min(limits.max_page_size, limits.default_page_size if count is None else count)
        ),
        sort_by=text("sortBy"),
        descending=order == "descending",
        attributes=names("attributes"),
        excluded=names("excludedAttributes"),
    )


def _outside_strings(text: str) -> str:
    """``text`` without its double-quoted string literals (backslash escapes honoured)."""
    out: list[str] = []
    quoted = escaped = False
    for char in text:
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        else:
            out.append(char)
    return "".join(out)


def _filter_value(raw: str) -> str:
    """The ``filter`` parameter's raw (still percent-encoded) value, each '+' read as meant.

    A form encoder writes a space as '+' and a plus as %2B; an RFC 3986 encoder writes a space as
    %20 and may leave a plus as it is. A filter has spaces between its tokens, so a '+' outside
    every quoted value means form encoding; otherwise every '+' is literal, as in
    ``userName eq "alice+test@example.com"`` (a known JumpCloud stumbling block).
    """
    literal = unquote(raw) if "%" in raw else raw
    if "+" not in raw:
        return literal
    return unquote_plus(raw) if "+" in _outside_strings(literal) else literal


def _unquote_plus(text: str) -> str:
    return unquote_plus(text) if "%" in text or "+" in text else text


def query(query_string: bytes) -> dict[str, str]:
    """A query string's parameters, the last of a repeated name winning (as Starlette's
    `request.query_params`), parsed in one pass; ``filter`` as `_filter_value` reads it."""
    params: dict[str, str] = {}
    for pair in query_string.decode("latin-1").split("&"):
        if not pair:
            continue
        key, _, raw = pair.partition("=")
        name = _unquote_plus(key)
        params[name] = _filter_value(raw) if name == "filter" else _unquote_plus(raw)
    return params


def query_params(request: Request) -> ListParams:
    """List parameters from the query string of a GET."""
    cfg = services(request).config.scim
    source = query(request.scope["query_string"])
    return list_params(source, cfg)


async def search_params(request: Request) -> ListParams:
    """List parameters from the SearchRequest body of a POST …/.search."""
    cfg = services(request).config.scim
    body = await read_json(request)
    if not isinstance(body, dict):
        raise InvalidSyntax("A SearchRequest must be a JSON object")
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or SEARCH_REQUEST not in schemas):
        raise InvalidSyntax(f"A SearchRequest must carry the schema {SEARCH_REQUEST}")
    return list_params(body, cfg)


def list_response(resources: list[dict[str, Any]], total: int, start_index: int) -> ScimResponse:
    return ScimResponse(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "itemsPerPage": len(resources),
            "startIndex": start_index,
            "Resources": resources,
        }
    )


def check_if_match(header: str | None, current_etag: str) -> None:
    """412 if the client holds a stale version (`header` is the request's If-Match)."""
    if header is None:
        return
    wanted = {t.strip() for t in header.split(",")}
    if "*" in wanted:
        return
    bare = current_etag.removeprefix("W/")
    if not any(t.removeprefix("W/") == bare for t in wanted):
        raise PreconditionFailed("The resource changed since the version in If-Match")


def not_modified(request: Request, current_etag: str) -> bool:
    """Whether If-None-Match names the current version (answer 304)."""
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    wanted = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in wanted or current_etag.removeprefix("W/") in wanted
