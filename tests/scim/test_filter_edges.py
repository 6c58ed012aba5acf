"""parse_filter and parse_path at their limits: length, depth, the AST's immutability, and the
corners an earlier mutation run found untested (see tests/README.md)."""

from __future__ import annotations

import dataclasses

import pytest

from app.scim.filter import (
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    AttrPath,
    Compare,
    Filter,
    FilterError,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
    parse_filter,
    parse_path,
)


def p(attr: str, sub: str | None = None, uri: str | None = None) -> AttrPath:
    return AttrPath(attr, sub, uri)


def refused(text: str, **limits: int) -> FilterError:
    with pytest.raises(FilterError) as caught:
        parse_filter(text, **limits)
    return caught.value


# --- length ---------------------------------------------------------------------------------


def _padded(head: str, length: int, tail: str = "") -> str:
    return head + "x" * (length - len(head) - len(tail)) + tail


@pytest.mark.parametrize(
    ("head", "tail"),
    [
        pytest.param('userName eq "', '"', id="simple"),  # the one-regex fast path
        pytest.param('(userName eq "', '")', id="general"),  # the parser
        pytest.param('userName eq "\\u00e9', '"', id="escaped"),
    ],
)
def test_filter_of_exactly_the_maximum_length(head: str, tail: str) -> None:
    text = _padded(head, MAX_LENGTH, tail)
    assert len(text) == MAX_LENGTH == 4096
    parsed = parse_filter(text)
    assert isinstance(parsed, Compare) and parsed.value.endswith("x" * 100)  # type: ignore[union-attr]
    longer = _padded(head, MAX_LENGTH + 1, tail)
    assert refused(longer).message == "filter is longer than 4096 characters"


def test_path_of_exactly_the_maximum_length() -> None:
    name = "a" * MAX_LENGTH
    assert parse_path(name) == PatchPath(p(name))
    filtered = _padded('emails[value eq "', MAX_LENGTH, '"]')
    assert parse_path(filtered).value_filter is not None
    for text in (name + "a", filtered[:-2] + 'x"]'):
        with pytest.raises(FilterError) as caught:
            parse_path(text)
        assert caught.value.message == "path is longer than 4096 characters"


# --- depth ----------------------------------------------------------------------------------


def _nested(levels: int, inner: str = "a pr") -> str:
    return "(" * levels + inner + ")" * levels


def test_depth_counts_nesting_not_sibling_groups() -> None:
    assert MAX_DEPTH == 50
    # The clause limits are raised here: this is about depth alone.
    roomy = {"max_clauses": 1000, "max_value_filters": 100}
    siblings = " and ".join(["(a pr)"] * 80)
    assert len(parse_filter(siblings, **roomy).operands) == 80  # type: ignore[union-attr]
    values = " or ".join(['emails[type eq "w"]'] * 60)
    assert len(parse_filter(values, **roomy).operands) == 60  # type: ignore[union-attr]
    # After 80 closed groups, the limit is still 50 levels below the top.
    assert parse_filter(f"{siblings} and {_nested(50)}", **roomy) is not None
    error = refused(f"(b pr) or {_nested(51)}", **roomy)
    assert error.message == "filter nested more than 50 levels deep at position 61"
    assert error.position == 61


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        (_nested(49, 'emails[type eq "w"]'), False),
        (_nested(50, 'emails[type eq "w"]'), True),  # the value filter is a level too
        (_nested(49, 'emails[(type eq "w")]'), True),
        ("not (" * 50 + "a pr" + ")" * 50, False),
        ("not (" * 25 + _nested(25) + ")" * 25, False),
        ("not (" * 25 + _nested(26) + ")" * 25, True),
    ],
)
def test_depth_of_groups_value_filters_and_not(text: str, deep: bool) -> None:
    if deep:
        assert "nested more than 50 levels deep" in refused(text).message
    else:
        assert parse_filter(text) is not None


def test_path_value_filter_counts_as_a_level() -> None:
    assert parse_path(f"emails[{_nested(49, 'type pr')}]").value_filter == Present(p("type"))
    with pytest.raises(FilterError, match="nested more than 50"):
        parse_path(f"emails[{_nested(50, 'type pr')}]")


# --- the AST is immutable and hashable ------------------------------------------------------

NODES: list[Filter] = [
    Compare(p("userName"), "eq", "x"),
    Present(p("title")),
    And((Present(p("a")), Present(p("b")))),
    Or((Present(p("a")), Present(p("b")))),
    Not(Present(p("a"))),
    ValuePath(p("emails"), Compare(p("type"), "eq", "work")),
]


