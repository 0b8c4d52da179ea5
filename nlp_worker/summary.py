"""The summary of one app's analysed reviews. Pure: no I/O, no clock.

Built incrementally (`SummaryBuilder.add` per review, `build()` at the end) so a worker can
stream an app's reviews batch by batch; `summarize` does it in one call. The fields (the
README's results API section says the same for app teams):

* review_count: reviews analysed.
* average_rating: mean star rating (1..5) over the reviews that have one, 2 decimals; null
  without any.
* rating_distribution: {"1": n, ..., "5": n}.
* sentiment: {"positive", "neutral", "negative"}: reviews per sentiment label.
* languages: {code: n}, "unknown" for reviews in no supported language.
* per_day: {"YYYY-MM-DD": n} by the review's UTC date; per_week: {"YYYY-Www": n} by its ISO
  week (the latest MAX_WEEKS). A review without a readable `at` is in neither.
* versions: per app version, oldest first (by its earliest review), the MAX_VERSIONS with the
  most reviews: review_count, average_rating, average_sentiment (the mean compound, -1..1,
  3 decimals) and sentiment counts. Reviews without a version are in no entry.
* top_issues, top_praises: themes.py: what negative reviews complain about and positive
  ones praise, each with its share of all reviews, example review ids and its trend per
  week and per version.
* top_keywords: {"positive": praise themes, "negative": issue themes}, as words only (the
  field older clients read).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nlp_worker import themes
from nlp_worker.keywords import app_words, terms

SENTIMENT_LABELS = ("positive", "neutral", "negative")
UNKNOWN_LANGUAGE = "unknown"
MAX_DAYS = 20_000  # the service keeps at most this many days of per_day
MAX_WEEKS = 520
MAX_VERSIONS = 30
MAX_VERSION_CHARS = 200


def moment(at: Any) -> datetime | None:
    """An ISO-8601 time (naive means UTC) as an aware datetime in UTC, or None: also for a
    time that UTC cannot hold ("9999-12-31T23:59:59-01:00" is in the year 10000)."""
    if isinstance(at, datetime):
        value = at
    elif isinstance(at, str) and at.strip():
        try:
            value = datetime.fromisoformat(at.strip())
        except ValueError:
            return None
    else:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return None


def _week(found: datetime) -> str:
    """ "2026-W45": the ISO week of a moment in UTC."""
    year, week, _ = found.isocalendar()
    return f"{year}-W{week:02d}"


def valid_rating(score: Any) -> int | None:
    if isinstance(score, bool) or not isinstance(score, int | float):
        return None
    return int(score) if 1 <= score <= 5 and score == int(score) else None


@dataclass
class _Version:
    first_seen: str
    review_count: int = 0
    rating_total: float = 0.0
    rating_count: int = 0
    compound_total: float = 0.0
    sentiment: Counter = field(default_factory=Counter)


class SummaryBuilder:
    def __init__(self, app_id: str = "") -> None:
        self._app_words = app_words(app_id)
        self.review_count = 0
        self._ratings: Counter[int] = Counter()
        self._sentiment: Counter[str] = Counter({label: 0 for label in SENTIMENT_LABELS})
        self._languages: Counter[str] = Counter()
        self._per_day: Counter[str] = Counter()
        self._per_week: Counter[str] = Counter()
        self._versions: dict[str, _Version] = {}
        self._docs: list[themes.Doc] = []

    def add(self, review: Mapping[str, Any], analysis: Mapping[str, Any]) -> None:
        """Count one review (as the service returned it) with its analysis."""
        self.review_count += 1
        rating = valid_rating(review.get("score"))
        if rating is not None:
            self._ratings[rating] += 1
        sentiment = analysis["sentiment"]
        label = sentiment["label"]
        if label not in SENTIMENT_LABELS:
            raise ValueError(f"unknown sentiment label {label!r}")
        self._sentiment[label] += 1
        language = analysis.get("language")
        self._languages[language or UNKNOWN_LANGUAGE] += 1
        at = moment(review.get("at"))  # read once, for its day, its week and its stamp
        week, stamp = None, ""
        if at is not None:
            week, stamp = _week(at), at.isoformat()
            self._per_day[at.date().isoformat()] += 1
            self._per_week[week] += 1
        version = review.get("app_version")
        version = version[:MAX_VERSION_CHARS] if isinstance(version, str) and version else None
        if version is not None:
            entry = self._versions.setdefault(version, _Version(first_seen=stamp or "~"))
            entry.first_seen = min(entry.first_seen, stamp or "~")
            entry.review_count += 1
            entry.sentiment[label] += 1
            entry.compound_total += float(sentiment.get("compound") or 0.0)
            if rating is not None:
                entry.rating_total += rating
                entry.rating_count += 1
        if language:
            found = frozenset(terms(analysis.get("keywords") or (), self._app_words))
            if found:
                review_id = str(review.get("review_id", ""))
                doc = themes.Doc(review_id, label, language, stamp, week, version, found)
                self._docs.append(doc)

    def build(self) -> dict[str, Any]:
        rated = sum(self._ratings.values())
        total = sum(stars * n for stars, n in self._ratings.items())
        found = themes.find(self._docs, self.review_count)
        return {
            "review_count": self.review_count,
            "average_rating": round(total / rated, 2) if rated else None,
            "rating_distribution": {str(stars): self._ratings[stars] for stars in range(1, 6)},
            "sentiment": {label: self._sentiment[label] for label in SENTIMENT_LABELS},
            "top_keywords": {
                "positive": [theme["theme"] for theme in found["praises"]],
                "negative": [theme["theme"] for theme in found["issues"]],
            },
            "top_issues": found["issues"],
            "top_praises": found["praises"],
            "languages": dict(sorted(self._languages.items())),
            "per_day": dict(sorted(self._per_day.items())[-MAX_DAYS:]),
            "per_week": dict(sorted(self._per_week.items())[-MAX_WEEKS:]),
            "versions": self._version_list(),
        }

    def _version_list(self) -> list[dict[str, Any]]:
        busiest = sorted(self._versions.items(), key=lambda item: (-item[1].review_count, item[0]))
        chosen = sorted(busiest[:MAX_VERSIONS], key=lambda item: (item[1].first_seen, item[0]))
        return [
            {
                "version": version,
                "review_count": entry.review_count,
                "average_rating": (
                    round(entry.rating_total / entry.rating_count, 2)
                    if entry.rating_count
                    else None
                ),
                "average_sentiment": round(entry.compound_total / entry.review_count, 3),
                "sentiment": {label: entry.sentiment[label] for label in SENTIMENT_LABELS},
            }
            for version, entry in chosen
        ]


def summarize(
    pairs: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]], app_id: str = ""
) -> dict[str, Any]:
    """The summary of (review, analysis) pairs."""
    builder = SummaryBuilder(app_id)
    for review, analysis in pairs:
        builder.add(review, analysis)
    return builder.build()
