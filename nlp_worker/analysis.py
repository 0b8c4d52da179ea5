"""Per-review analysis: language, sentiment and keywords. Pure and deterministic.

Everything runs offline from data that ships with the packages: lingua's language models,
the lexicons in nlp_worker/lexicons/ (and VADER's English lexicon under ours). Built once
per process by `get_analyzer()`.

* language: languages.py (one of languages.SUPPORTED, or None);
* sentiment: sentiment.py, with the lexicon of the review's language and its star rating;
  a review in no supported language (or none detected) is scored with the English lexicon
  when it has letters the English way (emoji, a word or two) and otherwise by its stars;
  a text under SHORT_TEXT characters that its language's lexicon cannot read at all ("Prima"
  taken for Italian) is read with the others, if those that can read it agree;
* keywords: keywords.py, from the parts of the text that carry the label (sentiment.aside).

A review is analysed on its first MAX_TEXT characters (the service stores no longer
`content`): some steps of the sentiment's reading compare each word found with each marker
found, which grows with the square of the text's length, so a file given to `nlp-worker
analyze` with a review of a million characters would take well over a minute.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from nlp_worker import keywords as kw
from nlp_worker.languages import SHORT_TEXT, SUPPORTED, LanguageDetection
from nlp_worker.lexicon import load
from nlp_worker.sentiment import Sentiment, score
from nlp_worker.text import Tokens, tokenize
from nlp_worker.weighing import SentimentModel, shipped

MAX_TEXT = 20_000  # characters of a review analysed: the service's limit on content

__all__ = [
    "Analyzer",
    "analyze_batch",
    "analyze_review",
    "get_analyzer",
]


class Analyzer:
    """The models, built once per process (see `get_analyzer`) and reused; thread-safe."""

    def __init__(self, model: SentimentModel | None = None) -> None:
        self.lexicons = {code: load(code) for code in SUPPORTED}
        self.languages = LanguageDetection()
        self.model = model or shipped()

    def analyze_text(self, text: str, stars: Any = None) -> dict[str, Any]:
        language, tokens, sentiment, aside = self._read(text, stars)
        lexicon = self.lexicons[language or "en"]
        against = {"positive": 1, "negative": -1}.get(sentiment.label, 0)
        words = kw.keywords(kw.runs(tokens, lexicon, aside=aside, side=against)) if language else []
        return {"sentiment": sentiment.as_dict(), "language": language, "keywords": words}

    def weighed(self, text: str, stars: Any) -> dict[str, float]:
        """What the sentiment model weighs for this review (benchmarks/train_sentiment.py
        trains on it): the same reading as analyze_text's."""
        return dict(self._read(text, stars)[2].features or {})

    def _read(self, text: str, stars: Any) -> tuple[str | None, Tokens, Sentiment, frozenset[int]]:
        """(language, tokens, sentiment, the tokens aside from the label of these tokens'
        reading: when a short text's sentiment comes from another language's lexicon, the
        aside is still that of the detected language's reading, whose tokens these are)."""
        language = self.languages.detect(text)
        lexicon = self.lexicons[language or "en"]
        tokens = tokenize(text, lexicon)
        sentiment = score(tokens, lexicon, stars, self.model)
        aside = sentiment.aside
        if not sentiment.evidence and len(text.strip()) < SHORT_TEXT:
            sentiment = self._short_text(text, stars, language or "en") or sentiment
        return language, tokens, sentiment, aside

    def _short_text(self, text: str, stars: Any, tried: str) -> Sentiment | None:
        """A word or two that the detected language's lexicon cannot read ("Prima" taken for
        Italian, "soooo goooood" for Polish): read with every other lexicon, and if those that
        can read it agree on its side, the reading that says most."""
        found = []
        for code, lexicon in self.lexicons.items():
            if code != tried:
                sentiment = score(tokenize(text, lexicon), lexicon, stars, self.model)
                if sentiment.evidence:
                    found.append(sentiment)
        if not found or len({sentiment.text > 0 for sentiment in found}) > 1:
            return None
        return max(found, key=lambda sentiment: sentiment.evidence)

    def analyze_review(self, review: Mapping[str, Any]) -> dict[str, Any]:
        """The ReviewAnalysis the service stores for one review (of its first MAX_TEXT
        characters)."""
        text = review.get("content") or ""
        if not isinstance(text, str):
            text = str(text)
        text = text[:MAX_TEXT]
        return {
            "review_id": str(review["review_id"]),
            **self.analyze_text(text, review.get("score")),
        }

    def analyze_batch(self, reviews: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Analyses in the order of the reviews; CPU-bound, run it in a thread."""
        return [self.analyze_review(review) for review in reviews]


_analyzer: Analyzer | None = None
_analyzer_lock = threading.Lock()


def get_analyzer() -> Analyzer:
    """The process-wide Analyzer, built on first use."""
    global _analyzer
    if _analyzer is None:
        with _analyzer_lock:
            if _analyzer is None:
                _analyzer = Analyzer()
    return _analyzer


def analyze_review(review: Mapping[str, Any]) -> dict[str, Any]:
    return get_analyzer().analyze_review(review)


def analyze_batch(reviews: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return get_analyzer().analyze_batch(reviews)
