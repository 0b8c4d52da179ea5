"""Which language a review is in: one of the languages the product supports, or None.

lingua-language-detector (Apache-2.0; its models ship in the wheel, nothing is downloaded),
restricted to SUPPORTED and in its high-accuracy mode, is deterministic and right on short
text far more often than langdetect (benchmarks/nlp_quality.py prints both). Text in a
script none of them uses (Korean, Arabic, Thai ...), or with fewer than two letters, is None.

A text shorter than SHORT_TEXT characters whose words are all English words the English
lexicon or stop-word list knows ("ok", "bad", "love it") is English: one or two words
are too little for any detector, and English is the most common language of reviews.

Other texts shorter than LEXICON_TEXT characters are weighed with the lexicons too: among
the languages lingua finds nearly as likely as its first (CLOSE), the one whose lexicon
knows clearly more of the text's words is taken ("c'est de la merde" is French, which
lingua alone ranks below Dutch); lingua's order decides otherwise.
"""

from __future__ import annotations

import re

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from nlp_worker.lexicon import Lexicon, load

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
SHORT_TEXT = 20
LEXICON_TEXT = 40  # shorter: the lexicons also have a say
CLOSE = 0.4  # a language this likely, relative to lingua's first, is a candidate
CANDIDATES = 4
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
        self._lexicons: dict[str, Lexicon] = {code: load(code) for code in SUPPORTED}

    def detect(self, text: str) -> str | None:
        text = text.strip()
        if len(_LETTER.findall(text)) < MIN_LETTERS:
            return None
        if len(text) < SHORT_TEXT:
            words = _WORD.findall(text.lower().replace("’", "'"))  # noqa: RUF001
            if words and all(word in self._english for word in words):
                return "en"
        if len(text) < LEXICON_TEXT:
            return self._weighed(text)
        language = self._detector.detect_language_of(text)
        return _CODES.get(language) if language is not None else None

    def _weighed(self, text: str) -> str | None:
        """lingua's first, unless a language nearly as likely knows clearly more words."""
        found = self._detector.compute_language_confidence_values(text)
        if not found or found[0].value <= 0:
            return None
        first = _CODES[found[0].language]
        words = _WORD.findall(text.lower().replace("’", "'"))  # noqa: RUF001
        if not words or self._lexicons[first].substring:
            return first
        best, known = first, self._known(first, words)
        for candidate in found[1:CANDIDATES]:
            code = _CODES[candidate.language]
            if candidate.value < CLOSE * found[0].value or self._lexicons[code].substring:
                continue
            count = self._known(code, words)
            if count > known:
                best, known = code, count
        return best

    def _known(self, code: str, words: list[str]) -> int:
        lexicon = self._lexicons[code]
        if code == "en":  # VADER's words are English, but many are written alike elsewhere
            stopwords = lexicon.lists["stopwords"]
            return sum(
                word in stopwords or (word not in lexicon.background and lexicon.knows(word))
                for word in words
            )
        return sum(lexicon.knows(word) for word in words)
