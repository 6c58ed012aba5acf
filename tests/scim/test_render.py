"""render_json: RawJson values are written as their own text, wherever they stand; nothing
else can pose as one."""

from __future__ import annotations

import json

import pytest

from app.scim.http import RawJson, render_json


def test_raw_values_are_spliced_where_they_stand() -> None:
    content = {
        "a": 1,
        "Resources": [{"members": RawJson('[{"value":"x"}]')}, {"members": RawJson("[]")}],
        "b": "ü\u2603",
    }
    rendered = render_json(content)
    assert (
        rendered
        == (
            '{"a":1,"Resources":[{"members":[{"value":"x"}]},{"members":[]}],"b":"ü\u2603"}'
        ).encode()
    )
    assert json.loads(rendered)["Resources"][0]["members"] == [{"value": "x"}]


def test_a_string_shaped_like_a_slot_stays_a_string() -> None:
    # A slot holds a per-process secret: text a client wrote cannot name one.
    fake = "\x00raw0123456789abcdef0123456789abcdef:0\x00"
    rendered = render_json({"members": RawJson("[1]"), "note": fake})
    assert json.loads(rendered) == {"members": [1], "note": fake}


def test_each_rendering_starts_afresh() -> None:
    assert render_json([RawJson("[1]")]) == b"[[1]]"
    assert render_json([RawJson("[2]"), RawJson("[3]")]) == b"[[2],[3]]"
    assert render_json({"plain": True}) == b'{"plain":true}'


def test_other_objects_are_not_json() -> None:
    with pytest.raises(TypeError, match="set is not JSON"):
        render_json({"x": {1}})