@pytest.mark.parametrize("text", ['emails[type eq "work"] and not (a pr or b pr)', "x.y eq 1"])
def test_ast_is_immutable_and_hashable(text: str) -> None:
    first, second = parse_filter(text), parse_filter(text)
    assert first == second and hash(first) == hash(second)
    assert {first: "cached"}[second] == "cached"  # usable as a cache key
    path = parse_path('emails[type eq "work"].value')
    assert hash(path) == hash(parse_path('emails[type eq "work"].value'))


@pytest.mark.parametrize("node", NODES, ids=lambda n: type(n).__name__)
def test_every_node_is_frozen(node: Filter) -> None:
    assert hash(node) == hash(dataclasses.replace(node))
    field = dataclasses.fields(node)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(node, field, None)


def test_paths_are_frozen() -> None:
    for value in (p("name", "givenName", "urn:x"), PatchPath(p("emails"), None, "value")):
        assert hash(value) == hash(dataclasses.replace(value))
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.attr = "other"  # type: ignore[misc]


# --- operators and values -------------------------------------------------------------------


@pytest.mark.parametrize("op", ["gt", "ge", "lt", "le", "GE"])
def test_ordering_operators_refuse_booleans(op: str) -> None:
    assert refused(f"active {op} true").message.startswith(
        f"'{op.lower()}' cannot compare booleans"
    )
    assert parse_filter(f"n {op} 1") == Compare(p("n"), op.lower(), 1)


@pytest.mark.parametrize("op", ["co", "sw", "ew"])
@pytest.mark.parametrize("value", ["1", "true", "1.5"])
def test_string_operators_need_strings(op: str, value: str) -> None:
    assert f"'{op}' needs a string value" in refused(f"title {op} {value}").message


@pytest.mark.parametrize("op", ["eq", "ne"])
def test_equality_takes_any_value(op: str) -> None:
    assert parse_filter(f"n {op} false") == Compare(p("n"), op, False)
    assert parse_filter(f"n {op} 2.5") == Compare(p("n"), op, 2.5)


@pytest.mark.parametrize("number", [9007199254740993, -9007199254740993, -7, 0])
def test_integers_stay_exact(number: int) -> None:
    parsed = parse_filter(f"n eq {number}")
    assert isinstance(parsed, Compare) and type(parsed.value) is int and parsed.value == number
    assert parse_filter(f"n eq {number}.0") == Compare(p("n"), "eq", float(number))


@pytest.mark.parametrize("word", ["true", "false", "null", "NULL", '"x"', "1"])
def test_pr_takes_no_value(word: str) -> None:
    assert refused(f"title pr {word}").message == "'pr' takes no value at position 10"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("emails[type eq]", "missing value after 'eq' at position 15"),
        ("(title eq)", "missing value after 'eq' at position 10"),
        ("title eq or a pr", "missing value after 'eq' at position 10"),
        ("title eq", "missing value after 'eq' at position 9"),
        ("title eq (", "expected a value but found '(' at position 10"),
        ("title eq [", "expected a value but found '[' at position 10"),
        ("title eq [a pr]", "expected a value but found '[' at position 10"),
    ],
)
def test_missing_or_unusable_value(text: str, message: str) -> None:
    assert refused(text).message == message


def test_not_is_a_keyword_even_in_the_simple_shape() -> None:
    assert "expected '(' after 'not'" in refused('not eq "x"').message
    assert "expected '(' after 'not'" in refused('NOT eq "x"').message
    assert parse_filter('note eq "x"') == Compare(p("note"), "eq", "x")
    assert parse_filter('not.x eq "x"') == Compare(p("not", "x"), "eq", "x")


def test_unknown_urn_extending_a_known_one_is_its_own_schema() -> None:
    urn = "urn:ietf:params:scim:schemas:core:2.0:Users"  # not the User schema's URN
    assert parse_filter(f'{urn}:userName eq "x"') == Compare(p("userName", None, urn), "eq", "x")
    assert parse_path(f"{urn}:userName") == PatchPath(p("userName", None, urn))


# --- PATCH paths ----------------------------------------------------------------------------


def test_one_letter_sub_attribute_after_a_value_filter() -> None:
    assert parse_path('emails[type eq "x"].v') == PatchPath(
        p("emails"), Compare(p("type"), "eq", "x"), "v"
    )


def test_invalid_sub_attribute_names_its_position() -> None:
    with pytest.raises(FilterError) as caught:
        parse_path('emails[type eq "x"].1a')
    assert caught.value.message == "invalid sub-attribute '1a' at position 21"
    assert caught.value.position == 21
