"""Review text as tokens: words (lower case), with the clause and sentence each is in.

Words are runs of letters (an apostrophe inside stays: "don't", "l'app" -> "l'", "app" is not
split, which is what the lexicons expect), emoji are tokens of their own. A sentence ends at
. ! ? or a line break (and their CJK forms); a clause also ends at , ; : and before a
contrast word (the caller marks those). Japanese and Chinese have no spaces: their text is
cut by longest match against the language's lexicon and lists, one character otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlp_worker.lexicon import Lexicon

_TOKEN = re.compile(
    r"(?P<word>[^\W\d_]+(?:'[^\W\d_]+)*)"  # typographic apostrophes are made plain first
    r"|(?P<emoji>[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u2764])"
    r"|(?P<sentence>[.!?\n。！？]+)"  # noqa: RUF001 (CJK punctuation on purpose)
    r"|(?P<clause>[,;:，、；：]|\s[-–—]\s)"  # noqa: RUF001
)
_CJK_STOP = frozenset(".!?\n。！？")  # noqa: RUF001
_CJK_CLAUSE = frozenset(",;:，、；：")  # noqa: RUF001
MAX_CJK_TERM = 8


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    clause: int
    sentence: int
    emoji: bool = False


@dataclass
class Tokens:
    tokens: list[Token]
    questions: frozenset[int]  # sentences that end with "?"


def tokenize(text: str, lexicon: Lexicon) -> Tokens:
    if lexicon.substring:
        return _tokenize_unspaced(text.lower(), lexicon)
    tokens: list[Token] = []
    questions: set[int] = set()
    clause = sentence = 0
    elision = "elision" in lexicon.lists.get("flags", frozenset())
    for match in _TOKEN.finditer(text.lower().replace("’", "'")):  # noqa: RUF001
        kind = match.lastgroup
        if kind == "word":
            word = match.group()
            if elision and "'" in word:  # French, Italian: "n'est" -> "n'", "est"
                *heads, tail = word.split("'")
                tokens += [Token(head + "'", clause, sentence) for head in heads]
                word = tail
            tokens.append(Token(word, clause, sentence))
        elif kind == "emoji":
            tokens.append(Token(match.group(), clause, sentence, emoji=True))
        elif kind == "sentence":
            if "?" in match.group():
                questions.add(sentence)
            sentence += 1
            clause += 1
        else:
            clause += 1
    return Tokens(tokens, frozenset(questions))


def _terms(lexicon: Lexicon) -> frozenset[str]:
    terms = set(lexicon.words) | set(lexicon.prefixes)
    for items in lexicon.lists.values():
        terms |= items
    return frozenset(term for term in terms if term)


def _tokenize_unspaced(text: str, lexicon: Lexicon) -> Tokens:
    terms = _cached_terms(lexicon)
    tokens: list[Token] = []
    questions: set[int] = set()
    clause = sentence = 0
    position = 0
    while position < len(text):
        char = text[position]
        if char in _CJK_STOP:
            if char in "?？":  # noqa: RUF001
                questions.add(sentence)
            if tokens and tokens[-1].sentence == sentence:
                sentence += 1
                clause += 1
            position += 1
            continue
        if char in _CJK_CLAUSE:
            clause += 1
            position += 1
            continue
        if char.isspace():
            position += 1
            continue
        for end in range(min(len(text), position + MAX_CJK_TERM), position, -1):
            if text[position:end] in terms:
                break
        else:
            end = position + 1
            while end < len(text) and text[end].isascii() and text[end].isalpha():
                end += 1  # a Latin word inside ("bug")
        tokens.append(Token(text[position:end], clause, sentence, emoji=_is_emoji(char)))
        position = end
    return Tokens(tokens, frozenset(questions))


_TERMS: dict[str, frozenset[str]] = {}


def _cached_terms(lexicon: Lexicon) -> frozenset[str]:
    terms = _TERMS.get(lexicon.language)
    if terms is None:
        terms = _TERMS[lexicon.language] = _terms(lexicon)
    return terms


def _is_emoji(char: str) -> bool:
    match = _TOKEN.fullmatch(char)
    return match is not None and match.lastgroup == "emoji"
