"""The summary of one app's analysed reviews. Pure: no I/O, no clock.

Built incrementally (`SummaryBuilder.add` per review, `build()` at the end) so a worker
can stream an app's reviews batch by batch without keeping them all; `summarize` does
it in one call.

Shape::

    {"review_count": int,
     "average_rating": float | None,        # mean star rating, 2 decimals
     "sentiment": {"positive": n, "neutral": n, "negative": n},
     "top_keywords": {"positive": [...], "negative": [...]},   # up to 10 each
     "languages": {code: n},                # "unknown" for None
     "per_day": {"YYYY-MM-DD": n}}          # by the review's UTC date

A top keyword is ranked by how many reviews of that sentiment mention it (once per
review however often it appears), ties broken alphabetically. Sentiment and language
counts add up to review_count. A review whose ``at`` is missing or unreadable is left
out of per_day only; a review without a 1..5 rating is left out of the average only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

SENTIMENT_LABELS = ("positive", "neutral", "negative")
TOP_KEYWORDS = 10
UNKNOWN_LANGUAGE = "unknown"


def utc_day(at: Any) -> str | None:
    """The UTC calendar date of an ISO-8601 time (naive means UTC), or None."""
    if isinstance(at, datetime):
        moment = at
    elif isinstance(at, str) and at.strip():
        try:
            moment = datetime.fromisoformat(at.strip())
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date().isoformat()


def valid_rating(score: Any) -> float | None:
    if isinstance(score, bool) or not isinstance(score, int | float):
        return None
    return float(score) if 1 <= score <= 5 else None


def top_keywords(counts: Counter[str], limit: int = TOP_KEYWORDS) -> list[str]:
    """Most-mentioned first, ties alphabetical."""
    return [word for word, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))][
        :limit
    ]


class SummaryBuilder:
    def __init__(self, app_id: str = "") -> None:
        # "spotify" tops both lists of com.spotify.music's reviews and says nothing.
        self._app_words = {part.lower() for part in app_id.split(".") if part}
        self.review_count = 0
        self._rating_total = 0.0
        self._rating_count = 0
        self._sentiment: Counter[str] = Counter({label: 0 for label in SENTIMENT_LABELS})
        self._keywords: dict[str, Counter[str]] = {"positive": Counter(), "negative": Counter()}
        self._languages: Counter[str] = Counter()
        self._per_day: Counter[str] = Counter()

    def add(self, review: Mapping[str, Any], analysis: Mapping[str, Any]) -> None:
        """Count one review (as the service returned it) with its analysis."""
        self.review_count += 1
        rating = valid_rating(review.get("score"))
        if rating is not None:
            self._rating_total += rating
            self._rating_count += 1
        label = analysis["sentiment"]["label"]
        if label not in SENTIMENT_LABELS:
            raise ValueError(f"unknown sentiment label {label!r}")
        self._sentiment[label] += 1
        if label in self._keywords:
            words = set(analysis.get("keywords") or ()) - self._app_words
            self._keywords[label].update(words)
        self._languages[analysis.get("language") or UNKNOWN_LANGUAGE] += 1
        day = utc_day(review.get("at"))
        if day is not None:
            self._per_day[day] += 1

    def build(self) -> dict[str, Any]:
        average = round(self._rating_total / self._rating_count, 2) if self._rating_count else None
        return {
            "review_count": self.review_count,
            "average_rating": average,
            "sentiment": {label: self._sentiment[label] for label in SENTIMENT_LABELS},
            "top_keywords": {
                label: top_keywords(counts) for label, counts in self._keywords.items()
            },
            "languages": dict(sorted(self._languages.items())),
            "per_day": dict(sorted(self._per_day.items())),
        }


def summarize(
    pairs: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]], app_id: str = ""
) -> dict[str, Any]:
    """The summary of (review, analysis) pairs."""
    builder = SummaryBuilder(app_id)
    for review, analysis in pairs:
        builder.add(review, analysis)
    return builder.build()
