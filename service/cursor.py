"""Opaque page cursors: where a page ended (a few strings), as base64url-encoded JSON."""

import base64
import binascii
import json

from service.domain import InvalidField


def encode_cursor(*position: str) -> str:
    raw = json.dumps(list(position), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, parts: int) -> list[str]:
    """The position a cursor holds; a 422 naming `cursor` when it is not one of ours."""
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        position = None
    if not (
        isinstance(position, list)
        and len(position) == parts
        and all(isinstance(value, str) and value for value in position)
    ):
        raise InvalidField("cursor", "Not a cursor this listing gave out: pass next_cursor as is")
    return position
