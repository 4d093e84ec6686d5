"""JSON encoding identical to JavaScript's ``JSON.stringify`` for the values Socket.IO carries.

Compact separators, raw UTF-8 (no ``\\uXXXX`` escapes of non-ASCII), ``null`` for NaN and
the infinities. Built on orjson.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from ..exceptions import LocalProtocolError, RemoteProtocolError

__all__ = ["dumps", "dumps_bytes", "is_finite_number", "loads"]

_OPTS = orjson.OPT_NON_STR_KEYS
#: the orjson options of :func:`dumps`: a plain ``orjson.dumps(value, option=...)`` that
#: succeeds gives its exact output (fast paths try it first, then fall back to :func:`dumps`)
ORJSON_OPTIONS = _OPTS
_orjson_dumps = orjson.dumps
_EncodeError = orjson.JSONEncodeError
_MAX_DEPTH = 256  # orjson itself refuses to encode deeper than 254 levels

# JavaScript strings may hold lone UTF-16 surrogates; JSON.stringify writes them as \udXXX
# escapes, which orjson refuses in both directions. Those (rare) values take a slower path.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _default(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _js_string(text: str) -> str:
    """``JSON.stringify(text)``, lone surrogates included (as lowercase ``\\udXXX``)."""
    return _SURROGATE.sub(
        lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False)
    )


def _js_compatible(value: Any, depth: int = 0) -> Any:
    """Copy ``value`` for a second try after orjson refused it: strings holding a lone
    surrogate become raw JSON fragments, ints beyond 64 bits become floats (what a JS
    Number holds; orjson refuses them and never calls ``default`` for ints)."""
    if depth > _MAX_DEPTH:
        raise LocalProtocolError("cannot encode as JSON: too deeply nested")
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -(2**63) <= value < 2**64 else float(value)
    if isinstance(value, str):
        return orjson.Fragment(_js_string(value)) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        if any(isinstance(k, str) and _SURROGATE.search(k) for k in value):
            members = (
                _js_string(k if isinstance(k, str) else str(k)) + ":" + _dumps(v, depth + 1)
                for k, v in value.items()
            )
            return orjson.Fragment("{" + ",".join(members) + "}")
        return {k: _js_compatible(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_js_compatible(v, depth + 1) for v in value]
    return value


def _dumps(value: Any, depth: int = 0) -> str:
    return _dumps_bytes(value, depth).decode()


def _dumps_bytes(value: Any, depth: int = 0) -> bytes:
    try:
        return orjson.dumps(value, default=_default, option=_OPTS)
    except orjson.JSONEncodeError as exc:
        error = exc
    try:
        return orjson.dumps(_js_compatible(value, depth), default=_default, option=_OPTS)
    except (orjson.JSONEncodeError, RecursionError, OverflowError):
        raise LocalProtocolError(f"cannot encode as JSON: {error}") from None


def dumps(value: Any) -> str:
    """Encode ``value`` as ``JSON.stringify`` would, returning a ``str``."""
    try:
        return _orjson_dumps(value, default=_default, option=_OPTS).decode()
    except _EncodeError:
        return _dumps_bytes(value).decode()


def dumps_bytes(value: Any) -> bytes:
    """Encode ``value`` as ``JSON.stringify`` would, returning UTF-8 bytes."""
    try:
        return _orjson_dumps(value, default=_default, option=_OPTS)
    except _EncodeError:
        return _dumps_bytes(value)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):  # orjson refuses these too
        raise ValueError("number out of range")
    return number


def _int_like_orjson(text: str) -> int | float:
    number = int(text)  # ValueError past sys.get_int_max_str_digits()
    if -(2**63) <= number < 2**64:
        return number
    try:
        return float(number)
    except OverflowError:  # beyond a double: orjson refuses it ("number is infinity")
        raise ValueError("number out of range") from None


def _loads_with_surrogates(text: str | bytes) -> Any:
    """Decode JSON that orjson refused because it escapes a lone surrogate."""
    if isinstance(text, bytes):
        if not _SURROGATE_ESCAPE_BYTES.search(text):
            raise ValueError("invalid JSON")
        text = text.decode("utf-8")
    elif not _SURROGATE_ESCAPE.search(text):
        raise ValueError("invalid JSON")
    return json.loads(
        text,
        parse_constant=_no_constant,
        parse_float=_finite_float,
        parse_int=_int_like_orjson,
    )


def loads(text: str | bytes) -> Any:
    """Decode JSON text; invalid JSON raises :class:`RemoteProtocolError`."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return _loads_with_surrogates(text)
    except (ValueError, RecursionError, OverflowError):  # JSONDecodeError, UnicodeDecodeError
        raise RemoteProtocolError("invalid JSON payload") from None


def is_finite_number(value: Any) -> bool:
    """Tell whether ``value`` is an int or a finite float (not a bool)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)
