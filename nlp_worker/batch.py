"""`nlp-worker analyze`: reviews as JSON lines in, one analysis per line out, no queue.

Input, one object a line (blank lines are skipped):
`{"review_id": str|int, "content": str, "score"?: 1..5, "at"?: ISO-8601, "app_version"?: str}`.
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
        self.line_number = line_number


def parse_line(line_number: int, line: str) -> dict[str, Any]:
    try:
        review = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(line_number, f"not JSON ({exc.msg} at column {exc.colno})") from exc
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
    return {name: review.get(name) for name in FIELDS} | {"review_id": str(review_id)}


def reviews(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield parse_line(number, line)


def analyze(lines: Iterable[str], out: TextIO, *, summary: bool = False, app_id: str = "") -> int:
    """Write one analysis line per review (and the summary); returns the review count.
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
    return builder.review_count if summary else 0
