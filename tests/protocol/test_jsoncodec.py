"""JSON codec: byte-identical to JSON.stringify, strict like JSON.parse."""

from __future__ import annotations

import math
from typing import Any

import pytest
from _vectors import canon, examples, from_j, ids, load
from hypothesis import given, settings
from hypothesis import strategies as st

from socketwire.exceptions import LocalProtocolError, RemoteProtocolError
from socketwire.protocol import jsoncodec
from socketwire.protocol.jsoncodec import dumps, dumps_bytes, is_finite_number, loads

JSON_VECTORS = load("sio_packets.json")["json"]


def _nonfinite_to_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_nonfinite_to_none(v) for v in value]
    if isinstance(value, dict):
        return {k: _nonfinite_to_none(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("vector", JSON_VECTORS, ids=ids(JSON_VECTORS))
def test_json_stringify_vectors(vector: dict[str, Any]) -> None:
    """dumps(value) == JSON.stringify(value) and loads(JSON.stringify(value)) == value."""
    value = from_j(vector["value"])
    expected = vector["stringify"]
    assert dumps(value) == expected
    assert dumps_bytes(value) == expected.encode("utf-8", "surrogatepass")
    assert canon(loads(expected)) == canon(_nonfinite_to_none(value))
    assert canon(loads(expected.encode("utf-8"))) == canon(_nonfinite_to_none(value))


def test_compact_and_raw_utf8() -> None:
    assert dumps({"a": [1, 2], "b": {"c": None}}) == '{"a":[1,2],"b":{"c":null}}'
    assert dumps(["é", "漢", "😀"]) == '["é","漢","😀"]'
    assert dumps_bytes(["é"]) == '["é"]'.encode()


def test_record_separator_is_escaped() -> None:
    assert dumps("a\x1eb") == '"a\\u001eb"'
    assert "\x1e" not in dumps({"\x1e": ["\x1e"]})
    assert loads('"a\\u001eb"') == "a\x1eb"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_become_null(value: float) -> None:
    assert dumps(value) == "null"
    assert dumps([value, {"k": value}]) == '[null,{"k":null}]'


def test_containers_and_keys() -> None:
    assert dumps((1, (2,))) == "[1,[2]]"
    assert dumps({1: "a", "b": frozenset()}) == '{"1":"a","b":[]}'
    assert dumps({"z": 1, "a": 2}) == '{"z":1,"a":2}'  # insertion order, like JS for non-index keys


def test_integers() -> None:
    assert dumps([0, -1, 2**53 - 1, 2**63 - 1, 2**64 - 1]) == (
        "[0,-1,9007199254740991,9223372036854775807,18446744073709551615]"
    )
    # beyond 64 bits JavaScript can only hold a double: the same digits as JSON.stringify(2**70)
    assert dumps(2**70) == "1.1805916207174113e+21"
    assert dumps(-(2**70)) == "-1.1805916207174113e+21"
    # same number as JSON.stringify's 18446744073709552000, in orjson's float format (see below)
    assert loads(dumps({"k": (2**64,)})) == {"k": [2.0**64]}
    with pytest.raises(LocalProtocolError):
        dumps(10**400)  # no double can hold it (JSON.stringify would give null for Infinity)
    assert dumps(True) == "true"


def test_unencodable_values_raise_local_protocol_error() -> None:
    for value in (object(), {"a": object()}, b"raw bytes", [1, {2j}]):
        with pytest.raises(LocalProtocolError):
            dumps(value)
        with pytest.raises(LocalProtocolError):
            dumps_bytes(value)
    deep: Any = []
    for _ in range(2000):
        deep = [deep]
    with pytest.raises(LocalProtocolError):
        dumps(deep)
    deep_surrogate: Any = "\ud800"
    for _ in range(2000):
        deep_surrogate = [deep_surrogate]
    with pytest.raises(LocalProtocolError):
        dumps(deep_surrogate)


def test_local_protocol_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        dumps(object())


# ------------------------------------------------------------------------------ lone surrogates


def test_lone_surrogates_round_trip() -> None:
    """JS strings may hold lone surrogates; JSON.stringify escapes them (lowercase)."""
    assert loads('["\\ud83d","\\uDC00x"]') == ["\ud83d", "\udc00x"]
    assert dumps(["\ud83d", "\udc00x"]) == '["\\ud83d","\\udc00x"]'
    assert dumps({"k\ud800": "v", "n": [1, "\udfff"]}) == '{"k\\ud800":"v","n":[1,"\\udfff"]}'
    assert dumps({"\ud800": {"\udc00": ("\ud801",)}}) == '{"\\ud800":{"\\udc00":["\\ud801"]}}'
    assert dumps({5: "\ud800", "x": "\ud800"}) == '{"5":"\\ud800","x":"\\ud800"}'
    assert dumps({"\ud800": 1, 5: 2}) == '{"\\ud800":1,"5":2}'
    assert dumps('\ud800\n"\x00') == '"\\ud800\\n\\"\\u0000"'
    assert dumps_bytes(["\ud800é"]) == '["\\ud800é"]'.encode()
    # a proper pair written as two escapes is one character
    assert loads('"\\ud83d\\ude00"') == "😀"


def test_surrogate_fallback_stays_strict() -> None:
    """The fallback parser must not accept what orjson (and JSON.parse) refuse."""
    for text in (
        '["\\ud800", NaN]',
        '["\\ud800", Infinity]',
        '["\\ud800", -Infinity]',
        '["\\ud800", 1e400]',
        '["\\ud800", ' + "1" * 400 + "]",  # float() of this int overflows (issue 13)
        '["\\ud800", -' + "9" * 400 + "]",
        '["\\ud800", ' + "1" * 5000 + "]",  # past int()'s digit limit
        '["\\ud800",]',
        '["\\ud800"',
        '["\\ud800"] x',
        '["\\ud800\x01"]',
        "['\\ud800']",
        b'["\\ud800"]' + b"\xff",
        '["\\ud800",' + "[" * 100_000 + "]",
        '["\\ud800",' + "[" * 5000 + "]" * 5000 + "]",
    ):
        with pytest.raises(RemoteProtocolError):
            loads(text)


def test_surrogate_fallback_numbers_match_orjson() -> None:
    assert loads('["\\ud800", 18446744073709551615, -9223372036854775808]') == [
        "\ud800",
        18446744073709551615,
        -9223372036854775808,
    ]
    big = loads('["\\ud800", 18446744073709551616, 1.5, 1e2]')
    assert big == ["\ud800", 1.8446744073709552e19, 1.5, 100.0]
    assert [type(v) for v in big] == [str, float, float, float]


# ------------------------------------------------------------------------------ decoding


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "[",
        "[1,]",
        "{'a':1}",
        "NaN",
        "Infinity",
        "-Infinity",
        "1e400",
        "[1] [2]",
        "undefined",
        '"\x00"',
        "\ufeff[1]",
        "01",
        "+1",
        ".5",
        "[" * 100_000,
        "{" * 100_000,
        '{"a":' * 100_000,
    ],
)
def test_loads_rejects_what_json_parse_rejects(text: str) -> None:
    with pytest.raises(RemoteProtocolError):
        loads(text)
    with pytest.raises(RemoteProtocolError):
        loads(text.encode("utf-8"))


