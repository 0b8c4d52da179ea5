"""The limits a request body's free-form parts must keep, and the check of `params`.

`params` is the one body field of any JSON shape, and it is stored in MongoDB as sent. So it
is held to what BSON can store and to sizes that keep every answer that shows a job small:

- at most `MAX_PARAMS_BYTES` as JSON and `MAX_PARAMS_DEPTH` levels of objects and arrays
  (`params` itself is level 1);
- integers within 64 bits (BSON has no bigger integer);
- keys that are not empty, contain no NUL (BSON cannot encode one in a key), do not start with
  `$` and contain no `.`: MongoDB reads such keys as operators and paths, so they are refused
  rather than stored, which keeps every query and update on `params` unambiguous.

The check walks the value without recursion, so a body nested as deep as the JSON decoder goes
is refused like any other.
"""

from typing import Any

import msgspec

MAX_PARAMS_BYTES = 16 * 1024
MAX_PARAMS_DEPTH = 10
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def params_problem(params: dict[str, Any], field: str = "params") -> tuple[str, str] | None:
    """(path of the offending part, what is wrong) for params the service refuses, else None."""
    pending: list[tuple[str, Any, int]] = [(field, params, 1)]
    while pending:
        path, value, depth = pending.pop()
        if isinstance(value, dict | list) and depth > MAX_PARAMS_DEPTH:
            return path, f"Nested deeper than {MAX_PARAMS_DEPTH} levels"
        if isinstance(value, dict):
            for key, item in value.items():
                if problem := key_problem(key):
                    return f"{path}.{key}", problem
                pending.append((f"{path}.{key}", item, depth + 1))
        elif isinstance(value, list):
            pending.extend((f"{path}[{i}]", item, depth + 1) for i, item in enumerate(value))
        elif isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            return path, "An integer beyond 64 bits: MongoDB cannot store it"
    size = len(msgspec.json.encode(params))
    if size > MAX_PARAMS_BYTES:
        return field, f"{size} bytes as JSON: the limit is {MAX_PARAMS_BYTES}"
    return None


def key_problem(key: str) -> str | None:
    if not key:
        return "An empty key"
    if "\x00" in key:
        return "A key with a NUL character: MongoDB cannot store it"
    if key.startswith("$") or "." in key:
        return (
            "A key starting with '$' or containing '.': MongoDB reads those as operators and paths"
        )
    return None
