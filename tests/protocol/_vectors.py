"""Loading the reference vectors in tests/vectors/ (made by tools/gen_vectors.mjs).

The files hold JSON-able forms: bytes as ``{"$bytes": base64}``, NaN / ±Infinity / -0 as
``{"$number": ...}``. :func:`from_j` turns them into Python values, :func:`to_j` back.
"""

from __future__ import annotations

import base64
import json
import math
import os
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).resolve().parent.parent / "vectors"

# Hypothesis examples per property are multiplied by $SOCKETWIRE_FUZZ_SCALE (default 1, which
# keeps tests/protocol at a few seconds); R1's >= 10 000 examples per property is a scale of 50.
FUZZ_SCALE = max(1, int(os.environ.get("SOCKETWIRE_FUZZ_SCALE", "1")))


def examples(n: int) -> int:
    return n * FUZZ_SCALE


_NUMBERS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf, "-0": -0.0}


def load(name: str) -> dict[str, Any]:
    with open(VECTORS / name, encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def from_j(value: Any) -> Any:
    """JSON-able form -> Python value (bytes, NaN...)."""
    if isinstance(value, dict):
        if len(value) == 1 and "$bytes" in value:
            return base64.b64decode(value["$bytes"])
        if len(value) == 1 and "$number" in value:
            return _NUMBERS[value["$number"]]
        return {k: from_j(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_j(v) for v in value]
    return value


def to_j(value: Any) -> Any:
    """Python value -> JSON-able form (the inverse of :func:`from_j`)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, float):
        if math.isnan(value):
            return {"$number": "NaN"}
        if math.isinf(value):
            return {"$number": "Infinity" if value > 0 else "-Infinity"}
        if value == 0 and math.copysign(1, value) < 0:
            return {"$number": "-0"}
        return value
    if isinstance(value, dict):
        return {k: to_j(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_j(v) for v in value]
    return value


def canon(value: Any) -> str:
    """A typed, order-keeping text form for exact comparisons (1 != 1.0 != True)."""
    return json.dumps(to_j(value), ensure_ascii=True, allow_nan=False)


def ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [v["description"] for v in vectors]
