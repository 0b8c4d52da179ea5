"""A review's keywords: what it praises or blames, as opposed to how it feels about it.

Candidates are runs of content words: not stop words (light and function verbs among them:
"takes", "helps", "works", "funciona"), not lexicon markers (negators, "but" ...), not
VADER's stronger feeling words, not evaluative words (praise of 1.2 and up, the strongest
blame: "great", "worst"; the problem words stay: "crashes", "slow", "ads"), not words of
praise phrases ("five stars"), at least two letters. In a positive or negative review,
only the parts that carry its label count (sentiment.aside: not a conceded clause, a wish,
a part that says the opposite), and no run with a word that says the opposite ("annoying
popups" is not what "love the maps, no more annoying popups" praises). A run that follows a
word of circumstance ("on", "during", "when": `circumstance` in the lexicon) says where or
when, not what, and is left out ("on mobile data", "during my lunch break"). In English,
the word right after "to", "can", "I" or "me" (`verb_next`) is a verb, not a topic ("helps
me pick", "motivates me to practise"), unless it is a name ("to Google Drive"). A run of one
word gives that word, a longer run its two-word phrases ("offline maps saved" -> "offline
maps", "maps saved"); `keywords()` keeps up to ten, each once, in the order of the text.
themes.py counts each keyword and each word of it as a term. Japanese and Chinese, written without
spaces, get none (no word segmentation offline): their reviews count in
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
OPPOSITE = 1.0  # a word this strong against a review's label keeps its run out ("annoying")

Term = tuple[str, ...]


def _is_content(word: str, lexicon: Lexicon) -> bool:
    if len(word) < 2 or word in EMOJI:
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
    tokens: Tokens,
    lexicon: Lexicon,
    *,
    aside: frozenset[int] = frozenset(),
    side: int = 0,
) -> list[list[str]]:
    """The runs of adjacent content words of the same clause, but for the tokens `aside`
    (parts of the text that do not carry its label: sentiment.aside) and, in a review whose
    label has the `side` (1 positive, -1 negative), a run with a word that says the
    opposite ("annoying popups" in praise)."""
    if lexicon.substring:
        return []
    found: list[list[str]] = []
    current: list[str] = []
    clause = None
    in_phrases = _phrase_words(tokens, lexicon) | aside
    circumstance = False  # after "on", "during": the next run says where or when
    circumstance_ends = _phrase_ends(tokens, lexicon.phrase_lists.get("circumstance", ()))

    def close() -> None:
        nonlocal current, circumstance
        if current and not circumstance:
            found.append(current)
        elif current:
            circumstance = False
        current = []

    for index, token in enumerate(tokens.tokens):
        if token.clause != clause:
            close()
            clause, circumstance = token.clause, False
        if index in in_phrases:  # "five stars", "keep up the good work": not topics
            close()
            circumstance = circumstance or index in circumstance_ends  # "во время": a phrase
            continue
        if lexicon.has("circumstance", token.text):
            close()
            circumstance = True
            continue
        verb = (
            index and not token.capital and lexicon.has("verb_next", tokens.tokens[index - 1].text)
        )
        if token.emoji or verb or not _is_content(token.text, lexicon):
            close()
            continue
        current.append(token.text)
    close()
    if side:
        found = [run for run in found if not any(_against(word, lexicon, side) for word in run)]
    return found


def _against(word: str, lexicon: Lexicon, side: int) -> bool:
    value = lexicon.valence(word)
    return value is not None and value * side <= -OPPOSITE


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


def _phrase_ends(tokens: Tokens, phrases: Iterable[tuple[str, ...]]) -> set[int]:
    """Indices of the last word of each of these phrases in the text."""
    words = [token.text for token in tokens.tokens]
    return {
        start + len(phrase) - 1
        for phrase in phrases
        for start in range(len(words) - len(phrase) + 1)
        if tuple(words[start : start + len(phrase)]) == phrase
    }


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


def app_words(app_id: str) -> frozenset[str]:
    """The app's own name ("spotify" of com.spotify.music) says nothing in its reviews."""
    parts = {part.lower() for part in app_id.replace("_", ".").split(".") if part}
    return frozenset(parts - {"com", "org", "net", "android", "app", "apps", "mobile"})
