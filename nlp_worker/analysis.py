"""Per-review analysis: sentiment, language and keywords.

Pure and deterministic: the same review always gives the same analysis, and nothing here
talks to the service or the network. The models run offline from data the libraries ship
(VADER's lexicons, langdetect's language profiles, YAKE's stop-word lists), loaded once
per process by `get_analyzer()`.

Sentiment and non-English text
------------------------------
VADER is an English lexicon: on other languages it finds few or no words it knows and
scores most reviews as neutral (``"Me encanta esta aplicación"`` scores 0.0), which
would quietly bias the summary towards "neutral" for any app with foreign reviews.
So the sentiment of a review comes from:

* VADER, when the review's language is English, or when no language could be detected
  but there is text (emoji-only reviews: VADER knows emoji);
* the star rating, when the review is in another language or has no text at all:
  ``compound = (score - 3) / 2``, so 1 → -1.0, 2 → -0.5, 3 → 0.0, 4 → 0.5, 5 → 1.0,
  and the label follows the same thresholds as VADER's. A non-English review without a
  usable rating is scored by VADER anyway (usually neutral).

Language detection and very short text
--------------------------------------
langdetect is seeded (``DetectorFactory.seed = 0``) so the same text always gets the same
answer. It is unreliable on a word or two ("good" comes out as Somali, "nice" as
Polish), and short reviews are common. So a text of at most three words, all of them
known English words (VADER's lexicon, YAKE's English stop words or a handful of app
words such as "app" and "update") and at least one carrying sentiment, is taken to be
English. Empty text, or text with no letters langdetect can use (emoji, punctuation),
has language ``None``.

Keywords
--------
YAKE, with the stop words of the review's language where YAKE ships them and English
stop words otherwise, plus "app"/"apps" (every review is about an app); the top five
1-2 word phrases, lower-cased and de-duplicated. YAKE finds words by spaces, so reviews
in Chinese, Japanese and Thai get no keywords rather than whole clauses.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yake
from langdetect import DetectorFactory, detect
from langdetect.detector_factory import init_factory
from langdetect.lang_detect_exception import LangDetectException
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05
KEYWORDS_PER_REVIEW = 5
MAX_KEYWORD_WORDS = 2
# YAKE splits words on spaces: on Chinese, Japanese or Thai, which do not separate words,
# its "keywords" are whole clauses. Reviews in those languages get no keywords.
NO_KEYWORD_LANGUAGES = frozenset({"zh-cn", "zh-tw", "ja", "th"})
# A longer candidate is not a phrase (a URL, a run of unspaced text): dropped.
MAX_KEYWORD_CHARS = 40
# Every review is about an app: "app" as a keyword (or in "terrible app") says nothing and
# crowds out the words that do, so it is a stop word in every language.
KEYWORD_STOPWORDS = frozenset({"app", "apps"})
SHORT_TEXT_WORDS = 3
# Words of app reviews that are neither in VADER's lexicon nor stop words ("worst app
# ever" would otherwise come out as Dutch).
_APP_REVIEW_WORDS = frozenset({"app", "apps", "application", "ever", "update", "ads", "game"})

# langdetect codes whose YAKE stop-word file has another name.
_YAKE_LANGUAGE = {"cs": "cz", "zh-cn": "zh", "zh-tw": "zh"}
_YAKE_STOPWORDS_DIR = Path(yake.__file__).parent / "core" / "StopwordsList"
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

DetectorFactory.seed = 0


def label_for(compound: float) -> str:
    """VADER's conventional label for a compound score."""
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


def rating_compound(score: Any) -> float | None:
    """The star rating 1..5 as a compound score in -1..1, or None if it is not a rating."""
    if isinstance(score, bool) or not isinstance(score, int | float) or math.isnan(score):
        return None
    if not 1 <= score <= 5:
        return None
    return round((float(score) - 3.0) / 2.0, 4)


