"""`nlp-worker analyze`: reviews as JSON lines in, one analysis per line out, no queue.

Input, UTF-8, one object a line (blank lines are skipped):
`{"review_id": str|int, "content": str, "score"?: 1..5, "at"?: ISO-8601, "app_version"?: str}`.
A line that is not one (not UTF-8, not JSON, JSON nested too deeply or with a number too long
to read, a field of the wrong type, a string with a lone surrogate such as `"\ud800"`, which
no UTF-8 output can hold) raises InputError, which names the line.
Output, in input order: `{"review_id", "sentiment": {"label", "compound"}, "language",
"keywords"}`; with `summary`, a last line `{"summary": {...}}`, the summary the worker stores
(nlp_worker.summary). The same Analyzer and SummaryBuilder as the worker.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from nlp_worker.analysis import get_analyzer
from nlp_worker.summary import SummaryBuilder

FIELDS = {"review_id", "content", "score", "at", "app_version"}


class InputError(ValueError):
    """A line that is not a review; says which line and why."""

    def __init__(self, line_number: int, why: str) -> None:
        super().__init__(f"line {line_number}: {why}")


def parse_line(line_number: int, line: str) -> dict[str, Any]:
    try:
        review = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(line_number, f"not JSON ({exc.msg} at column {exc.colno})") from exc
    except RecursionError:
        raise InputError(line_number, "not JSON this can read (nested too deeply)") from None
    except ValueError as exc:  # an integer longer than Python converts (4,300 digits)
        why = str(exc).partition(";")[0]
        raise InputError(line_number, f"not JSON this can read ({why})") from None
    if not isinstance(review, dict):
        raise InputError(line_number, "not a JSON object")
    review_id = review.get("review_id")
    if isinstance(review_id, bool) or not isinstance(review_id, str | int) or review_id == "":
        raise InputError(line_number, "review_id must be a non-empty string or an integer")
    content = review.get("content")
    if not isinstance(content, str):
        raise InputError(line_number, "content must be a string")
    score = review.get("score")
    if score is not None and (
        isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5
    ):
        raise InputError(line_number, "score must be an integer from 1 to 5")
    for name in ("at", "app_version"):
        if review.get(name) is not None and not isinstance(review[name], str):
            raise InputError(line_number, f"{name} must be a string")
    for name in FIELDS:
        value = review.get(name)
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                where = f"character {exc.start + 1}"
                why = f"{name} is not text (a lone surrogate at {where})"
                raise InputError(line_number, why) from None
    return {name: review.get(name) for name in FIELDS} | {"review_id": str(review_id)}


def decoded(raw: Iterable[bytes]) -> Iterator[tuple[int, str]]:
    """The numbered lines of UTF-8 input read as bytes from a binary file (which gives its
    lines at LF), each decoded on its own so that a byte that is not UTF-8 names its line.
    Lines end as in text mode: at LF, CR LF or CR (a 0x0D byte is a CR in UTF-8, never part
    of another character)."""
    number = 0
    for chunk in raw:
        for piece in chunk.replace(b"\r\n", b"\n").split(b"\r"):
            number += 1
            try:
                yield number, piece.decode("utf-8")
            except UnicodeDecodeError as exc:
                why = f"not UTF-8 ({exc.reason} at byte {exc.start + 1})"
                raise InputError(number, why) from None


def reviews(raw: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    for number, line in decoded(raw):
        if line.strip():
            yield parse_line(number, line)


def analyze(
    lines: Iterable[bytes], out: TextIO, *, summary: bool = False, app_id: str = ""
) -> None:
    """Write one analysis line per review of `lines` (UTF-8 bytes, as a file opened "rb"
    gives them), and the summary.
    Raises InputError at the first bad line (the lines before it are written)."""
    analyzer = get_analyzer()
    builder = SummaryBuilder(app_id)
    for review in reviews(lines):
        analysis = analyzer.analyze_review(review)
        out.write(json.dumps(analysis, ensure_ascii=False) + "\n")
        if summary:
            builder.add(review, analysis)
    if summary:
        out.write(json.dumps({"summary": builder.build()}, ensure_ascii=False) + "\n")
