"""Which language a review is in: one of the languages the product supports, or None.

lingua-language-detector (Apache-2.0; its models ship in the wheel, nothing is downloaded),
restricted to SUPPORTED and in its high-accuracy mode, is deterministic and right on short
text far more often than langdetect (benchmarks/nlp_quality.py prints both). Text in a
script none of them uses (Korean, Arabic, Thai ...), or with fewer than two letters, is None.

A text shorter than SHORT_TEXT characters whose words are all English words the English
lexicon or stop-word list knows ("ok", "bad", "love it") is English: one or two words
are too little for any detector, and English is the most common language of reviews.
"""

from __future__ import annotations

import re

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from nlp_worker.lexicon import load

SUPPORTED: dict[str, Language] = {
    "en": Language.ENGLISH,
    "es": Language.SPANISH,
    "pt": Language.PORTUGUESE,
    "fr": Language.FRENCH,
    "de": Language.GERMAN,
    "it": Language.ITALIAN,
    "nl": Language.DUTCH,
    "pl": Language.POLISH,
    "ru": Language.RUSSIAN,
    "ja": Language.JAPANESE,
    "zh": Language.CHINESE,
}
NAMES = {code: language.name.title() for code, language in SUPPORTED.items()}
SHORT_TEXT = 20
MIN_LETTERS = 2  # "x", "?!" and emoji say nothing about a language
_CODES = {language: code for code, language in SUPPORTED.items()}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_LETTER = re.compile(r"[^\W\d_]")


class LanguageDetection:
    def __init__(self) -> None:
        self._detector: LanguageDetector = (
            LanguageDetectorBuilder.from_languages(*SUPPORTED.values())
            .with_preloaded_language_models()
            .build()
        )
        english = load("en")
        self._english = frozenset(english.words) | english.lists["stopwords"]

    def detect(self, text: str) -> str | None:
        text = text.strip()
        if len(_LETTER.findall(text)) < MIN_LETTERS:
            return None
        if len(text) < SHORT_TEXT:
            words = _WORD.findall(text.lower().replace("’", "'"))  # noqa: RUF001
            if words and all(word in self._english for word in words):
                return "en"
        language = self._detector.detect_language_of(text)
        return _CODES.get(language) if language is not None else None