def test_loads_accepts_json_whitespace() -> None:
    assert loads(' \t\n\r[1 , {"a" :\n2}]\r\n') == [1, {"a": 2}]


def test_deep_nesting_is_rejected() -> None:
    for text in ("[" * 100_000, "[" * 100_000 + "\\ud800", '["\\ud800",' + "[" * 100_000):
        with pytest.raises(RemoteProtocolError):
            loads(text)


def test_is_finite_number() -> None:
    assert is_finite_number(0)
    assert is_finite_number(-(2**80))
    assert is_finite_number(1.5)
    for value in (True, False, math.nan, math.inf, -math.inf, "1", None, [1]):
        assert not is_finite_number(value)


# ------------------------------------------------------------------------------ known gaps


@pytest.mark.xfail(
    strict=True,
    reason="orjson formats floats its own way: integral floats keep '.0', and 1e16..1e21 and "
    "1e-6 use exponents. JS reads the same numbers, so the wire stays compatible, but the "
    "bytes differ from JSON.stringify for Python floats",
)
@pytest.mark.parametrize(
    ("value", "stringify"),
    [
        (1.0, "1"),
        (-0.0, "0"),
        (100.0, "100"),
        (2.0**53, "9007199254740992"),
        (1e16, "10000000000000000"),
        (1e20, "100000000000000000000"),
        (1e-6, "0.000001"),
        (1.234e-6, "0.000001234"),
    ],
)
def test_float_formatting_like_json_stringify(value: float, stringify: str) -> None:
    assert dumps(value) == stringify


# ------------------------------------------------------------------------------ properties

TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=10)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=15,
)


@settings(max_examples=examples(300), deadline=None)
@given(JSON)
def test_round_trip(value: Any) -> None:
    text = dumps(value)
    assert dumps_bytes(value) == text.encode("utf-8")
    assert "\x1e" not in text
    assert canon(loads(text)) == canon(value)
    assert canon(loads(text.encode("utf-8"))) == canon(value)


@settings(max_examples=examples(300), deadline=None)
@given(st.text(max_size=40) | st.binary(max_size=40))
def test_random_input_raises_only_remote_protocol_error(text: str | bytes) -> None:
    try:
        jsoncodec.loads(text)
    except RemoteProtocolError:
        pass
