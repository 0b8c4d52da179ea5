"""Building blocks of aggregation expressions, for pipeline updates that decide from the
document they update (see `service/moves.py`)."""

from typing import Any

Expr = Any


def literal(value: Any) -> Expr:
    """`value` as a constant of a pipeline, whatever it looks like: in a pipeline a string
    starting with `$` would be a field path, and a document an expression."""
    if isinstance(value, str | dict | list | tuple):
        return {"$literal": value}
    return value


def field(name: str) -> Expr:
    return f"${name}"


def cond(test: Expr, then: Expr, otherwise: Expr) -> Expr:
    return {"$cond": [test, then, otherwise]}
