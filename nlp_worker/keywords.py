"""A review's keywords: the phrases it is about, as opposed to how it feels about them.

Candidates are runs of content words: not stop words, not lexicon markers (negators, "but"
...), not VADER's stronger feeling words, not evaluative words (praise of 1.2 and up, the
strongest blame: "great", "worst"; the problem words stay: "crashes", "slow", "ads"), not
words of praise phrases ("five stars"), at least two letters.
A run of one word gives that word, a longer run its two-word phrases ("offline maps saved"
-> "offline maps", "maps saved"); `keywords()` keeps up to ten, each once, in the order of the
text. themes.py counts each keyword and each word of it as a term. Japanese and Chinese,
written without spaces, get none (no word segmentation offline): their reviews count in
every figure but the themes.

`stem()` cuts a word to its first STEM letters: a crude, language-independent stemmer that
lets "crash", "crashes" and "crashing" (or "absturz", "abstürze") count as one term in
themes.py; the theme is shown in its most common written form.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

from nlp_worker.lexicon import MAX_PHRASE_WORDS, Lexicon
from nlp_worker.sentiment import EMOJI, MARKERS
from nlp_worker.text import Tokens

KEYWORDS_PER_REVIEW = 10
MAX_KEYWORD_CHARS = 60
PRAISE = 1.2
BLAME = -2.5
BACKGROUND_FEELING = 0.5
STEM = 5

Term = tuple[str, ...]


def _is_content(word: str, lexicon: Lexicon, app_words: frozenset[str]) -> bool:
    if len(word) < 2 or word in app_words or word in EMOJI:
        return False
    if lexicon.has("stopwords", word) or lexicon.has("intensifiers", word):
        return False
    if any(lexicon.has(name, word) for name in MARKERS):
        return False
    value = lexicon.valence(word)
    if word in lexicon.background:  # VADER's stronger words are feelings, not topics
        return value is None or abs(value) < BACKGROUND_FEELING
    return value is None or BLAME < value < PRAISE


def runs(
    tokens: Tokens, lexicon: Lexicon, app_words: frozenset[str] = frozenset()
) -> list[list[str]]:
    """The runs of adjacent content words of the same clause."""
    if lexicon.substring:
        return []
    found: list[list[str]] = []
    current: list[str] = []
    clause = None
    in_phrases = _phrase_words(tokens, lexicon)
    for index, token in enumerate(tokens.tokens):
        if index in in_phrases:  # "five stars", "keep up the good work": not topics
            if current:
                found.append(current)
            current = []
            continue
        if token.emoji or token.clause != clause or not _is_content(token.text, lexicon, app_words):
            if current:
                found.append(current)
            current = []
            clause = token.clause
            if token.emoji or not _is_content(token.text, lexicon, app_words):
                continue
        current.append(token.text)
    if current:
        found.append(current)
    return found


def _phrase_words(tokens: Tokens, lexicon: Lexicon) -> set[int]:
    """Indices of the words inside the lexicon's praise and marker phrases ("five stars",
    "used to"); complaint phrases keep theirs ("keeps crashing": the crash is the topic)."""
    words = [token.text for token in tokens.tokens]
    covered: set[int] = set()
    lists = lexicon.phrase_lists.values()
    for start in range(len(words)):
        for length in range(min(MAX_PHRASE_WORDS, len(words) - start), 1, -1):
            phrase = tuple(words[start : start + length])
            if lexicon.phrases.get(phrase, -1) >= 0 or any(phrase in items for items in lists):
                covered.update(range(start, start + length))
                break
    return covered


def keywords(word_runs: Iterable[list[str]]) -> list[str]:
    chosen: list[str] = []
    for run in word_runs:
        pairs = [f"{a} {b}" for a, b in pairwise(run)] or run
        for keyword in pairs:
            if len(keyword) <= MAX_KEYWORD_CHARS and keyword not in chosen:
                chosen.append(keyword)
            if len(chosen) == KEYWORDS_PER_REVIEW:
                return chosen
    return chosen


def terms(keywords_of_review: Iterable[str], app_words: frozenset[str] = frozenset()) -> set[Term]:
    """The terms a review counts for in themes: each keyword and each word of it, leaving
    out the app's own name."""
    found: set[Term] = set()
    for keyword in keywords_of_review:
        words = tuple(keyword.split())
        if any(word in app_words for word in words):
            found |= {(word,) for word in words if word not in app_words}
            continue
        found.add(words)
        if len(words) > 1:
            found |= {(word,) for word in words}
    return found


def stem(term: Term) -> Term:
    return tuple(word[:STEM] for word in term)


def app_words(app_id: str, title: str = "") -> frozenset[str]:
    """The app's own name ("spotify" of com.spotify.music) says nothing in its reviews."""
    parts = {part.lower() for part in app_id.replace("_", ".").split(".") if part}
    parts |= {word.lower() for word in title.split() if len(word) > 2}
    return frozenset(parts - {"com", "org", "net", "android", "app", "apps", "mobile"})