def yake_language(language: str | None) -> str:
    """The YAKE stop-word language for a langdetect code: itself if YAKE ships it, else en."""
    if not language:
        return "en"
    code = _YAKE_LANGUAGE.get(language, language)
    if (_YAKE_STOPWORDS_DIR / f"stopwords_{code}.txt").is_file():
        return code
    return "en"


class Analyzer:
    """The NLP models, built once per process (see `get_analyzer`) and reused."""

    def __init__(self) -> None:
        init_factory()  # load langdetect's profiles now, not lazily inside a worker thread
        self.vader = SentimentIntensityAnalyzer()
        self._extractors: dict[str, yake.KeywordExtractor] = {}
        # YAKE's extractor keeps a mutable similarity cache, and batches of concurrent
        # jobs run in different threads: every use of an extractor holds this lock.
        self._lock = threading.Lock()
        with self._lock:
            english_stopwords = self._extractor("en").stopword_set
        self._english_words = (
            frozenset(self.vader.lexicon) | frozenset(english_stopwords) | _APP_REVIEW_WORDS
        )

    def _extractor(self, language: str) -> yake.KeywordExtractor:
        """The extractor for a YAKE language, built on first use; call with _lock held."""
        extractor = self._extractors.get(language)
        if extractor is None:
            extractor = yake.KeywordExtractor(
                lan=language, n=MAX_KEYWORD_WORDS, top=KEYWORDS_PER_REVIEW * 2
            )
            extractor.stopword_set = extractor.stopword_set | KEYWORD_STOPWORDS
            self._extractors[language] = extractor
        return extractor

    # -- the three analyses -------------------------------------------------------------

    def language(self, text: str) -> str | None:
        """ISO 639-1 code (langdetect's, e.g. "en", "zh-cn"), or None if undetectable."""
        text = text.strip()
        if not text:
            return None
        words = _WORD.findall(text.lower())
        if (
            0 < len(words) <= SHORT_TEXT_WORDS
            and all(word in self._english_words for word in words)
            and any(word in self.vader.lexicon for word in words)
        ):
            return "en"
        try:
            return detect(text)
        except LangDetectException:
            return None

    def sentiment(self, text: str, language: str | None, score: Any = None) -> dict[str, Any]:
        """``{"compound": -1..1, "label": ...}``; see the module docstring for the rules."""
        use_vader = language == "en" or (language is None and text.strip() != "")
        compound = None if use_vader else rating_compound(score)
        if compound is None:
            compound = round(float(self.vader.polarity_scores(text)["compound"]), 4)
        return {"compound": compound, "label": label_for(compound)}

    def keywords(self, text: str, language: str | None) -> list[str]:
        """Up to five lower-case 1-2 word key phrases, best first."""
        if not text.strip() or language in NO_KEYWORD_LANGUAGES:
            return []
        with self._lock:
            candidates = self._extractor(yake_language(language)).extract_keywords(text)
        keywords: list[str] = []
        for phrase, _score in candidates:
            keyword = " ".join(phrase.lower().split())
            if keyword and len(keyword) <= MAX_KEYWORD_CHARS and keyword not in keywords:
                keywords.append(keyword)
            if len(keywords) == KEYWORDS_PER_REVIEW:
                break
        return keywords

    # -- whole reviews --------------------------------------------------------------------

    def analyze_review(self, review: Mapping[str, Any]) -> dict[str, Any]:
        """The ReviewAnalysis the service stores for one review."""
        text = review.get("content") or ""
        if not isinstance(text, str):
            text = str(text)
        language = self.language(text)
        return {
            "review_id": str(review["review_id"]),
            "sentiment": self.sentiment(text, language, review.get("score")),
            "language": language,
            "keywords": self.keywords(text, language),
        }

    def analyze_batch(self, reviews: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Analyses in the order of the reviews; CPU-bound, run it in a thread."""
        return [self.analyze_review(review) for review in reviews]


_analyzer: Analyzer | None = None
_analyzer_lock = threading.Lock()


def get_analyzer() -> Analyzer:
    """The process-wide Analyzer, built on first use (about a quarter of a second)."""
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
